"""Customers: one row per registered customer, and the index a clerk searches them by.

Rows follow ``customer.registered`` and ``customer.details_changed`` (idempotent by stream
revision, like the balances). The search finds customers by any part of their name or
national id, whatever the case and accents (:mod:`~bank_desktop.application.search_text`):
every word of the query must appear in the customer's name or national id. The folded keys
are kept in one list beside the ids, so a search is one C-level substring scan per word
over 100,000 short strings, a few milliseconds (``bench/customer_search.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import compress, repeat
from operator import contains
from typing import Any, Final

from bank_desktop.application import wire_fields as f
from bank_desktop.application.errors import MalformedEventError
from bank_desktop.application.key_scan import KeyScan
from bank_desktop.application.projections import snapshot_rows as checked
from bank_desktop.application.search_text import fold, terms
from bank_desktop.domain import customers as cu
from bank_desktop.domain.customer_fields import national_id_key
from bank_desktop.eventstore.port import RecordedEvent

UNCHANGED: Final = 0
#: What a customer step returns when a row was added or changed (the read model's outcome).
CUSTOMER_CHANGED: Final = 4
#: How many recent answers a search keeps to narrow (typing on) or repeat (a backspace).
_KEPT_ANSWERS: Final = 8
#: A query as the index answers it: its folded words (longest first), and its national-id
#: form when that is tried too (None when it is the only word itself).
_Question = tuple[tuple[str, ...], str | None]
_FIELDS: Final = {"dateOfBirth": "date_of_birth", "phone": "phone", "address": "address"}


@dataclass(slots=True)
class CustomerRow:
    customer_id: str
    full_name: str
    national_id: str
    date_of_birth: date | None
    phone: str | None
    address: str | None
    registered_at: datetime
    changed_at: datetime
    revision: int


class CustomersProjection:
    """Registered customers in registration order, with a name and national-id search."""

    def __init__(self) -> None:
        self._rows: dict[str, CustomerRow] = {}
        self._ids: list[str] = []
        self._keys: list[str] = []
        self._id_keys: list[str] = []  #: national ids in their normal form, casefolded
        self._position: dict[str, int] = {}
        self._scan = KeyScan(self._keys)
        self._version = 0  #: counts changes to the index: earlier answers hold until it moves
        self._answers: dict[_Question, list[int]] = {}  #: the last few answers, by question
        self._answered_at = 0  #: the version they were found at

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[CustomerRow]:
        rows = self._rows
        return (rows[customer_id] for customer_id in self._ids)

    def get(self, customer_id: str) -> CustomerRow | None:
        return self._rows.get(customer_id)

    def name_of(self, customer_id: str) -> str | None:
        row = self._rows.get(customer_id)
        return None if row is None else row.full_name

    # ── search ────────────────────────────────────────────────────────────────────────────

    def matching(self, query: str) -> list[str]:
        """Ids of every customer whose name or national id contains each word of ``query``
        (case- and accent-insensitive), or whose national id contains the query written any
        way (``za-998 877``), in registration order; all customers for an empty query."""
        return list(map(self._ids.__getitem__, self.matching_positions(query)))

    def matching_positions(self, query: str) -> Sequence[int]:
        """What :meth:`matching` finds, as positions in registration order (see
        :meth:`positions_of`); shared with later calls: read it, do not change it.

        Typing on extends the query, and an extended query can only find fewer customers, so
        it tests only those an earlier query found (the last few answers are kept until a
        customer is registered or changed); a query seen among them (a backspace) is answered
        from there. Otherwise it scans the whole index, at C speed (:class:`KeyScan`)."""
        question = _question(query)
        if question is None:
            return range(len(self._ids))
        answers = self._answers
        if self._answered_at != self._version:
            answers.clear()
            self._answered_at = self._version
        found = answers.pop(question, None)
        if found is None:
            found = self._answer(question)
            if len(answers) >= _KEPT_ANSWERS:
                del answers[next(iter(answers))]  # the least recently used
        answers[question] = found
        return found

    def _answer(self, question: _Question) -> list[int]:
        words, as_id = question
        earlier = [found for seen, found in self._answers.items() if _narrows(question, seen)]
        within = min(earlier, key=len) if earlier else None
        first, *rest = words
        if within is None:
            found = self._scan.rows_with(first)
        else:
            found = self._scan.rows_with_among(first, within)
        for word in rest:
            found = self._scan.rows_with_among(word, found)
        if as_id is not None:  # spaces or separators: also try it as a national id
            id_keys = self._id_keys
            candidates = range(len(id_keys)) if within is None else within
            by_id = compress(
                candidates, map(contains, map(id_keys.__getitem__, candidates), repeat(as_id))
            )
            found = sorted(set(found).union(by_id))
        return found

    def positions_of(self, customer_ids: Iterable[str]) -> list[int]:
        """Each customer's position (its place in registration order, which never changes),
        or -1 for an id no customer is registered with."""
        return list(map(self._position.get, customer_ids, repeat(-1)))

    def search(self, query: str, limit: int = 20) -> list[CustomerRow]:
        """The best ``limit`` matches for a picker: an exact national id first, then names
        that start with the query, then the rest, each in registration order."""
        folded = fold(query)
        if not folded:
            return []
        exact = national_id_key(query).casefold()
        found = self.matching(query)
        ranked = sorted(
            found[: max(limit * 50, 1000)],
            key=lambda customer_id: self._rank(customer_id, folded, exact),
        )
        return [self._rows[customer_id] for customer_id in ranked[:limit]]

    def _rank(self, customer_id: str, folded: str, exact_id: str) -> int:
        position = self._position[customer_id]
        name = self._keys[position].partition("\x1f")[0]
        if self._id_keys[position] == exact_id:
            return 0
        if name.startswith(folded):
            return 1
        if f" {folded}" in f" {name}":
            return 2
        return 3

    def _index(self, row: CustomerRow) -> None:
        self._version += 1
        id_key = national_id_key(row.national_id).casefold()
        key = f"{fold(row.full_name)}\x1f{id_key}"
        position = self._position.get(row.customer_id)
        if position is None:
            self._position[row.customer_id] = len(self._ids)
            self._ids.append(row.customer_id)
            self._keys.append(key)
            self._id_keys.append(id_key)
        else:
            self._keys[position] = key
            self._id_keys[position] = id_key
            self._scan.invalidate()

    # ── folding ───────────────────────────────────────────────────────────────────────────

    def handlers(self) -> dict[str, Callable[[RecordedEvent], int]]:
        return {
            cu.CustomerRegistered.type: self._registered,
            cu.CustomerDetailsChanged.type: self._changed,
        }

    def _registered(self, event: RecordedEvent) -> int:
        if event.stream_id in self._rows:
            return UNCHANGED
        data = f.payload(event)
        at = f.moment(event, data, "registeredAt")
        row = CustomerRow(
            event.stream_id,
            f.text(event, data, "fullName"),
            f.text(event, data, "nationalId"),
            _birth_date(event, data),
            f.optional_text(event, data, "phone"),
            f.optional_text(event, data, "address"),
            at,
            at,
            event.stream_position,
        )
        self._rows[row.customer_id] = row
        self._index(row)
        return CUSTOMER_CHANGED

    def _changed(self, event: RecordedEvent) -> int:
        row = self._rows.get(event.stream_id)
        if row is None or row.revision >= event.stream_position:
            return UNCHANGED
        data = f.payload(event)
        at = f.moment(event, data, "changedAt")
        full_name = f.optional_text(event, data, "fullName")
        national_id = f.optional_text(event, data, "nationalId")
        birth = _birth_date(event, data)
        phone = f.optional_text(event, data, "phone")
        address = f.optional_text(event, data, "address")
        cleared = data.get("cleared", [])
        if type(cleared) is not list or any(name not in _FIELDS for name in cleared):
            raise MalformedEventError(event, "field 'cleared' must list optional details")
        row.full_name = full_name or row.full_name
        row.national_id = national_id or row.national_id
        row.date_of_birth = None if "dateOfBirth" in cleared else birth or row.date_of_birth
        row.phone = None if "phone" in cleared else phone or row.phone
        row.address = None if "address" in cleared else address or row.address
        row.changed_at = at
        row.revision = event.stream_position
        self._index(row)
        return CUSTOMER_CHANGED

    # ── snapshots ─────────────────────────────────────────────────────────────────────────

    def snapshot_state(self) -> list[list[Any]]:
        """Rows as lists, with their two search keys (a restore then folds no name again)."""
        keys, id_keys, position = self._keys, self._id_keys, self._position
        return [
            [
                r.customer_id,
                r.full_name,
                r.national_id,
                r.date_of_birth.isoformat() if r.date_of_birth else None,
                r.phone,
                r.address,
                r.registered_at.isoformat(),
                r.changed_at.isoformat(),
                r.revision,
                keys[position[r.customer_id]],
                id_keys[position[r.customer_id]],
            ]
            for r in self
        ]

    @classmethod
    def from_snapshot_state(cls, rows: list[list[Any]]) -> CustomersProjection:
        """Rows back from a snapshot, every value checked (ValueError names the first bad)."""
        if type(rows) is not list:
            raise ValueError("the customers are not a list of rows")
        projection = cls()
        fromiso = datetime.fromisoformat
        for number, values in enumerate(rows, 1):
            if type(values) is not list or len(values) != 11:
                raise ValueError(f"customers row {number} is not a row of 11 values")
            customer_id, name, national, birth, phone, address, registered, changed, *rest = values
            revision, key, id_key = rest
            try:
                row = CustomerRow(
                    customer_id,
                    name,
                    national,
                    None if birth is None else date.fromisoformat(birth),
                    phone,
                    address,
                    fromiso(registered),
                    fromiso(changed),
                    revision,
                )
            except (TypeError, ValueError):
                row = None
            if row is None or not _plausible(row, key, id_key) or customer_id in projection._rows:
                _check(number, values, projection)  # raises, naming the value
            assert row is not None
            projection._rows[customer_id] = row
            projection._position[customer_id] = len(projection._ids)
            projection._ids.append(customer_id)
            projection._keys.append(key)
            projection._id_keys.append(id_key)
        return projection


def _plausible(row: CustomerRow, key: Any, id_key: Any) -> bool:
    return (
        type(row.customer_id) is str
        and type(row.full_name) is str
        and type(row.national_id) is str
        and bool(row.customer_id and row.full_name and row.national_id)
        and (row.phone is None or type(row.phone) is str)
        and (row.address is None or type(row.address) is str)
        and row.registered_at.tzinfo is not None
        and row.changed_at.tzinfo is not None
        and type(row.revision) is int
        and row.revision >= 1
        and type(key) is str
        and type(id_key) is str
        and bool(key and id_key)
    )


def _check(number: int, values: list[Any], projection: CustomersProjection) -> None:
    """Check one row value by value; raises ValueError naming the first that is not valid."""
    where = f"customers row {number}"
    customer_id, name, national, birth, phone, address, registered, changed, *rest = values
    revision, key, id_key = rest
    checked.text(customer_id, f"{where}: the customer id")
    if customer_id in projection._rows:
        raise ValueError(f"{where} repeats customer {customer_id!r}")
    checked.text(name, f"{where}: the name")
    checked.text(national, f"{where}: the national id")
    _snapshot_date(birth, f"{where}: the date of birth")
    checked.optional_text(phone, f"{where}: the phone")
    checked.optional_text(address, f"{where}: the address")
    checked.moment(registered, f"{where}: the registration time")
    checked.moment(changed, f"{where}: the time of the last change")
    checked.revision(revision, f"{where}: the revision")
    checked.text(key, f"{where}: the search key")
    checked.text(id_key, f"{where}: the national id's search key")
    raise ValueError(f"{where} is not valid")  # pragma: no cover - a check above raised


def _birth_date(event: RecordedEvent, data: dict[str, Any]) -> date | None:
    text = f.optional_text(event, data, "dateOfBirth")
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise MalformedEventError(event, "field 'dateOfBirth' must be a date") from None


def _snapshot_date(value: Any, what: str) -> date | None:
    if value is None:
        return None
    if type(value) is str:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{what} is {value!r}, not a date")


def _question(query: str) -> _Question | None:
    words = terms(query)
    if not words:
        return None
    as_id = national_id_key(query).casefold()
    return tuple(words), (as_id if as_id != words[0] or len(words) > 1 else None)


def _narrows(question: _Question, earlier: _Question) -> bool:
    """Whether every customer ``question`` finds is sure to be among those ``earlier``
    found: each earlier word lies inside one of its words, and when it also tries a national
    id, whatever that finds is found by the earlier national id or by the earlier words."""
    words, as_id = question
    earlier_words, earlier_id = earlier
    if not all(any(old in word for word in words) for old in earlier_words):
        return False
    if as_id is None:
        return True
    if earlier_id is not None and earlier_id in as_id:
        return True
    return all(old in as_id for old in earlier_words)
