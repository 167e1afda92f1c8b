"""`segbench run` from the command line: bad input is one line and exit 2; real small runs record everything."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from segbench.cli import cli
from segbench.records.store import read_records
from tests.cli_checks import one_line_error

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--quick", "--min-iters", "2", "--min-time", "0", "--warmup", "1", "--model-size", "256", "--no-flops",
         "--telemetry-interval", "0"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "sam3-huge"], "unknown model 'sam3-huge'"),
        (["--workload", "teleport"], "unknown workload 'teleport'"),
        (["--model", "mask2former-swin-tiny", "--workload", "prompt"], "does not support"),
        (["--device", "cuda"], "sees no CUDA GPU"),
        (["--device", "cuda:3"], "sees no CUDA GPU"),
        (["--device", "mps"], "MPS"),
        (["--precision", "fp8"], "unknown precision"),
        (["--input", "nope/missing.jpg"], "input not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(in_tmp, cli_runner, args, message):
    out = in_tmp / "r.jsonl"
    result = cli_runner.invoke(cli, ["run", *args, "-o", str(out)])
    assert message in one_line_error(result)
    assert not out.exists()  # nothing written half


@pytest.mark.parametrize("batch", ["0", "1,-2", "x", "1,,2"])
def test_impossible_batch_sizes_are_usage_errors(in_tmp, cli_runner, batch):
    result = cli_runner.invoke(cli, ["run", "--batch-sizes", batch])
    assert result.exit_code == 2
    assert "batch sizes" in result.stderr and "Traceback" not in result.output


def test_unreadable_image_is_one_line(in_tmp, cli_runner):
    bad = in_tmp / "photo.jpg"
    bad.write_text("this is not a JPEG")
    result = cli_runner.invoke(cli, ["run", "--input", str(bad), *SMALL, "-o", "r.jsonl"])
    assert "photo.jpg" in one_line_error(result)


def test_checkpoint_that_holds_code_is_refused(in_tmp, cli_runner):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > pwned.txt",))

    ckpt = in_tmp / "evil.pt"
    ckpt.write_bytes(pickle.dumps({"model": Evil()}, protocol=2))
    result = cli_runner.invoke(cli, ["run", "--checkpoint", str(ckpt), *SMALL, "-o", "r.jsonl"])
    assert "refused to load" in one_line_error(result)
    assert not (in_tmp / "pwned.txt").exists()


def test_checkpoint_for_another_model_is_refused(in_tmp, cli_runner):
    ckpt = in_tmp / "other.pt"
    torch.save({"model": {"some.other.weight": torch.zeros(3)}}, ckpt)
    result = cli_runner.invoke(cli, ["run", "--checkpoint", str(ckpt), *SMALL, "-o", "r.jsonl"])
    assert "does not match sam2.1-tiny" in one_line_error(result)


def test_pretrained_without_weights_says_where_to_put_them(in_tmp, cli_runner, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(in_tmp / "hf"))
    result = cli_runner.invoke(cli, ["run", "--weights", "pretrained", *SMALL, "-o", "r.jsonl"])
    assert "--checkpoint" in one_line_error(result)


@pytest.mark.slow
def test_sam_image_and_prompt_records(in_tmp, cli_runner):
    result = cli_runner.invoke(cli, ["run", "-w", "image,prompt", "--precision", "fp32,bf16", "--batch-sizes", "1,2",
                                     *[a for a in SMALL if a != "--no-flops"], "-o", "r.jsonl", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    records = read_records(["r.jsonl"])
    assert len(printed) == len(records) == 8
    image = next(r for r in records if r.workload == "image" and r.batch_size == 2 and r.precision == "bf16")
    assert image.status == "ok" and image.weights == "random"
    assert image.params["resolution"] == [256, 256]
    assert image.flops["per_item"] > 1e9  # the tiny encoder at 256x256: ~18 GFLOP
    assert image.environment["versions"]["sam2"] == "1.1.0"
    assert image.stats["item_unit"] == "image"
    prompt = next(r for r in records if r.workload == "prompt")
    assert prompt.stats["item_unit"] == "prompt" and prompt.stats["items_per_step"] == 2


@pytest.mark.slow
def test_auto_masks_are_counted_and_flagged_unrepresentative(in_tmp, cli_runner):
    result = cli_runner.invoke(cli, ["run", "-w", "auto", "--points-per-side", "4", "--batch-sizes", "1,2", *SMALL,
                                     "-o", "r.jsonl"])
    assert result.exit_code == 0, result.output
    (record,) = read_records(["r.jsonl"])  # batch 2 does not apply to auto
    # Relaxed filters keep masks with random weights too, at most 3 per grid point (16 points here).
    m = record.metrics
    assert 0 < m["masks_min"] <= m["masks_median"] <= m["masks_max"] <= 3 * 4 * 4
    assert record.metrics["masks_representative"] is False
    assert record.params["auto_mode"] == "relaxed"
    assert any("not representative" in n for n in record.notes)
    assert "not representative" in result.stdout


@pytest.mark.slow
def test_mask2former_image(in_tmp, cli_runner):
    result = cli_runner.invoke(cli, ["run", "-m", "mask2former-swin-tiny", "--batch-sizes", "1", *SMALL[:-5],
                                     "--model-size", "128", "-o", "r.jsonl"])
    assert result.exit_code == 0, result.output
    (record,) = read_records(["r.jsonl"])
    assert record.model_family == "mask2former" and record.params["resolution"] == [128, 128]
    assert record.flops["per_item"] > 0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_a_real_process_keeps_finished_records(tmp_path, signum):
    """A real `segbench run` subprocess, interrupted mid-sweep, exits 130 and keeps what it measured."""
    out = tmp_path / "r.jsonl"
    script = "import sys; from segbench.cli import main; sys.argv = ['segbench'] + sys.argv[1:]; main()"
    # The default process launcher measures in a worker process, which finds the toy family this way.
    cmd = [sys.executable, "-c", script, "run", "-m", "toy-sleepy", "--batch-sizes", "1,2,4,8,16,32", "--warmup",
           "0", "--min-iters", "20", "--min-time", "0", "--precision", "fp32", "--telemetry-interval", "0",
           "-o", str(out)]
    env = {**os.environ, "SEGBENCH_FAMILIES": "tests.toy"}
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 120
    while time.time() < deadline and not (out.exists() and out.read_text().count("\n") >= 1):
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    records = read_records([out])
    assert records[0].status == "ok"
    assert records[-1].status == "interrupted"
    assert all(r.status == "ok" for r in records[:-1])


@pytest.mark.parametrize("prompt", [["--point", "5000,10"], ["--box", "10,10,2000,50"]])
def test_prompts_outside_the_image_are_refused(in_tmp, cli_runner, prompt):
    result = cli_runner.invoke(cli, ["run", "-w", "prompt", *prompt, *SMALL, "-o", "r.jsonl"])
    assert "outside the 1024x768 image" in one_line_error(result)


@pytest.mark.parametrize("prompt", [["--point", "1,2,3"], ["--box", "50,50,10,10"], ["--point", "-1,5"]])
def test_malformed_prompts_are_usage_errors(in_tmp, cli_runner, prompt):
    result = cli_runner.invoke(cli, ["run", "-w", "prompt", *prompt])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_user_prompts_are_used(in_tmp, cli_runner):
    result = cli_runner.invoke(cli, ["run", "-w", "prompt", "--point", "100,200", "--box", "10,10,300,200",
                                     "--batch-sizes", "1", *SMALL, "-o", "r.jsonl"])
    assert result.exit_code == 0, result.output
    (record,) = read_records(["r.jsonl"])
    assert record.status == "ok"


@pytest.mark.slow
def test_a_real_sam_checkpoint_is_loaded_and_recorded_as_pretrained(in_tmp, cli_runner):
    """The pretrained path end to end: a checkpoint in the official layout ({"model": state_dict})."""
    from segbench.families import LoadOptions, load_model

    random_model = load_model("sam2.1-tiny", LoadOptions(torch.device("cpu"), "random", None, (256, 256)))
    ckpt = in_tmp / "sam2.1_hiera_tiny.pt"
    torch.save({"model": random_model.module.state_dict()}, ckpt)
    result = cli_runner.invoke(cli, ["run", "--weights", "pretrained", "--checkpoint", str(ckpt), "--batch-sizes", "1",
                                     *SMALL, "-o", "r.jsonl"])
    assert result.exit_code == 0, result.output
    (record,) = read_records(["r.jsonl"])
    assert record.weights == "pretrained" and record.checkpoint == str(ckpt)
    assert "random weights" not in result.stdout


@pytest.mark.slow
def test_checkpoints_folder_is_found_by_auto(in_tmp, cli_runner):
    from segbench.families import LoadOptions, load_model

    model = load_model("sam2.1-tiny", LoadOptions(torch.device("cpu"), "random", None, (256, 256)))
    (in_tmp / "checkpoints").mkdir()
    torch.save({"model": model.module.state_dict()}, in_tmp / "checkpoints" / "sam2.1_hiera_tiny.pt")
    result = cli_runner.invoke(cli, ["run", "--batch-sizes", "1", *SMALL, "-o", "r.jsonl"])
    assert result.exit_code == 0, result.output
    assert read_records(["r.jsonl"])[0].weights == "pretrained"


@pytest.mark.slow
def test_a_hugging_face_directory_loads_mask2former(in_tmp):
    """--checkpoint DIR for transformers: a directory written by save_pretrained (safetensors)."""
    from segbench.families import LoadOptions, load_model

    source = load_model("mask2former-swin-tiny", LoadOptions(torch.device("cpu"), "random", None, (128, 128)))
    source.module.save_pretrained(in_tmp / "m2f")
    loaded = load_model("mask2former-swin-tiny",
                        LoadOptions(torch.device("cpu"), "pretrained", str(in_tmp / "m2f"), (128, 128)))
    assert loaded.weights == "pretrained"
    theirs, ours = source.module.state_dict(), loaded.module.state_dict()
    assert theirs.keys() == ours.keys()
    assert all(torch.equal(theirs[k], ours[k]) for k in theirs)  # the weights came from the file, not a new init


def test_a_folder_without_config_is_not_a_hugging_face_model(in_tmp, cli_runner):
    (in_tmp / "empty").mkdir()
    result = cli_runner.invoke(cli, ["run", "-m", "mask2former-swin-tiny", "--weights", "pretrained",
                                     "--checkpoint", "empty", *SMALL, "-o", "r.jsonl"])
    assert "no config.json" in one_line_error(result)
