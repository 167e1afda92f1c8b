"""`segbench probe`: what this machine has (GPUs, CPU, memory, torch build, disk)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from segbench.cli.output import console, emit_json, err_console, fmt_bytes
from segbench.errors import InputError
from segbench.probe import collect
from segbench.probe.nvml import NOT_THROTTLING
from segbench.atomic import atomic_write_text


def _of(value: Any, maximum: Any, unit: str) -> str:
    """'1410/1980 MHz'; one side may be unknown."""
    if value is None and maximum is None:
        return "-"
    show = lambda v: "?" if v is None else f"{v:g}"
    return f"{show(value)}/{show(maximum)} {unit}"


def _bytes_of(used: Any, total: Any) -> str:
    return f"{fmt_bytes(used)} / {fmt_bytes(total)}"


def _throttle_text(reasons: list[str] | None) -> Text:
    if reasons is None:
        return Text("not reported", style="dim")
    if not reasons:
        return Text("none", style="green")
    text = Text()
    for n, reason in enumerate(reasons):
        if n:
            text.append(", ")
        text.append(reason, style="dim" if reason in NOT_THROTTLING else "bold red")
    return text


def _kv_table(title: str, rows: list[tuple[str, Any]]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left", title_style="bold")
    table.add_column("field", style="cyan", no_wrap=True)
    table.add_column("value")
    for key, value in rows:
        table.add_row(key, value if isinstance(value, Text) else Text("-" if value is None else str(value)))
    return table


def _pcie(gpu: dict[str, Any]) -> str:
    def link(gen: Any, width: Any) -> str:
        return f"Gen{gen if gen is not None else '?'} x{width if width is not None else '?'}"

    text = f"{link(gpu.get('pcie_gen_current'), gpu.get('pcie_width_current'))} of " \
           f"{link(gpu.get('pcie_gen_max'), gpu.get('pcie_width_max'))}"
    if gpu.get("pcie_gen_gpu_max") not in (None, gpu.get("pcie_gen_max")):
        text += f" (card supports Gen{gpu['pcie_gen_gpu_max']})"
    return text


def _temperature(gpu: dict[str, Any]) -> Text:
    temp = gpu.get("temperature_c")
    if temp is None:
        return Text("-")
    limits = [f"{label} {gpu[key]} C" for key, label in
              (("temperature_max_operating_c", "max operating"), ("temperature_slowdown_c", "slowdown"),
               ("temperature_shutdown_c", "shutdown")) if gpu.get(key) is not None]
    # Within 3 C of the first limit the card starts to protect itself (laptops sit right at it).
    thresholds = [gpu[k] for k in ("temperature_max_operating_c", "temperature_slowdown_c") if gpu.get(k) is not None]
    hot = min(thresholds) if thresholds else None
    text = Text(f"{temp} C", style="bold red" if hot is not None and temp >= hot - 3 else "")
    if limits:
        text.append(f"  ({', '.join(limits)})", style="dim")
    return text


def _gpu_table(gpu: dict[str, Any]) -> Table:
    title = f"GPU {gpu.get('index')}: {gpu.get('name') or 'unknown'}"
    if gpu.get("error"):
        return _kv_table(title, [("error", Text(gpu["error"], style="red"))])
    power = _of(gpu.get("power_w"), gpu.get("power_limit_w"), "W")
    if gpu.get("power_default_limit_w") not in (None, gpu.get("power_limit_w")):
        power += f" (default limit {gpu['power_default_limit_w']:g} W)"
    rows: list[tuple[str, Any]] = [
        ("UUID", gpu.get("uuid")),
        ("VRAM used/total", _bytes_of(gpu.get("vram_used_bytes"), gpu.get("vram_total_bytes"))),
        ("compute capability", f"{gpu.get('compute_capability') or '-'} ({gpu.get('architecture') or 'unknown'})"),
        ("driver / CUDA driver", f"{gpu.get('driver_version') or '-'} / {gpu.get('cuda_driver_version') or '-'}"),
        ("temperature", _temperature(gpu)),
        ("SM clock", _of(gpu.get("sm_clock_mhz"), gpu.get("sm_clock_max_mhz"), "MHz")),
        ("memory clock", _of(gpu.get("mem_clock_mhz"), gpu.get("mem_clock_max_mhz"), "MHz")),
        ("power", power),
        ("utilisation", None if gpu.get("util_pct") is None else f"{gpu['util_pct']} %"),
        ("performance state", gpu.get("performance_state")),
        ("throttle reasons", _throttle_text(gpu.get("throttle"))),
        ("PCIe link", _pcie(gpu)),
        ("fan", "not reported" if gpu.get("fan_speed_pct") is None else f"{gpu['fan_speed_pct']} %"),
    ]
    return _kv_table(title, rows)


def _roofline_table(roof: dict[str, Any]) -> Table:
    rows: list[tuple[str, Any]] = [
        (f"{precision} matmul", f"{entry['tflops'] * 1e3:,.0f} GFLOP/s (best {entry['best_tflops'] * 1e3:,.0f}; "
                                f"{entry['side']}x{entry['side']}, {entry['samples']} samples)")
        for precision, entry in roof["matmul"].items()
    ]
    rows.append(("memory copy", f"{roof['copy_gbs']:,.1f} GB/s"))
    for key, label in (("h2d_gbs", "host -> device"), ("d2h_gbs", "device -> host")):
        if roof.get(key) is not None:
            rows.append((label, f"{roof[key]:,.1f} GB/s (pinned)"))
    rows.append(("measured", f"{roof['measured_at']} in {roof['seconds']:g} s on {roof['device']}, "
                             f"{roof['threads']} thread(s)"))
    return _kv_table("Measured roofline", rows)


def render(data: dict[str, Any]) -> None:
    out = console()
    for gpu in data["gpus"]:
        out.print(_gpu_table(gpu))
    if not data["gpus"]:
        out.print(Text(f"No NVIDIA GPU: {data.get('gpu_note') or 'none found'}", style="yellow"))

    cpu = data["cpu"]
    temps = cpu.get("temperatures_c") or {}
    out.print(_kv_table("CPU", [
        ("model", cpu.get("model_name")),
        ("cores", f"{cpu.get('physical_cores') or '?'} physical, {cpu.get('logical_cores') or '?'} logical"
                  + (f", {cpu['usable_cores']} usable here" if cpu.get("usable_cores") not in (None, cpu.get("logical_cores")) else "")),
        ("frequency", _of(cpu.get("freq_current_mhz"), cpu.get("freq_max_mhz"), "MHz")),
        ("temperature", "no sensor" if not temps else ", ".join(f"{k} {v:g} C" for k, v in temps.items())),
        ("ISA extensions", ", ".join(cpu.get("isa_extensions") or []) or "-"),
    ]))

    mem = data["memory"]
    out.print(_kv_table("Memory", [
        ("RAM available/total", _bytes_of(mem.get("available_bytes"), mem.get("total_bytes"))),
        ("swap used/total", _bytes_of(mem.get("swap_used_bytes"), mem.get("swap_total_bytes"))),
    ]))

    tor = data["torch"]
    if tor.get("error"):
        out.print(_kv_table("torch", [("error", Text(tor["error"], style="red"))]))
    else:
        out.print(_kv_table("torch", [
            ("version", tor.get("version")),
            ("CUDA / cuDNN (build)", f"{tor.get('cuda_version') or '-'} / {tor.get('cudnn_version') or '-'}"),
            ("CUDA available", f"{tor.get('cuda_available')} ({tor.get('device_count')} device(s))"),
            ("CUDA architectures", " ".join(tor.get("cuda_arch_list") or []) or "-"),
            ("MPS available", tor.get("mps_available")),
            ("threads (intra / inter-op)", f"{tor.get('num_threads')} / {tor.get('num_interop_threads')}"),
            ("CPU kernels", tor.get("cpu_capability")),
            ("CPU bf16 native", tor.get("cpu_bf16_native")),
        ]))

    disk_rows = []
    for disk in data["disk"]:
        value = Text(f"{fmt_bytes(disk.get('free_bytes'))} free of {fmt_bytes(disk.get('total_bytes'))}  ({disk['path']})")
        disk_rows.append((disk["purpose"], value))
    out.print(_kv_table("Disk", disk_rows))
    if data.get("roofline"):
        out.print(_roofline_table(data["roofline"]))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print only JSON on stdout.")
@click.option("--output", "output", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the JSON to this file (atomically).")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True, help="Where results go (for the free-space check).")
@click.option("--checkpoints-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where model checkpoints go (for the free-space check; default ~/.cache).")
@click.option("--measure", is_flag=True,
              help="Also time dense matmuls (fp32/bf16/fp16, TF32 on a GPU), memory bandwidth and, on a GPU, "
                   "host<->device copies: the roofline runs are measured against (seconds).")
@click.option("--device", default="auto", show_default=True, help="With --measure: auto | cpu | cuda | cuda:N | mps.")
def probe(as_json: bool, output: Path | None, results_dir: Path, checkpoints_dir: Path | None, measure: bool,
          device: str) -> None:
    """Show the GPUs, CPU, memory, torch build and free disk of this machine (and its measured roofline)."""
    data = collect(results_dir=results_dir, checkpoints_dir=checkpoints_dir)
    if measure:
        from segbench.measure.device import resolve_device
        from segbench.measure.roofline import measure_roofline

        target = resolve_device(device)
        with err_console.status(f"measuring the roofline of {target}…"):
            data["roofline"] = measure_roofline(target)
    if output is not None:
        try:
            atomic_write_text(output, json.dumps(data, indent=2, sort_keys=True) + "\n")
        except OSError as exc:
            raise InputError(f"cannot write {output}: {exc.strerror or exc}") from None
    if as_json:
        emit_json(data)
        return
    render(data)
    if output is not None:
        err_console.print(f"wrote {output}")
