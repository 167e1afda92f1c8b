"""GPU health before a benchmark: busy, hot, power-capped, clock-locked, throttling, laptop, PCIe.

Every reading comes from the probe's NVML facts (None where a board lacks the sensor, which makes
that check `skipped`). "Idle" means NVML utilisation below IDLE_UTIL_PCT: most of these readings
mean something different on a GPU another process is loading.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from segbench.doctor.context import DoctorContext, gpu_label
from segbench.doctor.findings import Finding, ok, skipped, warn
from segbench.formatting import fmt_bytes
from segbench.probe.nvml import reason_category, throttling

IDLE_UTIL_PCT = 10
HOT_AT_IDLE_C = 60  # desktop cards idle at 30-50 C, laptops at 45-55 C
NEAR_LIMIT_C = 5  # under load, this close to the slowdown temperature counts as hot
POWER_LIMIT_SHARE = 0.95  # a limit below 95 % of the default was lowered on purpose
LOW_CLOCK_SHARE = 0.7  # under load, an SM clock below 70 % of max with no reason given
LAPTOP_WORDS = ("laptop", "max-q", "mobile")
# Usable bandwidth per lane in GB/s after line encoding (8b/10b for Gen1-2, 128b/130b from Gen3).
PCIE_LANE_GBS = {1: 0.25, 2: 0.5, 3: 0.985, 4: 1.969, 5: 3.938, 6: 7.563}


def _util(gpu: dict[str, Any]) -> int | None:
    return gpu.get("util_pct")


def _idle(gpu: dict[str, Any]) -> bool:
    util = _util(gpu)
    return util is not None and util < IDLE_UTIL_PCT


def _busy_note(gpu: dict[str, Any]) -> str:
    return f"while another process keeps it {_util(gpu)} % busy"


def busy(gpu: dict[str, Any], label: str, fid: str) -> Finding:
    title = f"{label}: idle before the run"
    util = _util(gpu)
    if util is None:
        return skipped(fid, title, "NVML does not report utilisation for this GPU.")
    if util >= IDLE_UTIL_PCT:
        used = fmt_bytes(gpu.get("vram_used_bytes"))
        return warn(fid, title, f"The GPU is already {util} % busy ({used} of VRAM in use), so timings would be shared "
                    "with another process.", f"stop the other GPU processes (nvidia-smi lists them; nvidia-smi -i "
                    f"{gpu.get('index')} --query-compute-apps=pid,name --format=csv) before benchmarking",
                    util_pct=util)
    return ok(fid, title, f"The GPU is idle ({util} % utilisation).", util_pct=util)


def temperature(gpu: dict[str, Any], label: str, fid: str) -> Finding:
    title = f"{label}: temperature"
    temp = gpu.get("temperature_c")
    if temp is None:
        return skipped(fid, title, "NVML does not report this GPU's temperature.")
    limits = [gpu[k] for k in ("temperature_max_operating_c", "temperature_slowdown_c") if gpu.get(k) is not None]
    limit = min(limits) if limits else None
    details = {"temperature_c": temp, "slowdown_c": limit, "util_pct": _util(gpu)}
    cooling = ("check the fans spin (nvidia-smi shows fan %), clean dust filters and heatsink, improve case airflow; "
               "on a laptop, raise it for air intake and use the performance power profile")
    if _idle(gpu) and temp >= HOT_AT_IDLE_C:
        room = f"; it slows itself at {limit} C" if limit else ""
        return warn(fid, title, f"{temp} C at idle leaves little headroom: under load it will reach its limit and lower "
                    f"its clocks within minutes{room}.", cooling, **details)
    if limit is not None and temp >= limit - NEAR_LIMIT_C:
        when = "" if _idle(gpu) else f" ({_busy_note(gpu)})"
        return warn(fid, title, f"{temp} C, within {NEAR_LIMIT_C} C of the {limit} C where it slows itself{when}.",
                    cooling, **details)
    state = "at idle" if _idle(gpu) else "under load" if _util(gpu) is not None else ""
    return ok(fid, title, f"{temp} C {state}".strip() + (f", {limit - temp} C below its slowdown limit." if limit else "."),
              **details)


def power_limit(gpu: dict[str, Any], label: str, fid: str) -> Finding:
    title = f"{label}: power limit"
    limit, default = gpu.get("power_limit_w"), gpu.get("power_default_limit_w")
    if limit is None or default is None:
        return skipped(fid, title, "NVML does not report this board's power limits (common on laptops).")
    details = {"power_limit_w": limit, "power_default_limit_w": default, "power_max_limit_w": gpu.get("power_max_limit_w")}
    if limit < POWER_LIMIT_SHARE * default:
        return warn(fid, title, f"The power limit is set to {limit:g} W, below the board's default {default:g} W, so "
                    f"the GPU lowers its clocks under load ({limit / default:.0%} of the default power).",
                    f"sudo nvidia-smi -i {gpu.get('index')} -pl {default:g} (resets at reboot unless set again; "
                    "check for a startup script or nvidia-persistenced setting that lowers it)", **details)
    return ok(fid, title, f"The power limit is {limit:g} W (default {default:g} W).", **details)


def clocks(gpu: dict[str, Any], label: str, fid: str) -> Finding:
    title = f"{label}: clocks"
    reasons = gpu.get("throttle")
    sm, sm_max = gpu.get("sm_clock_mhz"), gpu.get("sm_clock_max_mhz")
    details = {"sm_clock_mhz": sm, "sm_clock_max_mhz": sm_max, "reasons": reasons}
    if reasons is None and (sm is None or sm_max is None):
        return skipped(fid, title, "NVML reports neither clocks nor clock-event reasons for this GPU.")
    reset = (f"sudo nvidia-smi -i {gpu.get('index')} -rgc && sudo nvidia-smi -i {gpu.get('index')} -rac "
             "(reset locked GPU clocks and application clocks)")
    if reasons and "applications_clocks_setting" in reasons:
        now = f" (SM {sm:g} of {sm_max:g} MHz now)" if sm is not None and sm_max else ""
        return warn(fid, title, f"The clocks are held by a locked-clock or application-clock setting{now}, so the GPU "
                    "cannot boost to its maximum.", reset, **details)
    if (not _idle(gpu) and _util(gpu) is not None and sm is not None and sm_max
            and sm < LOW_CLOCK_SHARE * sm_max and not throttling(reasons or [])):
        return warn(fid, title, f"Under load the SM clock is {sm:g} of {sm_max:g} MHz with no reason NVML reports, "
                    "which points to a clock limit set outside NVML's reasons.", reset, **details)
    if sm is None or sm_max is None:
        return ok(fid, title, "No clock setting limits the GPU.", **details)
    state = " at idle, which is normal" if _idle(gpu) else ""
    return ok(fid, title, f"No clock setting limits the GPU (SM {sm:g} of {sm_max:g} MHz{state}).", **details)


_REASON_WORDS = {
    "thermal": ("it is too hot", "improve cooling: fans, dust, case airflow, room temperature"),
    "power": ("it reached its power limit", ("if the power-limit row shows a lowered limit, restore it; on a laptop, "
              "plug in and select the performance power profile (a desktop card at its default limit under full "
              "load is working as designed)")),
    "other": ("a hardware slowdown signal (overheating, or the PSU or its cables asking for less power)",
              "check the PCIe power cables are firmly seated and the PSU is large enough; check temperatures"),
}


def throttle(gpu: dict[str, Any], label: str, fid: str) -> Finding:
    title = f"{label}: throttle reasons"
    reasons = gpu.get("throttle")
    if reasons is None:
        return skipped(fid, title, "NVML does not report clock-event reasons for this GPU.")
    active = throttling(reasons)
    if not active:
        shown = ", ".join(reasons) if reasons else "none"
        return ok(fid, title, f"No throttling reason is active ({shown}).", reasons=reasons)
    categories = sorted({reason_category(r) for r in active})
    why = " and ".join(_REASON_WORDS[c][0] for c in categories)
    fix = "; ".join(_REASON_WORDS[c][1] for c in categories)
    when = "at idle, before any work" if _idle(gpu) else _busy_note(gpu) if _util(gpu) is not None else "now"
    return warn(fid, title, f"NVML reports {', '.join(active)} {when}: the GPU is lowering its clocks because {why}.",
                fix, reasons=reasons, util_pct=_util(gpu))


def laptop(gpu: dict[str, Any], label: str, fid: str) -> Finding:
    return form_factor(fid, label, any(w in str(gpu.get("name") or "").lower() for w in LAPTOP_WORDS))


def form_factor(fid: str, label: str, is_laptop: bool) -> Finding:
    title = f"{label}: form factor"
    if is_laptop:
        return warn(fid, title, "A laptop GPU shares a small cooler and a power budget (TGP) with the CPU, so it holds "
                    "its clocks for minutes, not hours, and runs slower on battery.",
                    "plug in the charger, select the performance power mode (and a discrete-GPU/MUX mode where offered), "
                    "raise the laptop for airflow; judge long runs with segbench soak", laptop=True)
    return ok(fid, title, "Desktop or data-centre card.", laptop=False)


def _link(gen: Any, width: Any) -> str:
    return f"Gen{gen} x{width}"


def _gbs(gen: Any, width: Any) -> float | None:
    return None if gen not in PCIE_LANE_GBS or not width else PCIE_LANE_GBS[gen] * width


def pcie(gpu: dict[str, Any], label: str, fid: str) -> Finding:
    title = f"{label}: PCIe link"
    gen, gen_max, gen_card = gpu.get("pcie_gen_current"), gpu.get("pcie_gen_max"), gpu.get("pcie_gen_gpu_max")
    width, width_max = gpu.get("pcie_width_current"), gpu.get("pcie_width_max")
    if None in (gen, gen_max, width, width_max):
        return skipped(fid, title, "NVML does not report the PCIe link (integrated or virtual GPU?).")
    card_gen = max(gen_max, gen_card or gen_max)
    best = _gbs(card_gen, width_max)
    # An idle GPU trains its link down to a lower generation to save power; only width and the
    # slot's maximum generation say something then.
    effective_gen = gen_max if _idle(gpu) else gen
    now = _gbs(effective_gen, width)
    details = {"current": _link(gen, width), "max": _link(gen_max, width_max), "card_max_gen": gen_card,
               "gbs_now": now, "gbs_card": best}
    problems = []
    if width < width_max:
        problems.append(f"x{width} of x{width_max} lanes")
    if gen_card and gen_max < gen_card:
        problems.append(f"the slot allows Gen{gen_max} while the card supports Gen{gen_card}")
    if gen < gen_max and not _idle(gpu):
        problems.append(f"Gen{gen} of Gen{gen_max} under load")
    if problems:
        share = f" (about {now:.1f} of {best:.1f} GB/s)" if now and best else ""
        return warn(fid, title, f"The link runs at {_link(effective_gen, width)}{share}: {'; '.join(problems)}, which "
                    "slows video frame upload and every host-to-GPU copy.",
                    "move the card to a CPU-attached x16 slot (usually the top one), avoid x1/x4 risers and "
                    "chipset slots, check the BIOS PCIe setting (Auto or the card's generation) and whether an "
                    "M.2 drive shares the slot's lanes", **details)
    idle = f" (now {_link(gen, width)}: idle GPUs lower the generation to save power)" if gen < gen_max else ""
    return ok(fid, title, f"The link trains to {_link(gen_max, width_max)}{idle}.", **details)


PER_GPU: tuple[tuple[str, Callable[[dict[str, Any], str, str], Finding]], ...] = (
    ("busy", busy),
    ("temperature", temperature),
    ("power_limit", power_limit),
    ("clocks", clocks),
    ("throttle", throttle),
    ("form_factor", laptop),
    ("pcie", pcie),
)


def gpu_health(ctx: DoctorContext) -> list[Finding]:
    """The live-state checks for every GPU torch would use (none with --gpu or --device cpu)."""
    if ctx.target is not None:
        return [form_factor("target.form_factor", ctx.target.name, ctx.target.form_factor == "laptop")]
    if not ctx.checks_gpus:
        return []
    findings = []
    for gpu in ctx.visible_gpus():
        label, index = gpu_label(gpu), gpu.get("index")
        if gpu.get("error"):
            findings.append(skipped(f"gpu{index}.health", f"{label}: health", gpu["error"]))
            continue
        findings += [check(gpu, label, f"gpu{index}.{name}") for name, check in PER_GPU]
    return findings
