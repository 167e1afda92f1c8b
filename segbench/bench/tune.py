"""`segbench tune`: the fastest configuration of one model and workload on this machine that stays
within a fidelity bound, found by a pruned search and measured by the one harness.

Cheap axes first: the fp32 eager baseline (segbench's step, no autocast or compile) and, where the
workload has one, the model library's own README loop at fp32 (`official`: what a user's script
experiences, the figure the speed-up is stated against), then the device's other precisions, then
compile and the exported backends at the fastest precision so far, then larger batches for the fastest configuration. A trial more than `ABANDON` times slower than the
best so far is not carried further; a failed trial (a backend not installed, an export that breaks)
is a row and the search goes on. Every trial is a record in the results file, measured by the plan's
launcher (the CLI's: a fresh process per trial, so one backend's threads, caches or crash do not
touch the next trial).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from segbench.backends.catalog import runtimes
from segbench.bench.observer import Observer, Silent
from segbench.bench.plan import Plan
from segbench.records.schema import Record

ABANDON = 1.5  # slower than the best so far by this factor: not tried at other precisions or batches
BASELINE = ("fp32", "eager", 1)


@dataclass(frozen=True)
class Bound:
    max_error: float = 0.02  # relative error of the network's outputs against fp32 eager
    min_iou: float = 0.99  # mask IoU against fp32 eager, where the outputs are masks

    def admits(self, record: Record) -> bool:
        f = record.fidelity
        if not f:  # fp32 eager PyTorch, the reference's own arithmetic (offloaded or not); a family option
            # that compiles (sam2's vos_optimized) changes the arithmetic, so it is not known faithful without a figure
            from segbench.backends.execution import parse_execution
            from segbench.bench.sweeps import split

            e = parse_execution(split(record.execution_label)[0])  # offloaded or not
            return (record.precision == "fp32" and (e.backend, e.compile) == ("eager", "off")
                    and not compiling_options_in(record))
        if f.get("rel_error") is None or f["rel_error"] > self.max_error:
            return False
        return f.get("mask_iou") is None or f["mask_iou"] >= self.min_iou


def compiling_options_in(record: Record) -> bool:
    """Whether the record ran with a family option that compiles (`FamilyOption.compiles`) switched on."""
    from segbench.errors import InputError
    from segbench.families.registry import family_of

    try:
        options = family_of(record.model).options
    except InputError:  # a model no longer registered: it declares nothing
        return False
    return any(o.compiles and record.params.get(o.name, o.default) != o.default for o in options)


@dataclass
class Trial:
    precision: str
    execution: str
    batch_size: int
    stage: str
    record: Record | None = None
    # fastest | within bound | outside bound | unchecked | failed | abandoned | not tried | not offered
    verdict: str = ""
    # Family options this trial sets (`Family.options`, e.g. sam2's vos_optimized); empty: the defaults.
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def flags(self) -> list[str]:
        """The options as `segbench run` flags."""
        from segbench.families.registry import option_words

        return option_words(self.options)

    @property
    def per_item_s(self) -> float | None:
        if self.record is None or self.record.status != "ok":
            return None
        return self.record.stats.get("per_item_latency_s", {}).get("median")

    def to_dict(self) -> dict[str, Any]:
        r = self.record
        return {"precision": self.precision, "execution": self.execution, "batch_size": self.batch_size,
                "family_options": dict(self.options), "stage": self.stage, "verdict": self.verdict, "per_item_s": self.per_item_s,
                "status": r.status if r else None, "error": r.error if r else None,
                "fidelity": r.fidelity if r else {}, "one_off": (r.execution.get("one_off") if r else None),
                "break_even_items": (r.execution.get("break_even_items") if r else None),
                "fraction_of_peak": (r.flops.get("fraction_of_peak") if r else None),
                "record_id": r.id if r else None}


@dataclass
class TuneResult:
    model: str
    workload: str
    bound: Bound
    trials: list[Trial] = field(default_factory=list)
    best: Trial | None = None
    baseline: Trial | None = None
    official: Trial | None = None  # the library's own loop at fp32, where the workload has one

    @property
    def speedup(self) -> float | None:
        return _ratio(self.baseline, self.best)

    @property
    def baseline_ran(self) -> bool:
        """The fp32 eager baseline was measured: without it nothing was tuned (the command fails)."""
        return bool(self.baseline and self.baseline.record and self.baseline.record.status == "ok")

    @property
    def speedup_vs_official(self) -> float | None:
        return _ratio(self.official, self.best)

    def command(self, weights: str, inputs: str = "") -> str | None:
        """The `segbench run` line that measures the best configuration again (`inputs`: the options
        that chose the inputs, as given to tune)."""
        if self.best is None:
            return None
        b = self.best
        parts = ["segbench run", f"-m {self.model}", f"-w {self.workload}", f"--precision {b.precision}",
                 f"--batch-sizes {b.batch_size}", f"--weights {weights}"]
        from segbench.backends.execution import parse_execution
        from segbench.bench.sweeps import split

        label, values = split(b.execution)
        e = parse_execution(label)
        if e.compile != "off":
            parts.append(f"--compile {e.compile}")
        elif e.backend != "eager":
            parts.append(f"--backend {e.backend}")
        parts.extend(f"--{axis} {value}" for axis, value in values)
        parts.extend(b.flags)
        return " ".join(parts + ([inputs] if inputs else []))

    def to_dict(self, weights: str, inputs: str = "") -> dict[str, Any]:
        best = self.best
        return {
            "model": self.model, "workload": self.workload,
            "bound": {"max_error": self.bound.max_error, "min_iou": self.bound.min_iou},
            "baseline": self.baseline.to_dict() if self.baseline else None,
            "baseline_means": "fp32 eager at batch 1: the library's own call without autocast or compile",
            "best": best.to_dict() if best else None,
            "speedup_vs_baseline": self.speedup,
            "official": self.official.to_dict() if self.official else None,
            "official_means": self.official.record.params.get("timed") if self.official and self.official.record
            else None,
            "speedup_vs_official": self.speedup_vs_official,
            "fraction_of_peak": best.record.flops.get("fraction_of_peak") if best and best.record else None,
            "command": self.command(weights, inputs),
            "trials": [t.to_dict() for t in self.trials],
        }


def _ratio(slow: Trial | None, fast: Trial | None) -> float | None:
    if not (slow and fast and slow.per_item_s and fast.per_item_s):
        return None
    return slow.per_item_s / fast.per_item_s


def tune(plan: Plan, output: str | Path, *, bound: Bound = Bound(), minutes: float = 10.0,
         batch_sizes: tuple[int, ...] = (1, 2, 4), compile_trials: bool = True, observer: Observer | None = None,
         clock: Callable[[], float] = time.monotonic) -> TuneResult:
    """Search the configurations of the plan's one model and workload; every trial appended to `output`."""
    from segbench.bench.plan import validate

    device = validate(plan)
    observer = observer or Silent()
    model, workload = plan.models[0], plan.workloads[0]
    result = TuneResult(model, workload, bound)
    deadline = clock() + minutes * 60

    facts = _facts(model, workload)

    def run(precision: str, execution: str, batch: int, stage: str, options: dict[str, Any] | None = None) -> Trial:
        trial = Trial(precision, execution, batch, stage, options=dict(options or {}))
        result.trials.append(trial)
        if clock() > deadline:
            trial.verdict = "not tried"
            return trial
        one = replace(plan, precisions=[precision], **_axes(execution), batch_sizes=[batch],
                      family_options={**plan.family_options, **trial.options})
        from segbench.bench.runner import execute

        records = execute(one, output, observer)
        trial.record = records[-1] if records else None
        _break_even(trial, result.trials)
        _judge(trial, result, bound, checkable=facts["network"])
        return trial

    def skipped(precision: str, execution: str, stage: str, why: str) -> None:
        result.trials.append(Trial(precision, execution, 1, stage, verdict=why))

    result.baseline = run(*BASELINE, "baseline")
    if facts["official"]:
        result.official = run("fp32", "official", 1, "official")
        if result.official.per_item_s:
            result.official.verdict = "reference"
        elif result.official.record is not None:
            result.official.verdict = "failed"  # else: not tried (the deadline), as run() said
    # fp16 autocast on a CPU is not a speed path PyTorch offers; bf16 is.
    others = [p for p in ("bf16", "fp16") if _usable(device, p) and (device.type != "cpu" or p == "bf16")]
    _pick(result, bound)
    for precision in others:
        run(precision, "eager", 1, "precision")
        _pick(result, bound)
    fastest_precision = result.best.precision if result.best else "fp32"
    for execution, precision, refused in _execution_trials(device, fastest_precision, compile_trials):
        if refused:
            skipped(precision, execution, "execution", f"not offered ({refused})")
        elif not facts["network"]:
            skipped(precision, execution, "execution", "not offered (no single network for it to replace)")
        else:
            run(precision, execution, 1, "execution")
            _pick(result, bound)
    option_trials(run, skipped, fastest_precision, model, workload, compile_trials)
    _pick(result, bound)
    if facts["sweeps"]:
        _sweep_trials(run, skipped, fastest_precision, device, facts["sweeps"])
        _pick(result, bound)
    if result.best is not None and not facts["video"]:  # a clip's batch is its objects: the job, not a knob
        base = result.best
        for batch in [b for b in batch_sizes if b > 1]:
            trial = run(base.precision, base.execution, batch, "batch", base.options)
            _pick(result, bound)
            if trial.per_item_s is None or trial.verdict != "within bound" or trial is not result.best:
                break  # out of memory, or no faster per item: larger batches will not be either
    _pick(result, bound)
    if result.best is not None:
        result.best.verdict = "fastest"
    return result


def _axes(shown: str) -> dict[str, Any]:
    """A trial's label ("eager+offload:video") as the plan fields that run it."""
    from segbench.bench.sweeps import split

    execution, values = split(shown)
    return {"executions": [execution], "sweeps": {axis: [value] for axis, value in values}}


def _execution_trials(device: Any, fastest: str, compile_trials: bool) -> list[tuple[str, str, str]]:
    """(execution, precision, why it is not offered or "") for compile and each runtime backend: at the
    fastest precision so far where the backend runs it, else at the first precision it runs that the
    device has. Installed runtimes first; one that is missing still gets its (failed) row, so the table
    says why."""
    out = [("compile", fastest, "")] if compile_trials else []
    backends = runtimes()
    for backend in sorted(backends, key=lambda b: not b.installed()):
        usable = [p for p in (fastest, *backend.precisions) if backend.runs(p) and _usable(device, p)]
        precision = usable[0] if usable else fastest
        out.append((backend.name, precision, backend.refusal(precision, device.type) or ""))
    return out


def _break_even(trial: Trial, trials: list[Trial]) -> None:
    """Each trial is its own plan, so its worker saw no eager run: the break-even against the eager
    trial of the same precision and batch is counted here (in the result; the record file holds the
    worker's)."""
    from segbench.bench.point import pay_back

    if trial.record is None or trial.per_item_s is None:
        return
    base = next((t.per_item_s for t in trials if t.execution == "eager" and t.per_item_s is not None
                 and (t.precision, t.batch_size) == (trial.precision, trial.batch_size)), None)
    pay_back(trial.record, trial.per_item_s, base)


def option_trials(run: Callable[..., Trial], skipped: Callable[..., None], precision: str, model: str,
                   workload: str, compile_trials: bool) -> None:
    """The values the model's family offers tune for its own options on this workload (sam2's compiled
    video predictor); an option that compiles is tried only with the compile trials."""
    from segbench.families.registry import family_of

    for option in family_of(model).options:
        if workload not in option.workloads:
            continue
        for value in option.tune:
            if option.compiles and not compile_trials:
                skipped(precision, "eager", option.name, "not tried (--no-compile)")
            else:
                run(precision, "eager", 1, option.name, options={option.name: value})


def _sweep_trials(run: Callable[..., Trial], skipped: Callable[..., None], precision: str, device: Any,
                  sweeps: dict[str, Any]) -> None:
    """Each value of the axes the workload declares (tracking: where the frames and memory bank live),
    on a GPU: they move device memory to the host, which on a CPU is where it already is."""
    from segbench.bench.sweeps import NONE, label

    for axis, values in sweeps.items():
        for value in (v for v in values if v != NONE):
            shown = label("eager", ((axis, value),))
            if device.type == "cuda":
                run(precision, shown, 1, axis)
            else:
                skipped(precision, shown, axis, "not tried (on a CPU the device memory is host RAM already)")


def _facts(model: str, workload: str) -> dict[str, bool]:
    """What the workload offers: an official loop, a network slot (compile/backends, fidelity), a clip."""
    from segbench.families.registry import workload_class
    from segbench.workloads.base import Workload

    cls = workload_class(workload, model)
    return {"official": bool(cls is not None and cls.official_loop and cls.official_same_work),
            "network": cls is None or cls.network is not Workload.network,
            "video": cls is not None and cls.purpose == "video",
            "sweeps": dict(cls.sweeps) if cls is not None else {}}


def _usable(device: Any, precision: str) -> bool:
    from segbench.errors import InputError
    from segbench.measure.device import check_precision

    try:
        check_precision(device, precision)
    except InputError:
        return False
    return True


def _judge(trial: Trial, result: TuneResult, bound: Bound, checkable: bool = True) -> None:
    r = trial.record
    if r is None or r.status != "ok":
        trial.verdict = "failed"
        return
    if bound.admits(r):
        trial.verdict = "within bound"
    else:  # no fidelity on a workload without a network to compare: not known to be faithful
        trial.verdict = "outside bound" if r.fidelity or checkable else "unchecked (no network to compare)"
    best = result.best
    if trial.verdict == "within bound" and best is not None and best.per_item_s and trial.per_item_s \
            and trial.per_item_s > ABANDON * best.per_item_s:
        trial.verdict = f"abandoned ({trial.per_item_s / best.per_item_s:.1f}x the best)"


def _pick(result: TuneResult, bound: Bound) -> None:
    within = [t for t in result.trials if t.verdict in ("within bound", "fastest") and t.per_item_s]
    result.best = min(within, key=lambda t: t.per_item_s) if within else None
