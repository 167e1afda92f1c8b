"""Assertions shared by CLI tests."""

from __future__ import annotations


def one_line_error(result, code: int = 2) -> str:
    """The command failed with `code`, printed exactly one error line (its last line) and no traceback."""
    assert result.exit_code == code, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    assert len(errors) == 1 and errors[0] == lines[-1], result.stderr
    assert "Traceback" not in result.output
    return errors[0]
