"""The flags of the options families declare (`segbench.families.base.FamilyOption`): made here from
the registry, so a family's own setting (SAM 3's `--text`, SAM 2.1's `--vos-optimized`) is an edit in
its folder only. Discovering the families imports no model library, so `--help` stays fast."""

from __future__ import annotations

from typing import Any, Callable

import click

from segbench.cli.params import FINITE

_TYPES = {"text": str, "int": int, "float": FINITE}


def family_flags() -> list[Callable]:
    """One click option per declared family option; unset, each is None (the family's default applies)."""
    from segbench.families.registry import declared_options

    out = []
    for option in declared_options().values():
        shown = option.help + ("" if option.kind == "flag" else f" [default: {option.default}]")
        if option.kind == "flag":
            out.append(click.option(option.flag, option.name, is_flag=True, default=None, help=shown))
        else:
            kind = click.Choice(option.choices) if option.kind == "choice" else _TYPES[option.kind]
            out.append(click.option(option.flag, option.name, type=kind, default=None, help=shown))
    return out


def given_family_options(kw: dict[str, Any]) -> dict[str, Any]:
    """The family options given on the command line (a flag left off is not given)."""
    from segbench.families.registry import declared_options

    return {name: kw[name] for name, option in declared_options().items()
            if kw.get(name) is not None and not (option.kind == "flag" and kw[name] is False)}


def with_family_flags(command):
    """A decorator: `command` takes the family flags."""
    for option in reversed(family_flags()):
        command = option(command)
    return command
