"""Physics backends: advance a batch of states by one control step, optionally with Jacobians.

The differentiable env (``batched.py``) and everything above it (SHAC, PWM) only see this small
interface, so a GPU backend (MJX, Newton) can be added later by implementing :class:`PhysicsBackend`
(or by supplying its own autograd function) without touching the learning code.

The CPU backend here is MuJoCo's C library: ``mjd_transitionFD`` gives the Jacobians of one
physics substep (A = ∂x'/∂x over the tangent state x = (δqpos, qvel), B = ∂x'/∂ctrl) by forward
finite differences, and a control step of K substeps composes them: A = A_K⋯A_1,
B = Σ_k A_K⋯A_{k+1} B_k (the control is held over the substeps). Environments are spread over a
thread pool; MuJoCo releases the GIL in ``mj_step`` and ``mjd_transitionFD``, so threads run in
parallel. The gradient-free path (evaluation, data collection) runs only ``mj_step``.

Models with actuator activation state (muscles, ``model.na > 0``) carry the activations after the
joint velocities: the "velocity" array is ``[qvel, act]`` of width nv + na. That is exactly the
order of ``mjd_transitionFD``'s state (δqpos, qvel, act), so A is (2nv+na)² and the autograd step
and the tangent maps need no change; torque-driven models have na = 0 and nothing differs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import mujoco
import numpy as np

from pwm.envs.diff.tangent import TangentLayout

DIVERGENCE_LIMIT = 1e6  # |qpos| or |qvel| above this counts as a blown-up simulation (dflex's rule)
_BAD_STATE_WARNINGS = (
    mujoco.mjtWarning.mjWARN_BADQACC,
    mujoco.mjtWarning.mjWARN_BADQPOS,
    mujoco.mjtWarning.mjWARN_BADQVEL,
)


@dataclass
class StepResult:
    qpos: np.ndarray  # [N, nq]
    qvel: np.ndarray  # [N, nv + na]: joint velocities, then actuator activations (na = 0 for motors)
    diverged: np.ndarray  # [N] bool: NaN/Inf/huge state, or MuJoCo reset the data
    A: np.ndarray | None = None  # [N, 2nv+na, 2nv+na] tangent-state Jacobian of the control step
    B: np.ndarray | None = None  # [N, 2nv+na, nu]


class PhysicsBackend(ABC):
    """A batch of independent copies of one model, advanced one control step at a time."""

    nq: int
    nv: int
    nu: int
    layout: TangentLayout

    @abstractmethod
    def step(self, qpos: np.ndarray, qvel: np.ndarray, ctrl: np.ndarray, jacobians: bool = False) -> StepResult:
        """Advance every row by one control step; with ``jacobians`` also return A and B."""

    def close(self) -> None:
        """Release worker threads."""


class MujocoFDBackend(PhysicsBackend):
    """MuJoCo C, ``substeps`` physics steps per control step, FD Jacobians, a thread pool."""

    def __init__(
        self, model: mujoco.MjModel, substeps: int, threads: int = 1, fd_eps: float = 1e-6, fd_centered: bool = False
    ):
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self.model = model
        self.substeps = int(substeps)
        self.threads = int(threads)
        self.fd_eps = float(fd_eps)
        self.fd_centered = bool(fd_centered)
        self.nq, self.nv, self.nu, self.na = model.nq, model.nv, model.nu, model.na
        self.layout = TangentLayout.from_model(model)
        self._datas: list[mujoco.MjData] = []
        self._pool = ThreadPoolExecutor(max_workers=self.threads) if self.threads > 1 else None

    def _ensure(self, n: int) -> None:
        while len(self._datas) < n:
            self._datas.append(mujoco.MjData(self.model))

    def _run(self, rows, qpos, qvel, ctrl, out: StepResult) -> None:
        m, nv, na = self.model, self.nv, self.na
        ns = 2 * nv + na
        if out.A is not None:
            a_k = np.zeros((ns, ns))
            b_k = np.zeros((ns, self.nu))
        for i in rows:
            d = self._datas[i]
            d.qpos[:] = qpos[i]
            d.qvel[:] = qvel[i, :nv]
            if na:
                d.act[:] = qvel[i, nv:]
            d.ctrl[:] = ctrl[i]
            d.time = 0.0
            for w in _BAD_STATE_WARNINGS:
                d.warning[w].number = 0
            if out.A is None:
                for _ in range(self.substeps):
                    mujoco.mj_step(m, d)
            else:  # the first substep's Jacobians are written in place: no product with the identity
                a_acc, b_acc = out.A[i], out.B[i]
                mujoco.mjd_transitionFD(m, d, self.fd_eps, self.fd_centered, a_acc, b_acc, None, None)
                mujoco.mj_step(m, d)
                for _ in range(self.substeps - 1):
                    mujoco.mjd_transitionFD(m, d, self.fd_eps, self.fd_centered, a_k, b_k, None, None)
                    mujoco.mj_step(m, d)
                    a_acc[:] = a_k @ a_acc
                    b_acc[:] = a_k @ b_acc + b_k
            out.qpos[i] = d.qpos
            out.qvel[i, :nv] = d.qvel
            if na:
                out.qvel[i, nv:] = d.act
            out.diverged[i] = any(d.warning[w].number for w in _BAD_STATE_WARNINGS)

    def step(self, qpos, qvel, ctrl, jacobians: bool = False) -> StepResult:
        qpos = np.ascontiguousarray(qpos, dtype=np.float64)
        qvel = np.ascontiguousarray(qvel, dtype=np.float64)
        ctrl = np.ascontiguousarray(ctrl, dtype=np.float64)
        n = qpos.shape[0]
        if qpos.shape != (n, self.nq) or qvel.shape != (n, self.nv + self.na) or ctrl.shape != (n, self.nu):
            raise ValueError(
                f"expected qpos [N,{self.nq}], qvel (+act) [N,{self.nv + self.na}], ctrl [N,{self.nu}]; got "
                f"{qpos.shape}, {qvel.shape}, {ctrl.shape}"
            )
        self._ensure(n)
        out = StepResult(np.empty_like(qpos), np.empty_like(qvel), np.zeros(n, dtype=bool))
        if jacobians:
            out.A = np.empty((n, 2 * self.nv + self.na, 2 * self.nv + self.na))
            out.B = np.empty((n, 2 * self.nv + self.na, self.nu))
        if self._pool is None or n == 1:
            self._run(range(n), qpos, qvel, ctrl, out)
        else:
            chunks = [c for c in np.array_split(np.arange(n), self.threads) if len(c)]
            for future in [self._pool.submit(self._run, c, qpos, qvel, ctrl, out) for c in chunks]:
                future.result()
        # NaN compares False, so a NaN state counts as diverged too; one pass over the batch
        finite = (np.abs(out.qpos) < DIVERGENCE_LIMIT).all(-1) & (np.abs(out.qvel) < DIVERGENCE_LIMIT).all(-1)
        out.diverged |= ~finite
        if jacobians and out.diverged.any():
            out.A[out.diverged] = 0.0  # no gradient through a blown-up step
            out.B[out.diverged] = 0.0
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
