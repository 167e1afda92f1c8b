"""One finding of `segbench doctor`: what was checked, how bad it is, why, and what to do."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from segbench.errors import EXIT_FAILED, EXIT_OK

# ok: checked and fine; warn: works but slower or riskier than it should; fail: will break a run;
# skipped: could not be checked here (no GPU, no sensor) - never a failure.
SEVERITIES = ("ok", "warn", "fail", "skipped")


@dataclass(frozen=True)
class Finding:
    """`cause` is one sentence; `fix` is a concrete action (a command where there is one)."""

    id: str  # stable, dotted: "gpu0.pcie", "host.disk.results"
    severity: str
    title: str
    cause: str
    fix: str = ""
    details: dict[str, Any] = field(default_factory=dict)  # the measured values behind the verdict

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ok(id: str, title: str, cause: str, **details: Any) -> Finding:
    return Finding(id, "ok", title, cause, "", details)


def warn(id: str, title: str, cause: str, fix: str, **details: Any) -> Finding:
    return Finding(id, "warn", title, cause, fix, details)


def fail(id: str, title: str, cause: str, fix: str, **details: Any) -> Finding:
    return Finding(id, "fail", title, cause, fix, details)


def skipped(id: str, title: str, cause: str, fix: str = "", **details: Any) -> Finding:
    return Finding(id, "skipped", title, cause, fix, details)


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    tally = {s: 0 for s in SEVERITIES}
    for finding in findings:
        tally[finding.severity] += 1
    return tally


def exit_code(findings: Iterable[Finding]) -> int:
    """1 when anything fails, else 0 (warnings and skipped checks do not fail the command)."""
    return EXIT_FAILED if any(f.severity == "fail" for f in findings) else EXIT_OK
