"""One constructor for a batch of differentiable envs, whichever simulator the task runs on.

SHAC, single-task PWM and the landscape build their envs here: ``DiffEnv`` (MuJoCo with
finite-difference Jacobians, CPU) for the ``differentiable`` family, ``DflexEnv`` (dflex's adjoint
kernels, CPU or CUDA) for the ``dflex`` family. Both have the same interface (pwm/envs/diff/batched.py).
"""

from __future__ import annotations

from pwm.envs.suites import DIFFERENTIABLE_FAMILIES, task_family


def make_batched_env(task: str, num_envs: int, seed: int = 0, threads: int = 1, device: str = "cpu", **mujoco):
    """``num_envs`` envs of ``task``. ``threads`` and ``mujoco`` (e.g. ``substeps``) are the MuJoCo
    backend's; ``device`` is dflex's (MuJoCo runs on the CPU whatever it says)."""
    family = task_family(task)
    if family == "dflex":
        from pwm.envs.dflex.batched import DflexEnv

        return DflexEnv(task, num_envs, seed=seed, device=device)
    if family not in DIFFERENTIABLE_FAMILIES:
        raise ValueError(
            f"{task!r} is not a differentiable task (family {family}); differentiable tasks are the "
            f"families {' and '.join(DIFFERENTIABLE_FAMILIES)} (`pwm-bench tasks`)"
        )
    from pwm.envs.diff import DiffEnv

    return DiffEnv(task, num_envs, seed=seed, threads=threads, **mujoco)
