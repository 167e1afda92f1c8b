"""Plugin families that fail, fail in one line naming the plugin: a `$SEGBENCH_FAMILIES` module that is
missing, raises at import or exits, a family named like a built-in one, and entry points that raise.
A failed discovery caches nothing: the next call discovers afresh."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from segbench.cli import cli
from segbench.errors import InputError
from segbench.families import registry
from tests.cli_checks import one_line_error

ROOT = Path(__file__).resolve().parents[1]

PLUGINS = {
    "raises_at_import": "raise RuntimeError('the plugin is broken')\n",
    "exits_at_import": "import sys\nsys.exit(3)\n",
    "named_like_sam2": "from dataclasses import replace\nfrom tests.toy import FAMILY as TOY\n"
                       "FAMILY = replace(TOY, name='sam2')\n",
}


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("plugins")
    for name, source in PLUGINS.items():
        (folder / f"{name}.py").write_text(source)
    return folder


@pytest.fixture
def fresh_discovery():
    registry._discovered.cache_clear()
    yield
    registry._discovered.cache_clear()


def segbench(env_families: str, plugin_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """The installed command, as a user runs it (its entry point loads the families before any command)."""
    env = {**os.environ, "SEGBENCH_FAMILIES": env_families,
           "PYTHONPATH": os.pathsep.join([str(plugin_dir), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "segbench", *args], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.mark.parametrize("plugin, says", [
    ("no_such_plugin_module", "ModuleNotFoundError"),
    ("raises_at_import", "RuntimeError: the plugin is broken"),
    ("exits_at_import", "SystemExit"),
    ("tests.toy:NO_SUCH_FAMILY", "AttributeError"),
    ("named_like_sam2", "named 'sam2'"),
])
def test_a_broken_plugin_is_one_line_naming_it(plugin_dir, plugin, says):
    done = segbench(plugin, plugin_dir, "run", "--list-models")
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and "Traceback" not in done.stderr and "unexpected" not in done.stderr, done.stderr
    assert plugin.split(":")[0] in lines[0] and says in lines[0]


def test_a_good_plugin_still_lists(plugin_dir):
    done = segbench("tests.toy", plugin_dir, "run", "--list-models", "--json")
    assert done.returncode == 0, done.stderr
    assert "toy-ok" in done.stdout


def _entry_point(monkeypatch, value: str) -> None:
    point = EntryPoint(name="broken-plugin", value=value, group=registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [point] if group == registry.ENTRY_POINT_GROUP else [])


@pytest.mark.parametrize("value", ["no_such_plugin_module:FAMILY", "raises_at_import:FAMILY"])
def test_an_entry_point_that_raises_is_one_line_naming_it(monkeypatch, plugin_dir, cli_runner, fresh_discovery, value):
    monkeypatch.syspath_prepend(str(plugin_dir))
    _entry_point(monkeypatch, value)
    line = one_line_error(cli_runner.invoke(cli, ["run", "--list-models"]))
    assert "entry point broken-plugin" in line and "unexpected" not in line


def test_a_failed_discovery_leaves_no_half_state(monkeypatch, plugin_dir, fresh_discovery):
    monkeypatch.syspath_prepend(str(plugin_dir))
    monkeypatch.setenv(registry.FAMILIES_ENV, "tests.toy,raises_at_import")
    with pytest.raises(InputError, match="raises_at_import"):
        registry.families()
    with pytest.raises(InputError, match="raises_at_import"):  # asked again: the same answer, not a partial list
        registry.families()
    monkeypatch.setenv(registry.FAMILIES_ENV, "tests.toy")  # the user fixes it: found afresh
    found = registry.families()
    assert "sam2" in found and "toy" in found
