"""The one place that turns failures into one line and an exit code (and --debug, which does not)."""

from __future__ import annotations

import click
import pytest

from segbench import cli as cli_module
from segbench.cli import cli
from segbench.errors import InputError
from tests.cli_checks import one_line_error


def add_command(monkeypatch, name: str, command: click.Command) -> None:
    """Register `command` under `name` the way real commands are (lazily, by module path)."""
    import sys

    monkeypatch.setattr(sys.modules[__name__], name.upper(), command, raising=False)
    monkeypatch.setitem(cli_module.COMMANDS, name, f"{__name__}:{name.upper()}")


@pytest.fixture
def broken_command(monkeypatch):
    @click.command()
    def boom() -> None:
        raise ZeroDivisionError("division by zero")

    add_command(monkeypatch, "boom", boom)


def test_user_errors_exit_2_with_one_line(cli_runner):
    assert "unknown model" in one_line_error(cli_runner.invoke(cli, ["run", "--model", "nope"]))


def test_bugs_are_one_line_exit_1_naming_debug(cli_runner, broken_command):
    result = cli_runner.invoke(cli, ["boom"])
    line = one_line_error(result, code=1)
    assert "unexpected ZeroDivisionError" in line and "--debug" in line


def test_debug_shows_the_real_exception(cli_runner, broken_command):
    result = cli_runner.invoke(cli, ["--debug", "boom"])
    assert isinstance(result.exception, ZeroDivisionError)
    result = cli_runner.invoke(cli, ["--debug", "run", "--model", "nope"])
    assert isinstance(result.exception, InputError)


def test_ctrl_c_is_exit_130(cli_runner, monkeypatch):
    @click.command()
    def wait() -> None:
        raise KeyboardInterrupt

    add_command(monkeypatch, "wait", wait)
    result = cli_runner.invoke(cli, ["wait"])
    assert result.exit_code == 130 and "interrupted" in result.stderr
