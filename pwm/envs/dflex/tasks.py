"""The dflex tasks: the fork's environment class of each, and the settings PWM's paper ran it with.

The settings are the ``config`` blocks of the PWM repository's scripts/cfg/env/dflex_<env>.yaml
(imgeorgiev/PWM, commit aa5a1d8), without ``num_envs`` (the algorithm's), ``render`` and ``device``
(the run's). There is no dflex-cheetah: the fork's CheetahEnv (at bb59db5) fails in its constructor,
passing 15 arguments to DFlexEnv's 13. ``no_grad`` is not set here: the adapter switches dflex's
adjoint tape per step (pwm/envs/dflex/batched.py). No dflex import: the table is read by the registry.
"""

from __future__ import annotations

DFLEX_ENVS: dict[str, tuple[str, dict]] = {
    "dflex-hopper": (
        "HopperEnv",
        dict(
            episode_length=1000,
            MM_caching_frequency=16,
            early_termination=True,
            termination_height=-0.45,
            termination_angle=0.524,
            termination_height_tolerance=0.15,
            termination_angle_tolerance=0.05,
            height_rew_scale=1.0,
            angle_rew_scale=1.0,
            action_penalty=-0.1,
        ),
    ),
    "dflex-ant": (
        "AntEnv",
        dict(
            episode_length=1000,
            MM_caching_frequency=16,
            early_termination=True,
            termination_height=0.27,
            action_penalty=0.0,
            joint_vel_obs_scaling=0.1,
            up_rew_scale=0.1,
        ),
    ),
    "dflex-anymal": (
        "AnymalEnv",
        dict(
            episode_length=1000,
            MM_caching_frequency=16,
            early_termination=True,
            nan_state_fix=True,
            termination_height=0.25,
            action_penalty=-5e-3,
            up_rew_scale=0.1,
            heading_rew_scale=1.0,
            heigh_rew_scale=1.0,
        ),
    ),
    "dflex-humanoid": (
        "HumanoidEnv",
        dict(
            episode_length=1000,
            MM_caching_frequency=48,
            early_termination=True,
            termination_height=0.74,
            action_penalty=-0.002,
            joint_vel_obs_scaling=0.1,
            termination_tolerance=0.1,
            height_rew_scale=10.0,
            up_rew_scale=0.1,
            heading_rew_scale=1.0,
        ),
    ),
    "dflex-snu-humanoid": (
        "SNUHumanoidEnv",
        dict(
            episode_length=1000,
            MM_caching_frequency=8,
            early_termination=True,
            termination_height=0.46,
            termination_tolerance=0.05,
            height_rew_scale=4.0,
            up_rew_scale=0.1,
            heading_rew_scale=1.0,
            action_penalty=-1e-3,
            joint_vel_obs_scaling=0.1,
        ),
    ),
    "dflex-cartpole": ("CartPoleSwingUpEnv", dict(episode_length=240, MM_caching_frequency=8)),
}
