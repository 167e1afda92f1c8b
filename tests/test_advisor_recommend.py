"""`segbench recommend` through the CLI: budget arithmetic, price overrides, targets, bad input."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from segbench.advisor.data.tiers import load_tiers
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
    # Its neighbours are real builds here: the next cheaper misses the target, the next dearer costs more.
    cheaper, dearer = data["cheaper"], data["next_up"]
    assert cheaper["cost_usd"][0] <= chosen["cost_usd"][0] and not cheaper["meets_target"]
    assert cheaper["predicted"]["fps"] < 15
    assert dearer["cost_usd"][0] >= chosen["cost_usd"][0] and dearer["gpu"] != chosen["gpu"]


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
    # Make the recommended card absurdly dear: the next build that meets the target wins instead.
    dear = run_json(*VIDEO, "--budget", "3000", "--price", f"{base['gpu']}=100000")["recommended"]
    assert dear["gpu"] != base["gpu"] and dear["meets_target"] and dear["cost_usd"][1] <= 3000


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
    assert data["cheaper"] is None and data["next_up"] is None  # neighbours only of a recommendation
    assert "does not fit in memory on any build inside the budget" in data["message"]
    over = data["closest_over_budget"]
    assert over["fits"] and over["cost_usd"][0] > 700
    assert not any(r["code"] == "oom" for r in data["risks"])


def test_risks_use_declared_codes_and_a_straddling_build_carries_budget():
    from segbench.advisor.evaluate import RISK_CODES

    # A budget inside the recommended build's price range: inside it only at the low end.
    lo, hi = run_json(*VIDEO, "--budget", "3000")["recommended"]["cost_usd"]
    budget = str(int((lo + hi) / 2))
    straddle = run_json(*VIDEO, "--budget", budget)
    assert straddle["recommended"]["cost_usd"] == [lo, hi]
    assert [r["code"] for r in straddle["risks"]] == ["budget"]
    cpu = run_json("--workload", "volume", "--budget", "700")
    assert "cpu_only" in {r["code"] for r in cpu["risks"]}
    for data in (straddle, cpu):
        assert {r["code"] for r in data["risks"]} <= set(RISK_CODES)


def test_a_stale_fit_says_so_in_the_basis(monkeypatch):
    from segbench.advisor.model import fit as P

    real = P._fitted()
    monkeypatch.setattr(P, "_fitted", lambda: P.Fit(real.params, real.loo, False))
    basis = run_json(*VIDEO, "--budget", "3000")["basis"]
    assert basis["fit_current"] is False and "maintenance fit" in basis["note"]


def test_the_task_picks_the_families_that_answer_it():
    semantic = run_json("--workload", "image", "--task", "semantic", "--budget", "2000")["basis"]
    assert semantic["task"] == "semantic"
    # Least capable first, by the published accuracy each model's family states.
    assert semantic["models_considered"] == ["mask2former-swin-tiny", "mask2former-swin-large"]
    assert "mIoU" in semantic["quality_order"]["mask2former-swin-large"]
    panoptic = run_json("--workload", "image", "--task", "panoptic", "--budget", "2000")["basis"]
    assert panoptic["models_considered"] == ["mask2former-swin-tiny-coco", "mask2former-swin-large-coco"]
    default = run_json("--workload", "image", "--budget", "2000")["basis"]
    # Promptable models across families, least capable first (families/base.py Quality): SAM 1, EdgeTAM,
    # SAM 2.1 by size, SAM 3 (concept prompts) last.
    assert default["task"] == "promptable" and default["models_considered"] == [
        "sam-vit-b", "sam-vit-l", "sam-vit-h", "edgetam", "sam2.1-tiny", "sam2.1-small", "sam2.1-base-plus",
        "sam2.1-large", "sam3"]
    assert "concept" in default["quality_order"]["sam3"] and "J&F" in default["quality_order"]["edgetam"]
    assert run_json("--workload", "volume", "--budget", "2000")["basis"]["task"] == "semantic"


def test_a_task_nothing_answers_or_a_model_that_does_not_answer_it_is_one_line():
    line = one_line_error(run("--workload", "video", "--task", "semantic", "--budget", "900"))
    assert "no registered model answers semantic segmentation on the 'video' workload" in line
    assert "promptable" in line  # what is served there
    line = one_line_error(run("--workload", "image", "--task", "semantic", "-m", "sam2.1-tiny", "--budget", "900"))
    assert "sam2.1-tiny does not answer semantic segmentation" in line
    assert run("--workload", "image", "--task", "teleport", "--budget", "900").exit_code == 2
