"""What a 3D network costs over a whole volume, whatever the network: one window counted on `meta`,
times the windows `sliding_window_inference` visits, plus stitching into full-size output and count
buffers. MONAI's networks and nnU-Net's PlainConvUNet use it; each family says which window is counted."""

from __future__ import annotations

from typing import Any

from segbench.cost.counting import Counts, count
from segbench.cost.footprint import Footprint, ModelCounts, Query
from segbench.families.base import ModelSpec
from segbench.workload_catalog import FULL
from segbench.workloads.volume import count_windows_whd


def extra(spec: ModelSpec) -> dict[str, Any]:
    return {"out_channels": int(spec.config["out_channels"])}


def count_blocks(module: Any, spec: ModelSpec, size: tuple[int, ...], half: Any) -> dict[str, Counts]:
    import torch

    w, h, d = size  # the roi as users write it; arrays are (D, H, W)
    x = torch.empty(1, 1, d, h, w, device="meta")
    counts, _ = count(lambda: module(x), half)
    return {"window": counts}


def footprint(q: Query, mc: ModelCounts) -> Footprint:
    roi = tuple(mc.size)
    volume = tuple(q.volume or FULL.volume)
    n = count_windows_whd(volume, roi, q.overlap)  # type: ignore[arg-type]
    b = min(q.batch_size, n)
    win = mc.block("window", q.precision)
    # Full batches of b windows, then the rest in one smaller batch (MONAI does not pad the last one).
    network = win.times(b).times(n // b, batched=False)
    if n % b:
        network = network + win.times(n % b)
    out_ch = int(mc.extra["out_channels"])
    voxels = float(volume[0] * volume[1] * volume[2])
    roi_vox = float(roi[0] * roi[1] * roi[2])
    # Each window's output is weighted and added into the output and count buffers (fp32, as the input).
    aggregate = Counts(other_bytes=n * (out_ch + 1) * roi_vox * 4 * 3, kernels=4 * n)
    buffers = (out_ch + 1) * voxels * 4
    on_cpu = q.aggregate_on == "cpu"
    transfer = voxels * 4 + (n * out_ch * roi_vox * 4 if on_cpu else buffers)
    notes = [f"{n} windows of {roi[0]}x{roi[1]}x{roi[2]} ({q.overlap:.0%} overlap), {b} per forward",
             f"aggregation buffers ({out_ch} classes + count map, fp32): {buffers / 2**30:.2f} GiB "
             + ("in host RAM (--aggregate-on cpu)" if on_cpu else "on the GPU")]
    return Footprint(
        query=q, item_unit="volume", items_per_step=1,
        parts={"network": network, "aggregate": aggregate},
        host_pixels=0.0, host_mask_pixels=0.0, transfer_bytes=transfer,
        weights_bytes=mc.weights_bytes(q.precision), activation_bytes=win.peak_bytes * b + roi_vox * 4 * b,
        state_bytes=voxels * 4 + (0 if on_cpu else buffers), host_state_bytes=voxels * 4 + (buffers if on_cpu else 0),
        params=mc.params, notes=notes, decode_voxels=voxels,
    )
