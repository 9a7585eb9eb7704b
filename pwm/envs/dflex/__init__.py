"""dflex, the PWM paper's own simulator, as an optional backend of the differentiable tasks.

Tasks ``dflex-hopper``, ``dflex-ant``, ``dflex-anymal``, ``dflex-humanoid``, ``dflex-snu-humanoid``,
and ``dflex-cartpole``: the environments of the fork imgeorgiev/DiffRL (``dflex.envs``)
with the settings PWM's paper used (``tasks.py``), behind DiffEnv's batched interface (``batched.py``),
so SHAC and single-task PWM run on them unchanged, and as gymnasium envs for evaluation.

The family registers only when dflex is installed (``availability.py``); it is never part of this
project: no dflex code, no recipe that builds it. README.md, "dflex tasks", says how to install it.
"""

from __future__ import annotations

from pwm.envs.dflex.availability import missing_reason
from pwm.envs.dflex.tasks import DFLEX_ENVS
from pwm.envs.registry import TaskSpec, register
from pwm.envs.scoring import max_return
from pwm.envs.suites import mujoco_twin

FAMILY = "dflex"


def _gym_env(task: str, seed: int):
    from pwm.envs.dflex.batched import DflexEnv
    from pwm.envs.diff.gym_env import DiffGymEnv

    return DiffGymEnv(DflexEnv(task, num_envs=1, seed=seed), seed)


def register_dflex_tasks() -> bool:
    """Register the family when dflex is installed (without importing it); whether it did."""
    if missing_reason() is not None:
        return False
    for name, (_, settings) in DFLEX_ENVS.items():
        register(
            TaskSpec(
                name=name,
                domain=mujoco_twin(name),
                family=FAMILY,
                factory=lambda seed, n=name: _gym_env(n, seed),
                episode_length=settings["episode_length"],
                action_repeat=1,
                score="reward",
                max_return=max_return(name),
                early_termination=bool(settings.get("early_termination", False)),
            )
        )
    return True
