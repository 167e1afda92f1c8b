"""One schema for plans and options (segbench.limits): a plan file is refused where the options it stands
for are, and a hostile file (binary, deeply nested, a YAML alias bomb, wrong types anywhere) is one line
and exit 2 through the real command, never a traceback or "unexpected"."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest
import yaml

from segbench import limits
from segbench.bench.plan import Plan, SoakSettings, validate
from segbench.bench.presets import make_plan
from segbench.cli import cli
from segbench.errors import InputError
from segbench.measure.harness import MeasureSettings
from segbench.workloads.base import WorkloadOptions
from tests.cli_checks import one_line_error

MODEL = "models: [sam2.1-tiny]\n"


def run_plan(cli_runner, path) -> str:
    """`segbench run --plan FILE`: exit 2 and the one error line, with nothing unexpected."""
    line = one_line_error(cli_runner.invoke(cli, ["run", "--plan", str(path)]))
    assert "unexpected" not in line and "Traceback" not in line
    return line


def _alias_bomb() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    return "\n".join(lines) + "\nmodels: *i\n"


HOSTILE = {
    "binary": (b"\xff\xfe\x00\x81plan\x00" * 100, "not UTF-8 text"),
    "nested-json": ("[" * 200_000 + "]" * 200_000, "nested too deeply"),
    "nested-yaml": ("models: " + "[" * 200_000 + "]" * 200_000 + "\n", "plan"),
    "alias-bomb": (_alias_bomb(), "aliases"),
    "huge": ("# " + "x" * (limits.MAX_PLAN_BYTES + 10) + "\n" + MODEL, "MiB"),
    "huge-number": (MODEL + "batch_sizes: [" + "9" * 5000 + "]\n", "not a valid plan file"),
    "python-tag": ("models: !!python/object/apply:os.system [ls]\n", "not a valid plan file"),
    "date-device": (MODEL + "device: 2001-12-14\n", "device must be text"),
    "newline-in-name": ('models: ["sam2.1-tiny\\nTraceback (most recent call last):"]\n', "printable"),
    "device-mapping": (MODEL + "device: {cuda: 0}\n", "device must be text"),
    "bool-for-int": (MODEL + "batch_sizes: [true]\n", "batch_sizes must be a list of integers"),
    "string-for-list": ("models: sam2.1-tiny\n", "models must be a list of text"),
    "inputs-string": (MODEL + "options: {inputs: photo.jpg}\n", "options.inputs must be a list"),
    "nested-points": (MODEL + "options: {points: [[1, a]]}\n", "options.points must be"),
    "volume-pair": (MODEL + "options: {volume: [64, 64]}\n", "options.volume must be a list of 3"),
    "extra-deep": (MODEL + "options: {extra: {a: [[[[[1]]]]]}}\n", "nests deeper"),
    "family-options-list": (MODEL + "options: {text: cat}\nfamily_options: [1, 2]\n", "options"),
    "family-options-nan": (MODEL + "family_options: {text: .nan}\n", "family_options.text must be a finite number"),
    "soak-text": (MODEL + "kind: soak\nsoak: {minutes: ten}\n", "soak.minutes must be a number"),
    "settings-list": (MODEL + "settings: [1, 2]\n", "settings: expected a mapping"),
    "version-bool": ("plan_version: true\n" + MODEL, "plan_version must be an integer"),
    "unknown-huge-key": (MODEL + "x" * 1000 + ": 1\n", "unknown field"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_plan_file_is_one_line_and_exit_2(tmp_path, cli_runner, name):
    content, message = HOSTILE[name]
    path = tmp_path / ("plan.json" if name == "nested-json" else "plan.yaml")
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert message in run_plan(cli_runner, path)


# What the issue found measured instead of refused, and more of the same kind.
OUT_OF_LIMITS = {
    "settings: {min_iters: -1}": "settings.min_iters must be between 1 and 100000",
    "settings: {warmup: '2'}": "settings.warmup must be an integer",
    "settings: {min_time_s: .nan}": "settings.min_time_s must be a finite number",
    "settings: {min_time_s: .inf}": "settings.min_time_s must be a finite number",
    "max_ram_bytes: -5": "max_ram_bytes must be between",
    "kind: soak\nsoak: {minutes: -3}": "soak.minutes must be between",
    "kind: soak\nsoak: {window_s: 0}": "soak.window_s must be between",
    "telemetry_interval_s: 0": "telemetry_interval_s must be between",
    "batch_sizes: [0]": "batch_sizes must be between 1 and 4096",
    "batch_sizes: [100000]": "batch_sizes must be between 1 and 4096",
    "batch_sizes: [1, 1]": "batch size twice",
    "options: {frames: 1}": "options.frames must be between 2",
    "options: {points_per_side: 100000}": "options.points_per_side must be between 1 and 128",
    "options: {overlap: 0.99}": "options.overlap must be between 0 and 0.95",
    "resolution: [16]": "resolution must hold between 2 and 3 entries",
    "resolution: [100000, 64]": "resolution must be between 8 and 8192",
    "classes: 0": "classes must be between 1 and 10000",
    "weights: maybe": "weights must be one of",
    "launcher: ray": "launcher must be one of",
}


@pytest.mark.parametrize("field_text", list(OUT_OF_LIMITS))
def test_values_out_of_the_stated_limits_are_refused_from_a_file(tmp_path, cli_runner, field_text):
    path = tmp_path / "plan.yaml"
    path.write_text(MODEL + field_text + "\n")
    assert OUT_OF_LIMITS[field_text] in run_plan(cli_runner, path)


def test_a_hundred_thousand_batch_sizes_are_refused(tmp_path, cli_runner):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"models": ["sam2.1-tiny"], "batch_sizes": list(range(1, 100_001))}))
    assert f"between 1 and {limits.MAX_BATCH_SIZES} entries" in run_plan(cli_runner, path)


@pytest.mark.parametrize("options, settings, message", [
    ({}, {"min_iters": -1}, "settings.min_iters must be between 1 and 100000"),
    ({}, {"warmup": 2.5}, "settings.warmup must be an integer"),
    ({}, {"min_time_s": float("nan")}, "settings.min_time_s must be a finite number"),
    ({"frames": 1}, {}, "options.frames must be between 2"),
    ({"points": ((float("inf"), 3.0),)}, {}, "options.points must be a finite number"),
])
def test_a_plan_from_options_passes_the_same_check_as_a_file(tmp_path, options, settings, message):
    built = make_plan(["sam2.1-tiny"], ["image"], device="cpu", options=options, **settings)
    with pytest.raises(InputError) as from_options:
        validate(built)
    data = built.to_dict()  # the same plan as a file (to_dict does not check)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data, allow_nan=True))
    with pytest.raises(InputError) as from_file:
        Plan.load(path)
    assert message in str(from_options.value) and message in str(from_file.value)
    assert str(from_options.value).split(": ", 1)[1] == str(from_file.value).split(": ", 1)[1]


def test_negative_ram_and_soak_minutes_from_the_api_are_refused():
    plan = make_plan(["sam2.1-tiny"], ["image"], device="cpu", max_ram_bytes=-1)
    with pytest.raises(InputError, match="max_ram_bytes must be between"):
        validate(plan)
    plan = make_plan(["sam2.1-tiny"], ["image"], device="cpu", soak=SoakSettings(minutes=-1.0))
    with pytest.raises(InputError, match="soak.minutes must be between"):
        validate(plan)
    with pytest.raises(InputError, match="min_iters must be between"):  # 0 is refused, not taken as the default
        validate(make_plan(["sam2.1-tiny"], ["image"], device="cpu", min_iters=0))


def test_every_number_a_plan_holds_has_a_stated_limit():
    """A new numeric field needs its bounds in segbench.limits (and its class's RULES)."""
    import typing

    for cls in (Plan, MeasureSettings, WorkloadOptions, SoakSettings):
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            text = str(hints[f.name])
            numeric = any(t in text for t in ("int", "float")) and "str" not in text and f.name != "extra"
            if numeric and hints[f.name] is not bool:
                assert f.name in cls.RULES and cls.RULES[f.name].bounds, f"{cls.__name__}.{f.name} has no bounds"


def test_saved_plans_round_trip_and_load_as_built(tmp_path):
    plan = make_plan(["sam2.1-tiny"], ["image", "video"], quick=True, device="cpu", batch_sizes=[1, 4],
                     options={"points": ((3.0, 4.0),), "boxes": ((1.0, 2.0, 30.0, 40.0),), "volume": (64, 64, 32)})
    for name in ("p.yaml", "p.json"):
        again = Plan.load(plan.save(tmp_path / name))
        assert again == plan and again.options.points == ((3.0, 4.0),) and again.options.volume == (64, 64, 32)
        assert "&" not in (tmp_path / name).read_text()  # no YAML anchors: they would not load


# -- --save-plan never destroys what is not a plan ---------------------------------------------------------

def test_save_plan_refuses_a_results_file_and_leaves_it_byte_identical(tmp_path, cli_runner):
    results = tmp_path / "results.jsonl"
    results.write_bytes(b'{"schema_version": 3, "model": "sam2.1-tiny"}\n{"model": "x"}\n')
    before = results.read_bytes()
    result = cli_runner.invoke(cli, ["run", "-m", "sam2.1-tiny", "--save-plan", str(results)])
    assert "not a segbench plan" in one_line_error(result)
    assert results.read_bytes() == before
    with pytest.raises(InputError, match="not a segbench plan"):
        make_plan(["sam2.1-tiny"], device="cpu").save(results, force=True)  # not even with force
    assert results.read_bytes() == before


def test_an_existing_plan_is_replaced_only_with_force(tmp_path):
    path = make_plan(["sam2.1-tiny"], device="cpu").save(tmp_path / "plan.yaml")
    other = make_plan(["sam2.1-tiny"], device="cpu", batch_sizes=[2])
    with pytest.raises(InputError, match="--force"):
        other.save(path)
    assert Plan.load(path).batch_sizes != [2]
    other.save(path, force=True)
    assert Plan.load(path).batch_sizes == [2]


def test_save_plan_under_a_regular_file_is_one_line(tmp_path, cli_runner):
    (tmp_path / "file").write_text("x")
    result = cli_runner.invoke(cli, ["run", "-m", "sam2.1-tiny", "--save-plan", str(tmp_path / "file" / "plan.yaml")])
    assert "cannot write" in one_line_error(result)


def test_save_plan_into_a_read_only_folder_is_one_line(tmp_path, cli_runner):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    # root writes into a read-only folder anyway: /proc takes no new files from anyone
    target = folder / "plan.yaml" if os.geteuid() != 0 else "/proc/segbench-plan.yaml"
    try:
        result = cli_runner.invoke(cli, ["run", "-m", "sam2.1-tiny", "--save-plan", str(target)])
    finally:
        folder.chmod(0o700)
    assert "cannot write" in one_line_error(result)


def test_aliases_are_refused_even_small(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(MODEL + "device: &d cpu\ncheckpoint: *d\n")
    with pytest.raises(InputError, match="aliases"):
        Plan.load(path)
    assert yaml.safe_load(path.read_text())["checkpoint"] == "cpu"  # valid YAML, refused on purpose


def test_save_plan_over_a_plan_needs_force_on_the_command_line(tmp_path, cli_runner):
    path = str(tmp_path / "plan.yaml")
    assert cli_runner.invoke(cli, ["run", "-m", "sam2.1-tiny", "--save-plan", path]).exit_code == 0
    again = cli_runner.invoke(cli, ["run", "-m", "sam2.1-tiny", "--batch-sizes", "2", "--save-plan", path])
    assert "--force" in one_line_error(again)
    forced = cli_runner.invoke(cli, ["run", "-m", "sam2.1-tiny", "--batch-sizes", "2", "--save-plan", path, "--force"])
    assert forced.exit_code == 0, forced.output
    assert Plan.load(path).batch_sizes == [2]
