"""What a training step costs, from the same counted blocks as inference.

FLOPs: the forward of the trained part, its backward at twice that (gradients of activations and of
weights), plus any frozen part's forward, once. Memory beyond the fp32 weights: a gradient per trained
parameter, the optimiser's state tensors, and the activations the forward keeps for the backward,
counted on `meta` with autograd recording (`count(..., grad=True)`).
"""

from __future__ import annotations

from typing import Any

from segbench.cost.counting import Counts

# Optimisers people fine-tune these models with, and the state tensors each keeps per parameter.
OPTIMIZER_STATES = {"sgd": 1, "adamw": 2}
BACKWARD_FACTOR = 2.0  # backward ~ 2 forwards: gradients w.r.t. activations and w.r.t. weights


def whole_network(module: Any, spec: Any = None) -> dict[str, int]:
    """A family cost module's `counted_extra` when a fine-tune trains every parameter that takes a gradient."""
    return {"trainable_params": sum(p.numel() for p in module.parameters() if p.requires_grad)}


def kept(*passes: Counts) -> Counts:
    """Passes that run one after the other while all their saved tensors stay alive (a training
    forward): costs add, and so do the peaks."""
    total = Counts()
    for p in passes:
        total = total + p
    return Counts(total.flops, total.conv_flops, total.compute_bytes, total.other_bytes, total.kernels,
                  sum(p.peak_bytes for p in passes))


def backward(forward: Counts) -> Counts:
    """The backward of a counted forward: twice its arithmetic and traffic, about twice its kernels."""
    return Counts(forward.flops * BACKWARD_FACTOR, forward.conv_flops * BACKWARD_FACTOR,
                  forward.compute_bytes * BACKWARD_FACTOR, forward.other_bytes * BACKWARD_FACTOR,
                  forward.kernels * BACKWARD_FACTOR, 0.0)


def optimizer_step(trainable: int, optimizer: str) -> Counts:
    """One optimiser step: elementwise over each trained parameter, its gradient and its state."""
    tensors = 2 + OPTIMIZER_STATES[optimizer]  # weight, gradient, state...
    return Counts(flops=10.0 * trainable, other_bytes=trainable * 4.0 * (2 * tensors - 1), kernels=4 + 2 * tensors)


def state_bytes(trainable: int, optimizer: str) -> float:
    """fp32 gradients and optimiser state of the trained parameters (autocast keeps both fp32)."""
    return trainable * 4.0 * (1 + OPTIMIZER_STATES[optimizer])


def train_footprint(q: Any, mc: Any, trained: Counts, *, trainable: int, optimizer: str, frozen: Counts | None = None,
                    input_bytes: float = 0.0, notes: list[str] | None = None) -> Any:
    """One training step of `q.batch_size` images: `trained` is the counted forward (with autograd, batch 1)
    of the part that learns, `frozen` the forward of a part that does not (run without gradients)."""
    from segbench.cost.footprint import Footprint

    b = q.batch_size
    parts = {"forward": trained.times(b), "backward": backward(trained).times(b),
             "optimizer": optimizer_step(trainable, optimizer)}
    if frozen is not None:
        parts["frozen"] = frozen.times(b)
    frozen_peak = frozen.peak_bytes * b if frozen is not None else 0.0
    return Footprint(
        query=q, item_unit="image", items_per_step=b, parts=parts,
        host_pixels=0.0, host_mask_pixels=0.0, transfer_bytes=input_bytes * b,
        weights_bytes=mc.weights_bytes(q.precision),
        # What the forward keeps for backward, for every image of the batch; the gradients of
        # activations reuse it as backward frees it.
        activation_bytes=max(trained.peak_bytes * b, frozen_peak),
        state_bytes=state_bytes(trainable, optimizer), host_state_bytes=0.0, params=mc.params,
        notes=[f"training step: {trainable / 1e6:.1f}M of {mc.params / 1e6:.1f}M parameters trained with {optimizer}; "
               f"gradients and optimiser state {state_bytes(trainable, optimizer) / 2**20:.0f} MiB, saved activations "
               f"{trained.peak_bytes * b / 2**20:.0f} MiB", *(notes or [])],
    )
