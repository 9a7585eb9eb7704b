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

The per-env Python between those C calls is what keeps threads from scaling (it holds the GIL), so
it is kept to one ``mj_setState`` (time, qpos, qvel, act, ctrl from one packed row), the substeps'
calls, and one ``mj_getState``; the substeps' Jacobians are written straight into a batch array
and composed afterwards with batched matrix products. A blown-up step is detected without reading
MuJoCo's warnings: every step starts at time 1, MuJoCo resets a bad state's data (time 0), so a
step that does not end at 1 + substeps·dt was reset.

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
_STATE = mujoco.mjtState
_STATE_IN = int(
    _STATE.mjSTATE_TIME | _STATE.mjSTATE_QPOS | _STATE.mjSTATE_QVEL | _STATE.mjSTATE_ACT | _STATE.mjSTATE_CTRL
)
_STATE_OUT = int(_STATE.mjSTATE_TIME | _STATE.mjSTATE_QPOS | _STATE.mjSTATE_QVEL | _STATE.mjSTATE_ACT)
START_TIME = 1.0  # each step's d.time at its start: a reset (time 0) shows as a step ending elsewhere


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
        # the calling thread runs one share itself: threads - 1 workers, one hand-off fewer per step
        self._pool = ThreadPoolExecutor(max_workers=self.threads - 1) if self.threads > 1 else None

    def _ensure(self, n: int) -> None:
        while len(self._datas) < n:
            self._datas.append(mujoco.MjData(self.model))

    def _run(self, rows, packed: np.ndarray, out: np.ndarray, A_k: np.ndarray | None, B_k: np.ndarray | None):
        """Step each row's data from its packed input; with ``A_k`` also each substep's Jacobians."""
        m, datas, substeps, eps, centered = self.model, self._datas, self.substeps, self.fd_eps, self.fd_centered
        for i in rows:
            d = datas[i]
            mujoco.mj_setState(m, d, packed[i], _STATE_IN)
            if A_k is None:
                for _ in range(substeps):
                    mujoco.mj_step(m, d)
            else:
                a_i, b_i = A_k[i], B_k[i]
                for k in range(substeps):
                    mujoco.mjd_transitionFD(m, d, eps, centered, a_i[k], b_i[k], None, None)
                    mujoco.mj_step(m, d)
            mujoco.mj_getState(m, d, out[i], _STATE_OUT)

    def step(self, qpos, qvel, ctrl, jacobians: bool = False) -> StepResult:
        n, nq, nv, na, nu = len(qpos), self.nq, self.nv, self.na, self.nu
        if np.shape(qpos) != (n, nq) or np.shape(qvel) != (n, nv + na) or np.shape(ctrl) != (n, nu):
            raise ValueError(
                f"expected qpos [N,{nq}], qvel (+act) [N,{nv + na}], ctrl [N,{nu}]; got "
                f"{np.shape(qpos)}, {np.shape(qvel)}, {np.shape(ctrl)}"
            )
        self._ensure(n)
        packed = np.empty((n, 1 + nq + nv + na + nu))  # mj_setState's order: time, qpos, qvel, act, ctrl
        packed[:, 0] = START_TIME
        packed[:, 1 : 1 + nq] = qpos
        packed[:, 1 + nq : 1 + nq + nv + na] = qvel
        packed[:, 1 + nq + nv + na :] = ctrl
        out = np.empty((n, 1 + nq + nv + na))  # time, qpos, qvel, act
        ns, substeps = 2 * nv + na, self.substeps
        A_k = np.empty((n, substeps, ns, ns)) if jacobians else None
        B_k = np.empty((n, substeps, ns, nu)) if jacobians else None
        if self._pool is None or n == 1:
            self._run(range(n), packed, out, A_k, B_k)
        else:
            chunks = [c for c in np.array_split(np.arange(n), self.threads) if len(c)]
            futures = [self._pool.submit(self._run, c, packed, out, A_k, B_k) for c in chunks[1:]]
            self._run(chunks[0], packed, out, A_k, B_k)
            for future in futures:
                future.result()
        qpos_out, qvel_out = out[:, 1 : 1 + nq].copy(), out[:, 1 + nq :].copy()
        # A step MuJoCo reset ends near time 0; NaN compares False, so a NaN state counts as diverged too
        end_time = START_TIME + substeps * self.model.opt.timestep
        ended = np.abs(out[:, 0] - end_time) < 1e-9 * end_time
        finite = (np.abs(qpos_out) < DIVERGENCE_LIMIT).all(-1) & (np.abs(qvel_out) < DIVERGENCE_LIMIT).all(-1)
        result = StepResult(qpos_out, qvel_out, ~(ended & finite))
        if jacobians:
            result.A, result.B = compose_substeps(A_k, B_k)
            if result.diverged.any():
                result.A[result.diverged] = 0.0  # no gradient through a blown-up step
                result.B[result.diverged] = 0.0
        return result

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def compose_substeps(A_k: np.ndarray, B_k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A control step's (A, B) from its substeps' [N, K, ns, ns] and [N, K, ns, nu] Jacobians, the
    control held over the substeps: A = A_K⋯A_1, B = Σ_k A_K⋯A_{k+1} B_k (batched over N)."""
    A, B = A_k[:, 0].copy(), B_k[:, 0].copy()
    for k in range(1, A_k.shape[1]):
        B = np.matmul(A_k[:, k], B) + B_k[:, k]
        A = np.matmul(A_k[:, k], A)
    return A, B
