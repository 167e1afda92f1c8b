"""The performance model: leave-one-out on synthetic data, fitting, and the formula's direction."""

from __future__ import annotations

import dataclasses
import statistics

import numpy as np
import pytest

from segbench.advisor.data.catalog import load_catalog
from segbench.advisor.model import fit as F
from segbench.advisor.model import references as R
from segbench.advisor.model import roofline as P
from segbench.cost.footprint import Query
from segbench.families.costs import footprint


def test_leave_one_out_on_synthetic_data():
    # y = x, except one point; the "model" is the median ratio of the points it was fitted on.
    points = [(1.0, 1.0), (2.0, 2.0), (4.0, 4.0), (1.0, 3.0)]
    result = F.leave_one_out(
        points,
        lambda subset: statistics.median(y / x for x, y in subset),
        lambda ratio, point: (ratio * point[0], point[1]),
    )
    errors = result.errors
    assert errors[:3] == pytest.approx([0.0, 0.0, 0.0])  # the others' median ratio is still 1
    assert errors[3] == pytest.approx(200 / 3)  # predicted 1 for a measured 3
    assert result.median == pytest.approx(0.0)
    assert result.worst == pytest.approx(200 / 3)
    assert "median 0%" in result.summary() and "worst 67%" in result.summary()


def test_leave_one_out_never_fits_on_the_point_it_predicts():
    seen = []
    F.leave_one_out([1, 2, 3], lambda subset: seen.append(tuple(subset)) or 0, lambda m, p: (1.0, 1.0))
    assert seen == [(2, 3), (1, 3), (1, 2)]


def test_fit_recovers_predictions_of_known_parameters():
    rng = np.random.default_rng(0)
    truth = dataclasses.replace(P.Params(), eff_tensor=0.42, eff_fp32=0.6, eff_mem=0.9, launch_gpu_s=8e-6,
                                compiled=0.25, sat_tflops=250.0)
    rows = []
    for _ in range(40):
        row = dict.fromkeys(P.FEATURES, 0.0)
        row.update(tensor_s=rng.uniform(1e-3, 5e-2), fp32_s=rng.uniform(0, 2e-2), mem_s=rng.uniform(1e-3, 2e-2),
                   mem_compiled_s=rng.choice([0.0, rng.uniform(1e-3, 1e-2)]), kernels=rng.integers(100, 3000),
                   kernels_compiled=rng.choice([0, rng.integers(100, 2000)]), clock=1.0, items=1.0)
        row["tensor_flops"] = row["tensor_s"] * rng.uniform(20e12, 400e12)
        rows.append(row)
    x = P.matrix(rows)
    seconds = P.terms(x, truth)["per_item"]
    fitted = F.fit_matrix(x, seconds, P.Params())
    predicted = P.terms(x, fitted)["per_item"]
    assert np.max(np.abs(predicted / seconds - 1)) < 0.05


def _spec(name):
    return load_catalog().get(name)


def test_faster_cards_predict_faster_and_laptop_clocks_slower():
    fp = footprint(Query("sam2.1-large", "video", "fp16", resolution=(1080, 1920), frames=100))
    p = P.Params()
    slow = P.predict(fp, _spec("GTX 1660 Super"), p).per_item_s
    fast = P.predict(fp, _spec("RTX 4090"), p).per_item_s
    assert fast < slow / 4
    desktop = _spec("RTX 4090")
    throttled = dataclasses.replace(desktop, sustained_clock_factor=0.7)
    assert P.predict(fp, throttled, p).per_item_s > P.predict(fp, desktop, p).per_item_s


def test_compile_and_model_scope_remove_overheads():
    fp = footprint(Query("sam2.1-tiny", "image", "bf16"))
    spec, p = _spec("RTX 3090"), P.Params()
    eager = P.predict(fp, spec, p)
    assert P.predict(fp, spec, p, compiled="full").per_item_s < eager.per_item_s
    model_only = P.predict(fp, spec, p, scope="encoder")
    assert model_only.host_s == 0 and model_only.transfer_s == 0 and eager.host_s > 0


def test_bf16_before_ampere_is_predicted_at_fp32_speed_with_a_note():
    fp = footprint(Query("sam2.1-tiny", "image", "bf16"))
    b = P.predict(fp, _spec("GTX 1660 Super"), P.Params())
    assert any("bf16" in note for note in b.notes)


def test_published_references_are_deduplicated_and_modelled():
    refs = R.published_references()
    ids = [r.id for r in refs]
    assert len(ids) == len(set(ids))
    assert "sam2-paper-vos-bplus-a100" not in ids  # the README's 43.8 FPS twin is kept once
    assert all(r.seconds_per_item > 0 for r in refs)
    # The MONAI zoo's "model computation" times the network alone; the SAM 2.1 README's video FPS the
    # predictor's propagation step.
    assert {r.scope for r in refs if r.query.workload == "volume" and r.id.startswith("monai-")
            and "end2end" not in r.id and "monailabel" not in r.id} == {"encoder"}
    # A bundle's or TotalSegmentator's whole run (resampling, writing) is the pipeline scope.
    assert {r.scope for r in refs if "end2end" in r.id or r.id.startswith(("totalseg-", "monai-wholebody-monailabel"))
            } == {"pipeline"}
    assert {r.scope for r in refs if r.id.startswith("sam21-readme")} == {"predictor"}


def test_cached_fit_is_current():
    import yaml

    from segbench.profiles import profile_path

    data = yaml.safe_load(profile_path(F.FIT_FILE).read_text())
    assert data["inputs_digest"] == F.inputs_digest(), \
        "profiles changed since the fit: python -m segbench.maintenance fit --out segbench/profiles/perfmodel_fit.yaml"
