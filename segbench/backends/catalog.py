"""Every backend segbench knows, read from its descriptor (`BACKEND` in `segbench/backends/<name>.py`).

Adding a backend is its file plus its name here: `run --backend`, `tune`'s trials and `check --backend`
read the list and each descriptor's rules from this module.
"""

from __future__ import annotations

import importlib

from segbench.backends.base import Backend
from segbench.errors import InputError

# Eager first (the reference), then the other harness, then the runtimes in the order tune tries them.
MODULES = ("eager", "official", "onnxruntime", "openvino")


def _load() -> dict[str, Backend]:
    out = {}
    for module in MODULES:
        backend = importlib.import_module(f"segbench.backends.{module}").BACKEND
        out[backend.name] = backend
    return out


BACKENDS: dict[str, Backend] = _load()


def names() -> tuple[str, ...]:
    return tuple(BACKENDS)


def get(name: str, option: str = "--backend") -> Backend:
    """The descriptor of `name`; an unknown name is an input error that lists the known ones."""
    try:
        return BACKENDS[name]
    except KeyError:
        raise InputError(f"unknown {option} '{name}': use {', '.join(BACKENDS)}") from None


def runtimes() -> list[Backend]:
    """The backends that replace a network slot with an exported graph (what tune tries)."""
    return [b for b in BACKENDS.values() if b.replaces == "network"]


def installed_runtimes() -> list[str]:
    return [b.name for b in runtimes() if b.installed()]


def help_text() -> str:
    """For the CLI's --backend: each name and what it runs."""
    return "; ".join(f"{b.name}: {b.help}" for b in BACKENDS.values())


def predictable() -> tuple[str, ...]:
    """What `check --backend` predicts: eager and the backends that replace the network (the official
    loop is another harness, not a speed-up of the model)."""
    return tuple(b.name for b in BACKENDS.values() if b.replaces != "step")
