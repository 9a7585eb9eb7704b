"""The 12-joint quadruped standing in for dflex's Anymal, built from dm_control's quadruped.xml.

No ANYmal model can be installed or fetched here (DiffRL's URDF and meshes may not be copied, and
menagerie downloads at run time), so the body is dm_control's quadruped (Apache-2.0, shipped in
the ``dm_control`` wheel) edited with ``mujoco.MjSpec`` into an Anymal-like robot:

- each leg (dm_control's legs point diagonally outwards, ANYmal's are sagittal) keeps its hip yaw (abduction, like HAA), hip pitch (HFE) and knee (KFE) hinges; the
  ankle hinge is removed (welded at 0), so there are 12 joints as on ANYmal;
- the file's tendon couplings, equality constraints and position servos (through tendons) are
  removed and replaced by 12 unlimited torque motors in joint order, gear 100 N·m (dflex's Anymal:
  torque 200·a; 100 is ample for this 50 kg body and keeps random actions less violent), actions
  clipped to [-1, 1] in torch;
- joint springs of stiffness 85 towards the start pose and damping 2 are dflex's Anymal joint
  stiffness/damping (dflex's spring pulls towards its joint target instead); armature 0.006;
- the fetch ball, the arena walls, the rangefinder sites and the sensors are dropped; friction 0.75.

What differs from ANYmal: geometry (capsule legs splayed diagonally, a 0.6 m ellipsoid torso,
sphere toes) and mass distribution; the densities are scaled so that the total mass is 50 kg (the
file's robot weighs 107 kg; ANYmal C about 50 kg); joint ranges are dm_control's.
"""

from __future__ import annotations

import mujoco

from pwm.envs.diff import models

LEGS = ("front_left", "front_right", "back_right", "back_left")
JOINTS = [f"{kind}_{leg}" for leg in LEGS for kind in ("yaw", "pitch", "knee")]
GEAR = 100.0
STIFFNESS = 85.0
DAMPING = 2.0
ARMATURE = 0.006
FRICTION = 0.75
TARGET_MASS = 50.0
# Start pose (joint order of JOINTS): hip pitch and knee bent by 0.5 rad so that each toe is under
# its hip (dm_control's zero pose splays the legs diagonally outwards); the torso then stands at
# START_HEIGHT and, with zero action, the springs hold it at about 0.60 m.
START_JOINTS = tuple(v for _ in LEGS for v in (0.0, 0.5, 0.5))
START_HEIGHT = 0.64


def build(substeps: int = models.DEFAULT_SUBSTEPS) -> mujoco.MjModel:
    spec = models._dm_control_spec("quadruped")
    for sensor in list(spec.sensors):
        sensor.delete()
    for actuator in list(spec.actuators):
        actuator.delete()
    for equality in list(spec.equalities):
        equality.delete()
    for tendon in list(spec.tendons):
        tendon.delete()
    for joint in list(spec.joints):
        if joint.name.startswith("ankle_"):
            joint.delete()
    spec.detach_body(spec.body("ball"))
    for geom in list(spec.geoms):
        if geom.name.startswith("wall_"):
            geom.delete()
    for site in list(spec.sites):
        if site.name.startswith("rf_"):
            site.delete()
    start = dict(zip(JOINTS, START_JOINTS))
    for joint in spec.joints:
        if joint.type == mujoco.mjtJoint.mjJNT_HINGE:
            joint.stiffness = STIFFNESS
            joint.springref = start[joint.name]
            joint.damping = DAMPING
            joint.armature = ARMATURE
    for geom in spec.geoms:
        geom.friction[0] = FRICTION
    models._motors_in_joint_order(spec, {name: GEAR for name in JOINTS})
    for motor in spec.actuators:  # the file's default class makes actuators first-order servos
        motor.dyntype, motor.biastype = mujoco.mjtDyn.mjDYN_NONE, mujoco.mjtBias.mjBIAS_NONE
        motor.gaintype = mujoco.mjtGain.mjGAIN_FIXED
        motor.gainprm[:] = 0.0
        motor.gainprm[0] = 1.0
        motor.biasprm[:] = 0.0
        motor.dynprm[:] = 0.0
    _scale_mass(spec, TARGET_MASS)
    return models._finish(spec, substeps)


def _scale_mass(spec: mujoco.MjSpec, target: float) -> None:
    """Scale every geom's density (the file gives densities, not masses) to reach ``target`` kg."""
    mass = float(spec.compile().body_subtreemass[1])
    for geom in spec.geoms:
        geom.density = geom.density * target / mass
