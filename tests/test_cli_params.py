"""Property tests of the command-line parsers: valid text round-trips, anything else is an InputError."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segbench.cli.params import MAX_BATCH, parse_bytes, parse_int_list, parse_model_size, parse_name_list, parse_price
from segbench.errors import InputError

FAST = settings(max_examples=200, deadline=None)


@FAST
@given(st.lists(st.integers(1, MAX_BATCH), min_size=1, max_size=8))
def test_batch_lists_round_trip(values):
    parsed = parse_int_list(",".join(map(str, values)))
    assert parsed == list(dict.fromkeys(values))  # order kept, duplicates dropped


@FAST
@given(st.text(max_size=20))
def test_batch_list_never_raises_anything_but_input_error(text):
    try:
        values = parse_int_list(text)
    except InputError:
        return
    assert values and all(1 <= v <= MAX_BATCH for v in values)


@pytest.mark.parametrize("bad", ["0", "-1", "1,0", "", ",", "1,,2", "2.5", "1e3", "x", str(MAX_BATCH + 1)])
def test_impossible_batch_sizes(bad):
    with pytest.raises(InputError):
        parse_int_list(bad)


@FAST
@given(st.integers(1, 10**6), st.sampled_from(["", "k", "KiB", "M", "MiB", "G", "GB", "gib"]))
def test_bytes_round_trip(n, unit):
    factor = {"": 1, "k": 1024, "kib": 1024, "m": 2**20, "mib": 2**20, "g": 2**30, "gb": 10**9, "gib": 2**30}[unit.lower()]
    assert parse_bytes(f"{n}{unit}") == n * factor


@FAST
@given(st.text(max_size=12))
def test_bytes_never_raises_anything_but_input_error(text):
    try:
        assert parse_bytes(text) >= 1
    except InputError:
        pass


@FAST
@given(st.integers(32, 8192), st.integers(32, 8192))
def test_model_size_round_trip(w, h):
    assert parse_model_size(f"{w}x{h}") == (h, w)
    assert parse_model_size(str(w)) == (w, w)


@FAST
@given(st.text(max_size=12))
def test_model_size_never_raises_anything_but_input_error(text):
    try:
        h, w = parse_model_size(text)
        assert 32 <= h <= 8192 and 32 <= w <= 8192
    except InputError:
        pass


@FAST
@given(st.text(alphabet=st.characters(blacklist_characters="=\n\r", blacklist_categories=("Cs",)), min_size=1, max_size=20)
       .filter(lambda s: s.strip()), st.integers(0, 100_000))
def test_price_round_trip(name, usd):
    assert parse_price(f"{name}={usd}") == (name.strip(), float(usd))


@FAST
@given(st.text(max_size=30))
def test_price_never_raises_anything_but_input_error(text):
    try:
        name, usd = parse_price(text)
        assert name and usd >= 0
    except InputError:
        pass


@pytest.mark.parametrize("bad", ["RTX 3060", "=300", "RTX 3060=-5", "RTX 3060=cheap", "RTX 3060=nan", "RTX 3060=inf"])
def test_bad_price_overrides(bad):
    with pytest.raises(InputError, match="NAME=USD"):
        parse_price(bad)


def test_name_lists_accept_repeats_and_commas():
    assert parse_name_list(("sam2.1-tiny,sam2.1-large", "sam2.1-tiny", " image ")) == ["sam2.1-tiny", "sam2.1-large", "image"]
