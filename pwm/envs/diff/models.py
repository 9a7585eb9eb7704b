"""MuJoCo models of the differentiable tasks, built from MJCF files that ship with installed packages.

DiffRL's own XML files may not be copied (NVIDIA source licence), so every model starts from an
MIT/Apache MJCF file inside gymnasium or dm_control and is edited with ``mujoco.MjSpec`` towards
dflex's load-time parameters (density, joint damping/armature, friction, action strength). What
cannot be matched (dflex's explicit penalty contacts and joint-limit springs, its reduced-coordinate
semi-implicit integrator with 4-48 substeps) is listed per task in ``DEVIATIONS`` and in
docs/differentiable-envs.md.

Common choices for all tasks, and why:
- ``implicitfast`` integrator: ``mjd_transitionFD`` refuses RK4, and implicit damping keeps the
  heavy dflex-density bodies stable at 2 substeps per 1/60 s control step.
- Actuators are plain motors in *joint order* (dflex writes action i to joint i), gear = dflex's
  action strength, and no ctrl range: actions are clipped to [-1, 1] in torch, as dflex does.
- Warm-starting of the constraint solver is disabled so that one physics step is a pure function of
  (qpos, qvel, ctrl); the finite-difference Jacobians and the torch state then describe the same map.
"""

from __future__ import annotations

import os
from pathlib import Path

import mujoco
import numpy as np

CONTROL_DT = 1.0 / 60.0  # dflex's control step
DEFAULT_SUBSTEPS = 2


def _gym_asset(name: str) -> Path:
    import gymnasium

    return Path(os.path.dirname(gymnasium.__file__)) / "envs" / "mujoco" / "assets" / name


def _dm_control_spec(domain: str) -> mujoco.MjSpec:
    import dm_control

    # From the file, so that its ./common/*.xml includes resolve relative to the suite directory.
    return mujoco.MjSpec.from_file(str(Path(dm_control.__file__).parent / "suite" / f"{domain}.xml"))


def _finish(spec: mujoco.MjSpec, substeps: int) -> mujoco.MjModel:
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.option.timestep = CONTROL_DT / substeps
    spec.option.disableflags |= mujoco.mjtDisableBit.mjDSBL_WARMSTART
    return spec.compile()


def _motors_in_joint_order(spec: mujoco.MjSpec, gears: dict[str, float]) -> None:
    """Replace the file's actuators by one unlimited motor per joint in ``gears`` (dict order)."""
    for actuator in list(spec.actuators):
        actuator.delete()
    for joint, gear in gears.items():
        motor = spec.add_actuator()
        motor.name = joint
        motor.target = joint
        motor.trntype = mujoco.mjtTrn.mjTRN_JOINT
        motor.gear[0] = gear
        motor.ctrllimited = mujoco.mjtLimited.mjLIMITED_FALSE


def _hinges(spec: mujoco.MjSpec) -> list:
    return [j for j in spec.joints if j.type == mujoco.mjtJoint.mjJNT_HINGE and j.name not in ("rooty",)]


def _set_density(spec: mujoco.MjSpec, density: float) -> None:
    for geom in spec.geoms:
        geom.density = density


def hopper(substeps: int = DEFAULT_SUBSTEPS) -> mujoco.MjModel:
    """gymnasium's hopper.xml with dflex's hopper parameters (damping 2, armature 1, mu 0.9, gear 200)."""
    spec = mujoco.MjSpec.from_file(str(_gym_asset("hopper.xml")))
    _set_density(spec, 1000.0)
    for joint in _hinges(spec):
        joint.damping = 2.0
        joint.armature = 1.0
        joint.stiffness = 0.0
    for geom in spec.geoms:
        if geom.name != "floor":
            geom.friction[0] = 0.9
    _motors_in_joint_order(spec, {"thigh_joint": 200.0, "leg_joint": 200.0, "foot_joint": 200.0})
    return _finish(spec, substeps)


ANT_JOINTS = ["hip_1", "ankle_1", "hip_2", "ankle_2", "hip_3", "ankle_3", "hip_4", "ankle_4"]


def ant(substeps: int = DEFAULT_SUBSTEPS) -> mujoco.MjModel:
    """gymnasium's ant.xml with dflex's ant parameters (density 1000, damping 1, armature 0.05,
    mu 0.75, gear 200 in joint order)."""
    spec = mujoco.MjSpec.from_file(str(_gym_asset("ant.xml")))
    _set_density(spec, 1000.0)
    for joint in _hinges(spec):
        joint.damping = 1.0
        joint.armature = 0.05
        joint.stiffness = 0.0
    for geom in spec.geoms:
        geom.friction[0] = 0.75
    _motors_in_joint_order(spec, {name: 200.0 for name in ANT_JOINTS})
    return _finish(spec, substeps)


HUMANOID_JOINTS = [
    "abdomen_z",
    "abdomen_y",
    "abdomen_x",
    "right_hip_x",
    "right_hip_z",
    "right_hip_y",
    "right_knee",
    "right_ankle_y",
    "right_ankle_x",
    "left_hip_x",
    "left_hip_z",
    "left_hip_y",
    "left_knee",
    "left_ankle_y",
    "left_ankle_x",
    "right_shoulder1",
    "right_shoulder2",
    "right_elbow",
    "left_shoulder1",
    "left_shoulder2",
    "left_elbow",
]
# dflex's per-joint motor strengths (joint order above) times its motor scale 0.35.
HUMANOID_STRENGTHS = [
    200,
    200,
    200,
    200,
    200,
    600,
    400,
    100,
    100,
    200,
    200,
    600,
    400,
    100,
    100,
    100,
    100,
    200,
    100,
    100,
    200,
]
HUMANOID_MOTOR_SCALE = 0.35


def humanoid(substeps: int = DEFAULT_SUBSTEPS) -> mujoco.MjModel:
    """dm_control's humanoid.xml (21 actuated joints, like DiffRL's) with dflex's motor strengths,
    friction 0.75, and its default joint stiffness 5 / damping 0.1 / armature 0.007 on the joints
    that the file gives no class values (dm_control's per-joint stiffness and damping are kept)."""
    spec = _dm_control_spec("humanoid")
    for sensor in list(spec.sensors):
        sensor.delete()
    for joint in spec.joints:
        if joint.type != mujoco.mjtJoint.mjJNT_HINGE:
            continue
        if joint.classname.name not in ("big_joint", "big_stiff_joint"):
            joint.stiffness, joint.damping = 5.0, 0.1
        joint.armature = 0.007
    for geom in spec.geoms:
        geom.friction[0] = 0.75
    _motors_in_joint_order(
        spec, {name: HUMANOID_MOTOR_SCALE * s for name, s in zip(HUMANOID_JOINTS, HUMANOID_STRENGTHS)}
    )
    return _finish(spec, substeps)


CHEETAH_JOINTS = ["bthigh", "bshin", "bfoot", "fthigh", "fshin", "ffoot"]


def cheetah(substeps: int = DEFAULT_SUBSTEPS) -> mujoco.MjModel:
    """gymnasium's half_cheetah.xml with dflex's cheetah parameters (density 1000, armature 0.1,
    mu 1, gear 200); the file's per-joint stiffness and damping are kept, as dflex loads them."""
    spec = mujoco.MjSpec.from_file(str(_gym_asset("half_cheetah.xml")))
    _set_density(spec, 1000.0)
    for joint in _hinges(spec):
        joint.armature = 0.1
    for geom in spec.geoms:
        geom.friction[0] = 1.0
    _motors_in_joint_order(spec, {name: 200.0 for name in CHEETAH_JOINTS})
    return _finish(spec, substeps)


def cartpole(substeps: int = DEFAULT_SUBSTEPS) -> mujoco.MjModel:
    """dm_control's cartpole.xml with dflex's cart-pole: cart 1 kg, pole 10 kg with its centre of
    mass 0.5 m above the hinge and unit inertia, rail +-4 m, force 1000 N per unit action, no
    contacts and no joint damping."""
    spec = _dm_control_spec("cartpole")
    cart = spec.body("cart")
    pole = spec.body("pole_1")
    for geom in cart.geoms:
        geom.mass = 1.0
    pole.explicitinertial = True
    pole.mass = 10.0
    pole.ipos = np.array([0.0, 0.0, 0.5])
    pole.inertia = np.array([1.0, 1.0, 1.0])
    slider = spec.joint("slider")
    slider.range = np.array([-4.0, 4.0])
    slider.damping = 0.0
    spec.joint("hinge_1").damping = 0.0
    _motors_in_joint_order(spec, {"slider": 1000.0})
    return _finish(spec, substeps)


def quadruped(substeps: int = DEFAULT_SUBSTEPS) -> mujoco.MjModel:
    """The 12-joint quadruped of ``quadruped_model.py`` (dm_control's quadruped as an Anymal stand-in)."""
    from pwm.envs.diff import quadruped_model

    return quadruped_model.build(substeps)


def muscle_legs(substeps: int = DEFAULT_SUBSTEPS) -> mujoco.MjModel:
    """MyoSuite's 80-muscle legs of ``muscle_legs_model.py`` (the SNU Humanoid stand-in)."""
    from pwm.envs.diff import muscle_legs_model

    return muscle_legs_model.build(substeps)


BUILDERS = {
    "hopper": hopper,
    "ant": ant,
    "humanoid": humanoid,
    "cheetah": cheetah,
    "cartpole": cartpole,
    "quadruped": quadruped,
    "muscle-legs": muscle_legs,
}
