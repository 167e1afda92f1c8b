"""The results table of a run (`run`, `fleet run`): one row per record, and what the rows need said."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import click
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from segbench.cli.output import console, emit_json, err_console, fmt_bytes, fmt_seconds
from segbench.errors import EXIT_FAILED


def show_records(records: list, as_json: bool, summary: str, tables: tuple = (), wide: bool = False) -> None:
    """A run's records as JSON or as the results table (all its columns with `wide`) and `tables`, its
    one-line summary, and exit 1 when a point ended in an error or nothing was measured (every row skipped)."""
    if as_json:
        emit_json([r.to_dict() for r in records])
    else:
        results_table(records, wide)
        for table in tables:
            table(records)
    err_console.print(summary)
    if any(r.status == "error" for r in records) or (records and all(r.status == "skipped" for r in records)):
        raise click.exceptions.Exit(EXIT_FAILED)


@dataclass(frozen=True)
class Column:
    header: str
    cell: Callable[[Any], str]
    name: bool = False  # a name is never cut: the reader matches it against what they asked for
    blank: str = "-"  # the cell of a record the column says nothing about


def _latency(r, key: str) -> str:
    return fmt_seconds(r.stats.get("latency_s", {}).get(key))


def _throughput(r) -> str:
    ips = r.stats.get("items_per_s")
    return f"{ips:.2f} {r.stats.get('item_unit', '')}/s" if ips else "-"


def _share(r) -> str:
    share = r.flops.get("fraction_of_peak")
    return f"{share:.0%}" if share else "-"


def _tflops(r) -> str:
    tflops = r.flops.get("achieved_tflops")
    return f"{tflops:.2f}" if tflops else "-"


def _one_off(r) -> str:
    one_off = r.execution.get("one_off") or {}
    seconds = one_off.get("seconds")
    return "-" if seconds is None else fmt_seconds(seconds) + (" (cached)" if one_off.get("cached") else "")


def _break_even(r) -> str:
    if "break_even_items" not in r.execution:
        return "-"
    items = r.execution["break_even_items"]
    return "never" if items is None else f"{items:,.0f} {r.stats.get('item_unit', 'item')}s"


# What a reader looks at first; these fit 100 columns with the longest model names.
MAIN_COLUMNS = (
    Column("model", lambda r: r.model, name=True),
    Column("workload", lambda r: r.workload, name=True),
    Column("prec", lambda r: r.precision),
    Column("batch", lambda r: str(r.batch_size)),
    Column("status", lambda r: r.status if r.status == "ok" else f"[red]{r.status}[/]"),
    Column("median", lambda r: _latency(r, "median")),
    Column("p90", lambda r: _latency(r, "p90")),
    Column("through-\nput", _throughput),
    Column("peak\nmemory",
           lambda r: fmt_bytes(r.memory.get("peak_allocated_bytes") or r.memory.get("peak_rss_bytes"))),
    Column("of\npeak", _share),  # of this machine's measured matmul peak at that precision (probe --measure)
)
TFLOPS_COLUMN = Column("TFLOP/s", _tflops)
# How the network ran, its one-off cost, items until that is paid back, and its outputs against fp32 eager.
EXECUTION_COLUMNS = (
    Column("exec", lambda r: r.execution_label, name=True, blank="eager"),
    Column("one-off", _one_off),
    Column("break-\neven", _break_even),
    Column("vs\nfp32", lambda r: fidelity_text(r.fidelity)),
)


def _words(cell: str) -> list[str]:
    return Text.from_markup(cell).plain.split() or [""]


def columns_for(records, wide: bool = False) -> tuple[Column, ...]:
    """The main columns; TFLOP/s and the execution columns with --wide, and the execution columns
    also where the run swept executions (a label other than eager), since then they are what it compares."""
    if wide:
        return MAIN_COLUMNS[:-1] + (TFLOPS_COLUMN, MAIN_COLUMNS[-1]) + EXECUTION_COLUMNS
    if any(r.execution_label != "eager" for r in records):
        return MAIN_COLUMNS + EXECUTION_COLUMNS
    return MAIN_COLUMNS


def fidelity_text(fidelity: dict) -> str:
    if not fidelity:
        return "-"
    if fidelity.get("rel_error") is None:
        return "[red]failed[/]" if fidelity.get("error") else "-"
    text = f"{fidelity['rel_error']:.2%}"
    return text + (f", IoU {fidelity['mask_iou']:.3f}" if fidelity.get("mask_iou") is not None else "")


def _table(columns: tuple[Column, ...], records, keep_words: bool) -> Table:
    # No vertical rules and single spaces between columns: the room goes to the numbers on a narrow terminal.
    table = Table(title="segbench run", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for column in columns:
        cells = [column.header, *(column.cell(r) for r in records)]
        if column.name:
            table.add_column(column.header, no_wrap=True, min_width=max(len(c) for c in cells))
        else:  # wrapped between words, and inside one only where the terminal leaves no other way
            longest_word = max(len(w) for c in cells for w in _words(c))
            table.add_column(column.header, justify="left" if column.header == "status" else "right",
                             overflow="fold", min_width=longest_word if keep_words else None)
    for r in records:
        table.add_row(*(column.cell(r) for column in columns))
    return table


def results_table(records, wide: bool = False, out: Console | None = None) -> None:
    """The table of `records` and the notes its rows need, on `out` (default: stdout)."""
    out = out or console()
    columns = columns_for(records, wide)
    table = _table(columns, records, keep_words=True)
    unbounded = out.options.update_width(10**6)
    if Measurement.get(out, unbounded, table).minimum > out.width:  # too narrow to keep words whole
        table = _table(columns, records, keep_words=False)
    out.print(table)
    hidden = [c.header for c in (TFLOPS_COLUMN, *EXECUTION_COLUMNS)
              if c not in columns and any(c.cell(r) != c.blank for r in records)]
    if hidden:
        out.print(f"[dim]--wide adds {', '.join(h.replace(chr(10), ' ') for h in hidden)}.[/]")
    if EXECUTION_COLUMNS[-1] in columns and any(r.fidelity for r in records):
        notes = {r.fidelity.get("note") for r in records if r.fidelity.get("note")}
        out.print("vs fp32: relative error of the network's outputs (and mask IoU) against fp32 eager on "
                  "the same inputs" + "".join(f"; {n}" for n in sorted(notes)) + ".")
    if any(r.weights == "random" for r in records):
        out.print(
            "[yellow]Timings used random weights:[/] real for this architecture's speed and memory; "
            "masks and mask counts are not representative."
        )
    for r in records:
        if r.error:
            shown = "" if r.execution_label == "eager" else f" {r.execution_label}"
            out.print(f"[red]{r.model} {r.workload} {r.precision}{shown} b{r.batch_size}:[/] {r.error}")
