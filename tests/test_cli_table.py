"""The results table of `run` fits a terminal: names whole on one line, the main columns by default,
the execution columns where the run swept executions or --wide asks."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from segbench.cli.results_table import results_table
from segbench.records.schema import Record

LONG = "mask2former-swin-large-coco"  # the longest registered name


def record(model: str = LONG, workload: str = "prompt", label: str = "eager", fidelity=None, **kw) -> Record:
    execution = {"label": label}
    if label != "eager":
        execution.update(one_off={"seconds": 12.0}, break_even_items=1000)
    return Record(model=model, workload=workload, precision=kw.get("precision", "fp32"), batch_size=8,
                  device="cpu", status=kw.get("status", "ok"),
                  stats={"latency_s": {"median": 0.1234, "p90": 0.15}, "items_per_s": 12.345, "item_unit": "image"},
                  memory={"peak_rss_bytes": 1.5e9}, flops={"achieved_tflops": 1.23, "fraction_of_peak": 0.42},
                  execution=execution, fidelity=fidelity or {})


def render(records, width: int, wide: bool = False) -> list[str]:
    out = Console(file=io.StringIO(), width=width, color_system=None)
    results_table(records, wide=wide, out=out)
    return out.file.getvalue().splitlines()


def headers(lines: list[str]) -> str:
    """The header block: every line above the rule under the headers, joined."""
    rule = next(i for i, line in enumerate(lines) if set(line.strip()) == {"─"})
    return " ".join(lines[:rule])


SWEEPS = {
    "eager": [record(), record("sam2.1-tiny", "auto", precision="bf16", status="oom",
                               fidelity={"rel_error": 0.012, "mask_iou": 0.99})],
    "executions": [record(), record("sam2.1-tiny", "image", label="onnxruntime")],
}


@pytest.mark.parametrize("width", [80, 100, 144])
@pytest.mark.parametrize("sweep", SWEEPS)
@pytest.mark.parametrize("wide", [False, True])
def test_names_are_whole_on_one_line_and_lines_fit(width, sweep, wide):
    lines = render(SWEEPS[sweep], width, wide)
    assert any(f" {LONG} " in f" {line} " for line in lines), "\n".join(lines)
    assert any("sam2.1-tiny" in line for line in lines)
    assert all(len(line) <= width for line in lines), "\n".join(lines)


@pytest.mark.parametrize("width", [100, 144])
def test_numbers_are_not_split_inside_a_word_at_100_columns(width):
    lines = render(SWEEPS["eager"], width)
    for cell in ("123", "150", "12.35", "1.40", "42%", "fp32", "bf16", "oom"):
        assert any(cell in line.split() for line in lines), (cell, "\n".join(lines))


def test_the_main_columns_by_default():
    lines = render(SWEEPS["eager"], 144)
    head = headers(lines)
    for column in ("model", "workload", "prec", "batch", "status", "median", "p90", "peak", "of"):
        assert column in head
    for column in ("TFLOP/s", "exec", "one-off", "break-"):
        assert column not in head
    assert "1.23" not in "\n".join(lines)  # the TFLOP/s figure
    assert lines[-2].startswith("--wide adds TFLOP/s, vs fp32")  # where the hidden figures are


def test_wide_shows_every_column():
    lines = render(SWEEPS["eager"], 200, wide=True)
    head = headers(lines)
    for column in ("TFLOP/s", "exec", "one-off", "break-", "vs"):
        assert column in head
    assert "1.20%, IoU 0.990" in "\n".join(lines) and not any("--wide" in line for line in lines)


def test_a_sweep_of_executions_shows_the_execution_columns_without_wide():
    lines = render(SWEEPS["executions"], 144)
    head, text = headers(lines), "\n".join(lines)
    assert "exec" in head and "one-off" in head and "onnxruntime" in text and "1,000" in text
    assert "TFLOP/s" not in head
