"""The physics step as a torch.autograd.Function whose backward applies the FD Jacobians.

Forward calls the backend once for the whole batch and keeps each env's control-step Jacobians
(A over the tangent state, B over the controls). Backward is two batched matrix products,
``g_x = Aᵀ g_x'`` and ``g_u = Bᵀ g_x'``, wrapped in the quaternion tangent maps of ``tangent.py``.
NaN/Inf in incoming or outgoing gradients are zeroed (dflex's Humanoid hooks do the same), so one
blown-up env cannot poison the batch's update.
"""

from __future__ import annotations

import torch

from pwm.envs.diff.backend import PhysicsBackend


class PhysicsStep(torch.autograd.Function):
    @staticmethod
    def forward(ctx, qpos: torch.Tensor, qvel: torch.Tensor, ctrl: torch.Tensor, backend: PhysicsBackend):
        result = backend.step(
            qpos.detach().cpu().numpy(), qvel.detach().cpu().numpy(), ctrl.detach().cpu().numpy(), jacobians=True
        )
        dtype, device = qpos.dtype, qpos.device
        next_qpos = torch.from_numpy(result.qpos).to(device=device, dtype=dtype)
        next_qvel = torch.from_numpy(result.qvel).to(device=device, dtype=dtype)
        diverged = torch.from_numpy(result.diverged).to(device)
        A = torch.from_numpy(result.A).to(device=device, dtype=dtype)
        B = torch.from_numpy(result.B).to(device=device, dtype=dtype)
        ctx.layout = backend.layout
        ctx.ctrl_dtype = ctrl.dtype
        ctx.save_for_backward(qpos.detach(), next_qpos, A, B)
        ctx.mark_non_differentiable(diverged)
        return next_qpos, next_qvel, diverged

    @staticmethod
    def backward(ctx, grad_qpos, grad_qvel, _grad_diverged):
        qpos, next_qpos, A, B = ctx.saved_tensors
        layout = ctx.layout
        grad_qpos = torch.nan_to_num(grad_qpos, 0.0, 0.0, 0.0)
        grad_qvel = torch.nan_to_num(grad_qvel, 0.0, 0.0, 0.0)
        g_next = torch.cat([layout.qpos_grad_to_tangent(next_qpos, grad_qpos), grad_qvel], dim=-1)
        g_state = torch.bmm(A.transpose(1, 2), g_next.unsqueeze(-1)).squeeze(-1)
        g_ctrl = torch.bmm(B.transpose(1, 2), g_next.unsqueeze(-1)).squeeze(-1)
        g_qpos = layout.tangent_grad_to_qpos(qpos, g_state[:, : layout.nv])
        g_qvel = g_state[:, layout.nv :]
        clean = lambda g: torch.nan_to_num(g, 0.0, 0.0, 0.0)  # noqa: E731
        return clean(g_qpos), clean(g_qvel), clean(g_ctrl).to(ctx.ctrl_dtype), None


def physics_step(qpos, qvel, ctrl, backend: PhysicsBackend, differentiable: bool):
    """(qpos', qvel', diverged) after one control step; through PhysicsStep when ``differentiable``."""
    if differentiable:
        return PhysicsStep.apply(qpos, qvel, ctrl, backend)
    result = backend.step(
        qpos.detach().cpu().numpy(), qvel.detach().cpu().numpy(), ctrl.detach().cpu().numpy(), jacobians=False
    )
    return (
        torch.from_numpy(result.qpos).to(qpos),
        torch.from_numpy(result.qvel).to(qvel),
        torch.from_numpy(result.diverged).to(qpos.device),
    )
