"""Reading profile YAML files with validation that names the file, the entry and the field.

Profiles are hand-edited data, so every mistake (a missing field, a number typed as text, a typo
in a field name) must come back as one `InputError` line a user can act on, never a KeyError
deep inside the advisor.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from segbench.errors import InputError
from segbench.profiles import PROFILES_ENV

_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


def read_yaml(path: Path) -> Any:
    """`yaml.safe_load` of `path`, with unreadable or malformed files as one-line InputErrors."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: profile file not found (check the path or ${PROFILES_ENV})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read profile file ({exc})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise InputError(f"{path}:{where}: not valid YAML ({problem})") from None


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class Entry:
    """One mapping from a profile file; typed getters raise InputError naming file/entry/field."""

    def __init__(self, data: Any, path: Path, where: str, allowed: Iterable[str]) -> None:
        self.path = path
        self.where = where
        if not isinstance(data, dict):
            raise InputError(f"{path}: {where}: expected a mapping of fields, got {_type_name(data)}")
        self.data = data
        unknown = sorted(str(k) for k in data if k not in set(allowed))
        if unknown:
            raise InputError(
                f"{path}: {where}: unknown field '{unknown[0]}' (allowed: {', '.join(sorted(allowed))})"
            )

    @classmethod
    def listed(cls, raw: Any, path: Path, section: str, index: int, allowed: Iterable[str], key: str = "name") -> Entry:
        """Item `index` of the list `section`, named in messages by its `key` field where it has one."""
        label = raw.get(key) if isinstance(raw, dict) and isinstance(raw.get(key), str) else f"#{index}"
        return cls(raw, path, f"{section}[{index}] ({label})", allowed)

    def fail(self, field: str, message: str) -> InputError:
        return InputError(f"{self.path}: {self.where}: field '{field}' {message}")

    def _get(self, field: str, required: bool) -> Any:
        if field not in self.data:
            if required:
                raise self.fail(field, "is missing")
            return None
        return self.data[field]

    def text(self, field: str, required: bool = True) -> str | None:
        value = self._get(field, required)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, f"must be a non-empty string, got {_type_name(value)} {value!r}")
        return value.strip()

    def number(self, field: str, required: bool = True, minimum: float | None = 0.0,
               positive: bool = False) -> float | None:
        value = self._get(field, required)
        if value is None and not required:
            return None
        if not _is_number(value):
            raise self.fail(field, f"must be a number, got {_type_name(value)} {value!r}")
        if positive and value <= 0:
            raise self.fail(field, f"must be > 0, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.fail(field, f"must be >= {minimum:g}, got {value!r}")
        return float(value)

    def integer(self, field: str, required: bool = True, minimum: int = 1) -> int | None:
        value = self._get(field, required)
        if value is None and not required:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise self.fail(field, f"must be an integer >= {minimum}, got {_type_name(value)} {value!r}")
        return value

    def flag(self, field: str, default: bool = False) -> bool:
        value = self._get(field, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(field, f"must be true or false, got {_type_name(value)} {value!r}")
        return value

    def choice(self, field: str, options: Iterable[str], required: bool = True,
               default: str | None = None) -> str | None:
        options = tuple(options)
        value = self._get(field, required)
        if value is None and not required:
            return default
        if value not in options:
            raise self.fail(field, f"must be one of {', '.join(options)}, got {value!r}")
        return value

    def strings(self, field: str, required: bool = True) -> tuple[str, ...]:
        value = self._get(field, required)
        if value is None and not required:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(field, f"must be a list of strings, got {_type_name(value)} {value!r}")
        return tuple(v.strip() for v in value)

    def price_range(self, field: str, required: bool = True) -> tuple[float, float] | None:
        """[low, high] in USD, 0 <= low <= high; `null` where there is no such price."""
        value = self._get(field, required)
        if value is None:
            return None
        if (not isinstance(value, list) or len(value) != 2 or not all(_is_number(v) for v in value)
                or not 0 <= value[0] <= value[1]):
            raise self.fail(field, f"must be [low, high] with 0 <= low <= high, or null; got {value!r}")
        return (float(value[0]), float(value[1]))

    def date(self, field: str, required: bool = True) -> str | None:
        value = self._get(field, required)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not _DATE.match(value):
            raise self.fail(field, f"must be a quoted date \"YYYY-MM\" or \"YYYY-MM-DD\", got {value!r}")
        return value

    def sub(self, field: str, allowed: Iterable[str], required: bool = True) -> Entry | None:
        value = self._get(field, required)
        if value is None and not required:
            return None
        return Entry(value, self.path, f"{self.where}: {field}", allowed)


def top_level(data: Any, path: Path, required: Iterable[str], optional: Iterable[str] = ()) -> dict:
    """The file's top-level mapping, with its required sections present."""
    required = tuple(required)
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping with {', '.join(required)} at the top, got {_type_name(data)}")
    for key in required:
        if key not in data:
            raise InputError(f"{path}: top-level section '{key}' is missing")
    unknown = sorted(str(k) for k in data if k not in set(required) | set(optional))
    if unknown:
        raise InputError(f"{path}: unknown top-level section '{unknown[0]}'")
    return data


def section_list(data: Mapping, key: str, path: Path) -> list:
    value = data.get(key)
    if not isinstance(value, list):
        raise InputError(f"{path}: section '{key}' must be a list, got {_type_name(value)}")
    return value


def section_map(data: Mapping, key: str, path: Path) -> dict:
    value = data.get(key)
    if not isinstance(value, dict):
        raise InputError(f"{path}: section '{key}' must be a mapping, got {_type_name(value)}")
    return value
