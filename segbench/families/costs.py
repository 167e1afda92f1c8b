"""From a query to the family that answers it: a model's counted building blocks (cached in the
profile `footprints.yaml`, else counted now on the `meta` device) and the footprint of one step,
assembled by the model's family. The vocabulary (`Query`, `ModelCounts`, `Footprint`) is
`segbench.cost.footprint`'s; this is the dispatch above the families.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from segbench.cost.footprint import Footprint, ModelCounts, Query, is_half
from segbench.errors import InputError
from segbench.families.registry import build_on_meta, check_serves, default_classes, family_of, get_spec, with_classes
from segbench.profiles import profile_path
from segbench.profiles.reading import read_yaml

CACHE_FILE = "footprints.yaml"


def count_model(name: str, size: tuple[int, ...] | None = None, classes: int | None = None) -> ModelCounts:
    """Count a registered model's building blocks from its real architecture on `meta` (seconds)."""
    import torch

    spec = with_classes(name, classes)
    size = tuple(int(s) for s in (size or spec.default_resolution))
    cost = family_of(spec).cost_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = build_on_meta(spec, size)
    extra = {**cost.extra(spec), **cost.counted_extra(module, spec)}
    module.requires_grad_(False)  # FlopCounterMode's module hooks trip over leaf views otherwise
    params = sum(p.numel() for p in module.parameters())
    buffers = sum(b.numel() * b.element_size() for b in module.buffers())
    blocks = {key: cost.count_blocks(module, spec, size, half)
              for key, half in (("fp32", None), ("half", torch.bfloat16))}
    return ModelCounts(spec.name, size, params, buffers, blocks, extra)


_memo: dict[tuple[str, tuple[int, ...], int | None], ModelCounts] = {}
_cache_loaded: dict[str, dict[tuple[str, tuple[int, ...]], ModelCounts]] = {}


def cache_path() -> Path:
    return profile_path(CACHE_FILE)


def load_cache(path: Path | None = None) -> dict[tuple[str, tuple[int, ...]], ModelCounts]:
    """{(model, size): ModelCounts} from the cache file; an absent file is an empty cache."""
    path = Path(path) if path else cache_path()
    key = str(path)
    if key in _cache_loaded:
        return _cache_loaded[key]
    out: dict[tuple[str, tuple[int, ...]], ModelCounts] = {}
    if path.exists():
        data = read_yaml(path) or {}
        if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
            raise InputError(f"{path}: expected a 'models:' mapping; regenerate it with "
                             "python -m segbench.maintenance footprints")
        for model, sizes in data["models"].items():
            for text, entry in (sizes or {}).items():
                try:
                    size = tuple(int(v) for v in str(text).split("x"))
                    out[(str(model), size)] = ModelCounts.from_dict(str(model), size, entry)
                except (KeyError, TypeError, ValueError) as exc:
                    raise InputError(f"{path}: models: {model}: {text}: malformed entry ({exc}); "
                                     "regenerate it with python -m segbench.maintenance footprints") from None
    _cache_loaded[key] = out
    return out


def forget_cache(path: Path | None = None) -> None:
    _cache_loaded.pop(str(Path(path) if path else cache_path()), None)


def model_counts(name: str, size: tuple[int, ...] | None = None, classes: int | None = None) -> ModelCounts:
    """The cached counts where present (models as registered), else counted now and kept for this process."""
    spec = get_spec(name)
    size = tuple(int(s) for s in (size or spec.default_resolution))
    if classes is not None and classes == default_classes(spec.name):
        classes = None
    cached = load_cache().get((spec.name, size)) if classes is None else None
    if cached is not None:
        return cached
    key = (spec.name, size, classes)
    if key not in _memo:
        _memo[key] = count_model(spec.name, size, classes)
    return _memo[key]


def cached_sizes(name: str) -> list[tuple[int, ...]]:
    """The sizes the cache holds for a model: its published size, plus any its family adds."""
    spec = get_spec(name)
    extra = family_of(spec).cost_model().extra_cached_sizes(spec)
    return [tuple(spec.default_resolution), *[tuple(s) for s in extra if tuple(s) != tuple(spec.default_resolution)]]


def footprint(q: Query) -> Footprint:
    """The footprint of one step of `q`, assembled by the model's family."""
    spec = get_spec(q.model)
    check_serves(spec, q.workload)
    if q.batch_size < 1:
        raise InputError(f"batch size must be 1 or more, got {q.batch_size}")
    is_half(q.precision)
    cost = family_of(spec).cost_model()
    counts = model_counts(spec.name, cost.counted_size(spec, q), q.classes)
    return cost.footprint(q, counts)
