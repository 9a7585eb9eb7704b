"""Layers of the TD-MPC2 world model, laid out so their state-dict names match TD-MPC2's files.

* ``NormedLinear`` is a Linear that owns its LayerNorm as ``.ln`` (names ``weight, bias,
  ln.weight, ln.bias``), then applies Mish (or SimNorm on the last layer of encoder/dynamics).
* ``mlp`` numbers only the Linear layers (``0, 1, 2``), as TD-MPC2's Sequential does.
* ``StackedMLP`` holds an ensemble of identical MLPs as stacked ``[members, ...]`` tensors and runs
  all members with batched matmuls (no Python loop over members), so the Q ensemble costs a few
  large GEMMs instead of ``num_q`` small ones.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

SMALL_MISH, SMALL_SIMNORM = 1024, 256
"""Elements up to which :func:`mish` and :class:`SimNorm` use ATen's single kernel: on a tensor this
small (a hidden layer at batch 1) one dispatch beats the vectorised closed forms' four to six ops;
above it they win. Measured on 1 thread (2-vCPU EPYC, torch 2.13): mish 8.5 vs 18.8 us at 1,024
elements, 17 vs 20 at 2,048, 55 vs 31 at 8,192; softmax over groups of 8: 8.5 vs 12.7 us at 256,
16 vs 16 at 512, 31 vs 17 at 1,024 (issue 18)."""


PAD_MULTIPLE, PAD_MIN_ROWS = 16, 1024
""":func:`linear` zero-pads a Linear's input width up to a multiple of ``PAD_MULTIPLE`` when it
trains on at least ``PAD_MIN_ROWS`` rows: the world model's dynamics, reward and Q layers read
``[z, task embedding, action]``, 512 + 64 + 6 = 582 wide for mt30, and MKL's backward GEMMs whose
output is 582 wide ran at 0.7 of the peak (64-66 GFLOP/s against 91-98 at 584-640; 1 thread,
2-vCPU EPYC). The zero columns add exact zeros, so values and gradients are the unpadded ones."""


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``F.linear``, with the input width zero-padded when that makes the backward's GEMMs faster
    (see :data:`PAD_MULTIPLE`); without gradient nothing is padded (the forward GEMM gains nothing)."""
    pad = -x.shape[-1] % PAD_MULTIPLE
    if pad and torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad):
        if x.numel() >= PAD_MIN_ROWS * x.shape[-1]:
            return F.linear(F.pad(x, (0, pad)), F.pad(weight, (0, pad)), bias)
    return F.linear(x, weight, bias)


def _mish_forward(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(mish(x), e, d)`` with ``e = exp(x)`` (clamped) and ``d = e(e+2)+2``; the backward reuses e and d."""
    e = x.clamp(max=20.0).exp_()  # tanh(softplus(x)) == 1 in float32 beyond 20
    n = (e + 2).mul_(e)
    d = n + 2
    return n.div_(d).mul_(x), e, d


class _MishFunction(torch.autograd.Function):
    """Mish with a written-out backward: ``d/dx = 1 - 2/d + 4·x·e·(e+1)/d²`` (``e = exp(x)``, ``d = e(e+2)+2``).

    ATen's CPU mish and mish_backward are not vectorised (~5 ns per element, 10x an exp); these
    vectorised exp/mul/div passes are ~2.3x faster forward+backward on a [512, 384] batch."""

    @staticmethod
    def forward(ctx, x):
        out, e, d = _mish_forward(x)
        ctx.save_for_backward(x, e, d)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, e, d = ctx.saved_tensors
        r = d.reciprocal()
        slope = (e + 1).mul_(e).mul_(x).mul_(r).mul_(r).mul_(4).sub_(r, alpha=2).add_(1)
        return slope.mul_(grad)


def mish(x: torch.Tensor) -> torch.Tensor:
    """Mish, ``x·tanh(softplus(x))``, computed as ``x·n/(n+2)`` with ``n = e^x(e^x+2)``.

    ATen's CPU mish is not vectorised: on a [512, 384] batch it costs as much as the 384x384 matmul
    before it, and MPPI planning spent ~40% of its time there. The closed form is ~3x faster without
    gradient and ~2x with (relative error < 1e-6). Up to :data:`SMALL_MISH` elements it is ATen's."""
    if x.numel() <= SMALL_MISH:
        return F.mish(x)
    if x.requires_grad and torch.is_grad_enabled():
        return _MishFunction.apply(x)
    return _mish_forward(x)[0]


class Mish(nn.Module):
    """``nn.Mish`` with :func:`mish`'s fast no-grad path."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return mish(x)


class SimNorm(nn.Module):
    """Softmax within consecutive groups of ``dim`` features: keeps latents on a product of simplices."""

    def __init__(self, dim: int = 8):
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Written out instead of F.softmax: ATen's softmax over an innermost dim of 8 is not
        # vectorised on CPU and was ~5x slower than these four ops (same values to ~1e-7);
        # up to SMALL_SIMNORM elements one softmax dispatch is the faster.
        shape = x.shape
        groups = x.view(*shape[:-1], -1, self.dim)
        if x.numel() <= SMALL_SIMNORM:
            return F.softmax(groups, dim=-1).view(shape)
        e = torch.exp(groups - groups.amax(dim=-1, keepdim=True))
        return (e / e.sum(dim=-1, keepdim=True)).view(shape)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class NormedLinear(nn.Linear):
    """Linear -> (dropout) -> LayerNorm -> activation (Mish unless ``act`` is given)."""

    def __init__(self, in_features: int, out_features: int, dropout: float = 0.0, act: nn.Module | None = None):
        super().__init__(in_features, out_features)
        self.ln = nn.LayerNorm(out_features)
        self.act = act if act is not None else Mish()
        self.dropout = nn.Dropout(dropout) if dropout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = linear(x, self.weight, self.bias)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.act(self.ln(x))


def mlp(
    in_dim: int, hidden: list[int], out_dim: int, act: nn.Module | None = None, dropout: float = 0.0
) -> nn.Sequential:
    """NormedLinear hidden layers, then a plain Linear head, or a NormedLinear with ``act`` (e.g. SimNorm).

    Only the first hidden layer gets dropout, as in TD-MPC2."""
    dims = [in_dim, *hidden]
    layers = [NormedLinear(dims[i], dims[i + 1], dropout=dropout if i == 0 else 0.0) for i in range(len(hidden))]
    layers.append(NormedLinear(dims[-1], out_dim, act=act) if act is not None else nn.Linear(dims[-1], out_dim))
    return nn.Sequential(*layers)


def run_layers(layers: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """``layers(x)`` with the functional ops called directly instead of each layer's
    ``nn.Module.__call__`` (hooks, dispatch: ~1-2 us a layer, a fifth of a batch-1 action; issue 18).

    A single row (``[1, D]``, the deployed action) runs as a vector, its Linears as ``addmv``
    (BLAS gemv over the weight's rows: F.linear's result, bit for bit on the machine measured, and
    ~1 us a layer less).
    For inference paths only (no hooks run); layers of other types, and a NormedLinear whose
    dropout is active, are called as modules."""
    row = x.dim() == 2 and x.shape[0] == 1
    if row:
        x = x[0]
    for layer in layers:
        kind = type(layer)
        if kind is NormedLinear and (layer.dropout is None or not layer.training):
            ln = layer.ln
            x = F.layer_norm(_inference_linear(layer, x, row), ln.normalized_shape, ln.weight, ln.bias, ln.eps)
            x = _activation(layer.act, x)
        elif kind is nn.Linear:
            x = _inference_linear(layer, x, row)
        elif kind is nn.LayerNorm:
            x = F.layer_norm(x, layer.normalized_shape, layer.weight, layer.bias, layer.eps)
        elif not row or kind in (Mish, SimNorm, nn.Identity):
            x = _activation(layer, x)
        else:  # any other module (a NormedLinear with active dropout) gets its batch dimension
            x = layer(x.unsqueeze(0))[0]
    return x.unsqueeze(0) if row else x


def _inference_linear(layer: nn.Linear, x: torch.Tensor, row: bool) -> torch.Tensor:
    """``layer(x)`` for run_layers: ``addmv`` on a single row (``row``: x is that row as a vector)."""
    if row and layer.bias is not None:
        return torch.addmv(layer.bias, layer.weight, x)
    return F.linear(x, layer.weight, layer.bias)


def _activation(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    kind = type(module)
    if kind is Mish:
        return mish(x)
    if kind is nn.Identity:
        return x
    return module.forward(x) if kind is SimNorm else module(x)


def init_weights(module: nn.Module) -> None:
    """TD-MPC2's initialisation: trunc-normal(0.02) Linear weights, zero biases, U(±0.02) embeddings."""
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.uniform_(module.weight, -0.02, 0.02)


class _StackedLayerNorm(nn.Module):
    """Holder for stacked LayerNorm affine tensors so they are named ``<layer>.ln.weight/bias``."""


class StackedMLP(nn.Module):
    """``members`` MLPs of the ``mlp`` shape (NormedLinear hidden layers, Linear head) as stacked tensors.

    Tensors are named ``<layer>.weight [members, out, in]``, ``<layer>.bias [members, out]`` and, for
    hidden layers, ``<layer>.ln.weight/bias [members, out]``, i.e. exactly TD-MPC2's
    ``_Qs.params.*`` layout. The state dict additionally carries tensordict's non-tensor
    ``__batch_size`` (``torch.Size([members])``) and ``__device`` (``None``) entries so files
    round-trip with the reference implementation; they are checked and dropped on load.

    ``trainable=False`` stores buffers instead of parameters (used for the EMA target copy).
    """

    def __init__(self, members: int, in_dim: int, hidden: list[int], out_dim: int, trainable: bool = True):
        super().__init__()
        self.members = members
        dims = [in_dim, *hidden, out_dim]
        for i in range(len(dims) - 1):
            layer = nn.Module()
            self._add(layer, "weight", torch.empty(members, dims[i + 1], dims[i]), trainable)
            self._add(layer, "bias", torch.zeros(members, dims[i + 1]), trainable)
            if i < len(dims) - 2:
                layer.ln = _StackedLayerNorm()
                self._add(layer.ln, "weight", torch.ones(members, dims[i + 1]), trainable)
                self._add(layer.ln, "bias", torch.zeros(members, dims[i + 1]), trainable)
            self.add_module(str(i), layer)
        self.num_layers = len(dims) - 1
        self._register_state_dict_hook(StackedMLP._add_tensordict_entries)

    @staticmethod
    def _add(owner: nn.Module, name: str, value: torch.Tensor, trainable: bool) -> None:
        if trainable:
            owner.register_parameter(name, nn.Parameter(value))
        else:
            owner.register_buffer(name, value)

    def layers(self):
        return [getattr(self, str(i)) for i in range(self.num_layers)]

    def reset_parameters(self) -> None:
        """Trunc-normal(0.02) for every member's weights, zero biases, unit LayerNorm scales."""
        with torch.no_grad():
            for layer in self.layers():
                nn.init.trunc_normal_(layer.weight, std=0.02)
                layer.bias.zero_()
                if hasattr(layer, "ln"):
                    layer.ln.weight.fill_(1.0)
                    layer.ln.bias.zero_()

    @staticmethod
    def _add_tensordict_entries(module, state_dict, prefix, local_metadata):
        state_dict[prefix + "__batch_size"] = torch.Size([module.members])
        state_dict[prefix + "__device"] = None

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        for name in ("__batch_size", "__device"):
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            value = state_dict.pop(key)
            if name == "__batch_size" and tuple(value) != (self.members,):
                error_msgs.append(f"{key}: expected torch.Size([{self.members}]), found {value}")
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def forward(
        self, x: torch.Tensor, dropout: float = 0.0, detach: bool = False, members: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Run every member on the same input ``x [..., in]`` -> ``[members, ..., out]``.

        ``dropout`` is applied after the first Linear (independent masks per member);
        ``detach`` uses the weights without gradient (same storage); ``members`` (indices) runs
        only those members, e.g. the two a 'min'/'avg' Q value needs out of five.
        """
        lead = x.shape[:-1]
        h = x.reshape(-1, x.shape[-1])
        layers = self.layers()
        count = self.members if members is None else len(members)
        for i, layer in enumerate(layers):
            w, b = layer.weight, layer.bias
            if members is not None:
                w, b = w[members], b[members]
            if detach:
                w, b = w.detach(), b.detach()
            if i == 0:
                # One GEMM for all members: [N, in] @ [in, members*out] -> [members, N, out].
                out = w.shape[1]
                h = linear(h, w.reshape(-1, w.shape[-1]), b.reshape(-1))
                h = h.view(h.shape[0], count, out).transpose(0, 1)
            else:
                h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
            if i < len(layers) - 1:
                if i == 0 and dropout > 0:
                    h = F.dropout(h, dropout, training=True)
                g, beta = layer.ln.weight, layer.ln.bias
                if members is not None:
                    g, beta = g[members], beta[members]
                if detach:
                    g, beta = g.detach(), beta.detach()
                h = F.layer_norm(h, h.shape[-1:])
                h = mish(torch.addcmul(beta.unsqueeze(1), h, g.unsqueeze(1)))
        return h.reshape(count, *lead, h.shape[-1])
