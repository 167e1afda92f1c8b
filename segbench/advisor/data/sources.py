"""Where a profile figure came from: each profile file's `sources:` section, and price bands."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from segbench.profiles.reading import Entry, section_map


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    url: str | None
    accessed: str


@dataclass(frozen=True)
class PriceInfo:
    """Where a price band came from: `estimate` marks segbench estimates (not quotes)."""

    date: str
    source: str
    estimate: bool


def read_sources(data: Mapping, path: Path) -> dict[str, Source]:
    sources = {}
    for key, raw in section_map(data, "sources", path).items():
        e = Entry(raw, path, f"sources: {key}", ("title", "url", "accessed"))
        url = e.data.get("url")
        if url is not None and not isinstance(url, str):
            raise e.fail("url", f"must be a string or null, got {url!r}")
        if "url" not in e.data:
            raise e.fail("url", "is missing (use null for a source with no address)")
        sources[str(key)] = Source(str(key), e.text("title"), url, e.date("accessed"))
    return sources


def check_source(e: Entry, field_name: str, key: str, sources: Mapping[str, Source]) -> str:
    if key not in sources:
        raise e.fail(field_name, f"refers to source '{key}', which is not in the file's sources: section")
    return key


def read_price(e: Entry, sources: Mapping[str, Source]):
    p = e.sub("price_usd", ("new", "used", "date", "source", "estimate"))
    for key in ("new", "used"):
        if key not in p.data:
            raise p.fail(key, "is missing (use null where there is no such price)")
    info = PriceInfo(p.date("date"), check_source(p, "source", p.text("source"), sources), p.flag("estimate"))
    return p.price_range("new"), p.price_range("used"), info
