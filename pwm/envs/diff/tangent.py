"""Maps between a model's coordinates (qpos, nq) and its tangent space (nv), for gradients.

MuJoCo's ``mjd_transitionFD`` differentiates with respect to *tangent* perturbations: a free or
ball joint's orientation is perturbed by a 3-vector δ as ``q ⊕ δ = q ⊗ exp(δ/2)`` (local frame,
``mj_integratePos``), not by changing its four quaternion numbers. The torch side keeps the plain
quaternion in ``qpos`` (observations are functions of it), so the backward pass needs two linear
maps per quaternion:

- ``J(q) = ∂(q ⊕ δ)/∂δ |δ=0 = ½ L(q) E`` (4×3) turns a gradient w.r.t. an *output* quaternion into a
  tangent gradient: ``g_δ = Jᵀ g_q``;
- ``G(q) = ∂δ/∂q = 2 Eᵀ L(q)ᵀ`` (3×4, δ = 2 Im(q* ⊗ dq)) turns a tangent gradient at an *input*
  into a gradient w.r.t. the input quaternion: ``g_q = Gᵀ g_δ``,

where ``L(q)`` is the left-multiplication matrix (q ⊗ p = L(q) p) and E = [0; I₃]. ``G J = I``, so
chaining steps through qpos loses nothing, and the component of ``g_q`` along q (a change of the
quaternion's norm, which the physics ignores) is dropped, as it should be. Hinge and slide
coordinates map one-to-one.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import torch


def left_matrix(q: torch.Tensor) -> torch.Tensor:
    """L(q) with q ⊗ p = L(q) p, for quaternions (w, x, y, z) of shape [..., 4] -> [..., 4, 4]."""
    w, x, y, z = q.unbind(-1)
    rows = [
        torch.stack([w, -x, -y, -z], -1),
        torch.stack([x, w, -z, y], -1),
        torch.stack([y, z, w, -x], -1),
        torch.stack([z, -y, x, w], -1),
    ]
    return torch.stack(rows, -2)


@dataclass(frozen=True)
class TangentLayout:
    """Which qpos entries are linear (one-to-one with a dof) and which start a quaternion."""

    nq: int
    nv: int
    linear_q: tuple[int, ...]
    linear_v: tuple[int, ...]
    quat_q: tuple[int, ...]  # qpos index of each quaternion's w
    quat_v: tuple[int, ...]  # dof index of its first angular component

    @classmethod
    def from_model(cls, model: mujoco.MjModel) -> TangentLayout:
        linear_q, linear_v, quat_q, quat_v = [], [], [], []
        for j in range(model.njnt):
            qa, va, kind = int(model.jnt_qposadr[j]), int(model.jnt_dofadr[j]), model.jnt_type[j]
            if kind == mujoco.mjtJoint.mjJNT_FREE:
                linear_q += [qa, qa + 1, qa + 2]
                linear_v += [va, va + 1, va + 2]
                quat_q.append(qa + 3)
                quat_v.append(va + 3)
            elif kind == mujoco.mjtJoint.mjJNT_BALL:
                quat_q.append(qa)
                quat_v.append(va)
            else:
                linear_q.append(qa)
                linear_v.append(va)
        return cls(model.nq, model.nv, tuple(linear_q), tuple(linear_v), tuple(quat_q), tuple(quat_v))

    @property
    def trivial(self) -> bool:
        return not self.quat_q

    def _quat_slices(self):
        for qa, va in zip(self.quat_q, self.quat_v):
            yield slice(qa, qa + 4), slice(va, va + 3)

    def qpos_grad_to_tangent(self, qpos: torch.Tensor, grad_qpos: torch.Tensor) -> torch.Tensor:
        """g_δ = Jᵀ g_q at ``qpos`` (an output state): [N, nq] -> [N, nv]."""
        if self.trivial:
            return grad_qpos
        out = grad_qpos.new_zeros(grad_qpos.shape[:-1] + (self.nv,))
        out[..., list(self.linear_v)] = grad_qpos[..., list(self.linear_q)]
        for qs, vs in self._quat_slices():
            jac = 0.5 * left_matrix(qpos[..., qs])[..., :, 1:]  # [N, 4, 3]
            out[..., vs] = (jac.transpose(-1, -2) @ grad_qpos[..., qs].unsqueeze(-1)).squeeze(-1)
        return out

    def tangent_grad_to_qpos(self, qpos: torch.Tensor, grad_tangent: torch.Tensor) -> torch.Tensor:
        """g_q = Gᵀ g_δ at ``qpos`` (an input state): [N, nv] -> [N, nq]."""
        if self.trivial:
            return grad_tangent
        out = grad_tangent.new_zeros(grad_tangent.shape[:-1] + (self.nq,))
        out[..., list(self.linear_q)] = grad_tangent[..., list(self.linear_v)]
        for qs, vs in self._quat_slices():
            g_t = 2.0 * left_matrix(qpos[..., qs])[..., :, 1:]  # Gᵀ = 2 L(q) E: [N, 4, 3]
            out[..., qs] = (g_t @ grad_tangent[..., vs].unsqueeze(-1)).squeeze(-1)
        return out
