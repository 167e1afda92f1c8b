"""A toy model family and workload for testing the runner without real networks.

`ToyWorkload` raises an out-of-memory error past a batch size, or a plain error, or Ctrl-C at a
chosen iteration, or aborts its process, so the harness's and the launchers' handling of each can
be checked exactly. `register(monkeypatch, name=config, ...)` adds toy models for one test; worker
processes find the fixed `FAMILY` below through `$SEGBENCH_FAMILIES=tests.toy`.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import torch

from segbench.cost.counting import Counts
from segbench.cost.footprint import Footprint, Query
from segbench.families.base import Family, FamilyOption, LoadedModel, LoadOptions, ModelSpec, Quality
from segbench.families.registry import register as register_family
from segbench.workloads.base import Workload
from segbench.workloads.tracking import Tracking


def build(spec: ModelSpec, resolution=None, purpose: str = "image") -> torch.nn.Module:
    return torch.nn.Linear(8, 8)


def load(spec: ModelSpec, options: LoadOptions) -> LoadedModel:
    return LoadedModel(spec=spec, module=build(spec).to(options.device), weights="random", checkpoint=None,
                       resolution=(8, 8))


# The cost interface: an 8x8 linear layer per row, 2*8*8 FLOPs per item.
def counted_size(spec: ModelSpec, q: Query) -> tuple[int, ...]:
    return (8, 8)


def count_blocks(module: Any, spec: ModelSpec, size: tuple[int, ...], half: Any) -> dict[str, Counts]:
    return {"forward": Counts(flops=128.0, kernels=1.0, peak_bytes=256.0)}


def footprint(q: Query, mc) -> Footprint:
    block = mc.block("forward", q.precision).times(q.batch_size)
    return Footprint(query=q, item_unit="image", items_per_step=q.batch_size, parts={"forward": block},
                     host_pixels=0.0, host_mask_pixels=0.0, transfer_bytes=0.0,
                     weights_bytes=mc.weights_bytes(q.precision), activation_bytes=block.peak_bytes,
                     state_bytes=0.0, host_state_bytes=0.0, params=mc.params)


class ToyWorkload(Workload):
    """Behaviour comes from the spec's config: oom_above, error_at_batch, interrupt_at_iter, alloc_mb,
    sleep_s, abort_at_batch (the process dies of SIGABRT, as a crashing CUDA library would)."""

    name = "image"
    official_loop = "the toy library's own loop (config: official_sleep_s)"

    def official(self, batch_size: int) -> Callable[[], Any] | None:
        seconds = self.model.spec.config.get("official_sleep_s")
        if seconds is None:
            return None
        import time

        return lambda: time.sleep(seconds)

    def network(self) -> Any:
        """The Linear, when the config asks for a slot (`slot: True`): bf16 points are then checked."""
        if not self.model.spec.config.get("slot"):
            return None
        from segbench.backends.slot import NetworkSlot

        return NetworkSlot(self.model, "module", "toy", "toy outputs")

    def prepare(self, batch_size: int) -> Callable[[], Any]:
        cfg = self.model.spec.config
        if cfg.get("abort_at_batch") == batch_size:
            def step() -> None:
                os.abort()
            return step
        if cfg.get("oom_above") and batch_size > cfg["oom_above"]:
            def step() -> None:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return step
        if cfg.get("error_at_batch") == batch_size:
            def step() -> None:
                raise ValueError("toy failure")
            return step
        calls = {"n": 0}
        x = torch.ones(batch_size, 8)
        # sleep_by_precision: {"bf16": s} sleeps that long per step under bf16 autocast instead of sleep_s
        autocast_on = torch.is_autocast_enabled("cpu")
        precision_sleep = (cfg.get("sleep_by_precision") or {}).get("bf16") if autocast_on else None

        def step() -> None:
            calls["n"] += 1
            if cfg.get("interrupt_at_iter") and calls["n"] == cfg["interrupt_at_iter"]:
                raise KeyboardInterrupt
            if cfg.get("alloc_mb"):
                buf = torch.empty(int(cfg["alloc_mb"] * 2**20 * batch_size), dtype=torch.uint8)
                buf.fill_(1)
            if cfg.get("sleep_s") or precision_sleep:
                import time

                time.sleep(precision_sleep or cfg["sleep_s"])
            self.model.module(x)

        return step

    def cost_query(self, batch_size: int) -> Query:
        return Query(self.model.spec.name, self.name, batch_size=batch_size)


class ToyVideo(ToyWorkload):
    """The toy step as a video workload (what the offload axis applies to)."""

    name = "video"
    purpose = "video"
    item_unit = "frame"
    network = Workload.network  # like SAM 2.1's video predictor: no single network to replace or compare
    sweeps = Tracking.sweeps  # offload, as every tracker

    def params(self) -> dict[str, Any]:
        return {**super().params(), "vos_optimized": self.model.options["vos_optimized"]}  # as SamTracking records it


def spec(name: str, config: dict[str, Any] | None = None, rank: int = 1) -> ModelSpec:
    return ModelSpec(name, "toy", ("image", "video"), (8, 8), "toy model for tests", tasks=("promptable",),
                     quality=Quality(rank, "toy"), config=dict(config or {}))


def family(*specs: ModelSpec) -> Family:
    return Family(name="toy", title="toy", models=tuple(specs), packages=(), loading="tests.toy",
                  workloads={"image": "tests.toy:ToyWorkload", "video": "tests.toy:ToyVideo"}, cost="tests.toy",
                  options=(VOS_LIKE,))


# A family option as SAM 2.1 declares its compiled video predictor (the same name and kind).
VOS_LIKE = FamilyOption("vos_optimized", "flag", False, "video: the toy's 'compiled' predictor",
                        workloads=("video",), tune=(True,), compiles=True)


# What worker processes see through $SEGBENCH_FAMILIES=tests.toy.
FAMILY = family(spec("toy-ok"), spec("toy-abort", {"abort_at_batch": 2}), spec("toy-sleepy", {"sleep_s": 0.05}),
                spec("toy-hang", {"sleep_s": 24 * 3600.0}))  # toy-hang: a step that never returns in a test


def register(monkeypatch=None, **models: dict[str, Any]) -> Family:
    """Register a toy family with these models (name -> behaviour config) for this process; with
    monkeypatch, removed again after the test."""
    toy = family(*(spec(name, cfg) for name, cfg in models.items()))
    if monkeypatch is None:
        register_family(toy)
    else:
        import segbench.families.registry as registry

        monkeypatch.setitem(registry._registered, "toy", toy)
    return toy


def sample_fake_gpus(monkeypatch, fake_nvml) -> None:
    """Make runs sample `fake_nvml`'s GPUs although the toy runs on the CPU."""
    from segbench.bench import point, soak
    from segbench.probe import nvml as nvml_module
    from segbench.telemetry.sampler import TelemetrySampler

    monkeypatch.setattr(nvml_module, "load_pynvml", lambda: fake_nvml)

    def with_gpus(device, interval_s):
        return TelemetrySampler(interval_s, gpus=True)

    monkeypatch.setattr(point, "sampler_for", with_gpus)
    monkeypatch.setattr(soak, "sampler_for", with_gpus)


def smallest_resolution(spec: ModelSpec) -> tuple[int, int]:
    return (8, 8)
