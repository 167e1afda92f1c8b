"""Every numeric option refuses nan and ±inf at the command line: one line, exit 2, nothing run."""

from __future__ import annotations

import math

import click
import pytest

from segbench.cli import cli
from segbench.cli.params import FINITE, FiniteRange
from tests.cli_checks import one_line_error

NOT_NUMBERS = ["nan", "inf", "-inf", "NaN", "Infinity"]

# (command words, the option, what else the command needs so that only the number is wrong)
OPTIONS = [
    (["recommend"], "--budget", []),
    (["recommend", "--budget", "1000"], "--target-fps", []),
    (["recommend", "--budget", "1000"], "--images-per-hour", []),
    (["recommend", "--budget", "1000"], "--target-latency-ms", []),
    (["recommend", "--budget", "1000"], "--label-seconds", []),
    (["check", "--gpu", "3060"], "--target-fps", []),
    (["check", "--gpu", "3060"], "--target-latency-ms", []),
    (["check", "--gpu", "3060"], "--images-per-hour", []),
    (["check", "--gpu", "3060"], "--label-seconds", []),
    (["tune", "-m", "sam2.1-tiny"], "--minutes", []),
    (["tune", "-m", "sam2.1-tiny"], "--point-timeout", []),
    (["run"], "--min-time", []),
    (["run"], "--overlap", []),
    (["run"], "--telemetry-interval", []),
    (["run"], "--point-timeout", []),
    (["soak"], "--minutes", []),
    (["soak"], "--window", []),
    (["soak"], "--max-temp", []),
    (["fleet", "throughput"], "--point-timeout", []),
]


@pytest.mark.parametrize("words, option, rest", OPTIONS, ids=[f"{w[0]} {o}" for w, o, _ in OPTIONS])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_number_that_is_not_one_is_a_usage_error(in_tmp, cli_runner, words, option, rest, value):
    result = cli_runner.invoke(cli, [*words, f"{option}={value}", *rest, "--json"])
    line = one_line_error(result)
    assert option in line and ("finite" in line or "range" in line), line
    assert result.stdout == "" and not (in_tmp / "results").exists()  # nothing printed as JSON, nothing run


def test_recommend_budget_inf_prints_no_infinity(cli_runner):
    """Before: `recommend --budget inf --json` printed a plan with Infinity in it."""
    result = cli_runner.invoke(cli, ["recommend", "--budget", "inf", "--json"])
    assert "not a finite number" in one_line_error(result) and "Infinity" not in result.output


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_the_types_refuse_what_float_reads(value):
    for kind in (FINITE, FiniteRange(0, 10), FiniteRange(None, None)):
        with pytest.raises(click.BadParameter):
            kind.convert(value, None, None)


@pytest.mark.parametrize("value, expected", [("0", 0.0), ("2.5", 2.5), ("1e3", 1000.0), (3, 3.0)])
def test_finite_numbers_pass_unchanged(value, expected):
    assert FINITE.convert(value, None, None) == expected
    assert FiniteRange(0, 1e4).convert(value, None, None) == expected
    assert math.isfinite(FINITE.convert(value, None, None))
