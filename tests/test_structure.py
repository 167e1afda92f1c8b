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


def found(tmp_path, files) -> list[str]:
    return list(S.problems(tree(tmp_path, files), VOCABULARY))


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
