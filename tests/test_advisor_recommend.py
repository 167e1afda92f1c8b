"""`segbench recommend` through the CLI: budget arithmetic, price overrides, targets, bad input."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from segbench.advisor.catalog import load_tiers
from segbench.cli import cli
from tests.cli_checks import one_line_error


def run(*args: str):
    return CliRunner().invoke(cli, ["recommend", *args])


def run_json(*args: str) -> dict:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


VIDEO = ("--workload", "video", "--resolution", "1080p", "--target-fps", "15")


def test_cheapest_build_meeting_the_target_with_its_neighbours():
    data = run_json(*VIDEO, "--budget", "3000")
    chosen = data["recommended"]
    assert chosen is not None and chosen["meets_target"] and chosen["predicted"]["fps"] >= 15
    assert chosen["cost_usd"][1] <= 3000
    cheaper, dearer = data["cheaper"], data["next_up"]
    assert cheaper is None or (cheaper["cost_usd"][0] <= chosen["cost_usd"][0] and not cheaper["meets_target"])
    assert dearer is None or dearer["cost_usd"][0] >= chosen["cost_usd"][0]


def test_build_cost_is_the_sum_of_its_parts_from_the_tiers():
    data = run_json(*VIDEO, "--budget", "3000")
    chosen = data["recommended"]
    parts = chosen["parts"]
    assert [round(sum(p[1] for p in parts)), round(sum(p[2] for p in parts))] == chosen["cost_usd"]
    tier = next(t for t in load_tiers() if t.name == chosen["tier"])
    lo, hi = tier.cost_usd(chosen["gpu"], chosen["condition"])
    assert chosen["cost_usd"] == [round(lo), round(hi)]
    assert parts[0][0].startswith(chosen["gpu"])


def test_price_overrides_change_the_cost_and_the_choice():
    base = run_json(*VIDEO, "--budget", "3000")["recommended"]
    cheap_gpu = run_json(*VIDEO, "--budget", "3000", "--price", f"{base['gpu']}=1")["recommended"]
    rest = sum(p[1] for p in base["parts"][1:])
    assert cheap_gpu["gpu"] == base["gpu"]
    assert cheap_gpu["cost_usd"][0] == round(rest + 1)
    # Make the recommended card absurdly dear: a different build (or none) wins.
    dear = run_json(*VIDEO, "--budget", "3000", "--price", f"{base['gpu']}=100000")
    assert dear["recommended"] is None or dear["recommended"]["gpu"] != base["gpu"]


def test_nothing_within_budget_names_the_closest_and_its_cost():
    data = run_json(*VIDEO, "--budget", "100")
    assert data["recommended"] is None
    assert "nothing meets the target within $100" in data["message"]
    closest = data["closest_over_budget"]
    assert closest is not None and closest["meets_target"] and closest["cost_usd"][0] > 100
    assert f"${closest['cost_usd'][0]:,}" in data["message"]


def test_image_throughput_target_and_table_output():
    result = CliRunner().invoke(cli, ["recommend", "--workload", "image", "--images-per-hour", "2000",
                                      "--budget", "900"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "recommended" in result.stdout and "leave-one-out" in result.stdout


@pytest.mark.parametrize("budget", ["0", "-5"])
def test_budget_must_be_positive(budget):
    assert "budget must be more than 0" in one_line_error(run(*VIDEO, "--budget", budget))


def test_unknown_price_name_and_bad_volume_are_one_line_errors():
    assert "not a component key or GPU name" in one_line_error(run(*VIDEO, "--budget", "900", "--price", "RTX 9999=5"))
    assert "volume shape" in one_line_error(run("--workload", "volume", "--volume", "512x512", "--budget", "900"))


def test_malformed_price_is_a_usage_error():
    result = run(*VIDEO, "--budget", "900", "--price", "RTX 3090")
    assert result.exit_code == 2 and "NAME=USD" in result.output


def test_a_build_the_model_does_not_fit_on_is_never_proposed():
    """No target: the fastest build in budget used to win even when the model ran out of memory on it."""
    data = run_json("--workload", "video", "-m", "sam2.1-large", "--frames", "3000", "--budget", "700")
    assert data["recommended"] is None and data["best_within_budget"] is None
    assert "does not fit in memory on any build inside the budget" in data["message"]
    for key in ("recommended", "cheaper", "next_up", "best_within_budget", "closest_over_budget"):
        assert data[key] is None or data[key]["fits"] or key in ("cheaper", "next_up")
    assert data["closest_over_budget"]["fits"]


def test_every_risk_code_is_declared():
    from segbench.advisor.check import RISK_CODES

    assert "budget" in RISK_CODES
    for args in (VIDEO + ("--budget", "3000"), ("--workload", "volume", "--budget", "700")):
        data = run_json(*args)
        assert {r["code"] for r in data["risks"]} <= set(RISK_CODES)


def test_a_stale_fit_says_so_in_the_basis(monkeypatch):
    from segbench.advisor import perfmodel as P

    real = P._fitted()
    monkeypatch.setattr(P, "_fitted", lambda: P.Fit(real.params, real.loo, False))
    basis = run_json(*VIDEO, "--budget", "3000")["basis"]
    assert basis["fit_current"] is False and "--write" in basis["note"]
