#!/usr/bin/env python3
"""Checks segbench's structure from its source: the rules the architecture stands on.

    python scripts/check_structure.py          # exit 1 and one line per broken rule

1. No import cycles among segbench's modules. Every import counts, at module level or inside a
   function (a lazy import is still a dependency), each to the module it names.
2. Nothing outside `segbench/cli/` imports `segbench.cli` (the library never imports its UI), and
   only the CLI imports click or rich.
3. Family knowledge stays in `segbench/families/` and `segbench/profiles/`: at most
   `MAX_FAMILY_MODULES` other modules may name a registered family, one of its models or a library
   only a family uses (in code: string literals and imports; docstrings and comments are prose).
4. The advisor's layers import one way: data <- model <- evaluate (targets, fromresults) <- check,
   recommend, advice.
5. The seams stay seams (`LAYER_RULES`): the runner (bench) does not import the advisor; records,
   probe, telemetry, inputs and cost do not import families; workloads do not import the registry
   (their model comes with what they need).
6. A family folder imports only `families.base`, `families/_shared/` and itself (never another family,
   the registry or the dispatch above it).
7. A knob only one family honours is declared by that family (`Family.options`): no class outside
   `families/` has a field named like a family's option.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_FAMILY_MODULES = 3
UI_LIBRARIES = ("click", "rich")
# Lower layers first; a module may import its own layer and those before it.
ADVISOR_LAYERS = (
    ("segbench.advisor.limits", "segbench.advisor.data"),
    ("segbench.advisor.model",),
    ("segbench.advisor.evaluate", "segbench.advisor.targets", "segbench.advisor.fromresults"),
    ("segbench.advisor.advice",),
    ("segbench.advisor.check", "segbench.advisor.recommend"),
)


# (importer prefix, imported prefix, why): an import from the first to the second breaks a seam.
LAYER_RULES = (
    ("segbench.bench", "segbench.advisor", "the runner does not import the advisor"),
    ("segbench.records", "segbench.families", "records do not know the families"),
    ("segbench.probe", "segbench.families", "facts about the machine do not know the families"),
    ("segbench.telemetry", "segbench.families", "telemetry does not know the families"),
    ("segbench.inputs", "segbench.families", "inputs do not know the families"),
    ("segbench.cost", "segbench.families", "cost is the vocabulary families write in, below them"),
    ("segbench.workloads", "segbench.families.registry", "a workload's model comes with what it needs"),
    ("segbench.workloads", "segbench.families.costs", "a workload's model comes with what it needs"),
)
# What a family folder may import of `segbench.families`.
FAMILY_IMPORTS = ("segbench.families.base", "segbench.families._shared")


@dataclass
class Module:
    name: str
    path: Path
    imports: set[str] = field(default_factory=set)  # segbench modules it imports
    libraries: set[str] = field(default_factory=set)  # top-level names of other imports
    strings: list[str] = field(default_factory=list)  # string literals in code (not docstrings)
    fields: set[str] = field(default_factory=set)  # names annotated in class bodies (dataclass fields)


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def read_modules(root: Path = ROOT) -> dict[str, Module]:
    """Every module of the `segbench` package under `root` with what it imports and its string literals."""
    files = sorted((root / "segbench").rglob("*.py"))
    modules = {module_name(p, root): Module(module_name(p, root), p) for p in files}
    for module in modules.values():
        tree = ast.parse(module.path.read_text(encoding="utf-8"), str(module.path))
        is_package = module.path.name == "__init__.py"
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    _add(module, modules, alias.name, None)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = module.name.split(".")
                    anchor = anchor if is_package else anchor[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    _add(module, modules, base, alias.name)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                module.strings.append(node.value)
            elif isinstance(node, ast.ClassDef):
                module.fields.update(item.target.id for item in node.body
                                     if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name))
    return modules


def _add(module: Module, modules: dict[str, Module], base: str, name: str | None) -> None:
    if base == "segbench" or base.startswith("segbench."):
        full = f"{base}.{name}" if name else base
        target = full if full in modules else base
        if target in modules and target != module.name:
            module.imports.add(target)
    elif base:
        module.libraries.add(base.split(".")[0])


def cycles(modules: dict[str, Module]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(modules[v].imports):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(modules):
        if v not in index:
            visit(v)
    return found


def family_vocabulary() -> tuple[set[str], set[str]]:
    """(names of families and their models, libraries only families use), from the registry itself."""
    sys.path.insert(0, str(ROOT))
    from segbench.families.registry import families

    names: set[str] = set()
    packages: set[str] = set()
    for family in families().values():
        names.add(family.name)
        packages.update(family.packages)
        for spec in family.models:
            names.update((spec.name, *spec.aliases))
    # A library every family could use (transformers serves several) is a dependency, not knowledge
    # of one family; a family's own library is.
    shared = {"transformers"}
    return names, {p.replace("-", "_") for p in packages} - shared


def family_knobs() -> set[str]:
    """The names of the options families declare (`Family.options`), from the registry itself."""
    sys.path.insert(0, str(ROOT))
    from segbench.families.registry import declared_options

    return set(declared_options())


def family_of_module(module: Module) -> str | None:
    """"sam2" for a module in families/sam2/; None outside a family folder (base, registry, costs, _shared)."""
    parts = module.name.split(".")
    if len(parts) < 3 or parts[:2] != ["segbench", "families"] or parts[2].startswith("_"):
        return None
    if len(parts) == 3 and module.path.name != "__init__.py":
        return None  # a module at the families/ root
    return parts[2]


def seam_problems(modules: dict[str, Module], knobs: set[str]) -> Iterable[str]:
    for module in modules.values():
        for target in sorted(module.imports):
            for importer, imported, why in LAYER_RULES:
                if _under(module.name, importer) and _under(target, imported):
                    yield f"{module.name} imports {target}: {why}"
            family = family_of_module(module)
            if family is not None and _under(target, "segbench.families") \
                    and not _under(target, f"segbench.families.{family}") \
                    and not any(_under(target, allowed) for allowed in FAMILY_IMPORTS):
                yield f"{module.name} imports {target}: a family imports only families.base, families._shared and itself"
        if not module.name.startswith("segbench.families"):
            for name in sorted(module.fields & knobs):
                yield f"{module.name} declares '{name}', an option of one family: declare it in Family.options"


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def naming_modules(modules: dict[str, Module], vocabulary: tuple[set[str], set[str]] | None = None
                   ) -> dict[str, list[str]]:
    names, packages = vocabulary or family_vocabulary()
    pattern = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True))
                         + r")(?![A-Za-z0-9_])")
    out: dict[str, list[str]] = {}
    for module in modules.values():
        if module.name.startswith(("segbench.families", "segbench.profiles")):
            continue
        hits = sorted({m.group(1) for s in module.strings for m in pattern.finditer(s)}
                      | {f"import {lib}" for lib in module.libraries & packages})
        if hits:
            out[module.name] = hits
    return out


def _layer(name: str) -> int | None:
    for level, prefixes in enumerate(ADVISOR_LAYERS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return level
    return None


def problems(modules: dict[str, Module], vocabulary: tuple[set[str], set[str]] | None = None,
             knobs: set[str] | None = None) -> Iterable[str]:
    yield from seam_problems(modules, family_knobs() if knobs is None else knobs)
    for component in cycles(modules):
        yield "import cycle: " + " -> ".join(component)
    for module in modules.values():
        # The CLI and the entry point that starts it (`python -m segbench`).
        in_cli = module.name in ("segbench.cli", "segbench.__main__") or module.name.startswith("segbench.cli.")
        if not in_cli:
            for target in sorted(module.imports):
                if target == "segbench.cli" or target.startswith("segbench.cli."):
                    yield f"{module.name} imports {target}: the library must not import the CLI"
            for lib in sorted(module.libraries & set(UI_LIBRARIES)):
                yield f"{module.name} imports {lib}: only segbench.cli renders"
        level = _layer(module.name)
        if level is not None:
            for target in sorted(module.imports):
                other = _layer(target)
                if other is not None and other > level:
                    yield f"{module.name} imports {target}: the advisor's layers import one way (data, model, " \
                          "evaluate, advice, check/recommend)"
    naming = naming_modules(modules, vocabulary)
    if len(naming) > MAX_FAMILY_MODULES:
        listed = "; ".join(f"{m} ({', '.join(h[:3])})" for m, h in sorted(naming.items()))
        yield f"{len(naming)} modules outside families/ and profiles/ name a family (at most {MAX_FAMILY_MODULES}): {listed}"


def main() -> int:
    modules = read_modules()
    found = list(problems(modules))
    for line in found:
        print(line)
    naming = naming_modules(modules)
    edges = sum(len(m.imports) for m in modules.values())
    print(f"{len(modules)} modules, {edges} imports; {len(found)} problem(s); modules naming a family outside "
          f"families/ and profiles/: {', '.join(sorted(naming)) or 'none'}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
