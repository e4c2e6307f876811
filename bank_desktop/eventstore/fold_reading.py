"""Reading events for a fold (``FoldReader``): each payload decoded into just the fields read.

msgspec decodes a JSON object straight into a small struct of the named fields, skipping the
rest without building them (descriptions, ids, flags nobody folds), with the same exact
numbers as the everyday decoding (fractions as ``Decimal``, never through ``float``). The
fields are typed ``Any`` and default to None, so each attribute holds exactly what
``data.get(field)`` would: the fold checks values the same way whichever way they were read.

A payload that is not a JSON object (or not JSON) is not guessed at: the adapter hands the
fold that event as a :class:`RecordedEvent` instead, and the fold's careful path says what is
wrong with it, as it would for any event.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

import msgspec

from bank_desktop.eventstore.port import FoldFields, RecordedEvent

#: A type's decoder: bytes or text to its struct (msgspec.DecodeError, a ValueError, when the
#: payload is not a JSON object), or to None for a type read without its data.
Decoder = Callable[[bytes | str], Any]

#: The rows an adapter reads for a fold: global position, stream id, stream position, type,
#: and the stored data (JSON bytes or text).
RawRow = tuple[int, str, int, str, bytes | str]

_cache: dict[tuple[tuple[str, tuple[str, ...]], ...], dict[str, Decoder]] = {}
_cache_lock = threading.Lock()
_CACHE_MAX: Final = 16


def fold_decoders(fields: FoldFields) -> Mapping[str, Decoder]:
    """A decoder per named type (one struct class per distinct field list), built once per
    FoldFields: a fold passes the same mapping for every page. A type mapped to ``()``
    "decodes" to None without looking at its data."""
    key = tuple(fields.items())
    decoders = _cache.get(key)
    if decoders is not None:
        return decoders
    with _cache_lock:
        structs: dict[tuple[str, ...], Decoder] = {}
        built: dict[str, Decoder] = {}
        for event_type, names in key:
            if not names:
                built[event_type] = _nothing
                continue
            if names not in structs:
                struct = msgspec.defstruct(
                    f"FoldPayload{len(structs)}",
                    [(name, Any, None) for name in names],
                    gc=False,  # plain values only: nothing for the cyclic collector to track
                )
                structs[names] = msgspec.json.Decoder(struct, float_hook=Decimal).decode
            built[event_type] = structs[names]
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[key] = built
    return built


def fold_payloads(
    raw: Sequence[RawRow],
    fields: FoldFields,
    careful: Callable[[Iterable[int]], Mapping[int, RecordedEvent]],
) -> list[Any]:
    """The payload of each of ``raw`` rows for a fold (see ``FoldPage``); ``careful(positions)``
    reads the events at those global positions whole (without metadata), for every row the
    fold must see whole."""
    get = fold_decoders(fields).get
    asked: list[None] = []  # one entry per row to be read whole (none, nearly always)

    def whole(_: bytes | str) -> Any:
        asked.append(None)
        return _WHOLE

    try:  # one comprehension, the fastest loop Python has
        payloads = [get(event_type, whole)(data) for _, _, _, event_type, data in raw]
    except ValueError:  # a payload that is not a JSON object, or not JSON: row by row
        payloads = [_payload(get(row[3], whole), row[4]) for row in raw]
        asked.append(None)
    if not asked:
        return payloads
    whole_rows = [index for index, payload in enumerate(payloads) if payload is _WHOLE]
    if whole_rows:
        events = careful([raw[index][0] for index in whole_rows])
        for index in whole_rows:
            payloads[index] = events[raw[index][0]]
    return payloads


def _payload(decode: Callable[[bytes | str], Any], data: bytes | str) -> Any:
    try:
        return decode(data)
    except ValueError:
        return _WHOLE


def _nothing(_: bytes | str) -> None:
    return None


_WHOLE: Final[Any] = object()
