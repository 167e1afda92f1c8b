"""Toy plugin models that misbehave as real plugins do, for the launchers' fault tests.

Worker processes find them through `$SEGBENCH_FAMILIES=tests.toy_faults` (with the repository on
PYTHONPATH); `use(monkeypatch)` sets that up for a test and registers the family in the test's process.

- `fault-segv-load`: segfaults while its model loads;
- `fault-exit`: calls `sys.exit(0)` in its step at batch 2;
- `fault-print`: prints to stdout (Python and C) while it loads and in every step;
- `fault-hang`: its step never returns; `fault-hang-timed` hangs from its 3rd step call (warm-up
  included); `fault-hang-b2` hangs at batch 2 only;
- `fault-hang-load`: its model never finishes loading;
- `fault-alloc-systemerror`, `fault-alloc-segv`: allocate 300 MiB per item in their step and, where
  that fails (under --max-ram), raise SystemError as autograd does, or segfault as native code that
  does not check its allocations does;
- `fault-ok`: behaves (the model after a faulty one, to show the sweep went on).
"""

from __future__ import annotations

import ctypes
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch

from segbench.families.base import Family, LoadedModel, LoadOptions, ModelSpec, Quality
from tests import toy
from tests.toy import build, smallest_resolution  # noqa: F401 - the loading module's hooks, as toy's

ROOT = Path(__file__).resolve().parents[1]
MARK = "TOY-FAULT-PRINTS"  # what fault-print writes to stdout


HANGING_ENV = "TOY_FAULTS_HANGING"  # a file the hanging process writes its pid to as it starts to hang


def _forever() -> None:
    if os.environ.get(HANGING_ENV):
        Path(os.environ[HANGING_ENV]).write_text(str(os.getpid()))
    while True:
        time.sleep(3600)


def _say() -> None:
    print(MARK, "from python")  # noqa: T201 - a model that prints is the point
    ctypes.CDLL(None).printf(f"{MARK} from C\n".encode())


def load(spec: ModelSpec, options: LoadOptions) -> LoadedModel:
    cfg = spec.config
    if cfg.get("segv_at_load"):
        ctypes.string_at(0)  # a real segfault, as a broken native extension gives
    if cfg.get("hang_at_load"):
        _forever()
    if cfg.get("print"):
        _say()
    return toy.load(spec, options)


class FaultWorkload(toy.ToyWorkload):
    """The toy step, plus: exit_at_batch, print, hang_at_iter (1-based step calls, warm-up included),
    hang_at_batch."""

    def prepare(self, batch_size: int) -> Callable[[], Any]:
        cfg = self.model.spec.config
        step = super().prepare(batch_size)
        calls = {"n": 0}

        def faulty() -> None:
            calls["n"] += 1
            if cfg.get("on_alloc_failure"):
                _allocate(cfg["alloc_mb"] * batch_size, cfg["on_alloc_failure"])
            if cfg.get("exit_at_batch") == batch_size:
                sys.exit(0)
            if cfg.get("hang_at_batch") == batch_size or calls["n"] >= cfg.get("hang_at_iter", calls["n"] + 1):
                _forever()
            if cfg.get("print"):
                _say()
            step()

        return faulty


def _allocate(mb: int, on_failure: str) -> None:
    try:
        torch.empty(mb * 2**20, dtype=torch.uint8).fill_(1)
    except RuntimeError:
        if on_failure == "segv":
            ctypes.string_at(0)
        raise SystemError("error return without exception set") from None


def spec(name: str, config: dict[str, Any]) -> ModelSpec:
    return ModelSpec(name, "toyfault", ("image",), (8, 8), "toy model that misbehaves", tasks=("promptable",),
                     quality=Quality(1, "toy"), config=config)


FAMILY = Family(
    name="toyfault", title="toy faults", packages=(), loading="tests.toy_faults", cost="tests.toy",
    workloads={"image": "tests.toy_faults:FaultWorkload"},
    models=(spec("fault-segv-load", {"segv_at_load": True}), spec("fault-exit", {"exit_at_batch": 2}),
            spec("fault-print", {"print": True}), spec("fault-hang", {"hang_at_iter": 1}),
            spec("fault-hang-timed", {"hang_at_iter": 3}), spec("fault-hang-b2", {"hang_at_batch": 2}),
            spec("fault-hang-load", {"hang_at_load": True}),
            spec("fault-alloc-systemerror", {"alloc_mb": 300, "on_alloc_failure": "systemerror"}),
            spec("fault-alloc-segv", {"alloc_mb": 300, "on_alloc_failure": "segv"}), spec("fault-ok", {})))


def use(monkeypatch) -> dict[str, str]:
    """These models in this process and in every process a test starts; the environment for a subprocess."""
    from segbench.families import registry

    monkeypatch.setenv("SEGBENCH_FAMILIES", "tests.toy_faults")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    monkeypatch.setitem(registry._registered, "toyfault", FAMILY)
    return dict(os.environ)
