"""The advisor's profile data and its loader: catalog, name matching, tiers, prices, timings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from segbench.advisor import targets
from segbench.advisor.data import catalog as cat
from segbench.advisor.data.catalog import CPUSpec, GPUSpec, load_catalog
from segbench.advisor.data.published import load_published
from segbench.advisor.data.tiers import load_components, load_tiers, parse_price_overrides
from segbench.errors import InputError
from segbench.profiles import PROFILES_ENV, profiles_dir

REAL_PROFILES = Path(__file__).resolve().parents[1] / "segbench" / "profiles"

# Every GPU the advisor issue (#6) asks the catalog to cover, by the name a user would type.
ISSUE_GPUS = {
    "GTX 1060 6GB": "GTX 1060 6GB", "GTX 1660 Super": "GTX 1660 Super", "RTX 2060": "RTX 2060",
    "RTX 2080 Ti": "RTX 2080 Ti", "RTX 3060 12GB": "RTX 3060 12GB", "RTX 3060 Ti": "RTX 3060 Ti",
    "RTX 3070": "RTX 3070", "RTX 3080": "RTX 3080", "RTX 3090": "RTX 3090", "RTX 4060": "RTX 4060",
    "RTX 4060 Ti 16GB": "RTX 4060 Ti 16GB", "RTX 4070": "RTX 4070", "RTX 4070 Ti Super": "RTX 4070 Ti Super",
    "RTX 4080": "RTX 4080", "RTX 4090": "RTX 4090", "RTX 5090": "RTX 5090", "T4": "T4", "L4": "L4",
    "A100 40GB": "A100 40GB", "A100 80GB": "A100 80GB", "H100 SXM": "H100 SXM", "H100 PCIe": "H100 PCIe",
}


@pytest.fixture(scope="module")
def catalog() -> cat.Catalog:
    return load_catalog()


@pytest.fixture
def profiles(tmp_path: Path) -> Path:
    """A private copy of the shipped profiles to break on purpose."""
    dest = tmp_path / "profiles"
    shutil.copytree(REAL_PROFILES, dest)
    return dest


def edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def gpu_entry(data: dict, name: str) -> dict:
    return next(g for g in data["gpus"] if g["name"] == name)


# ------------------------------------------------------------------------------ shipped data


def test_catalog_covers_every_gpu_the_issue_lists(catalog):
    for typed, canonical in ISSUE_GPUS.items():
        assert catalog.match(typed).spec.name == canonical
    laptops = [g for g in catalog.gpus if g.form_factor == "laptop"]
    assert len(laptops) >= 3


def test_catalog_figures_are_consistent(catalog):
    for g in catalog.gpus:
        assert g.sources, g.name
        assert all(key in catalog.sources for key in g.sources), g.name
        assert g.price.source in catalog.sources
        if g.backend == "cuda":
            # BF16 tensor cores arrived with Ampere (compute capability 8.0).
            assert (g.bf16_tensor_tflops is None) == (g.cuda_capability < (8, 0)), g.name
            if g.cuda_capability >= (7, 0) and g.name != "GTX 1660 Super":  # tensor-core parts
                assert g.fp16_tensor_tflops > g.fp32_tflops, g.name
        else:  # other vendors have no CUDA compute capability
            assert g.compute_capability is None, g.name
        if g.form_factor == "laptop":
            assert g.sustained_clock_factor < 1 and g.sustained_clock_basis, g.name
            assert g.price_new is None and g.price_used is None
        elif g.power_mode and g.power_mode not in ("MAXN", "MAXN SUPER"):
            # An edge module below its top power mode runs lower clocks, with the basis stated.
            assert g.sustained_clock_factor < 1 and g.sustained_clock_basis, g.name
        else:
            assert g.sustained_clock_factor == 1.0, g.name
        for band in (g.price_new, g.price_used):
            assert band is None or 0 < band[0] <= band[1]


def test_gpu_figures_match_the_vendor_sheets(catalog):
    # Spot checks against the whitepaper/datasheet numbers the catalog cites.
    r4090 = catalog.get("RTX 4090")
    assert (r4090.vram_gb, r4090.memory_bandwidth_gbs, r4090.fp16_tensor_tflops) == (24, 1008.0, 165.2)
    a100 = catalog.get("A100 40GB")
    assert (a100.fp32_tflops, a100.bf16_tensor_tflops, a100.compute_capability) == (19.5, 312.0, (8, 0))
    assert catalog.get("RTX 3060 12GB").compute_capability == (8, 6)
    assert catalog.get("RTX 5090").compute_capability == (12, 0)


def test_peak_tflops_per_precision(catalog):
    r3090 = catalog.get("RTX 3090")
    assert r3090.peak_tflops("fp32") == pytest.approx(35.58)
    assert r3090.peak_tflops("float16") == pytest.approx(71.0)
    assert r3090.peak_tflops("bf16") == pytest.approx(71.0)
    assert r3090.peak_tflops("tf32") == pytest.approx(35.5)
    # Turing: no BF16 tensor cores -> None, not the FP16 rate.
    assert catalog.get("RTX 2080 Ti").peak_tflops("bf16") is None
    assert catalog.get("T4").peak_tflops("tf32") is None
    # Pascal runs FP16 at 1/64 rate; frameworks use FP32 math, so the FP32 rate comes back.
    g1060 = catalog.get("GTX 1060 6GB")
    assert g1060.peak_tflops("fp16") == g1060.fp32_tflops
    laptop = catalog.get("RTX 4060 Laptop")
    assert laptop.sustained_tflops("fp32") == pytest.approx(laptop.fp32_tflops * laptop.sustained_clock_factor)
    with pytest.raises(InputError, match="unknown precision 'int3'"):
        r3090.peak_tflops("int3")


def test_cpu_targets(catalog):
    names = {c.name for c in catalog.cpus}
    assert {"Ryzen 5 5600", "Core i5-12400", "Generic 2-core cloud vCPU"} <= names
    i5 = catalog.get("Core i5-12400")
    assert isinstance(i5, CPUSpec)
    assert i5.peak_tflops("fp32") == pytest.approx(0.768)
    assert i5.peak_tflops("fp16") is None


# ------------------------------------------------------------------------------ name matching


@pytest.mark.parametrize("typed", ["3060", "rtx 3060 12gb", "RTX3060", "NVIDIA GeForce RTX 3060", " rtx-3060 "])
def test_loose_names_find_the_card(catalog, typed):
    found = catalog.match(typed)
    assert found.spec.name == "RTX 3060 12GB"
    assert not found.ambiguous


def test_exact_name_has_no_note_loose_name_says_what_it_matched(catalog):
    assert catalog.match("RTX 3060 12GB").note is None
    assert "RTX 3060 12GB" in catalog.match("3060").note


def test_similar_names_stay_apart(catalog):
    assert catalog.match("3060 ti").spec.name == "RTX 3060 Ti"
    assert catalog.match("rtx 3060 laptop gpu").spec.name == "RTX 3060 Laptop"
    assert catalog.match("Tesla T4").spec.name == "T4"
    assert catalog.match("NVIDIA A100-SXM4-80GB").spec.name == "A100 80GB"


def test_a_family_name_several_cards_share_asks_which(catalog):
    # 40 GB or 80 GB decides what fits: a family name answers with the candidates, never a guess.
    with pytest.raises(InputError) as err:
        catalog.match("A100")
    assert str(err.value) == ("'A100' could be 3 GPUs: did you mean A100 40GB, A100 80GB, A100 80GB PCIe? "
                              "Give the full name to --gpu")
    with pytest.raises(InputError, match="did you mean H100 SXM, H100 PCIe"):
        catalog.match("h100")
    assert catalog.match("H100 SXM").spec.name == "H100 SXM"


def test_shared_alias_without_a_default_is_rejected_on_load(profiles):
    path = profiles / "gpus.yaml"
    edit(path, lambda d: gpu_entry(d, "RTX 3060 Laptop")["aliases"].append("3060"))
    with pytest.raises(InputError, match="the name '3060' is shared by RTX 3060 12GB, RTX 3060 Laptop"):
        load_catalog(path)


def test_unknown_name_lists_nearest_names(catalog):
    with pytest.raises(InputError) as err:
        catalog.match("rtx 4065 ti")
    message = str(err.value)
    assert message.startswith("unknown GPU 'rtx 4065 ti'; did you mean ")
    assert "RTX 4060 Ti" in message
    listed = message.split("did you mean ")[1].split("? (or")[0].split(", ")
    assert 3 <= len(listed) <= 5


# Every device the 2026 catalog issue (#13) names, as a buyer types it, and the entry it must find.
MARKET_2026 = {
    "RTX 5090": "RTX 5090", "RTX 5080": "RTX 5080", "RTX 5070 Ti": "RTX 5070 Ti", "RTX 5070": "RTX 5070",
    "RTX 5060 Ti 16GB": "RTX 5060 Ti 16GB", "RTX 5060 Ti 8GB": "RTX 5060 Ti 8GB", "RTX 5060": "RTX 5060",
    "RTX 5070 Laptop": "RTX 5070 Laptop", "RTX 5080 Laptop": "RTX 5080 Laptop", "RTX 5090 Laptop": "RTX 5090 Laptop",
    "RTX 4060 Ti 8GB": "RTX 4060 Ti 8GB", "RTX 4070 Ti": "RTX 4070 Ti", "RTX 4070 Super": "RTX 4070 Super",
    "RTX 4080 Super": "RTX 4080 Super", "GTX 1080 Ti": "GTX 1080 Ti", "RTX 2070 Super": "RTX 2070 Super",
    "RTX 3080 Ti": "RTX 3080 Ti", "RTX 3090 Ti": "RTX 3090 Ti", "RTX A4000": "RTX A4000", "RTX A6000": "RTX A6000",
    "RTX 6000 Ada": "RTX 6000 Ada", "RTX PRO 6000 Blackwell": "RTX PRO 6000 Blackwell", "A10G": "A10G",
    "L40S": "L40S", "H100 NVL": "H100 NVL", "H200": "H200", "B200": "B200",
    "RX 7900 XTX": "RX 7900 XTX", "RX 7900 XT": "RX 7900 XT", "RX 9070 XT": "RX 9070 XT",
    "MI300X": "Instinct MI300X", "Arc B580": "Arc B580",
}


@pytest.mark.parametrize("typed, canonical", sorted(MARKET_2026.items()))
def test_the_2026_market_resolves(catalog, typed, canonical):
    assert catalog.match(typed).spec.name == canonical


@pytest.mark.parametrize("family", ["Jetson Orin Nano", "Jetson Orin NX", "Jetson AGX Orin"])
def test_edge_modules_resolve_with_their_power_modes(catalog, family):
    # The module's name asks for a power mode; each mode is a name of its own.
    with pytest.raises(InputError, match="did you mean") as err:
        catalog.match(family)
    default = next(s for s in catalog.gpus if s.name.startswith(family) and s.default_variant)
    assert str(err.value).split("did you mean ")[1].startswith(default.name)  # the common mode first
    modes = [s for s in catalog.gpus if s.name.startswith(default.name.split(" (")[0])]
    assert len(modes) >= 3 and len({s.power_mode for s in modes}) == len(modes)
    for mode in modes:
        assert mode.name in str(err.value) and catalog.match(mode.name).spec == mode
    # A lower power mode is slower: its clocks, hence its peaks, are lower.
    assert min(s.peak_tflops("fp16") for s in modes) < default.peak_tflops("fp16")


@pytest.mark.parametrize("typed", ["Apple M2", "Apple M3", "Apple M4", "M4 Pro", "M4 Max", "M2 Max", "M3 Pro"])
def test_apple_silicon_gpus_resolve_as_mps(catalog, typed):
    spec = catalog.match(typed).spec
    assert isinstance(spec, GPUSpec) and spec.backend == "mps" and spec.vendor == "apple"
    assert spec.form_factor == "integrated" and 0 < spec.memory_share < 1


def test_a_loose_name_across_variants_names_them_and_answers_none(catalog):
    with pytest.raises(InputError) as err:
        catalog.match("4060 Ti")
    assert "did you mean RTX 4060 Ti 8GB, RTX 4060 Ti 16GB?" in str(err.value)  # the common one first
    assert catalog.match("4060 Ti 16GB").spec.name == "RTX 4060 Ti 16GB"
    with pytest.raises(InputError) as err:
        catalog.match("Orin")
    assert str(err.value).split("did you mean ")[1].startswith("Jetson AGX Orin 64GB (MAXN)")
    for variant in ("Jetson Orin Nano", "Jetson Orin NX", "Jetson AGX Orin"):
        assert variant in str(err.value)
    # A word must start where the typed name does: "080" is no loose name for the 4080 or 5080.
    with pytest.raises(InputError):
        catalog.match("080")


def test_empty_name_is_an_input_error(catalog):
    with pytest.raises(InputError, match="empty GPU name"):
        catalog.match("   ")


def test_cpu_and_this_cpu(catalog, monkeypatch):
    cpu = catalog.match("cpu")
    assert isinstance(cpu.spec, CPUSpec) and cpu.spec.name == "Core i5-12400"
    assert "Core i5-12400" in cpu.note

    facts = {"model_name": "Some Server CPU 9000", "logical_cores": 64, "physical_cores": 32, "usable_cores": 8}
    monkeypatch.setattr("segbench.probe.host.cpu_info", lambda: facts)
    local = targets.resolve_target("this-cpu", catalog)
    basis = catalog.get(targets.LOCAL_CPU_BASIS)
    assert local.spec.cores == 4
    assert local.spec.fp32_gflops == pytest.approx(basis.fp32_gflops / basis.cores * 4)
    assert local.spec.fp32_gflops_estimate
    assert "8 usable threads" in local.note

    # A machine whose CPU is in the catalog gets that entry rather than an estimate.
    facts["model_name"] = "AMD Ryzen 5 5600 6-Core Processor"
    facts.update(logical_cores=12, physical_cores=6, usable_cores=12)
    assert targets.resolve_target("this-cpu", catalog).spec == catalog.get("Ryzen 5 5600")
    # ... scaled per thread when a container leaves fewer threads than the CPU has.
    facts["usable_cores"] = 6
    limited = targets.resolve_target("this-cpu", catalog).spec
    assert limited.name.startswith("Ryzen 5 5600") and limited.threads == 6
    assert limited.fp32_gflops == pytest.approx(catalog.get("Ryzen 5 5600").fp32_gflops / 2)
    # And the real probe works here, whatever this machine is.
    monkeypatch.undo()
    assert targets.resolve_target("this-cpu", catalog).spec.fp32_gflops > 0


# ------------------------------------------------------------------------------ validation


def test_missing_field_names_file_entry_and_field(profiles):
    path = profiles / "gpus.yaml"
    edit(path, lambda d: gpu_entry(d, "RTX 3090").pop("vram_gb"))
    with pytest.raises(InputError) as err:
        load_catalog(path)
    assert str(path) in str(err.value)
    assert "(RTX 3090)" in str(err.value)
    assert "field 'vram_gb' is missing" in str(err.value)


@pytest.mark.parametrize("field, value, expected", [
    ("vram_gb", "twenty-four", "field 'vram_gb' must be a number, got str"),
    ("vram_gb", -24, "field 'vram_gb' must be > 0"),
    ("compute_capability", 8.6, "field 'compute_capability' must be a quoted string"),
    ("form_factor", "tower", "field 'form_factor' must be one of desktop, laptop, datacenter"),
    ("sustained_clock_factor", 1.2, "field 'sustained_clock_factor' must be <= 1"),
    ("sources", ["no-such-source"], "field 'sources' refers to source 'no-such-source'"),
    ("aliases", "3090", "field 'aliases' must be a list of strings"),
    ("vram_GB", 24, "unknown field 'vram_GB'"),
])
def test_wrong_values_name_the_field(profiles, field, value, expected):
    path = profiles / "gpus.yaml"
    edit(path, lambda d: gpu_entry(d, "RTX 3090").__setitem__(field, value))
    with pytest.raises(InputError, match=expected):
        load_catalog(path)


def test_bad_price_band_is_rejected(profiles):
    path = profiles / "gpus.yaml"
    edit(path, lambda d: gpu_entry(d, "RTX 3090")["price_usd"].__setitem__("used", [900, 650]))
    with pytest.raises(InputError, match=r"price_usd: field 'used' must be \[low, high\]"):
        load_catalog(path)


def test_laptop_penalty_needs_its_basis(profiles):
    path = profiles / "gpus.yaml"
    edit(path, lambda d: gpu_entry(d, "RTX 4060 Laptop").pop("sustained_clock_basis"))
    with pytest.raises(InputError, match="field 'sustained_clock_basis' is missing"):
        load_catalog(path)


def test_malformed_yaml_and_missing_file(tmp_path):
    broken = tmp_path / "gpus.yaml"
    broken.write_text("gpus: [\n  - name: x\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_catalog(broken)
    with pytest.raises(InputError, match="profile file not found"):
        load_catalog(tmp_path / "nope.yaml")


def test_yaml_is_loaded_safely(tmp_path):
    evil = tmp_path / "gpus.yaml"
    evil.write_text("gpus: !!python/object/apply:os.system ['echo hi']\ncpus: []\nsources: {}\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_catalog(evil)


def test_profiles_env_var_points_the_loaders_elsewhere(profiles, monkeypatch):
    edit(profiles / "gpus.yaml", lambda d: gpu_entry(d, "RTX 3090").__setitem__("vram_gb", 99))
    monkeypatch.setenv(PROFILES_ENV, str(profiles))
    assert profiles_dir() == profiles
    assert load_catalog().get("RTX 3090").vram_gb == 99
    monkeypatch.delenv(PROFILES_ENV)
    assert load_catalog().get("RTX 3090").vram_gb == 24


# ------------------------------------------------------------------------------ tiers and prices


def _expected_cost(tier_name: str, gpu_index: int = 0) -> tuple[float, float]:
    """The tier total computed straight from the YAML, independently of the loader."""
    tiers = yaml.safe_load((REAL_PROFILES / "tiers.yaml").read_text())["tiers"]
    comps = yaml.safe_load((REAL_PROFILES / "components.yaml").read_text())["components"]
    gpus = {g["name"]: g for g in yaml.safe_load((REAL_PROFILES / "gpus.yaml").read_text())["gpus"]}
    tier = next(t for t in tiers if t["name"] == tier_name)
    low = sum(comps[k]["price_usd"][0] for k in tier["components"])
    high = sum(comps[k]["price_usd"][1] for k in tier["components"])
    if tier["gpus"]:
        cand = tier["gpus"][gpu_index]
        band = gpus[cand["name"]]["price_usd"][cand["condition"]]
        low, high = low + band[0], high + band[1]
    return low, high


def test_tiers_cover_the_issue_builds():
    tiers = {t.name: t for t in load_tiers()}
    assert list(tiers) == ["cpu-only", "cheap", "serious", "large-volume", "workstation"]
    assert tiers["cpu-only"].gpus == () and tiers["cpu-only"].cpu == "Core i5-12400"
    assert {c.name for c in tiers["cheap"].gpus} == {"GTX 1660 Super", "GTX 1060 6GB"}
    assert tiers["cheap"].cpu == "Ryzen 5 5600"
    assert {c.name for c in tiers["large-volume"].gpus} == {"RTX 3090", "RTX 4090"}
    assert {c.name for c in tiers["workstation"].gpus} >= {"RTX 5090"}


@pytest.mark.parametrize("tier_name", ["cpu-only", "cheap", "serious", "large-volume", "workstation"])
def test_tier_cost_is_the_sum_of_its_parts(tier_name):
    tier = next(t for t in load_tiers() if t.name == tier_name)
    assert tier.cost_usd() == pytest.approx(_expected_cost(tier_name))
    parts = tier.parts()
    assert (sum(p[1] for p in parts), sum(p[2] for p in parts)) == pytest.approx(tier.cost_usd())


def test_tier_cost_for_another_candidate():
    tier = next(t for t in load_tiers() if t.name == "large-volume")
    assert tier.cost_usd("RTX 4090") == pytest.approx(_expected_cost("large-volume", 1))
    assert tier.cost_usd("RTX 4090", "used") == pytest.approx(_expected_cost("large-volume", 2))
    with pytest.raises(InputError, match="tier 'large-volume' has no GPU 'RTX 5090'"):
        tier.cost_usd("RTX 5090")


def test_price_overrides_replace_component_and_gpu_prices():
    base = {t.name: t for t in load_tiers()}
    over = {t.name: t for t in load_tiers({"rtx 3090": 700, "ram-ddr5-64gb": 0, "Ryzen 5 5600": 90})}
    lv_base, lv = base["large-volume"], over["large-volume"]
    ram = next(c for c in lv_base.components if c.key == "ram-ddr5-64gb").price_usd
    gpu = lv_base.gpus[0].price_usd
    assert lv.cost_usd() == pytest.approx((lv_base.cost_usd()[0] - ram[0] - gpu[0] + 700,
                                           lv_base.cost_usd()[1] - ram[1] - gpu[1] + 700))
    assert lv.gpus[0].overridden and lv.gpus[0].price_usd == (700, 700)
    cpu = next(c for c in over["cheap"].components if c.kind == "cpu")
    assert cpu.price_usd == (90, 90) and cpu.overridden
    # An override of one GPU leaves the other candidates alone.
    assert lv.cost_usd("RTX 4090") == pytest.approx(
        (lv_base.cost_usd("RTX 4090")[0] - ram[0], lv_base.cost_usd("RTX 4090")[1] - ram[1]))


@pytest.mark.parametrize("overrides, expected", [
    ({"RTX 9999": 100}, r"--price 'RTX 9999': not a component key or GPU name; nearest: "),
    ({"A100": 5000}, r"--price 'A100': 'A100' could be 3 GPUs: did you mean A100 40GB, A100 80GB"),
    ({"RTX 3090": -5}, r"price override for 'RTX 3090' must be a number >= 0"),
    ({"RTX 3090": float("nan")}, r"must be a number >= 0"),
])
def test_bad_overrides(overrides, expected):
    with pytest.raises(InputError, match=expected):
        load_tiers(overrides)


def test_parse_price_overrides():
    assert parse_price_overrides(["RTX 3090=700", "ram-ddr4-32gb=$60", "RTX 5090 = 2,100", "x=0"]) == {
        "RTX 3090": 700.0, "ram-ddr4-32gb": 60.0, "RTX 5090": 2100.0, "x": 0.0}
    for bad in ["RTX 3090", "=700", "RTX 3090=cheap", "RTX 3090=-1", "RTX 3090=inf"]:
        with pytest.raises(InputError, match="expected NAME=USD"):
            parse_price_overrides([bad])


def test_tier_with_unknown_component_or_gpu(profiles):
    tiers_path = profiles / "tiers.yaml"
    edit(tiers_path, lambda d: d["tiers"][1]["components"].append("ram-ddr4-17gb"))
    with pytest.raises(InputError, match=r"tiers\[1\] \(cheap\): field 'components' refers to unknown "
                                         r"component 'ram-ddr4-17gb'; nearest: ram-ddr4-16gb"):
        load_tiers(path=tiers_path)

    edit(tiers_path, lambda d: d["tiers"][1]["components"].pop())
    edit(tiers_path, lambda d: d["tiers"][1]["gpus"].__setitem__(0, {"name": "GTX 1660", "condition": "used"}))
    with pytest.raises(InputError, match="gpus\\[0\\]: field 'name' 'GTX 1660' is not a GPU name"):
        load_tiers(path=tiers_path)

    edit(tiers_path, lambda d: d["tiers"][1]["gpus"].__setitem__(0, {"name": "RTX 5090", "condition": "used"}))
    with pytest.raises(InputError, match="RTX 5090 has no used price"):
        load_tiers(path=tiers_path)
    assert next(t for t in load_tiers({"RTX 5090": 1500}, path=tiers_path) if t.name == "cheap").gpus[0].price_usd \
        == (1500, 1500)


def test_user_profile_file_overrides_components_and_gpu_prices(tmp_path):
    user = tmp_path / "my-builds.yaml"
    user.write_text(yaml.safe_dump({
        "tiers": [{"name": "mine", "title": "My box", "description": "what I can get locally",
                   "gpus": [{"name": "RTX 3060 12GB", "condition": "used"}],
                   "components": ["my-case", "ram-ddr4-32gb"]}],
        "components": {"my-case": {"kind": "case", "title": "old case", "price_usd": [0, 0], "date": "2026-11",
                                   "source": "me"}},
        "gpu_prices": {"RTX 3060 12GB": {"used": [150, 160]}},
        "sources": {"me": {"title": "my own quote", "url": None, "accessed": "2026-11"}},
    }))
    (mine,) = load_tiers(path=user)
    ram = load_components()["ram-ddr4-32gb"].price_usd
    assert mine.cost_usd() == pytest.approx((150 + ram[0], 160 + ram[1]))


def test_component_validation(profiles):
    path = profiles / "components.yaml"
    edit(path, lambda d: d["components"]["psu-550w"].pop("watts"))
    with pytest.raises(InputError, match="components: psu-550w: field 'watts' is missing"):
        load_components(path)
    edit(path, lambda d: d["components"]["psu-550w"].update(watts=550, catalog_cpu=None))
    edit(path, lambda d: d["components"]["cpu-ryzen5-5600"].update(catalog_cpu="Ryzen 5 5500"))
    with pytest.raises(InputError, match="field 'catalog_cpu' 'Ryzen 5 5500' is not a CPU"):
        load_components(path)


# ------------------------------------------------------------------------------ published timings


def test_published_timings_load_with_conditions(catalog):
    timings = load_published()
    assert len(timings) >= 20
    assert len({t.id for t in timings}) == len(timings)
    by_id = {t.id: t for t in timings}
    large = by_id["sam21-readme-dec24-large-a100"]
    assert (large.model, large.workload, large.metric, large.value, large.compiled) == \
        ("sam2.1-large", "video", "fps", 39.5, True)
    models = {t.model for t in timings}
    assert {"sam2.1-tiny", "sam2.1-large", "mask2former-swin-large-coco", "monai-unet", "monai-swinunetr"} <= models
    assert all(catalog.get(t.gpu) is not None for t in timings)
    assert any(isinstance(catalog.get(t.gpu), GPUSpec) and catalog.get(t.gpu).form_factor == "desktop"
               for t in timings)  # at least one consumer-GPU reference


@pytest.mark.parametrize("field, value, expected", [
    ("metric", "frames", "field 'metric' must be one of fps, latency_ms, seconds_per_volume"),
    ("gpu", "RTX 3060", "field 'gpu' 'RTX 3060' is not a catalog name; nearest: RTX 3060 12GB"),
    ("model", "sam2.1-huge", "field 'model' must be one of"),
    ("value", 0, "field 'value' must be > 0"),
    ("source", "nowhere", "field 'source' refers to source 'nowhere'"),
])
def test_published_validation(profiles, field, value, expected):
    path = profiles / "published.yaml"
    edit(path, lambda d: d["timings"][0].__setitem__(field, value))
    with pytest.raises(InputError, match=expected):
        load_published(path)


# ------------------------------------------------------------------------------ units, caching, registry names


def test_vram_is_gib_as_nvidia_smi_shows_it(catalog):
    assert catalog.get("GTX 1060 6GB").vram_bytes == 6144 * 2**20
    assert catalog.get("RTX 3090").vram_bytes == 24576 * 2**20
    assert catalog.get("Core i5-12400").vram_bytes is None


def test_catalog_is_read_once_per_file_version(profiles):
    path = profiles / "gpus.yaml"
    first = load_catalog(path)
    assert load_catalog(path) is first  # sweeps ask per record: no re-read, no re-validation
    edit(path, lambda d: gpu_entry(d, "RTX 3090").__setitem__("vram_gb", 48))
    assert load_catalog(path).get("RTX 3090").vram_gb == 48  # an edited file is read again


def test_published_model_names_come_from_the_registry(profiles):
    from segbench.families.registry import models

    path = profiles / "published.yaml"
    edit(path, lambda d: d["timings"][0].__setitem__("model", "mask2former-swin-large-coco"))
    assert load_published(path)[0].model == "mask2former-swin-large-coco"
    edit(path, lambda d: d["timings"][0].__setitem__("model", "nope"))
    with pytest.raises(InputError) as err:
        load_published(path)
    assert all(name in str(err.value) for name in models()) and "sam2-large" in str(err.value)
