"""What `run`'s flags put in the plan, seen through --save-plan (nothing is measured): the family
options generated from the families' declarations, --point-timeout, and --save-plan's --force."""

from __future__ import annotations

from pathlib import Path

import pytest

from segbench.bench.plan import Plan
from segbench.cli import cli
from segbench.families.registry import declared_options
from tests.cli_checks import one_line_error


def saved_plan(cli_runner, *args: str) -> Plan:
    result = cli_runner.invoke(cli, ["run", *args, "--save-plan", "plan.yaml"])
    assert result.exit_code == 0, result.output
    return Plan.load("plan.yaml")


# -- family options -------------------------------------------------------------------------------------


def test_every_declared_family_option_is_a_flag_of_run_soak_and_tune(cli_runner):
    for command in (["run"], ["soak"], ["tune"], ["fleet", "run"]):
        shown = cli_runner.invoke(cli, [*command, "--help"], terminal_width=200).output
        for option in declared_options().values():
            assert option.flag in shown, (command, option.flag)


def test_text_reaches_the_plan_as_a_family_option(in_tmp, cli_runner):
    plan = saved_plan(cli_runner, "-m", "sam3", "-w", "prompt", "--text", "yellow bus", "--device", "cpu")
    assert plan.family_options == {"text": "yellow bus"}


def test_options_left_off_are_not_in_the_plan(in_tmp, cli_runner):
    """Only the values the user gave: a default stays the family's to decide."""
    assert saved_plan(cli_runner, "-m", "sam2.1-tiny", "--device", "cpu").family_options == {}


def test_vos_optimized_reaches_the_plan(in_tmp, cli_runner):
    plan = saved_plan(cli_runner, "-m", "sam2.1-tiny", "-w", "video", "--vos-optimized", "--device", "cpu")
    assert plan.family_options == {"vos_optimized": True}


def test_a_family_option_for_a_model_without_it_is_one_line(in_tmp, cli_runner):
    result = cli_runner.invoke(cli, ["run", "-m", "edgetam", "-w", "video", "--vos-optimized", "-o", "r.jsonl"])
    assert "--vos-optimized" in one_line_error(result)
    assert not Path("r.jsonl").exists()


# -- --point-timeout ---------------------------------------------------------------------------------------


def test_point_timeout_left_off_is_the_plans_default(in_tmp, cli_runner):
    plan = saved_plan(cli_runner, "-m", "sam2.1-tiny", "--device", "cpu")
    assert plan.point_timeout_s == Plan.__dataclass_fields__["point_timeout_s"].default
    shown = cli_runner.invoke(cli, ["run", "--help"], terminal_width=200).output
    assert f"[default: {plan.point_timeout_s:g}]" in shown


@pytest.mark.parametrize("given, expected", [("90", 90.0), ("0.5", 0.5), ("0", None)])
def test_point_timeout_sets_the_plan(in_tmp, cli_runner, given, expected):
    plan = saved_plan(cli_runner, "-m", "sam2.1-tiny", "--device", "cpu", "--point-timeout", given)
    assert plan.point_timeout_s == expected


def test_point_timeout_beside_a_plan_file_is_refused(in_tmp, cli_runner):
    saved_plan(cli_runner, "-m", "sam2.1-tiny", "--device", "cpu")
    result = cli_runner.invoke(cli, ["run", "--plan", "plan.yaml", "--point-timeout", "5"])
    assert "--point-timeout would be ignored" in one_line_error(result)


# -- --save-plan never overwrites what is not a plan -----------------------------------------------------


def test_save_plan_over_a_results_file_is_refused_and_leaves_it_as_it_was(in_tmp, cli_runner):
    results = Path("existing-results.jsonl")
    results.write_bytes(b'{"model": "sam2.1-tiny", "workload": "image"}\n')
    before = results.read_bytes()
    for force in ([], ["--force"]):
        result = cli_runner.invoke(cli, ["run", "-m", "sam2.1-tiny", "--device", "cpu", "--save-plan", str(results),
                                         *force])
        assert "not a segbench plan" in one_line_error(result)
        assert results.read_bytes() == before


def test_an_existing_plan_is_replaced_only_with_force(in_tmp, cli_runner):
    saved_plan(cli_runner, "-m", "sam2.1-tiny", "--device", "cpu", "--batch-sizes", "1")
    again = ["run", "-m", "sam2.1-tiny", "--device", "cpu", "--batch-sizes", "2", "--save-plan", "plan.yaml"]
    assert "--force" in one_line_error(cli_runner.invoke(cli, again))
    assert Plan.load("plan.yaml").batch_sizes == [1]
    assert cli_runner.invoke(cli, [*again, "--force"]).exit_code == 0
    assert Plan.load("plan.yaml").batch_sizes == [2]


def test_force_without_save_plan_is_one_line(in_tmp, cli_runner):
    assert "--save-plan" in one_line_error(cli_runner.invoke(cli, ["run", "--force"]))


def test_tune_passes_family_options_and_point_timeout_to_its_plan(in_tmp, cli_runner, monkeypatch):
    from segbench.bench import tune as tune_module
    from segbench.errors import InputError

    seen = {}

    def search(plan, *args, **kwargs):
        seen["plan"] = plan
        raise InputError("stopped before measuring")

    monkeypatch.setattr(tune_module, "tune", search)
    result = cli_runner.invoke(cli, ["tune", "-m", "sam3", "-w", "prompt", "--text", "yellow bus", "--device", "cpu",
                                     "--point-timeout", "30"])
    assert "stopped before measuring" in one_line_error(result)
    assert seen["plan"].family_options == {"text": "yellow bus"} and seen["plan"].point_timeout_s == 30
