"""The muscle-driven legs standing in for dflex's SNU Humanoid: MyoSuite's ``myolegs`` (80 muscles).

DiffRL's SNU Humanoid (a DART skeleton with 152 waypoint "muscles" that are plain forces
``activation·f0`` along their paths, no activation dynamics and no force-length/velocity curves)
cannot be installed here and may not be copied. The closest model that ships in a registry package
is MyoSuite's ``myolegs`` from the ``myo-sim`` wheel (Apache-2.0): the two legs and pelvis of
Rajagopal et al.'s gait model, 80 Hill-type muscles on spatial tendons with wrapping, first-order
activation dynamics (τ_act 10 ms, τ_deact 40 ms), 14 independent joints per model (7 per leg: hip
flexion/adduction/rotation, knee, ankle, subtalar, mtp) plus 14 knee-coupling joints tied to the
knee angle by equality constraints, 37.8 kg.

The model is composed here from the package's component files (``leg/assets/myolegs_*.xml`` and
its meshes) with MJCF ``include``: myo-sim's own Python composer (``myo_sim.build``) changes its
API between releases and the newer ones need MuJoCo ≥ 3.4, while the component files compile on
MuJoCo 3.3.0 (this project's pin; myo-sim 0.2.0 is the last release whose metadata allows it).
Edits, all in the wrapper, none in the package's files:

- a free joint on a root body around the pelvis, turned +90° about z so that the legs walk along
  +x with an identity root quaternion (the files' pelvis faces -y);
- a floor plane (the component files have none); foot/leg collision capsules collide with it
  (contype 1), the legs do not collide with each other (the files' leg-leg contact pairs belong to
  the full-body scene and are not included);
- the files' solver/size options are replaced by ``models._finish`` (2 substeps of 1/120 s, no
  warm start), like every differentiable task, but with MuJoCo's semi-implicit Euler integrator
  instead of implicitfast (see ``build``);
- muscle activation time constant 20 ms instead of 10 ms and a smooth activation/deactivation
  switch (``TAU_ACTIVATION``, ``TAU_SMOOTH``), so that activations stay in [0, 1] and are smooth
  at 1/120 s steps.

The muscles' state (activations) is part of the physics state: ``backend.py`` carries it after
qvel and ``mjd_transitionFD`` differentiates it.
"""

from __future__ import annotations

from pathlib import Path

import mujoco

from pwm.envs.diff import models

FLOOR_FRICTION = 1.0
# Activation time constant (s): the file's 10 ms becomes 5 ms at zero activation (MuJoCo scales it
# by 0.5 + 1.5·act), and one explicit-Euler 1/120 s step then overshoots the excitation (dt/τ 1.7);
# 20 ms keeps dt/τ ≤ 0.83. Deactivation keeps the file's 40 ms.
TAU_ACTIVATION = 0.02
# Width of the smooth switch between the activation and deactivation time constants (MuJoCo's
# ``tausmooth``; the file's 0 is a kink where excitation = activation, which one-sided finite
# differences straddle).
TAU_SMOOTH = 0.2
START_HEIGHT = 0.95  # root (pelvis origin) height at which the heels touch the floor (measured: 0.946)
# The 14 joints a walking policy controls through its muscles (7 per leg); the other 14 hinge and
# slide joints of each knee are tied to knee_angle by equality constraints.
INDEPENDENT_JOINTS = [
    f"{name}_{side}"
    for side in ("r", "l")
    for name in (
        "hip_flexion",
        "hip_adduction",
        "hip_rotation",
        "knee_angle",
        "ankle_angle",
        "subtalar_angle",
        "mtp_angle",
    )
]


def myolegs_dir() -> Path:
    """The installed myo-sim package's models directory (a clear error if it is missing)."""
    try:
        import myo_sim
    except ImportError as exc:
        raise ImportError("the muscle-legs task needs MyoSuite's model package: pip install 'myo-sim==0.2.0'") from exc
    return Path(myo_sim.__file__).parent / "models"


def mjcf() -> str:
    root = myolegs_dir()
    leg = root / "leg" / "assets"
    return f"""<mujoco model="muscle-legs">
  <compiler angle="radian" meshdir="{root}" texturedir="{root}"/>
  <include file="{leg / "myolegs_assets.xml"}"/>
  <include file="{leg / "myolegs_tendon.xml"}"/>
  <include file="{leg / "myolegs_muscle.xml"}"/>
  <worldbody>
    <geom name="floor" type="plane" size="0 0 1" contype="1" conaffinity="1" friction="{FLOOR_FRICTION} 0.005 0.0001"/>
    <body name="root" pos="0 0 {START_HEIGHT}">
      <freejoint name="root"/>
      <frame euler="0 0 1.5707963267948966">
        <include file="{leg / "myolegs_chain.xml"}"/>
      </frame>
    </body>
  </worldbody>
</mujoco>"""


def build(substeps: int = models.DEFAULT_SUBSTEPS) -> mujoco.MjModel:
    spec = mujoco.MjSpec.from_string(mjcf())
    for muscle in spec.actuators:
        muscle.dynprm[0] = TAU_ACTIVATION
        muscle.dynprm[2] = TAU_SMOOTH
    model = models._finish(spec, substeps)
    # Semi-implicit Euler, not implicitfast: MuJoCo 3.3.0's mjd_transitionFD reuses the implicit
    # factorisation (M - dt·∂f/∂qvel) when it perturbs activations, but a muscle's ∂f/∂qvel scales
    # with its activation, so the activation columns of A came out 40 % wrong; with Euler they agree
    # with finite differences of mj_step exactly (tests). Joint damping 0.5 on armature 0.01 is
    # stable at 1/120 s (dt·b/I ≈ 0.4).
    model.opt.integrator = mujoco.mjtIntegrator.mjINT_EULER
    return model
