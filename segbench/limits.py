"""The stated limits of what a run may be asked for, and the one check that applies them.

A plan file, the options `segbench run` builds a plan from and the Python API all pass the same check:
`Plan.check_shape` (called by `segbench.bench.plan.validate`) walks the plan's dataclasses with
`check_fields`, which takes each field's type from its annotation and its bounds from the class's
`RULES`. The command line's Click ranges reuse these constants, so an option and a plan field refuse
the same values. Every float must be finite everywhere; each bound below is inclusive.

    check_fields(settings, MeasureSettings.RULES, "plan.yaml", "settings.")
"""

from __future__ import annotations

import dataclasses
import functools
import math
import reprlib
import sys
import types
import typing
from typing import Any, Literal, Union

from segbench.errors import InputError
from segbench.inputs.parsing import FRAME_SIDE, MAX_VOLUME_VOXELS, ROI_SIDE, VOLUME_DEPTH, VOLUME_PLANE_SIDE

# -- the limits ---------------------------------------------------------------------------------------
BATCH_SIZE = (1, 4096)  # images per step (objects for video, windows for volume)
MAX_BATCH_SIZES = 64  # batch sizes one plan sweeps
WARMUP = (0, 1000)  # untimed iterations
MIN_ITERS = (1, 100_000)  # timed iterations at least
MAX_ITERS = (1, 1_000_000)  # timed iterations at most (a safety stop)
MIN_TIME_S = (0.0, 3600.0)  # timed seconds at least
MAX_RAM_BYTES = (2**20, 2**50)  # the host-RAM ceiling: 1 MiB .. 1 PiB
SOAK_MINUTES = (0.01, 24 * 60.0)
SOAK_WINDOW_S = (0.1, 3600.0)
SOAK_MAX_TEMP_C = (30.0, 120.0)
TELEMETRY_INTERVAL_S = (0.01, 60.0)  # between samples; None (0 on the command line) turns it off
POINT_TIMEOUT_S = (0.1, 7 * 24 * 3600.0)  # one point's wall-clock limit
FRAMES = (2, 100_000)  # video clip length
POINTS_PER_SIDE = (1, 128)  # automatic masks: the point grid
POINTS_PER_BATCH = (1, 4096)  # automatic masks: points per decoder batch
AUTO_MASKS = (1, 100_000)  # automatic masks kept per image
OVERLAP = (0.0, 0.95)  # sliding-window overlap
RESOLUTION_SIDE = (8, 8192)  # the model's input size, each side (2D: h, w; 3D: the window w, h, d)
CLASSES = (1, 10_000)  # output classes
PROMPT_COORDINATE = (0.0, 1e6)  # pixels of a point or box prompt
MAX_PROMPTS = 1000  # point or box prompts
MAX_DEPTHS = 64  # volume depths of the memory-vs-depth curve
SEED = (0, 2**32 - 1)
MAX_NAMES = 256  # models, workloads, precisions, executions in one plan
MAX_ITEMS = 10_000  # entries of any other list or mapping (input files included)
MAX_TEXT = 4096  # characters of any one string (names, paths, a text prompt)
MAX_PLAN_BYTES = 2**20  # a plan file; a larger one is not a plan someone wrote
MAX_NESTING = 4  # levels of free-form values (a family's options, `extra`)

# FRAME_SIDE, VOLUME_PLANE_SIDE, VOLUME_DEPTH, MAX_VOLUME_VOXELS and ROI_SIDE are re-exported from
# segbench.inputs.parsing (whose size parsers apply them to the user's text), so every limit is found here.
__all__ = ["AUTO_MASKS", "BATCH_SIZE", "CLASSES", "FRAMES", "FRAME_SIDE", "MAX_BATCH_SIZES", "MAX_DEPTHS", "MAX_ITEMS",
           "MAX_ITERS", "MAX_NAMES", "MAX_NESTING", "MAX_PLAN_BYTES", "MAX_PROMPTS", "MAX_RAM_BYTES", "MAX_TEXT",
           "MAX_VOLUME_VOXELS", "MIN_ITERS", "MIN_TIME_S", "OVERLAP", "POINTS_PER_BATCH", "POINTS_PER_SIDE",
           "POINT_TIMEOUT_S", "PROMPT_COORDINATE", "RESOLUTION_SIDE", "ROI_SIDE", "SEED", "SOAK_MAX_TEMP_C",
           "SOAK_MINUTES", "SOAK_WINDOW_S", "TELEMETRY_INTERVAL_S", "VOLUME_DEPTH", "VOLUME_PLANE_SIDE", "WARMUP",
           "Rule", "check_fields", "check_finite", "shown"]


@dataclasses.dataclass(frozen=True)
class Rule:
    """What a field may hold beyond its annotated type: every number in it within `bounds`, every
    string one of `choices`, and between `min_items` and `items` entries where it is a list or mapping."""

    bounds: tuple[float, float] | None = None
    choices: tuple[str, ...] = ()
    items: int = MAX_ITEMS
    min_items: int = 0


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 40
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = 4
_REPR.maxlevel = 2


def shown(value: Any) -> str:
    """A value as an error line quotes it: short, whatever its size or depth (a YAML bomb, a long list)."""
    return _REPR.repr(value)


def check_fields(obj: Any, rules: dict[str, Rule], where: str, path: str = "") -> None:
    """Check every field of the dataclass `obj` against its annotation and `rules`; values read from a
    file (lists where tuples are annotated) are converted in place. A nested dataclass is checked by its
    own `check(where, path)` where it has one. Raises one-line InputErrors naming `where` and the field."""
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        label = path + f.name
        value = getattr(obj, f.name)
        checked = _check(value, hints.get(f.name, Any), rules.get(f.name, Rule()), where, label)
        if checked is not value:
            object.__setattr__(obj, f.name, checked)  # frozen dataclasses too: the same values, as annotated


def check_finite(value: Any, where: str, path: str = "", depth: int = 0) -> None:
    """Refuse NaN and infinity anywhere in a dataclass, list, tuple or mapping (an API request's numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{where}: {path or 'value'} must be a finite number, got {value}")
    if depth > 8:
        return
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            check_finite(getattr(value, f.name), where, path + ("." if path else "") + f.name, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            check_finite(item, where, path, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_finite(item, where, f"{path}.{key}" if path else str(key), depth + 1)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # an annotation naming what its module imports only for type checkers
        module = vars(sys.modules.get(cls.__module__, types.ModuleType("?")))
        out = {}
        for f in dataclasses.fields(cls):
            try:
                out[f.name] = eval(f.type, module) if isinstance(f.type, str) else f.type  # noqa: S307 - own source
            except Exception:
                out[f.name] = Any
        return out


def _check(value: Any, hint: Any, rule: Rule, where: str, label: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return value
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return _check(value, options[0], rule, where, label)
        for option in options:  # the first that takes it
            try:
                return _check(value, option, rule, where, label)
            except InputError:
                continue
        _fail(where, label, " or ".join(_describe(o) for o in options), value)
    if hint is Any or hint is object:
        return _free(value, where, label, 0)
    if origin is Literal:
        if value not in args:
            raise InputError(f"{where}: {label} must be one of {', '.join(map(str, args))}, got {shown(value)}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            _fail(where, label, "true or false", value)
        return value
    if hint is int or hint is float:
        return _number(value, hint, rule, where, label)
    if hint is str:
        return _text(value, rule, where, label)
    if origin in (list, tuple) or hint in (list, tuple):
        return _sequence(value, hint, rule, where, label)
    if origin is dict or hint is dict:
        return _mapping(value, args, rule, where, label)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, hint):
            _fail(where, label, f"a {hint.__name__}", value)
        own = getattr(value, "check", None)
        if callable(own):
            own(where, label + ".")
        else:
            check_fields(value, {}, where, label + ".")
        return value
    if isinstance(hint, type) and not isinstance(value, hint):
        _fail(where, label, _describe(hint), value)
    return value


def _number(value: Any, hint: type, rule: Rule, where: str, label: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (hint is int and not isinstance(value, int)):
        _fail(where, label, _describe(hint), value)
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{where}: {label} must be a finite number, got {value}")
    if rule.bounds is not None:
        lo, hi = rule.bounds
        if not lo <= value <= hi:
            raise InputError(f"{where}: {label} must be between {lo:g} and {hi:g}, got {shown(value)}")
    return value


def _text(value: Any, rule: Rule, where: str, label: str) -> str:
    if not isinstance(value, str):
        _fail(where, label, "text", value)
    if len(value) > MAX_TEXT:
        raise InputError(f"{where}: {label} is longer than {MAX_TEXT} characters")
    if not value.isprintable():  # a newline in a name would split the one-line error that quotes it
        raise InputError(f"{where}: {label} must be one line of printable text, got {shown(value)}")
    if rule.choices and value not in rule.choices:
        raise InputError(f"{where}: {label} must be one of {', '.join(rule.choices)}, got {shown(value)}")
    return value


def _sequence(value: Any, hint: Any, rule: Rule, where: str, label: str) -> Any:
    origin = typing.get_origin(hint) or hint
    args = typing.get_args(hint)
    if not isinstance(value, (list, tuple)):
        _fail(where, label, _describe(hint), value)
    if origin is tuple and args and args[-1] is not Ellipsis:  # a fixed shape: (h, w), (x0, y0, x1, y1)
        if len(value) != len(args):
            _fail(where, label, _describe(hint), value)
        items = [_check(v, a, rule, where, label) for v, a in zip(value, args)]
    else:
        if not rule.min_items <= len(value) <= rule.items:
            raise InputError(f"{where}: {label} must hold between {rule.min_items} and {rule.items} entries, "
                             f"got {len(value)}")
        each = args[0] if args else Any
        try:
            items = [_check(v, each, rule, where, label) for v in value]
        except _WrongType:  # name the list, as the user wrote it: "batch_sizes must be a list of integers"
            _fail(where, label, _describe(hint), value)
    # Unchanged values keep their container (a WHD named tuple stays one); lists from a file become tuples.
    same = isinstance(value, tuple if origin is tuple else list) and all(a is b for a, b in zip(items, value))
    return value if same else (tuple(items) if origin is tuple else items)


def _mapping(value: Any, args: tuple, rule: Rule, where: str, label: str) -> dict:
    if not isinstance(value, dict):
        _fail(where, label, "a mapping", value)
    if len(value) > rule.items:
        raise InputError(f"{where}: {label} must hold at most {rule.items} entries, got {len(value)}")
    key_hint, item_hint = args if len(args) == 2 else (str, Any)
    for key, item in value.items():
        _check(key, key_hint, Rule(), where, f"{label} key")
        value[key] = _check(item, item_hint, Rule(), where, f"{label}.{key}")
    return value


def _free(value: Any, where: str, label: str, depth: int) -> Any:
    """A free-form value (a family's option): what YAML and JSON hold, finite and of bounded size."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return _number(value, float, Rule(), where, label)
    if isinstance(value, str):
        return _text(value, Rule(), where, label)
    if depth >= MAX_NESTING:
        raise InputError(f"{where}: {label} nests deeper than {MAX_NESTING} levels")
    if isinstance(value, (list, tuple)) and len(value) <= MAX_ITEMS:
        items = [_free(v, where, label, depth + 1) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, dict) and len(value) <= MAX_ITEMS and all(isinstance(k, str) for k in value):
        return {k: _free(v, where, f"{label}.{k}", depth + 1) for k, v in value.items()}
    _fail(where, label, "text, a number, or a short list or mapping of them", value)


def _describe(hint: Any) -> str:
    origin, args = typing.get_origin(hint) or hint, typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in args if a is not type(None))
    if origin in (list, tuple):
        if origin is tuple and args and args[-1] is not Ellipsis:
            kinds = {_describe(a) for a in args}
            what = kinds.pop() if len(kinds) == 1 else "values"
            return f"a list of {len(args)} {_plural(what)}"
        return f"a list of {_plural(_describe(args[0]))}" if args else "a list"
    return {bool: "true or false", int: "an integer", float: "a number", str: "text", dict: "a mapping"}.get(
        origin, getattr(origin, "__name__", str(origin)))


def _plural(what: str) -> str:
    for article in ("an ", "a "):
        if what.startswith(article):
            what = what[len(article):]
            return "lists" + what[4:] if what.startswith("list") else what + "s"
    return what


class _WrongType(InputError):
    """A value of the wrong type (not one out of bounds)."""


def _fail(where: str, label: str, expected: str, value: Any) -> typing.NoReturn:
    raise _WrongType(f"{where}: {label} must be {expected}, got {shown(value)}")
