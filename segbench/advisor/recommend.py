"""`segbench recommend`: the cheapest build and model that meet a target inside a budget.

Every build (a tier from the tiers profile with one of its GPU candidates, new or used, or the
CPU-only tier) is costed with `Tier.cost_usd` (GPU + rest-of-build parts, user price overrides
applied) and every model that serves the workload and answers the task (`--task`: promptable,
semantic, panoptic or instance segmentation) is predicted on it with `evaluate`.
The recommendation is the cheapest build whose whole price range is inside the budget and on
which some model fits and meets the target; on that build, the most capable such model. Beside
it: the next cheaper and the next dearer build. When nothing qualifies: what comes closest inside
the budget, and the cheapest build that would meet the target and what it costs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segbench.advisor.advice import advice_for, paths_for
from segbench.advisor.data.catalog import CPUSpec, GPUSpec, load_catalog
from segbench.advisor.data.tiers import Tier, load_tiers
from segbench.advisor.evaluate import (
    MEMORY_UNIT,
    Evaluation,
    Risk,
    Targets,
    build_query,
    default_precision,
    evaluate,
)
from segbench.advisor.model.fit import STALE_FIT_NOTE, fit_is_current, fitted
from segbench.errors import InputError
from segbench.families.base import TASKS
from segbench.families.registry import check_serves, check_workload_name, get_spec, model_names, tasks_for
from segbench.limits import check_finite
from segbench.workload_catalog import DEFAULT_TASK


@dataclass(frozen=True)
class Build:
    tier: Tier
    spec: GPUSpec | CPUSpec
    condition: str | None  # "new" / "used" for a GPU; None for the CPU-only tier
    cost: tuple[float, float]

    @property
    def label(self) -> str:
        if isinstance(self.spec, CPUSpec):
            return f"{self.tier.title}: {self.spec.name}"
        return f"{self.tier.title}: {self.spec.name} ({self.condition})"


@dataclass
class Option:
    build: Build
    model: str
    evaluation: Evaluation
    meets: bool

    def to_dict(self) -> dict[str, Any]:
        b, ev = self.build, self.evaluation
        gpu = None if isinstance(b.spec, CPUSpec) else b.spec.name
        return {
            "tier": b.tier.name,
            "title": b.tier.title,
            "gpu": gpu,
            "condition": b.condition,
            "device": b.spec.name,
            "cost_usd": [round(b.cost[0]), round(b.cost[1])],
            "parts": [[label, lo, hi] for label, lo, hi in b.tier.parts(gpu, b.condition)],
            "model": self.model,
            "precision": ev.footprint.query.precision,
            "fits": ev.fits,
            "meets_target": self.meets,
            "predicted": ev.predicted(),
            "risks": [r.to_dict() for r in ev.risks],
        }


@dataclass(frozen=True)
class RecommendRequest:
    workload: str
    budget: float
    targets: Targets = field(default_factory=Targets)
    resolution: tuple[int, int] | None = None
    volume: tuple[int, int, int] | None = None
    models: tuple[str, ...] = ()
    classes: int | None = None
    task: str | None = None  # None: the workload's default task
    precision: str | None = None
    batch_size: int = 1
    frames: int | None = None
    aggregate_on: str = "device"
    offload_video_to_cpu: bool = False
    prices: dict[str, float] = field(default_factory=dict)
    profile: str | None = None
    dataset_images: int | None = None
    epochs: int | None = None  # the small model's fine-tuning epochs in the two-paths advice
    label_seconds: float | None = None  # a person's seconds per image in it

    def __post_init__(self) -> None:
        check_finite(self, "recommend")  # NaN or infinity from the API would print as invalid JSON


@dataclass
class Recommendation:
    request: RecommendRequest
    chosen: Option | None
    cheaper: Option | None
    dearer: Option | None
    closest_over_budget: Option | None
    best_within_budget: Option | None
    message: str
    risks: list[Risk]
    advice: list[str]
    considered: int
    basis: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        r = self.request
        opt = lambda o: o.to_dict() if o else None
        return {
            "request": {"workload": r.workload, "budget_usd": r.budget, "target_fps": r.targets.fps,
                        "target_latency_ms": r.targets.latency_ms, "per_hour": r.targets.per_hour,
                        "resolution": list(r.resolution) if r.resolution else None,
                        "volume": list(r.volume) if r.volume else None, "models": list(r.models) or None,
                        "task": r.task,
                        "price_overrides": dict(r.prices)},
            "recommended": opt(self.chosen),
            "cheaper": opt(self.cheaper),
            "next_up": opt(self.dearer),
            "closest_over_budget": opt(self.closest_over_budget),
            "best_within_budget": opt(self.best_within_budget),
            "message": self.message,
            "risks": [x.to_dict() for x in self.risks],
            "advice": self.advice,
            "builds_considered": self.considered,
            "basis": self.basis,
        }


def builds(tiers: list[Tier], catalog=None) -> list[Build]:
    """Every purchasable configuration, cheapest first (by the low end, then the high end)."""
    catalog = catalog or load_catalog()
    out: list[Build] = []
    for tier in tiers:
        if not tier.gpus:
            cpu = catalog.get(tier.cpu) if tier.cpu else None
            if isinstance(cpu, CPUSpec):
                out.append(Build(tier, cpu, None, tier.cost_usd()))
            continue
        for candidate in tier.gpus:
            spec = catalog.get(candidate.name)
            if isinstance(spec, GPUSpec):
                out.append(Build(tier, spec, candidate.condition, tier.cost_usd(candidate.name, candidate.condition)))
    return sorted(out, key=lambda b: (b.cost[0], b.cost[1]))


def considered(req: RecommendRequest) -> tuple[str, list[str]]:
    """(task, models): the models the recommendation chooses among, least capable first. --model
    names them; otherwise every registered model that serves the workload and answers the task."""
    check_workload_name(req.workload)
    task = req.task or DEFAULT_TASK[req.workload]
    if task not in TASKS:
        raise InputError(f"unknown task '{task}' (known: {', '.join(TASKS)})")
    if req.models:
        specs = [get_spec(name) for name in req.models]
        for spec in specs:
            check_serves(spec, req.workload)
            if req.task and task not in spec.tasks:
                raise InputError(f"{spec.name} does not answer {task} segmentation (it answers: {', '.join(spec.tasks)})")
    else:
        specs = [get_spec(name) for name in model_names(req.workload, task)]
        if not specs:
            served = ", ".join(tasks_for(req.workload)) or "none"
            raise InputError(f"no registered model answers {task} segmentation on the '{req.workload}' workload "
                             f"(tasks served there: {served})")
    # Most capable last: among models that meet a target, the recommendation takes the last one.
    ordered = sorted(enumerate(specs), key=lambda item: (item[1].quality.rank, item[0]))
    return task, [spec.name for _, spec in ordered]


def _score(option: Option, targets: Targets) -> float:
    """How close to the target an option comes (1 = met); speed when there is no target; 0 when the
    model does not fit on the build (out of memory is never close)."""
    if not option.evaluation.fits:
        return 0.0
    p = option.evaluation.predicted()
    ratios = []
    if targets.fps and "fps" in p:
        ratios.append(p["fps"] / targets.fps)
    if targets.latency_ms and "latency_ms" in p:
        ratios.append(targets.latency_ms / p["latency_ms"])
    if targets.per_hour:
        rate = p.get("volumes_per_hour") or p.get("images_per_hour") or p.get("fps", 0) * 3600
        ratios.append(rate / targets.per_hour)
    if not ratios:
        return 1 / option.evaluation.seconds_per_item
    return min(ratios)


def recommend(req: RecommendRequest) -> Recommendation:
    if not req.budget > 0:
        raise InputError(f"--budget must be more than 0 USD, got {req.budget:g}")
    req.targets.validate()
    params, loo = fitted()
    catalog = load_catalog()
    tiers = load_tiers(req.prices, req.profile, catalog=catalog)
    task, models = considered(req)
    per_build: list[tuple[Build, list[Option]]] = []
    for build in builds(tiers, catalog):
        precision = req.precision or default_precision(build.spec)
        options = []
        for model in models:
            q = build_query(model, req.workload, precision, resolution=req.resolution, batch_size=req.batch_size,
                            volume=req.volume, frames=req.frames, aggregate_on=req.aggregate_on,
                            offload_video_to_cpu=req.offload_video_to_cpu, classes=req.classes)
            ev = evaluate(build.spec, q, params=params, targets=req.targets)
            options.append(Option(build, model, ev, ev.meets(req.targets)))
        per_build.append((build, options))

    def best(options: list[Option]) -> Option:
        """The most capable model that meets the target, else the one that comes closest."""
        meeting = [o for o in options if o.meets]
        if meeting:
            return meeting[-1]
        return max(options, key=lambda o: (_score(o, req.targets), -models.index(o.model)))

    summary = [best(options) for _, options in per_build]
    inside = [o for o in summary if o.build.cost[1] <= req.budget]
    straddle = [o for o in summary if o.build.cost[0] <= req.budget < o.build.cost[1]]
    chosen = next((o for o in inside if o.meets), None) or next((o for o in straddle if o.meets), None)
    risks: list[Risk] = []
    closest = best_inside = cheaper = dearer = shown = None
    if chosen is not None:
        shown = chosen
        i = summary.index(chosen)
        # The neighbours are other cards: the same card in a dearer tier is no step up in speed.
        cheaper = next((o for o in reversed(summary[:i]) if o.build.spec.name != chosen.build.spec.name), None)
        dearer = next((o for o in summary[i + 1:] if o.build.spec.name != chosen.build.spec.name), None)
        risks = list(chosen.evaluation.risks)
        lo, hi = chosen.build.cost
        if hi > req.budget:
            risks.append(Risk("budget", f"the build costs ${lo:,.0f}-${hi:,.0f}: inside ${req.budget:,.0f} only "
                                        "at the low end of its price range"))
        message = (f"{chosen.build.label} with {chosen.model}: ${lo:,.0f}-${hi:,.0f}, "
                   + _headline(chosen) + f", within the ${req.budget:,.0f} budget")
    else:
        meeting = [o for o in summary if o.meets]
        closest = meeting[0] if meeting else None
        affordable = [o for o in summary if o.build.cost[0] <= req.budget]
        fitting = [o for o in affordable if o.evaluation.fits]  # never propose a build the model does not fit on
        best_inside = max(fitting, key=lambda o: _score(o, req.targets)) if fitting else None
        parts = [f"nothing meets the target within ${req.budget:,.0f}"]
        if best_inside is not None:
            parts.append(f"the closest inside the budget is {best_inside.build.label} with {best_inside.model} "
                         f"(${best_inside.build.cost[0]:,.0f}-${best_inside.build.cost[1]:,.0f}): " + _headline(best_inside))
        elif affordable:
            parts.append(f"{' / '.join(models)} does not fit in memory on any build inside the budget")
        else:
            parts.append(f"no build costs less than ${min(b.cost[0] for b, _ in per_build):,.0f}")
        if closest is not None:
            parts.append(f"the cheapest build that meets it is {closest.build.label} with {closest.model} at "
                         f"${closest.build.cost[0]:,.0f}-${closest.build.cost[1]:,.0f}")
        else:
            parts.append("no build in the tiers meets it; relax the target, use a smaller model or lower resolution")
        message = "; ".join(parts)
        shown = best_inside or closest or next((o for o in affordable if not o.evaluation.fits), None)
        risks = list(shown.evaluation.risks) if shown else []
    current = fit_is_current()
    basis = {
        "costs": "Tier.cost_usd: the GPU's price range plus every rest-of-build part (profiles/tiers.yaml, "
                 "components.yaml, gpus.yaml; --price overrides applied)",
        "predictions": "segbench check's model on each build (roofline x fitted efficiency + per-kernel overhead)",
        "fit_current": current,
        "leave_one_out_median_pct": round(loo.median, 1),
        "leave_one_out_worst_pct": round(loo.worst, 1),
        "memory_unit": MEMORY_UNIT,
        "task": task,
        "models_considered": models,
        "quality_order": {name: get_spec(name).quality.basis for name in models},
    }
    if not current:
        basis["note"] = STALE_FIT_NOTE
    # The advice is about the build shown: the recommendation, else the closest one.
    paths = paths_for(shown.evaluation, req.dataset_images, params, req.epochs, req.label_seconds) if shown else None
    if paths:
        basis["two_paths"] = paths.to_dict()
    advice = advice_for(shown.evaluation, req.dataset_images, params=params, paths=paths) if shown else []
    return Recommendation(req, chosen, cheaper, dearer, closest, best_inside, message, risks, advice,
                          len(per_build), basis)


def _headline(option: Option) -> str:
    p = option.evaluation.predicted()
    bits = []
    if "fps" in p:
        bits.append(f"{p['fps']:.1f} fps")
    elif "seconds_per_volume" in p:
        bits.append(f"{p['seconds_per_volume']:.1f} s per volume")
    elif "images_per_hour" in p:
        bits.append(f"{p['images_per_hour']:,.0f} images/hour")
    elif "latency_ms" in p:
        bits.append(f"{p['latency_ms']:.0f} ms per {option.evaluation.footprint.item_unit}")
    memory = p.get("peak_vram_gb", p.get("peak_ram_gb"))
    if memory is not None:
        bits.append(f"{memory:.1f} GiB peak {'VRAM' if 'peak_vram_gb' in p else 'RAM'}")
    return ", ".join(bits) + " predicted"


def profile_path(text: str | None) -> str | None:
    if text is None:
        return None
    if not Path(text).is_file():
        raise InputError(f"--profile {text}: file not found")
    return text
