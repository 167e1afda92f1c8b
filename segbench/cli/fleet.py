"""`segbench fleet run` and `segbench fleet throughput`: segbench on a Ray cluster (segbench.fleet)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from segbench.cli.output import console, emit_json, err_console, sigterm_as_interrupt
from segbench.cli.params import INT_LIST, MODEL_SIZE, parse_name_list
from segbench.cli.plan_options import build_plan, refuse_point_options, with_point_timeout
from segbench.cli.progress import ProgressObserver
from segbench.cli.results_table import show_records
from segbench.cli.run import run as single_machine_run
from segbench.cli.run_options import POINT_TIMEOUT_OPTION
from segbench.errors import InputError
from segbench.workload_catalog import WORKLOAD_NAMES

ADDRESS = click.option("--address", default="auto", show_default=True,
                       help="The Ray cluster: auto (the one `ray start` started here or RAY_ADDRESS), HOST:PORT "
                       "or ray://HOST:PORT.")


@click.group()
def fleet() -> None:
    """Run segbench on a Ray cluster: a plan per GPU kind, and multi-worker throughput."""


def _results_path(output: str | None) -> Path:
    from segbench.bench.sink import check_results_file
    from segbench.records.store import new_results_path

    path = Path(output) if output else new_results_path(prefix="fleet")
    check_results_file(path)
    return path


# `fleet run` takes `run`'s options (one list, two commands) except those about this machine's launcher.
_NOT_FOR_FLEET = {"launcher", "list_models", "save_plan", "force"}


@click.pass_context
def _fleet_run(ctx: click.Context, **kw: Any) -> None:
    from segbench.bench.plan import Plan
    from segbench.fleet.run import run_fleet

    plan = Plan.load(kw["plan_file"]) if kw["plan_file"] else build_plan(kw)
    if kw["plan_file"]:
        refuse_point_options(ctx, also={"address", "on", "slurm", "slurm_params"})
    output = _results_path(kw["output"])
    on = parse_name_list([kw["on"]]) if kw["on"] else None
    if kw["slurm"]:
        _on_slurm(plan, output, kw)
        return

    def before(kinds, nodes, facts) -> None:
        commits = {f.get("git_commit") for f in facts.values()}
        err_console.print(f"[bold]segbench fleet run[/] on {len(nodes)} node(s), kind(s) "
                          f"{', '.join(k.name for k in kinds)} → {output}"
                          + ("" if len(commits) <= 1 else f" [yellow](nodes run {len(commits)} different commits)[/]"))

    with sigterm_as_interrupt(), FleetProgress() as observer:
        result = run_fleet(plan, output, observer, address=kw["address"], on=on, before=before)
    records = result.records
    show_records(records, kw["as_json"],
                 f"{len(records)} record(s) from {len({_node(r) for r in records})} node(s) written to {output}",
                 tables=(_nodes_table,), wide=kw["wide"])


class FleetProgress(ProgressObserver):
    """`run`'s progress, with one bar per point of each node: nodes measure at once."""

    def for_node(self, where: str) -> "_NodeBars":
        return _NodeBars(self, where)


class _NodeBars:
    def __init__(self, parent: FleetProgress, where: str) -> None:
        self.parent, self.where, self.task = parent, where, None

    def point_started(self, label: str, min_iters: int, point: Any = None) -> None:
        self.task = self.parent.progress.add_task(f"{self.where} {label}", total=min_iters, last="warm-up")

    def sample(self, index: int, seconds: float) -> None:
        from segbench.cli.output import fmt_seconds

        if self.task is not None:
            total = max(self.parent.progress.tasks[self.task].total or 0, index)
            self.parent.progress.update(self.task, completed=index, total=total, last=fmt_seconds(seconds))

    def record(self, record) -> None:
        if self.task is not None:
            self.parent.progress.update(self.task, last=record.status if record.status != "ok" else "done")

    def note(self, text: str) -> None:
        self.parent.note(f"{self.where} {text}")


def _on_slurm(plan, output: Path, kw: dict[str, Any]) -> None:
    """The same plan as submitit jobs: Slurm where `sbatch` exists, local processes elsewhere."""
    from segbench.fleet.slurm import run_submitit

    if kw["on"] or kw["address"] != "auto":
        raise InputError("--slurm runs without Ray: name the GPU kind with --slurm-param slurm_gres=gpu:KIND:1 "
                         "instead of --on/--address")
    params: dict[str, Any] = {}
    for item in kw["slurm_params"]:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--slurm-param {item!r}: expected KEY=VALUE (e.g. slurm_partition=gpu)")
        params[key.strip()] = int(value) if value.strip().isdigit() else value.strip()
    err_console.print(f"[bold]segbench fleet run[/] as submitit jobs (logs in {kw['slurm']}) → {output}")
    with sigterm_as_interrupt(), ProgressObserver() as observer:
        records = run_submitit(plan, output, kw["slurm"], observer, **params)
    show_records(records, kw["as_json"], f"{len(records)} record(s) written to {output}", wide=kw["wide"])


def _node(record) -> tuple[str, str]:
    fleet_env = record.environment.get("fleet") or {}
    return str(fleet_env.get("kind", "-")), str(fleet_env.get("node_id", "-"))[:8]


def _nodes_table(records) -> None:
    """Per node: what it is and how its points went."""
    table = Table(title="per node")
    for column in ("kind", "node", "address", "host", "hardware", "git commit", "ok", "failed"):
        table.add_column(column)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for r in records:
        fleet_env = r.environment.get("fleet") or {}
        row = rows.setdefault(_node(r), {"address": str(fleet_env.get("node_ip", "-")),
                                         "host": str(r.environment.get("host", "-")), "hardware": r.hardware,
                                         "commit": str(r.environment.get("git_commit") or "unknown")[:10],
                                         "ok": 0, "failed": 0})
        row["ok" if r.status == "ok" else "failed"] += 1
    for (kind, node), row in sorted(rows.items()):
        table.add_row(kind, node, row["address"], row["host"], row["hardware"], row["commit"], str(row["ok"]),
                      str(row["failed"]))
    console().print(table)


fleet.add_command(click.Command(
    "run", callback=_fleet_run,
    params=[
        click.Option(["--address"], default="auto", show_default=True,
                     help="The Ray cluster: auto (the one `ray start` started here, or $RAY_ADDRESS), HOST:PORT or "
                     "ray://HOST:PORT."),
        click.Option(["--on"], default=None,
                     help="GPU kinds to run the plan on, comma-separated: each a node resource kind:NAME or a GPU "
                     "type Ray detected (accelerator_type); default: every kind the cluster offers."),
        click.Option(["--slurm"], type=click.Path(file_okay=False), default=None,
                     help="Instead of Ray: one submitit job per model (Slurm where sbatch exists, else local "
                     "processes); submitit's folder (shared by the nodes)."),
        click.Option(["--slurm-param", "slurm_params"], multiple=True,
                     help="A submitit parameter KEY=VALUE for --slurm (slurm_partition=gpu, slurm_gres=gpu:a100:1, "
                     "timeout_min=120); repeatable."),
        *[p for p in single_machine_run.params if p.name not in _NOT_FOR_FLEET],
    ],
    help="Run a plan on a Ray cluster, once per GPU kind; records from every node into one results file.",
))


@fleet.command()
@ADDRESS
@click.option("--on", default=None, help="The one kind of node to use (kind:NAME or a GPU type); default: any node.")
@click.option("-m", "--model", "model", default=None, help="The model (default: the workload's default model).")
@click.option("-w", "--workload", default="image", show_default=True, type=click.Choice(WORKLOAD_NAMES))
@click.option("--workers", type=INT_LIST, default="1,2", show_default=True,
              help="Worker counts to measure, e.g. 1,2,4 (one GPU each, or an equal share of cores); 1 is always "
              "measured, scaling efficiency is against it.")
@click.option("--images", "--items", "items", type=click.IntRange(1, 10_000_000), default=None,
              help="Size of the synthetic input set (images, or clips/volumes for video/volume).")
@click.option("-i", "--input", "inputs", multiple=True, type=click.Path(),
              help="A folder (or files) of images as the input set; the same path must exist on every node.")
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda.")
@click.option("--precision", default="auto", show_default=True, help="fp32 | fp16 | bf16 | auto.")
@click.option("--weights", type=click.Choice(["auto", "pretrained", "random"]), default="auto", show_default=True)
@click.option("--quick", is_flag=True, help="Small inputs (quick source size, clip length and volume).")
@click.option("--model-size", type=MODEL_SIZE, default=None, help="Model input size (N or WxH).")
@click.option("--warmup", type=click.IntRange(0, 1000), default=None, help="Untimed steps per worker first (default 2).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Results file to append to (default: a new file under results/).")
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON on stdout.")
@POINT_TIMEOUT_OPTION
def throughput(**kw: Any) -> None:
    """Aggregate throughput of one input set sharded over 1, 2, 4... workers, and scaling efficiency."""
    from segbench.bench.presets import make_plan
    from segbench.fleet.throughput import run_throughput

    for path in kw["inputs"]:
        if not Path(path).exists():
            raise InputError(f"input not found: {path}")
    plan = make_plan([kw["model"]] if kw["model"] else [], [kw["workload"]], quick=kw["quick"], device=kw["device"],
                     precisions=[kw["precision"]], batch_sizes=[1], warmup=kw["warmup"], weights=kw["weights"],
                     resolution=kw["model_size"], options={"inputs": tuple(kw["inputs"])},
                     telemetry_interval_s=None, count_flops=False)
    with_point_timeout(plan, kw)
    output = _results_path(kw["output"])
    err_console.print(f"[bold]segbench fleet throughput[/] {plan.models[0]} {kw['workload']} → {output}")
    with sigterm_as_interrupt():
        records = run_throughput(plan, output, kw["workers"], items=kw["items"], address=kw["address"], on=kw["on"],
                                 progress=lambda text: err_console.print(f"[dim]{text}[/]"))
    if kw["as_json"]:
        emit_json([r.to_dict() for r in records])
    else:
        scaling_table(records)
    err_console.print(f"{len(records)} record(s) written to {output}")


def scaling_table(records) -> None:
    from segbench.formatting import fmt_seconds

    table = Table(title="throughput scaling")
    for column in ("workers", "per worker", "items/hour", "efficiency", "worker p50", "worker p90", "slowest worker"):
        table.add_column(column, justify="right")
    for r in records:
        t = r.metrics["throughput"]
        res = t["worker_resources"]
        workers = t["per_worker"]
        eff = t.get("scaling_efficiency")
        table.add_row(str(t["workers"]), "1 GPU" if res["gpus"] else f"{res['cpus']} core(s)",
                      f"{t['items_per_hour']:,.0f} {t['item_unit']}s" if t.get("items_per_hour") else "-",
                      f"{eff:.2f}" if eff is not None else "-",
                      " / ".join(fmt_seconds(w.get("median")) for w in workers),
                      " / ".join(fmt_seconds(w.get("p90")) for w in workers),
                      fmt_seconds(t["makespan_s"]))
    console().print(table)
    console().print("efficiency = throughput(N) / (N × throughput(1)); latencies are per item, per worker.")
