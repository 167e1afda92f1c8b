"""Result records: schema, atomic appends, tolerant reading."""

from __future__ import annotations

import json
import os
import warnings

import pytest

from segbench.errors import InputError
from segbench.atomic import atomic_append_text, atomic_write_text
from segbench.records.schema import SCHEMA_VERSION, Record
from segbench.records.store import CorruptLineWarning, append_records, new_results_path, read_records


def rec(**kw) -> Record:
    base = dict(model="sam2.1-tiny", workload="image", precision="bf16", batch_size=1, device="cpu")
    base.update(kw)
    return Record(**base)


def test_round_trip(tmp_path):
    path = tmp_path / "r.jsonl"
    append_records(path, [rec(samples_s=[0.1, 0.2]), rec(batch_size=2, status="oom", error="CUDA out of memory")])
    got = read_records([path])
    assert [r.batch_size for r in got] == [1, 2]
    assert got[0].samples_s == [0.1, 0.2]
    assert got[1].status == "oom"
    assert got[0].schema_version == SCHEMA_VERSION


def test_append_keeps_old_records_and_leaves_no_temp(tmp_path):
    path = tmp_path / "r.jsonl"
    append_records(path, [rec()])
    append_records(path, [rec(batch_size=4)])
    assert len(path.read_text().splitlines()) == 2
    assert os.listdir(tmp_path) == ["r.jsonl"]


def test_failed_write_leaves_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "r.jsonl"
    atomic_write_text(path, "old\n")

    def broken_fsync(fd):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        atomic_append_text(path, "new\n")
    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["r.jsonl"]


def test_corrupt_and_truncated_lines_are_skipped_with_a_warning(tmp_path):
    path = tmp_path / "r.jsonl"
    append_records(path, [rec()])
    with path.open("a") as f:
        f.write('{"model": "x", "workl\n')  # a torn line
        f.write("[1, 2]\n")
    append_records(path, [rec(batch_size=8)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = read_records([path])
    assert [r.batch_size for r in got] == [1, 8]
    messages = [str(w.message) for w in caught if issubclass(w.category, CorruptLineWarning)]
    assert any("r.jsonl:2" in m for m in messages) and any("r.jsonl:3" in m for m in messages)


def test_newer_schema_is_refused_clearly(tmp_path):
    path = tmp_path / "r.jsonl"
    data = rec().to_dict()
    data["schema_version"] = SCHEMA_VERSION + 1
    path.write_text(json.dumps(data) + "\n")
    with pytest.raises(InputError, match="newer than this segbench"):
        read_records([path])


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_records([tmp_path / "nope.jsonl"])


def test_folders_are_read_without_telemetry_sidecars(tmp_path):
    append_records(tmp_path / "a.jsonl", [rec()])
    (tmp_path / "a.telemetry.jsonl").write_text('{"t": 0}\n')
    assert len(read_records([tmp_path])) == 1


def test_new_results_path_never_reuses_a_name(tmp_path):
    first = new_results_path(tmp_path)
    first.write_text("")
    second = new_results_path(tmp_path)
    assert second != first and not second.exists()


def test_match_key_identifies_the_work():
    a = rec(input={"key": "synthetic:1024x768"})
    b = rec(input={"key": "synthetic:1024x768"}, device="cuda:0")
    assert a.match_key() == b.match_key()
    assert a.match_key() != rec(batch_size=2, input={"key": "synthetic:1024x768"}).match_key()


def test_written_files_get_ordinary_permissions(tmp_path):
    path = tmp_path / "r.jsonl"
    append_records(path, [rec()])
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_runs_with_different_settings_do_not_match():
    a = rec(params={"resolution": [1024, 1024], "timed": "set_image"})
    assert a.match_key() == rec(params={"resolution": [1024, 1024], "timed": "reworded"}).match_key()
    assert a.match_key() != rec(params={"resolution": [512, 512], "timed": "set_image"}).match_key()


def test_reserving_a_results_file(tmp_path):
    from segbench.records.store import reserved

    path = tmp_path / "new" / "r.jsonl"
    with reserved(path):
        assert path.exists()  # claimed before any measurement
    assert not path.exists()  # nothing was written: no empty file left behind
    with reserved(path):
        append_records(path, [rec()])
    assert len(read_records([path])) == 1
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(InputError, match="cannot write results"):
        with reserved(blocked / "r.jsonl"):
            pass


def test_report_test_records_round_trip_through_the_store(tmp_path):
    """The synthetic records the report tests build are what the store writes and reads back."""
    from tests.report_records import make_record, write

    path = write(tmp_path / "r.jsonl", [make_record(), make_record(status="oom", batch_size=64)])
    back = read_records([path])
    assert [r.status for r in back] == ["ok", "oom"]
    assert back[0].stats["latency_s"]["n"] == 40 and len(back[0].samples_s) == 40
