"""The architecture's rules, checked from the source by scripts/check_structure.py: on segbench itself,
and on small broken trees to show each rule can fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import check_structure as S  # noqa: E402

VOCABULARY = ({"sam2", "sam2.1-tiny", "monai"}, {"sam2", "monai"})


def test_segbench_keeps_its_structure():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_structure.py")], capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 problem(s)" in done.stderr


def tree(tmp_path: Path, files: dict[str, str]) -> dict:
    for name, text in files.items():
        path = tmp_path / "segbench" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for folder in {p.parent for p in (tmp_path / "segbench").rglob("*.py")} | {tmp_path / "segbench"}:
        (folder / "__init__.py").touch()
    return S.read_modules(tmp_path)


KNOBS = {"vos_optimized"}


def found(tmp_path, files) -> list[str]:
    return list(S.problems(tree(tmp_path, files), VOCABULARY, KNOBS))


def test_a_lazy_import_cycle_is_found(tmp_path):
    problems = found(tmp_path, {"a.py": "def f():\n    from segbench import b\n", "b.py": "import segbench.a\n"})
    assert problems == ["import cycle: segbench.a -> segbench.b"]


def test_the_library_importing_the_cli_or_a_ui_library_is_found(tmp_path):
    problems = found(tmp_path, {"cli/run.py": "", "report/x.py": "from segbench.cli.run import y\nimport rich\n"})
    assert any("segbench.report.x imports segbench.cli.run" in p for p in problems)
    assert any("segbench.report.x imports rich" in p for p in problems)


def test_advisor_layers_import_one_way(tmp_path):
    problems = found(tmp_path, {"advisor/data/catalog.py": "from segbench.advisor.check import check\n",
                                "advisor/check.py": ""})
    assert any("segbench.advisor.data.catalog imports segbench.advisor.check" in p for p in problems)


def test_more_than_three_modules_naming_a_family_is_found(tmp_path):
    files = {f"m{i}.py": 'MODEL = "sam2.1-tiny"\n' for i in range(3)}
    files["families/sam2/x.py"] = 'NAME = "sam2"\n'  # inside families/: allowed
    files["doc.py"] = '"""sam2 in prose is fine."""\n'
    assert found(tmp_path, files) == []
    files["m3.py"] = "import monai\n"
    (problem,) = found(tmp_path, files)
    assert problem.startswith("4 modules outside families/ and profiles/ name a family") and "import monai" in problem


@pytest.mark.parametrize("text", ['x = "sam2.1-tiny-ish"', 'x = "monai-unet"', "from sam2.build_sam import f"])
def test_what_counts_as_naming_a_family(tmp_path, text):
    modules = tree(tmp_path, {"m.py": text + "\n"})
    assert "segbench.m" in S.naming_modules(modules, ({"sam2", "sam2.1-tiny", "monai"}, {"sam2"}))


def test_the_seams_hold(tmp_path):
    problems = found(tmp_path, {"bench/point.py": "from segbench.advisor import peak\n", "advisor/__init__.py": "",
                                "workloads/volume.py": "from segbench.families.registry import family_of\n",
                                "records/environment.py": "from segbench.families.registry import x\n",
                                "cost/footprint.py": "import segbench.families.base\n",
                                "families/registry.py": "", "families/base.py": ""})
    assert any("segbench.bench.point imports segbench.advisor" in p for p in problems)
    assert any("segbench.workloads.volume imports segbench.families.registry" in p for p in problems)
    assert any("segbench.records.environment imports segbench.families.registry" in p for p in problems)
    assert any("segbench.cost.footprint imports segbench.families.base" in p for p in problems)


def test_a_family_imports_only_base_shared_and_itself(tmp_path):
    problems = found(tmp_path, {
        "families/base.py": "", "families/registry.py": "", "families/_shared/sam_still.py": "",
        "families/sam2/still.py": "", "families/sam2/cost.py": "from segbench.families.sam2 import still\n",
        "families/sam1/still.py": ("from segbench.families._shared.sam_still import x\n"
                                   "from segbench.families.base import Family\n"
                                   "from segbench.families.sam2.still import SamImage\n"),
        "families/sam1/__init__.py": "from segbench.families.registry import register\n",
    })
    assert problems == [
        "segbench.families.sam1 imports segbench.families.registry: a family imports only families.base, "
        "families._shared and itself",
        "segbench.families.sam1.still imports segbench.families.sam2.still: a family imports only families.base, "
        "families._shared and itself",
    ]


def test_a_knob_of_one_family_is_declared_by_that_family(tmp_path):
    problems = found(tmp_path, {"bench/plan.py": "class Plan:\n    models: list\n    vos_optimized: bool = False\n",
                                "families/sam2/loading.py": "class Options:\n    vos_optimized: bool = False\n"})
    assert problems == ["segbench.bench.plan declares 'vos_optimized', an option of one family: declare it in "
                        "Family.options"]
