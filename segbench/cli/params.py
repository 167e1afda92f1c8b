"""Parsers for command-line values, as plain functions (property-tested) and Click types."""

from __future__ import annotations

import math
import re
from typing import Any, Callable

import click

from segbench import limits as L
from segbench.advisor.data.tiers import parse_price
from segbench.errors import InputError

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 2**10,
    "kb": 10**3,
    "kib": 2**10,
    "m": 2**20,
    "mb": 10**6,
    "mib": 2**20,
    "g": 2**30,
    "gb": 10**9,
    "gib": 2**30,
    "t": 2**40,
    "tb": 10**12,
    "tib": 2**40,
}
MAX_BATCH = L.BATCH_SIZE[1]


def parse_int_list(text: str, what: str = "batch sizes", maximum: int = MAX_BATCH) -> list[int]:
    """'1,2,4,8' -> [1, 2, 4, 8]; each a positive integer, no duplicates, order kept."""
    parts = [p.strip() for p in str(text).split(",")]
    if not parts or any(not p for p in parts):
        raise InputError(f"{what} must be a comma-separated list of positive integers, got '{text}'")
    values: list[int] = []
    for part in parts:
        if not re.fullmatch(r"\+?\d+", part):
            raise InputError(f"{what}: '{part}' is not a positive integer")
        value = int(part)
        if value < 1:
            raise InputError(f"{what}: {value} is impossible; use 1 or more")
        if value > maximum:
            raise InputError(f"{what}: {value} is larger than {maximum}")
        if value not in values:
            values.append(value)
    return values


def parse_name_list(values: tuple[str, ...] | list[str]) -> list[str]:
    """Repeated options and comma lists alike: ('a,b', 'c') -> ['a', 'b', 'c']."""
    out: list[str] = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def parse_bytes(text: str) -> int:
    """'8G', '512MiB', '2.5GB', '1000000' -> bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
    if not match or match.group(2).lower() not in _SIZE_UNITS:
        raise InputError(f"'{text}' is not a memory size (e.g. 8G, 512MiB, 2GB)")
    value = float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()]
    if value < 1:
        raise InputError(f"memory size must be positive, got '{text}'")
    return int(value)


def parse_model_size(text: str) -> tuple[int, int]:
    """'1024' -> (1024, 1024); '640x480' (WxH) -> (480, 640) as (h, w)."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+))?\s*", str(text))
    if not match:
        raise InputError(f"model size must be N or WxH, got '{text}'")
    w = int(match.group(1))
    h = int(match.group(2) or w)
    if not (32 <= w <= 8192 and 32 <= h <= 8192):
        raise InputError(f"model size {w}x{h} is out of range (32..8192)")
    return h, w


def parse_floats(text: str, count: int, what: str) -> tuple[float, ...]:
    """'12,40.5' -> (12.0, 40.5): exactly `count` finite non-negative numbers."""
    parts = str(text).split(",")
    try:
        values = tuple(float(p) for p in parts if re.fullmatch(r"\s*\d+(\.\d+)?\s*", p))
    except ValueError:
        values = ()
    if len(parts) != count or len(values) != count:
        raise InputError(f"{what} must be {count} non-negative numbers separated by commas, got '{text}'")
    return values


def parse_point(text: str) -> tuple[float, float]:
    """'X,Y' in pixels of the input image."""
    x, y = parse_floats(text, 2, "--point")
    return x, y


def parse_box(text: str) -> tuple[float, float, float, float]:
    """'X0,Y0,X1,Y1' in pixels, with X1 > X0 and Y1 > Y0."""
    x0, y0, x1, y1 = parse_floats(text, 4, "--box")
    if x1 <= x0 or y1 <= y0:
        raise InputError(f"--box {text}: needs X0,Y0,X1,Y1 with X1 > X0 and Y1 > Y0")
    return x0, y0, x1, y1


def parse_share(text: str) -> float:
    """'2%' or '0.02' as a fraction in [0, 1]."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise InputError(f"'{text}' is not a share: give e.g. 2% or 0.02") from None
    if not 0 <= value <= 1:
        raise InputError(f"'{text}' must be between 0 and 100%")
    return value


class Parsed(click.ParamType):
    """A Click type that delegates to one of the parsers above (errors become Click usage errors)."""

    def __init__(self, parser: Callable[[str], Any], name: str) -> None:
        self.parser = parser
        self.name = name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return self.parser(value)
        except InputError as exc:
            self.fail(str(exc), param, ctx)


class _Finite:
    """Refuses nan and ±inf, which Python's float() reads and a range check lets through (nan compares
    false with every bound): no option of segbench means a number that is not one."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)  # type: ignore[misc]
        if number is not None and not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)  # type: ignore[attr-defined]
        return number


class FiniteFloat(_Finite, click.types.FloatParamType):
    """A float option: any finite number."""


class FiniteRange(_Finite, click.FloatRange):
    """click.FloatRange that is also finite."""


FINITE = FiniteFloat()
INT_LIST = Parsed(parse_int_list, "list")
SHARE = Parsed(parse_share, "share")
BYTES = Parsed(parse_bytes, "size")
MODEL_SIZE = Parsed(parse_model_size, "size")
PRICE = Parsed(parse_price, "NAME=USD")
POINT = Parsed(parse_point, "X,Y")
BOX = Parsed(parse_box, "X0,Y0,X1,Y1")

# --classes in run, check and recommend: one option, one range (a family may narrow it, with its own message).
CLASSES_OPTION = click.option(
    "--classes", type=click.IntRange(*L.CLASSES), default=None,
    help="Output classes for models that have them (3D networks, Mask2Former, YOLO-seg, Mask R-CNN); default: each model's own "
         "(whole-body CT models label 105-117 structures).")


def job_options(command):
    """--images, --epochs, --label-seconds: the size of a labeling job, for the advice that compares SAM's
    automatic masks on every image with labeling a few and fine-tuning a small model (check and recommend)."""
    for option in reversed((
        click.option("--images", "dataset_images", type=click.IntRange(1), default=None,
                     help="How many images the job has (10K+ compares automatic masks with fine-tuning a small model)."),
        click.option("--epochs", type=click.IntRange(1, 10000), default=None,
                     help="Fine-tuning epochs of the small model in that comparison (default 100, Ultralytics')."),
        click.option("--label-seconds", type=FiniteRange(0, 3600), default=None,
                     help="Your seconds per image to check and correct SAM's masks (default 20, an assumption)."),
    )):
        command = option(command)
    return command
