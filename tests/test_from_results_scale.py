"""`check --backend X --from FILE` pairs each exported or compiled record with the eager run of the same
work nearest in time. With an index of the eager runs that is linear (but for a sort) in the records: a
100,000-line file took minutes when every record scanned every eager run."""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta, timezone

import pytest

from segbench.advisor.model import executions
from segbench.advisor.model.executions import ratios_from_records
from segbench.backends.execution import parse_execution
from tests.report_records import make_record

T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)


def _base(label: str, median_s: float, **kw):
    r = make_record(median_s=median_s, hardware="my box", **kw)
    r.execution = parse_execution(label).to_dict()
    return r


def _copies(base, times: list[float], tag: str) -> list:
    return [dataclasses.replace(base, created=(T0 + timedelta(seconds=t)).isoformat(), id=f"{tag}{i:08d}")
            for i, t in enumerate(times)]


def _brute_force(records) -> list[str]:
    """The pairing as first written: for each exported record, scan every eager run of the same work."""
    ok = [r for r in records if r.kind == "run" and executions._per_item(r)]
    out = []
    for r in ok:
        if r.execution_label == "eager":
            continue
        same = [e for e in ok if e.execution_label == "eager" and executions._same_work(e) == executions._same_work(r)]
        if same:
            out.append(min(same, key=lambda e: abs(executions._created(e) - executions._created(r))).id)
    return out


def test_pairing_twenty_thousand_records_reads_each_time_a_bounded_number_of_times(monkeypatch):
    n = 20_000  # half eager, half onnxruntime, of the same work, one a second
    eager, onnx = _base("eager", 2.0), _base("onnxruntime", 1.0)
    records = [r for pair in zip(_copies(eager, list(range(0, n, 2)), "e"), _copies(onnx, list(range(1, n, 2)), "o"))
               for r in pair]
    calls = 0
    created = executions._created

    def counted(record):
        nonlocal calls
        calls += 1
        if calls > 3 * n:  # a quadratic pairing reads times n * n / 2 times: stop it here, not in an hour
            raise AssertionError(f"the pairing read record times more than {3 * n} times for {n} records")
        return created(record)

    monkeypatch.setattr(executions, "_created", counted)
    ratios = ratios_from_records(records, "big.jsonl")
    assert len(ratios) == n // 2 and calls <= n  # each record's time read once
    assert all(r.ratio == pytest.approx(0.5, rel=0.01) for r in ratios[:10])


def test_the_index_pairs_as_the_scan_over_every_eager_run_did():
    rng = random.Random(7)
    bases = [_base("eager", 2.0), _base("eager", 1.5, batch_size=2), _base("openvino", 0.5),
             _base("openvino", 0.4, batch_size=2), _base("compile", 1.0)]
    records = []
    for i in range(400):  # times on a coarse grid: ties in distance, and runs at the same second
        base = rng.choice(bases)
        when = T0 + timedelta(seconds=rng.randrange(0, 60) * 10)
        records.append(dataclasses.replace(base, created=when.isoformat(), id=f"r{i:05d}", samples_s=[rng.random()],
                                           stats={"per_item_latency_s": {"median": 0.1 + rng.random()}}))
    paired = [r.eager_seconds_per_item for r in ratios_from_records(records)]
    by_id = {r.id: r for r in records}
    expected = [executions._per_item(by_id[i]) for i in _brute_force(records)]
    assert paired == expected and len(paired) > 100
