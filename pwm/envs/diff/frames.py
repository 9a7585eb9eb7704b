"""Quaternions (MuJoCo's w, x, y, z order) and the change from MuJoCo's z-up world to dflex's y-up.

dflex loads MJCF models rotated by -90° about x, so a dflex world vector is R_w v with
R_w (x, y, z) = (x, z, -y), and a dflex body orientation is R_w ⊗ q. Observations that dflex
takes from its world frame (torso quaternion, velocities) are converted with these functions, so
e.g. obs[0] is the height and obs[5] the forward velocity, as in DiffRL.
"""

from __future__ import annotations

import math

import torch

# R_w as a quaternion (w, x, y, z): rotation by -90° about x.
WORLD_TO_DFLEX = torch.tensor([math.sqrt(0.5), -math.sqrt(0.5), 0.0, 0.0], dtype=torch.float64)


def quat_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        -1,
    )


def quat_rotate(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate vectors v [..., 3] by unit quaternions q [..., 4]."""
    w, u = q[..., :1], q[..., 1:]
    t = 2.0 * torch.cross(u, v, dim=-1)
    return v + w * t + torch.cross(u, t, dim=-1)


def quat_from_axis_angle(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    axis = torch.nn.functional.normalize(axis, dim=-1)
    half = 0.5 * angle.unsqueeze(-1)
    return torch.cat([torch.cos(half), axis * torch.sin(half)], -1)


def to_dflex_vec(v: torch.Tensor) -> torch.Tensor:
    """A MuJoCo world vector in dflex's y-up world: (x, y, z) -> (x, z, -y)."""
    return torch.stack([v[..., 0], v[..., 2], -v[..., 1]], -1)


def to_dflex_quat_xyzw(q: torch.Tensor) -> torch.Tensor:
    """A MuJoCo body orientation as dflex stores it: R_w ⊗ q, in (x, y, z, w) order."""
    qd = quat_mul(WORLD_TO_DFLEX.to(q).expand_as(q), q)
    return torch.cat([qd[..., 1:], qd[..., :1]], -1)
