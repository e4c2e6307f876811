"""The hash chain's canonical encoding at C speed, for verifying a million events.

``bank_desktop.application.chain`` defines the encoding in plain Python and uses it for every
append (a few microseconds beside a commit's fsync). Verification hashes every event of the
store, where that costs seconds; :func:`fast_digest` writes the same bytes through msgspec
(keys sorted by code point, the same string escapes), with each ``Decimal`` in its exact
plain text. The composition roots of verification (``bank-desktop verify``, the window) build
it from the reference's tag, covered keys and digest, which also serves as the fallback for
what msgspec cannot write (a lone surrogate in damaged data); the application never imports
this module. ``tests/eventstore/test_canonical.py`` proves the two agree on any JSON value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from functools import partial
from typing import Any, Final

import msgspec

from bank_desktop.eventstore.exact_json import decode_metadata, decode_payload, fast_decode
from bank_desktop.eventstore.fold_reading import fold_payloads
from bank_desktop.eventstore.port import FoldFields, FoldPage, RecordedEvent, StoredRow

#: (prev hash, stream id, stream position, event id, type, data, metadata) → hex digest
Digest = Callable[[str, str, int, str, str, Any, Mapping[str, Any]], str]

#: Keys sorted; a Decimal written as its text, which :func:`_data` lets through only when that
#: text is already canonical (no exponent, no trailing zero).
_encoder: Final = msgspec.json.Encoder(order="sorted", decimal_format="number")


def number_text(value: Decimal) -> str:
    """An exact decimal in plain notation, no exponent, no trailing zeros: ``120.35``, ``50``."""
    if not value.is_finite():
        raise TypeError(f"{value} is not a JSON number")
    text = str(value)
    if text[-1] != "0" and "E" not in text:
        return text
    if "E" in text:
        text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _canonical(value: Any) -> Any:
    kind = type(value)
    if kind is Decimal:
        return msgspec.Raw(number_text(value).encode())
    if kind is dict:
        return {key: _canonical(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_canonical(item) for item in value]
    if kind is float:
        raise TypeError("a float has no canonical JSON form")
    return value


_TEXT: Final = frozenset({str})
#: Types the encoder writes in canonical form as they are.
_AS_IS: Final = frozenset({str, int, bool, type(None), msgspec.Raw})


def _data(data: Any) -> Any:
    """``data`` ready for the encoder: as it is when every value is written canonically as it
    is (text, integers, booleans, nulls, numbers already canonical); else a copy with each
    Decimal as its plain text."""
    if type(data) is not dict:
        return _canonical(data)
    kinds = set(map(type, data.values()))
    if kinds <= _AS_IS:
        return data
    if kinds <= _AS_IS_OR_DECIMAL:
        for item in data.values():
            if type(item) is Decimal:
                text = str(item)
                if text[-1] == "0" or "E" in text or not item.is_finite():
                    return {
                        key: msgspec.Raw(number_text(value).encode())
                        if type(value) is Decimal
                        else value
                        for key, value in data.items()
                    }
        return data  # every Decimal's text is canonical: the encoder writes it as it is
    return {key: _canonical(item) for key, item in data.items()}


_AS_IS_OR_DECIMAL: Final = _AS_IS | {Decimal}


def _unraw(value: Any) -> Any:
    """Numbers kept as canonical text back to Decimal (for the reference, which knows no Raw)."""
    if isinstance(value, msgspec.Raw):
        return Decimal(bytes(value).decode())
    if type(value) is dict:
        return {key: _unraw(item) for key, item in value.items()}
    if type(value) is list:
        return [_unraw(item) for item in value]
    return value


def _number(text: str) -> msgspec.Raw:
    """A JSON number with a fraction or an exponent, as its canonical text (``number_text``)."""
    if text[-1] != "0" and "e" not in text and "E" not in text:
        return msgspec.Raw(text.encode())  # already canonical: the usual case
    if "e" in text or "E" in text:
        return msgspec.Raw(number_text(Decimal(text)).encode())
    stripped = text.rstrip("0").rstrip(".") if "." in text else text
    return msgspec.Raw(("0" if stripped in ("-0", "") else stripped).encode())


#: Decodes JSON for hashing only: every number with a fraction or an exponent kept as its
#: canonical text.
_canonical_numbers: Final = msgspec.json.Decoder(float_hook=_number).decode


# ── events read as stored, hashed as they are decoded ──────────────────────────────────────

#: What the chain check needs of a chained event read as stored: (its ``prevHash``, its
#: ``hash``, the digest of its content), or None where this path cannot vouch for the digest
#: (then the check computes it from the event itself, the careful way).
Link = tuple[str, str, str]

_FAILURES: Final = (ValueError, TypeError, msgspec.EncodeError)


class StoredReading:
    """Stored rows read for verification: each row's :data:`Link` and its event.

    A digest is vouched for only when its bytes are the canonical encoding for sure: the
    metadata decodes into the covered keys with text values (a msgspec struct: other keys are
    skipped in C, any other value type is refused), the envelope has the types the encoding
    knows, and the data is encoded as decoded, every number as its canonical text. Anything
    else has no link, and the chain check takes the careful path for that event, the row's
    :meth:`event`: exactly what ``read_all`` delivers (data decoded with exact numbers,
    metadata decoded when first asked for).
    """

    def __init__(self, tag: str, covered_keys: Sequence[str], link_keys: tuple[str, str]) -> None:
        prev_key, hash_key = link_keys
        unset = msgspec.UNSET
        fields: list[tuple[str, Any, Any]] = [
            (f"c{index}", str | msgspec.UnsetType, msgspec.field(default=unset, name=key))
            for index, key in enumerate(covered_keys)
        ]
        fields += [
            ("prev", str | msgspec.UnsetType, msgspec.field(default=unset, name=prev_key)),
            ("own", str | msgspec.UnsetType, msgspec.field(default=unset, name=hash_key)),
        ]
        self._tag = tag
        self._metadata: Callable[[str | bytes], Any] = msgspec.json.Decoder(
            msgspec.defstruct("ChainMetadata", fields, gc=False)
        ).decode

    def links(self, rows: Sequence[StoredRow]) -> list[Link | None]:
        """Each row's link, its data decoded for hashing only."""
        tag, metadata, encode, sha256 = self._tag, self._metadata, _encoder.encode, hashlib.sha256
        decode, unset, failures = _canonical_numbers, msgspec.UNSET, _FAILURES
        found: list[Link | None] = []
        add = found.append
        for _, stream_id, position, event_id, type_, text, meta, _ in rows:
            link = None
            if (
                type(position) is int
                and type(stream_id) is str
                and type(event_id) is str
                and type(type_) is str
            ):
                try:
                    chain = metadata(meta)
                    prev, own = chain.prev, chain.own
                    if type(prev) is str and type(own) is str:
                        chain.prev = chain.own = unset
                        content = encode(
                            (tag, prev, stream_id, position, event_id, type_, decode(text), chain)
                        )
                        link = (prev, own, sha256(content).hexdigest())
                except failures:
                    pass
            add(link)
        return found

    @staticmethod
    def events(rows: Sequence[StoredRow]) -> list[RecordedEvent]:
        """The rows' events as ``read_all(..., with_metadata=False)`` delivers them (for the
        checks that read no metadata; decoding the data again is cheaper than sharing one
        decoding with the digest, whose numbers are then Decimals to write)."""
        decode, event = fast_decode, RecordedEvent
        try:  # one comprehension, the fastest loop Python has
            return [
                event(event_id, type_, decode(text), stream_id, position, at, created, None)
                for at, stream_id, position, event_id, type_, text, _, created in rows
            ]
        except ValueError:  # a damaged payload: row by row, as read_all does
            pass
        out: list[RecordedEvent] = []
        for at, stream_id, position, event_id, type_, text, _, created in rows:
            try:
                data = decode(text)
            except ValueError:
                data = decode_payload(text, stream_id, position)
            out.append(event(event_id, type_, data, stream_id, position, at, created, None))
        return out

    @staticmethod
    def fold_page(rows: Sequence[StoredRow], fields: FoldFields) -> FoldPage:
        """The rows as a ``FoldReader`` page (what a rebuild folds): each payload decoded into
        just the fields ``fields`` name, and every event the fold must see whole (a type not
        named, data that is not a JSON object) as the row's event without metadata."""
        raw = [
            (at, stream_id, position, type_, text)
            for at, stream_id, position, _, type_, text, _, _ in rows
        ]

        def whole(positions: Iterable[int]) -> dict[int, RecordedEvent]:
            wanted = set(positions)
            return {row[0]: lean(row) for row in rows if row[0] in wanted}

        return FoldPage(raw, fold_payloads(raw, fields, whole), rows[-1][3] if rows else None)

    @staticmethod
    def event(row: StoredRow) -> RecordedEvent:
        """The row's event, as ``read_all`` delivers it."""
        global_position, stream_id, position, event_id, type_, text, meta, created = row
        try:
            data = fast_decode(text)
        except ValueError:
            data = decode_payload(text, stream_id, position)
        return RecordedEvent(
            event_id,
            type_,
            data,
            stream_id,
            position,
            global_position,
            created,
            partial(decode_metadata, meta, stream_id, position),
        )


def fast_digest(
    tag: str, covered_keys: Sequence[str], link_keys: Sequence[str], reference: Digest
) -> Digest:
    """A digest equal to ``reference`` (``application.chain.event_digest``, whose ``tag``,
    ``covered_keys`` and the metadata keys of its links are given), computed through msgspec;
    ``reference`` computes what msgspec cannot."""
    keys = tuple(covered_keys)
    links = tuple(link_keys)
    allowed = frozenset((*keys, *links))
    encode = _encoder.encode
    sha256 = hashlib.sha256

    def digest(  # noqa: PLR0917 - positional: called once per event verified
        prev: str,
        stream_id: str,
        position: int,
        event_id: str,
        type_: str,
        data: Any,
        metadata: Mapping[str, Any],
    ) -> str:
        covered: Any
        if type(metadata) is dict and metadata.keys() <= allowed:
            covered = metadata.copy()  # the usual case: the links are all there is to drop
            for link in links:
                covered.pop(link, None)
        else:
            covered = {key: metadata[key] for key in keys if key in metadata}
        try:
            if not set(map(type, covered.values())) <= _TEXT:
                covered = {key: _canonical(value) for key, value in covered.items()}
            if type(position) is not int:
                raise TypeError("a stream position must be an integer")
            text = encode((tag, prev, stream_id, position, event_id, type_, _data(data), covered))
        except (TypeError, ValueError, UnicodeEncodeError, msgspec.EncodeError):
            return reference(
                prev, stream_id, position, event_id, type_, _unraw(data), _unraw(metadata)
            )
        return sha256(text).hexdigest()

    return digest


def lean(row: StoredRow) -> RecordedEvent:
    """The row's event as ``read_all(..., with_metadata=False)`` delivers it."""
    global_position, stream_id, position, event_id, type_, text, _, created = row
    try:
        data = fast_decode(text)
    except ValueError:
        data = decode_payload(text, stream_id, position)
    return RecordedEvent(event_id, type_, data, stream_id, position, global_position, created, None)
