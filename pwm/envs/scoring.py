"""How one episode's outcome becomes a task's score for aggregation, known without building the task.

TD-MPC2's multitask rule: a dm_control task scores its return / 1000 (returns lie in [0, 1000]), a
Meta-World task its final-step success. The differentiable tasks have other return scales, so each
has its own divisor (its task class's docstring says where the number comes from). This table is
the one home of those rules: the registry's ``TaskSpec.score`` / ``max_return`` come from it, and
the analysis jobs read it directly, so normalising scores imports no simulator, gymnasium or torch.
Names outside it (imported published results) follow the same naming rule.
"""

from __future__ import annotations

import math

from pwm.envs.suites import METAWORLD_PREFIX, mujoco_twin

DEFAULT_MAX_RETURN = 1000.0

# Return divisors of the differentiable tasks: PWM's PPO normalisers of the dflex tasks they port
# (hopper, ant, humanoid, quadruped for Anymal, muscle-legs for SNU Humanoid), plain scales for
# cheetah and cartpole; cartpole's returns are <= 0, so 240·π² (the cost of
# hanging still for a whole episode) is a scale, not a maximum.
MAX_RETURNS: dict[str, float] = {
    "cartpole": 240.0 * math.pi**2,
    "hopper": 4742.30,
    "cheetah": 10000.0,
    "ant": 6604.66,
    "humanoid": 7292.79,
    "quadruped": 12028.99,
    "muscle-legs": 4246.04,
}


def score_kind(task: str) -> str:
    """``"success"`` (the final-step success) for Meta-World tasks, else ``"reward"``."""
    return "success" if task.startswith(METAWORLD_PREFIX) else "reward"


def max_return(task: str) -> float:
    """The divisor of a reward-scored task's return (a dflex task: its MuJoCo twin's, the same
    normaliser of PWM's, since the MuJoCo tasks port dflex's)."""
    return MAX_RETURNS.get(mujoco_twin(task), DEFAULT_MAX_RETURN)
