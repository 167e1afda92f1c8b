"""A toy model family and workload for testing the sweep without real networks.

`ToyWorkload` raises an out-of-memory error past a batch size, or a plain error, or Ctrl-C at a
chosen iteration, so the harness's handling of each can be checked exactly.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from segbench.models import registry as model_registry
from segbench.models.base import LoadedModel, LoadOptions, ModelSpec
from segbench.workloads import registry as workload_registry
from segbench.workloads.base import Workload


def build(spec: ModelSpec, resolution=None, purpose: str = "image") -> torch.nn.Module:
    return torch.nn.Linear(8, 8)


def load(spec: ModelSpec, options: LoadOptions) -> LoadedModel:
    return LoadedModel(spec=spec, module=build(spec).to(options.device), weights="random", checkpoint=None,
                       resolution=(8, 8))


class ToyWorkload(Workload):
    """Behaviour comes from the spec's config: oom_above, error_at_batch, interrupt_at_iter, alloc_mb."""

    name = "image"

    def prepare(self, batch_size: int) -> Callable[[], Any]:
        cfg = self.model.spec.config
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

        def step() -> None:
            calls["n"] += 1
            if cfg.get("interrupt_at_iter") and calls["n"] == cfg["interrupt_at_iter"]:
                raise KeyboardInterrupt
            if cfg.get("alloc_mb"):
                buf = torch.empty(int(cfg["alloc_mb"] * 2**20 * batch_size), dtype=torch.uint8)
                buf.fill_(1)
            if cfg.get("sleep_s"):
                import time

                time.sleep(cfg["sleep_s"])
            self.model.module(x)

        return step

    def count_flops_per_item(self) -> int | None:
        return 128  # 8x8 linear: 2*8*8 multiply-adds per row


def register(monkeypatch=None, **models: dict[str, Any]) -> None:
    """Register toy models by name with behaviour config; with monkeypatch, undone after the test."""
    entries = [
        (model_registry.FAMILIES, "toy", "tests.toy"),
        (workload_registry.WORKLOADS["image"], "toy", "tests.toy:ToyWorkload"),
    ] + [
        (model_registry.MODELS, name, ModelSpec(name, "toy", ("image",), (8, 8), "toy model for tests", cfg))
        for name, cfg in models.items()
    ]
    for mapping, key, value in entries:
        if monkeypatch is not None:
            monkeypatch.setitem(mapping, key, value)
        else:
            mapping[key] = value


def sample_fake_gpus(monkeypatch, fake_nvml) -> None:
    """Make the sweep and soak sample `fake_nvml`'s GPUs although the toy runs on the CPU."""
    from segbench import sustained, sweep
    from segbench.probe import nvml as nvml_module
    from segbench.telemetry.sampler import TelemetrySampler

    monkeypatch.setattr(nvml_module, "load_pynvml", lambda: fake_nvml)
    def with_gpus(device, interval_s):
        return TelemetrySampler(interval_s, gpus=True)

    monkeypatch.setattr(sweep, "sampler_for", with_gpus)
    monkeypatch.setattr(sustained, "sampler_for", with_gpus)
