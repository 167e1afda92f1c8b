"""The list of checks `segbench doctor` runs, in the order the table shows them.

A check is a function `DoctorContext -> list[Finding]`. One that raises is a bug; it becomes a
`skipped` row naming the error (ultralytics' habit: a failure is a row, not a crash), so the
other checks still report.
"""

from __future__ import annotations

from collections.abc import Callable

from segbench.doctor import (
    checks_driver,
    checks_gpu,
    checks_host,
    checks_memory,
    checks_precision,
)
from segbench.doctor.context import DoctorContext
from segbench.doctor.findings import Finding, skipped

Check = Callable[[DoctorContext], list[Finding]]

CHECKS: tuple[tuple[str, Check], ...] = (
    ("torch.cuda", checks_driver.torch_sees_gpu),
    ("arch", checks_driver.compute_capability),
    ("precision", checks_precision.precision),
    ("extensions", checks_precision.extensions),
    ("memory", checks_memory.memory),
    ("gpu.health", checks_gpu.gpu_health),
    ("host.cpu_frequency", checks_host.cpu_frequency),
    ("host.disk", checks_host.disk_space),
    ("host.results_writable", checks_host.results_writable),
    ("host.threads", checks_host.threads),
    ("host.thread_env", checks_host.thread_variables),
)


def run_checks(ctx: DoctorContext, checks: tuple[tuple[str, Check], ...] = CHECKS,
               raise_errors: bool = False) -> list[Finding]:
    findings: list[Finding] = []
    for name, check in checks:
        try:
            findings.extend(check(ctx))
        except Exception as exc:
            if raise_errors:
                raise
            findings.append(skipped(name, f"check {name}", f"The check itself failed: {type(exc).__name__}: {exc}.",
                                    "re-run with segbench --debug doctor and report the traceback"))
    return findings
