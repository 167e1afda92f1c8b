"""`segbench report`, `segbench compare` and `segbench export`: parse, call `segbench.report`, render."""

from __future__ import annotations

from pathlib import Path

import click

from segbench.cli.output import console as stdout_console
from segbench.cli.output import emit_json
from segbench.errors import EXIT_FAILED, InputError
from segbench.atomic import atomic_write_text

_PATH = click.Path(path_type=Path)


def _warn(messages) -> None:
    for message in messages:
        click.echo(f"segbench: warning: {message}", err=True)


@click.command()
@click.argument("results", nargs=-1, type=_PATH)
@click.option("--out", type=_PATH, default=None, help="Report folder  [default: reports/<timestamp>]")
@click.option("--force", is_flag=True, help="Write into --out even when it already holds files.")
@click.option("--normalise-to", "reference", metavar="HARDWARE", default=None,
              help="Machine the cross-machine bars are normalised to  [default: the one with most results]")
@click.option("--json", "as_json", is_flag=True, help="Print only JSON (files written) on stdout.")
def report(results: tuple[Path, ...], out: Path | None, force: bool, reference: str | None, as_json: bool) -> None:
    """Plots, index.html and summary.md from RESULTS files or folders  [default: results/]."""
    from segbench.report.build import build_report

    outcome = build_report(list(results) or [Path("results")], out, force=force, reference=reference)
    _warn(outcome.warnings)
    if as_json:
        emit_json({
            "out": str(outcome.out),
            "files": [str(f) for f in outcome.files],
            "records": outcome.records,
            "machines": outcome.machines,
            "random_weights": outcome.random_weights,
        })
        return
    from rich.markup import escape

    console = stdout_console()
    plots = sum(1 for f in outcome.files if f.suffix == ".png")
    console.print(f"Report of {outcome.records} records from {outcome.machines} machine(s): {plots} plots")
    console.print(f"  open [bold]{escape(str(outcome.out / 'index.html'))}[/bold]"
                  f"  (also {escape(str(outcome.out / 'summary.md'))})", highlight=False)
    if outcome.random_weights:
        console.print("[yellow]Some results came from random weights: timings are real for this architecture, "
                      "accuracy/mask outputs are not.[/yellow]")


def _compare_table(result):
    from rich.markup import escape
    from rich.table import Table

    from segbench.formatting import fmt_seconds

    styles = {"regressed": "bold red", "improved": "green", "unchanged": "", "not compared": "yellow"}
    level = f"{result.confidence * 100:g}%"
    table = Table(title=f"{result.metric} latency per batch, current vs baseline "
                        f"(threshold {result.threshold * 100:g}%, {level} CI)")
    table.add_column(escape("point (model workload precision batch [input])"), overflow="fold")
    table.add_column("baseline", justify="right")
    table.add_column("current", justify="right")
    table.add_column(f"change ({level} CI)", justify="right")
    table.add_column("p", justify="right")
    table.add_column("verdict", overflow="fold")
    settings_by_point: dict[tuple, set[str]] = {}
    for c in result.comparisons:
        settings_by_point.setdefault(c.key[:-1], set()).add(c.key[-1])
    ambiguous = {point: keys for point, keys in settings_by_point.items() if len(keys) > 1}
    for c in result.comparisons:
        kind, model, workload, precision, batch, key, execution, settings = c.key
        point = f"{model} {workload} {precision}" + (f" {execution}" if execution != "eager" else "") + (
            f" bs{batch}") + (f" [{key}]" if key else "") + (f" ({kind})" if kind != "run" else "")
        if settings in ambiguous.get(c.key[:-1], ()):  # same point with other settings in the table
            point += f" {{settings {settings}}}"
        e = c.estimate
        style = styles.get(c.verdict, "dim")
        verdict = f"[{style}]{c.verdict}[/]" if style else c.verdict
        if c.note:
            verdict += f"\n[dim]{escape(c.note)}[/dim]"
        change = f"{e.change * 100:+.1f}% ({e.ci_low * 100:+.1f} … {e.ci_high * 100:+.1f})" if e else "—"
        table.add_row(
            escape(point),
            fmt_seconds(e.baseline) if e else "—",
            fmt_seconds(e.current) if e else "—",
            change,
            f"{e.p_value:.2g}" if e else "—",
            verdict,
        )
    return table


@click.command()
@click.argument("baseline", type=_PATH)
@click.argument("current", type=_PATH)
@click.option("--threshold", default="5%", show_default=True,
              help="Smallest slowdown that counts, e.g. 5% or 0.05; the whole confidence interval must exceed it.")
@click.option("--metric", type=click.Choice(["median", "mean", "p90"]), default="median", show_default=True,
              help="Latency statistic compared.")
@click.option("--allow-different-hardware", is_flag=True,
              help="Compare results from different machines (otherwise refused: exit 2).")
@click.option("--json", "as_json", is_flag=True, help="Print only JSON on stdout.")
@click.pass_context
def compare(ctx: click.Context, baseline: Path, current: Path, threshold: str, metric: str,
            allow_different_hardware: bool, as_json: bool) -> None:
    """Regression gate: exit 1 when CURRENT is slower than BASELINE beyond the threshold with confidence.

    Records are matched by kind, model, workload, precision, batch size, input and the settings that
    change the cost (model size, roi, overlap, points: `Record.match_key()`). A change is called
    only when the bootstrap confidence interval of the relative change lies beyond the threshold AND a
    Mann-Whitney U test on the raw samples is significant. Exit 0 otherwise; 2 on unusable input.
    """
    from segbench.report.compare import compare_paths, parse_threshold

    result = compare_paths(baseline, current, metric=metric, threshold=parse_threshold(threshold),
                           allow_different_hardware=allow_different_hardware)
    _warn(result.warnings)
    if as_json:
        emit_json(result.to_dict())
    else:
        console = stdout_console()
        console.print(_compare_table(result))
        counts = ", ".join(f"{n} {v}" for v, n in sorted(result.counts().items()))
        console.print(f"{counts}.", highlight=False)
    if result.regressed:
        n = len(result.by_verdict("regressed"))
        click.echo(f"segbench: {n} regression(s) beyond {result.threshold * 100:g}%", err=True)
        ctx.exit(EXIT_FAILED)
    if not result.compared:
        # A gate that compared nothing has not passed: every matched point failed or lacked samples.
        click.echo(f"segbench: error: nothing was compared: none of the {len(result.comparisons)} point(s) had "
                   "usable results on both sides (see the table's notes)", err=True)
        ctx.exit(EXIT_FAILED)


@click.command()
@click.argument("results", nargs=-1, type=_PATH)
@click.option("--format", "fmt", type=click.Choice(["pytest-benchmark"]), default="pytest-benchmark",
              show_default=True, help="Output format.")
@click.option("--output", "-o", type=_PATH, default=None, help="File to write  [default: stdout]")
@click.option("--force", is_flag=True, help="Replace --output when it already exists.")
def export(results: tuple[Path, ...], fmt: str, output: Path | None, force: bool) -> None:
    """Export RESULTS (files or folders, default results/) for other tools' dashboards."""
    from segbench.report.export import dumps, to_pytest_benchmark
    from segbench.report.load import load_results
    from segbench.report.writing import writing

    if output is not None and output.is_dir():
        raise InputError(f"--output {output} is a folder; name a file")
    if output is not None and output.exists() and not force:
        raise InputError(f"--output {output} already exists; pass --force to replace it")
    loaded = load_results(list(results) or [Path("results")])
    document, warnings = to_pytest_benchmark(loaded.records)
    _warn(loaded.warnings + warnings)
    if not document:
        raise InputError("nothing to export: no record with status ok and raw samples")
    text = dumps(document)
    if output is None:
        click.echo(text, nl=False)
    else:
        with writing(output, "export file"):
            atomic_write_text(output, text)
        click.echo(f"wrote {len(document['benchmarks'])} benchmarks to {output}", err=True)
