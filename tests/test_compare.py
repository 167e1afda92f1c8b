"""`segbench compare`: statistics, matching, verdicts and exit codes (synthetic records)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from segbench.cli import cli
from segbench.errors import InputError
from segbench.report.compare import compare_records, parse_threshold
from segbench.report.compare_stats import estimate_change, min_attainable_p, verdict
from tests.report_records import latency_samples, make_record, write


def noisy_samples(median_s: float, n: int, seed: int) -> list[float]:
    """Log-normal jitter plus a few slow outliers, the shape real timings on a shared machine have."""
    rng = np.random.default_rng(seed)
    values = median_s * np.exp(rng.normal(0.0, 0.05, size=n))
    spikes = rng.random(n) < 0.08
    values[spikes] *= rng.uniform(1.2, 2.0, size=spikes.sum())
    return list(values)


def run(*args: str):
    return CliRunner().invoke(cli, ["compare", *args])


# --- statistics -------------------------------------------------------------------------------


def test_same_distribution_is_unchanged_for_many_seeds() -> None:
    verdicts = [
        verdict(estimate_change(noisy_samples(0.1, 30, seed), noisy_samples(0.1, 30, seed + 1000)), 0.05)
        for seed in range(60)
    ]
    assert set(verdicts) == {"unchanged"}


def test_twenty_percent_slower_is_regressed_and_faster_is_improved() -> None:
    base = noisy_samples(0.1, 30, 1)
    slow = estimate_change(base, noisy_samples(0.12, 30, 2))
    fast = estimate_change(base, noisy_samples(0.08, 30, 3))
    assert verdict(slow, 0.05) == "regressed"
    assert 0.1 < slow.ci_low < slow.change < slow.ci_high < 0.3
    assert verdict(fast, 0.05) == "improved"
    assert fast.ci_high < -0.1


def test_significant_but_below_threshold_is_unchanged() -> None:
    # 3% slower with many tight samples: the test is significant, the change is too small to count.
    base = latency_samples(0.1, n=400, noise=0.01, seed=1)
    cur = latency_samples(0.103, n=400, noise=0.01, seed=2)
    estimate = estimate_change(base, cur)
    assert estimate.p_slower < 1e-6
    assert verdict(estimate, 0.05) == "unchanged"
    assert verdict(estimate, 0.01) == "regressed"


def test_large_change_without_significance_is_unchanged() -> None:
    # 3 vs 3 samples can never reach p < 0.05 (exact one-sided minimum is 1/20): no call, however large.
    estimate = estimate_change([1.0, 1.01, 1.02], [2.0, 2.01, 2.02])
    assert estimate.change > 0.9
    assert min_attainable_p(3, 3) == pytest.approx(0.05)
    assert verdict(estimate, 0.05) == "unchanged"


def test_bootstrap_is_seeded_and_metric_matters() -> None:
    base, cur = noisy_samples(0.1, 25, 4), noisy_samples(0.11, 25, 5)
    assert estimate_change(base, cur) == estimate_change(base, cur)
    p90 = estimate_change(base, cur, "p90")
    assert p90.baseline == pytest.approx(np.percentile(base, 90))
    assert estimate_change(base, cur, "mean").baseline == pytest.approx(np.mean(base))


def test_identical_constant_samples_do_not_crash() -> None:
    estimate = estimate_change([0.5] * 10, [0.5] * 10)
    assert estimate.change == 0 and estimate.p_slower == 1.0
    assert verdict(estimate, 0.05) == "unchanged"


@pytest.mark.parametrize("text,value", [("5%", 0.05), ("12.5%", 0.125), ("0.05", 0.05), ("0%", 0.0)])
def test_threshold_parsing(text: str, value: float) -> None:
    assert parse_threshold(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["5", "abc", "-5%", "%", "nan"])
def test_threshold_parsing_rejects(text: str) -> None:
    with pytest.raises(InputError):
        parse_threshold(text)


# --- matching ---------------------------------------------------------------------------------


def test_matching_by_key_and_failed_points_not_compared() -> None:
    baseline = [
        make_record("m", batch_size=1, seed=1),
        make_record("m", batch_size=2, seed=2),
        make_record("m", batch_size=8, status="oom"),
        make_record("m", precision="fp16", batch_size=1, seed=3),
    ]
    current = [
        make_record("m", batch_size=1, seed=11),
        make_record("m", batch_size=2, median_s=0.13, seed=12),
        make_record("m", batch_size=8, status="oom"),
        make_record("m", batch_size=4, seed=13),
    ]
    result = compare_records(baseline, current)
    by_batch = {(c.key[3], c.key[4]): c for c in result.comparisons}
    assert by_batch[("fp32", 1)].verdict == "unchanged"
    assert by_batch[("fp32", 2)].verdict == "regressed"
    assert by_batch[("fp32", 8)].verdict == "not compared" and "oom" in by_batch[("fp32", 8)].note
    assert by_batch[("fp16", 1)].verdict == "only in baseline"
    assert by_batch[("fp32", 4)].verdict == "only in current"
    assert result.regressed


def test_input_key_is_part_of_the_match() -> None:
    with pytest.raises(InputError, match="no current result matches"):
        compare_records([make_record(input_key="a")], [make_record(input_key="b")])


def test_repeated_points_use_the_newest_record() -> None:
    old = make_record(median_s=0.2, created="2025-01-01T00:00:00+00:00", seed=1)
    new = make_record(median_s=0.1, created="2025-01-02T00:00:00+00:00", seed=2)
    result = compare_records([old, new], [make_record(median_s=0.1, seed=3)])
    assert result.comparisons[0].baseline is new
    assert any("repeated" in w for w in result.warnings)


# --- command line -----------------------------------------------------------------------------


def _runs(tmp_path: Path, slowdown: float = 1.0, **current) -> tuple[Path, Path]:
    base = write(tmp_path / "base.jsonl", [make_record("sam2.1-tiny", batch_size=b, seed=b) for b in (1, 2)])
    cur = write(
        tmp_path / "cur.jsonl",
        [make_record("sam2.1-tiny", batch_size=b, median_s=0.05 * b * slowdown, seed=100 + b, **current) for b in (1, 2)],
    )
    return base, cur


def test_cli_same_commit_twice_is_unchanged_exit_0(tmp_path: Path) -> None:
    base, cur = _runs(tmp_path)
    result = run(str(base), str(cur))
    assert result.exit_code == 0, result.output
    assert "unchanged" in result.stdout and "regressed" not in result.stdout


def test_cli_slower_run_regresses_exit_1(tmp_path: Path) -> None:
    base, cur = _runs(tmp_path, slowdown=1.2)
    result = run(str(base), str(cur))
    assert result.exit_code == 1
    assert "regressed" in result.stdout
    assert "2 regression(s)" in result.stderr


def test_cli_faster_run_is_improved_exit_0(tmp_path: Path) -> None:
    base, cur = _runs(tmp_path, slowdown=0.8)
    result = run(str(base), str(cur), "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["counts"] == {"improved": 2}
    assert all(c["change"] < -0.1 and c["ci_high"] < -0.05 for c in data["comparisons"])


def test_cli_json_is_only_json_and_has_intervals(tmp_path: Path) -> None:
    base, cur = _runs(tmp_path, slowdown=1.2)
    result = run(str(base), str(cur), "--json", "--metric", "p90", "--threshold", "10%")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["metric"] == "p90" and data["threshold"] == pytest.approx(0.1)
    first = data["comparisons"][0]
    assert {"change", "ci_low", "ci_high", "p_value", "n_baseline", "verdict"} <= set(first)


def _one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("segbench: error:"), result.stderr
    return lines[0]


def test_cli_missing_file_exit_2(tmp_path: Path) -> None:
    base, _ = _runs(tmp_path)
    assert "not found" in _one_line_error(run(str(base), str(tmp_path / "nope.jsonl")))


def test_cli_newer_schema_exit_2(tmp_path: Path) -> None:
    base, _ = _runs(tmp_path)
    future = make_record().to_dict() | {"schema_version": 99}
    (tmp_path / "future.jsonl").write_text(json.dumps(future) + "\n")
    assert "schema_version 99" in _one_line_error(run(str(base), str(tmp_path / "future.jsonl")))


def test_cli_empty_file_exit_2(tmp_path: Path) -> None:
    base, _ = _runs(tmp_path)
    (tmp_path / "empty.jsonl").write_text("")
    assert "no result records" in _one_line_error(run(str(tmp_path / "empty.jsonl"), str(base)))


def test_cli_different_hardware_needs_acknowledgement(tmp_path: Path) -> None:
    base, cur = _runs(tmp_path, hardware="NVIDIA RTX 4090")
    assert "--allow-different-hardware" in _one_line_error(run(str(base), str(cur)))
    allowed = run(str(base), str(cur), "--allow-different-hardware")
    assert allowed.exit_code in (0, 1)
    assert "warning: baseline and current ran on different hardware" in allowed.stderr


def test_cli_bad_threshold_exit_2(tmp_path: Path) -> None:
    base, cur = _runs(tmp_path)
    assert "threshold" in _one_line_error(run(str(base), str(cur), "--threshold", "5"))


def test_few_or_dirty_samples_are_explained_not_crashed() -> None:
    few = compare_records([make_record(samples=[0.1, 0.11, 0.12])], [make_record(samples=[0.2, 0.21, 0.22])])
    assert few.comparisons[0].verdict == "unchanged"
    assert "too few for any change to be significant" in few.comparisons[0].note
    dirty = make_record()
    dirty.samples_s = [0.1, None, "x"]  # as a hand-edited file might hold
    none = compare_records([make_record(samples=[0.1])], [dirty])
    assert none.comparisons[0].verdict == "not compared" and "too few raw samples" in none.comparisons[0].note


def test_noisy_runs_are_flagged() -> None:
    wide = list(np.linspace(0.05, 0.15, 30))
    result = compare_records([make_record(samples=wide)], [make_record(samples=wide)])
    assert result.comparisons[0].verdict == "unchanged" and "noisy" in result.comparisons[0].note


def test_cli_corrupt_line_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    base, cur = _runs(tmp_path)
    with cur.open("a") as handle:
        handle.write('{"truncated": \n')
    result = run(str(base), str(cur), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["counts"] == {"unchanged": 2}
    assert "skipped unreadable record" in result.stderr


def test_other_settings_are_not_matched_and_the_difference_is_named(tmp_path: Path) -> None:
    # Same model, workload, batch and input, but another roi: another amount of work, never compared.
    base = [make_record(samples=noisy_samples(0.1, 30, 1), params={"roi": [96, 96, 96]}),
            make_record(samples=noisy_samples(0.1, 30, 2), batch_size=2)]
    cur = [make_record(samples=noisy_samples(0.3, 30, 3), params={"roi": [128, 128, 128]}),
           make_record(samples=noisy_samples(0.1, 30, 4), batch_size=2)]
    result = compare_records(base, cur)
    assert sorted(c.verdict for c in result.comparisons) == ["only in baseline", "only in current", "unchanged"]
    (only_base,) = result.by_verdict("only in baseline")
    assert "roi [96, 96, 96] vs [128, 128, 128]" in only_base.note
    assert only_base.to_dict()["params_key"] == base[0].params_key()
    out = CliRunner().invoke(cli, ["compare", str(write(tmp_path / "b.jsonl", base)), str(write(tmp_path / "c.jsonl", cur))])
    assert out.exit_code == 0, out.output
    assert f"settings {base[0].params_key()}" in out.stdout and f"settings {cur[0].params_key()}" in out.stdout


def test_a_gate_that_compared_nothing_fails(tmp_path: Path) -> None:
    """Every matched point failed or lacked samples: nothing was compared, so the gate does not pass."""
    base = write(tmp_path / "base.jsonl", [make_record(status="oom", samples=[]), make_record(batch_size=2)])
    broken = make_record(batch_size=2)
    broken.samples_s = [0.1]  # one sample: too few to compare
    cur = write(tmp_path / "cur.jsonl", [make_record(status="oom", samples=[]), broken])
    result = run(str(base), str(cur), "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)  # still only JSON on stdout
    assert data["compared"] == 0 and data["counts"] == {"not compared": 2}
    assert "nothing was compared" in result.stderr
    # One comparable point is enough for the gate to judge.
    ok = write(tmp_path / "ok.jsonl", [make_record(status="oom", samples=[]), make_record(batch_size=2)])
    assert run(str(base), str(ok)).exit_code == 0
