"""`segbench tune`'s table names a trial's family options as the flags that reproduce it."""

from __future__ import annotations

import io

from rich.console import Console

from segbench.bench.tune import Bound, Trial, TuneResult
from segbench.cli import tune as tune_cli
from segbench.records.schema import Record


def test_a_trial_with_a_family_option_shows_its_flag(monkeypatch):
    record = Record(model="sam2.1-tiny", workload="video", precision="fp32", batch_size=1, device="cpu",
                    stats={"per_item_latency_s": {"median": 0.05}})
    trial = Trial("fp32", "eager", 1, "vos_optimized", record=record, verdict="unchecked",
                  options={"vos_optimized": True})
    result = TuneResult("sam2.1-tiny", "video", Bound(), trials=[trial])
    out = Console(file=io.StringIO(), width=160, color_system=None)
    monkeypatch.setattr(tune_cli, "console", lambda: out)
    tune_cli._render(result, "random", "")
    assert "eager --vos-optimized" in out.file.getvalue()
