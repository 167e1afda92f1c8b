"""Count what one forward pass costs without doing it: FLOPs, bytes moved, kernels and peak memory.

Run on `meta` tensors, so nothing is computed and nothing is allocated. Three things are counted
in one pass:

- FLOPs with torch's `FlopCounterMode` (multiply-add = 2);
- per non-view aten op (roughly one kernel launch in eager mode): the bytes it reads and writes,
  split between matmul/conv/attention ops and the rest (elementwise, norms, copies), which are
  limited by memory bandwidth rather than arithmetic;
- the peak of the bytes held by tensors created during the pass, tracked per storage with a
  finaliser, i.e. what a caching allocator's `max_memory_allocated` sees beyond the inputs.

With `autocast=torch.bfloat16` (or float16) the pass follows torch.autocast's rules on `meta`,
where autocast itself does not apply: fp32 inputs of matmuls, convolutions and attention are cast
to half first (each cast counted as a kernel with its traffic), and norms and softmax run in fp32.

`scaled_dot_product_attention` is replaced by a fused kernel of the same output: on meta, torch
decomposes it into matmuls that materialise the (L x S) attention matrix, which GPU and CPU
builds never do (flash / memory-efficient kernels). Its FLOPs are added with the usual formula.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode, _disable_current_modes
from torch.utils._pytree import tree_flatten, tree_map
from torch.utils.flop_counter import FlopCounterMode, flop_registry


@dataclass(frozen=True)
class Counts:
    """The cost of one pass at batch 1 (or of a whole step, once scaled and summed)."""

    flops: float = 0.0  # multiply-add = 2
    conv_flops: float = 0.0  # the part done by convolutions (cuDNN runs them in TF32 by default)
    compute_bytes: float = 0.0  # read + written by matmul / conv / attention kernels
    other_bytes: float = 0.0  # read + written by every other kernel (bandwidth-bound work)
    kernels: float = 0.0  # non-view aten ops: ~ kernel launches in eager mode
    peak_bytes: float = 0.0  # peak of tensors alive beyond the pass's inputs

    def __add__(self, other: Counts) -> Counts:
        """Two passes run one after the other: costs add, the peak is the larger one."""
        return Counts(
            self.flops + other.flops,
            self.conv_flops + other.conv_flops,
            self.compute_bytes + other.compute_bytes,
            self.other_bytes + other.other_bytes,
            self.kernels + other.kernels,
            max(self.peak_bytes, other.peak_bytes),
        )

    def times(self, n: float, *, batched: bool = True) -> Counts:
        """`n` items. Batched: one launch per kernel, all items' activations live together.
        Not batched (a loop): launches repeat, the peak stays that of one item."""
        return Counts(
            self.flops * n,
            self.conv_flops * n,
            self.compute_bytes * n,
            self.other_bytes * n,
            self.kernels if batched else self.kernels * n,
            self.peak_bytes * n if batched else self.peak_bytes,
        )

    def to_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Counts:
        return cls(**{f.name: float(data.get(f.name, 0.0)) for f in fields(cls)})


def _tensor_bytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


class _Tally:
    def __init__(self) -> None:
        self.flops_extra = 0.0
        self.conv_flops = 0.0
        self.compute_bytes = 0.0
        self.other_bytes = 0.0
        self.kernels = 0
        self.live = 0
        self.peak = 0
        self.tracked: dict[int, int] = {}

    def allocate(self, t: torch.Tensor, inputs: set[int]) -> None:
        storage = t.untyped_storage()
        key = storage._cdata
        if key in self.tracked or key in inputs:
            return  # a view or an in-place result: no new memory
        size = storage.nbytes()
        self.tracked[key] = size
        self.live += size
        self.peak = max(self.peak, self.live)
        # Storages keep their Python object while any tensor uses them, so this fires at the real free.
        weakref.finalize(storage, self._free, key)

    def _free(self, key: int) -> None:
        self.live -= self.tracked.pop(key, 0)


# Ops autocast runs in half precision (the matmul/conv family FlopCounterMode knows) and in fp32
# (a subset of CUDA autocast's float32 list: the ones segmentation networks use).
_FP32_OPS = {
    torch.ops.aten.native_layer_norm, torch.ops.aten.native_group_norm, torch.ops.aten._softmax,
    torch.ops.aten._log_softmax, torch.ops.aten.pow, torch.ops.aten.exp, torch.ops.aten.log,
}


# Python-level entry points autocast casts before their argument checks run (conv checks that
# input and weight dtypes agree before any aten op is dispatched).
_HALF_FUNCTIONS = {
    F.conv1d, F.conv2d, F.conv3d, F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d, F.linear,
    torch.matmul, torch.mm, torch.bmm, torch.addmm, torch.baddbmm, torch.einsum, torch.Tensor.__matmul__,
    F.prelu, torch.prelu,
}
# aten ops outside the matmul family that autocast also runs in half precision.
_HALF_OPS = {torch.ops.aten.prelu, torch.ops.aten._prelu_kernel}


_CONVOLUTIONS = {torch.ops.aten.convolution, torch.ops.aten._convolution, torch.ops.aten.cudnn_convolution,
                 torch.ops.aten.convolution_overrideable}


def _cast(value: Any, dtype: torch.dtype, tally: _Tally) -> Any:
    """Autocast's cast of one floating argument, counted as a kernel with its traffic.

    Casts of parameters are cached by autocast for its whole region (a benchmark loop, a video),
    so they cost nothing per step; the footprint adds the cached copies to the weights instead.
    """
    if not isinstance(value, torch.Tensor) or not value.is_floating_point() or value.dtype == dtype:
        return value
    with _disable_current_modes():  # counted here, once, whichever mode asked for the cast
        out = value.to(dtype)
    if isinstance(value, torch.nn.Parameter):
        return out
    tally.other_bytes += _tensor_bytes(value) + _tensor_bytes(out)
    tally.kernels += 1
    tally.allocate(out, set())
    return out


class _FusedAttention(TorchFunctionMode):
    """Scaled-dot-product attention as one fused kernel: output allocated, no L x S matrix."""

    def __init__(self, tally: _Tally, autocast: torch.dtype | None, fused: bool = True) -> None:
        super().__init__()
        self.tally = tally
        self.autocast = autocast
        self.fused = fused

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is not F.scaled_dot_product_attention or not self.fused:
            if self.autocast is not None and func in _HALF_FUNCTIONS:
                args, kwargs = tree_map(lambda v: _cast(v, self.autocast, self.tally), (args, kwargs))
            return func(*args, **kwargs)
        q, k, v = args[:3]
        if self.autocast is not None:
            q, k, v = (_cast(t, self.autocast, self.tally) for t in (q, k, v))
        length, source, dim, dim_v = q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1]
        heads = q.numel() // (length * dim)
        self.tally.flops_extra += 2.0 * heads * length * source * (dim + dim_v)
        out = torch.empty(*q.shape[:-1], dim_v, dtype=q.dtype, device=q.device)
        # torch.empty above already counted as the kernel; the fused kernel reads q, k, v once.
        self.tally.compute_bytes += _tensor_bytes(q) + _tensor_bytes(k) + _tensor_bytes(v) + _tensor_bytes(out)
        return out


class _Traffic(TorchDispatchMode):
    """Per aten op: bytes in and out, kernel count, and new storages for the peak."""

    def __init__(self, tally: _Tally, autocast: torch.dtype | None) -> None:
        super().__init__()
        self.tally = tally
        self.autocast = autocast

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.autocast is not None and not func.is_view:
            half = func.overloadpacket in flop_registry or func.overloadpacket in _HALF_OPS
            target = self.autocast if half else (
                torch.float32 if func.overloadpacket in _FP32_OPS else None)
            if target is not None:
                args, kwargs = tree_map(lambda v: _cast(v, target, self.tally), (args, kwargs))
        out = func(*args, **kwargs)
        if func.is_view:
            return out  # metadata only: no kernel, no memory
        flat_in = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        flat_out = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        moved = sum(_tensor_bytes(t) for t in flat_in) + sum(_tensor_bytes(t) for t in flat_out)
        if func.overloadpacket in flop_registry:
            self.tally.compute_bytes += moved
            if func.overloadpacket in _CONVOLUTIONS:
                self.tally.conv_flops += flop_registry[func.overloadpacket](*args, **kwargs, out_val=out)
        else:
            self.tally.other_bytes += moved
        self.tally.kernels += 1
        inputs = {t.untyped_storage()._cdata for t in flat_in}
        for t in flat_out:
            self.tally.allocate(t, inputs)
        return out


def count(run: Callable[[], Any], autocast: torch.dtype | None = None, *,
          fused_attention: bool = True, grad: bool = False) -> tuple[Counts, Any]:
    """Counts of `run()` (which must touch only meta tensors) and what it returned; with
    `autocast` (torch.float16 / torch.bfloat16), as under `torch.autocast` with that dtype.

    `fused_attention=False` keeps torch's math attention (the L x S matrix is materialised), as
    on builds or GPUs without a fused kernel for the case. Keep the returned value alive only as long as needed: tensors it holds count as live.

    `grad=True` records the pass for autograd, as a training forward does (give `run` an input from
    `trainable_input`): the peak then holds the activations kept for the backward pass.
    """
    tally = _Tally()
    with torch.enable_grad() if grad else torch.no_grad(), FlopCounterMode(display=False) as flops, _FusedAttention(tally, autocast, fused_attention), _Traffic(tally, autocast):
        result = run()
    counts = Counts(
        flops=float(flops.get_total_flops()) + tally.flops_extra,
        conv_flops=tally.conv_flops,
        compute_bytes=tally.compute_bytes,
        other_bytes=tally.other_bytes,
        kernels=tally.kernels,
        peak_bytes=tally.peak,
    )
    return counts, result


def trainable_input(*shape: int) -> torch.Tensor:
    """A meta input that autograd tracks, so a `grad=True` count keeps what a training step keeps for
    its backward pass. Not a leaf: networks that modify their input in place may take it."""
    return torch.empty(*shape, device="meta", requires_grad=True).clone()
