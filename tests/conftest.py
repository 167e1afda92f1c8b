"""Shared fixtures. Tests run on small inputs: 2 CPU cores must finish the suite in minutes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `tests.toy` and `tests.fakes` are importable from subprocesses too
    sys.path.insert(0, str(ROOT))

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run in an empty folder, so default `results/` and `reports/` land in tmp."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def cli_runner():
    from click.testing import CliRunner

    return CliRunner()

# Measured rooflines are cached per machine; the tests keep theirs apart from the user's.
os.environ.setdefault("SEGBENCH_CACHE", str(Path(__import__("tempfile").mkdtemp(prefix="segbench-test-cache-"))))
