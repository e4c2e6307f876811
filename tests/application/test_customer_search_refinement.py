"""The customer index's fast search (one joined text, answers narrowed as the query grows,
backspaces answered from recent answers) against the plain definition of a match, through
typing, deleting, replacing the query, and customers registered or renamed between keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bank_desktop.application.projections.customers import CustomersProjection
from bank_desktop.application.search_text import fold, terms
from bank_desktop.domain.customer_fields import national_id_key
from bank_desktop.eventstore.port import RecordedEvent

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
#: Letters that fold together (case, accents, ß/ss), separators national ids may be typed with.
NAME_LETTERS = "aAäÄåeEéÉoOöØßsSzZ "
ID_LETTERS = "ab AB12-./"
QUERY_LETTERS = "aäeéoOsSßz 12-/A"


def simple_matching(customers: list[tuple[str, str, str]], query: str) -> list[str]:
    """The definition: every word of the query in the folded name or the national id's
    normal form, or (when the query has several words or separators) the query's national-id
    form inside the customer's; everybody for an empty query."""
    words = terms(query)
    if not words:
        return [customer_id for customer_id, _, _ in customers]
    as_id = national_id_key(query).casefold()
    try_id = as_id != words[0] or len(words) > 1
    found = []
    for customer_id, name, national_id in customers:
        id_key = national_id_key(national_id).casefold()
        key = f"{fold(name)}\x1f{id_key}"
        if all(word in key for word in words) or (try_id and as_id in id_key):
            found.append(customer_id)
    return found


names = st.text(NAME_LETTERS, min_size=1, max_size=12).filter(lambda n: n.strip() != "")
national_ids = st.text(ID_LETTERS, min_size=1, max_size=8).filter(lambda n: n.strip() != "")
actions = st.lists(
    st.one_of(
        st.tuples(st.just("type"), st.sampled_from(QUERY_LETTERS)),
        st.tuples(st.just("back")),
        st.tuples(st.just("set"), st.text(QUERY_LETTERS, max_size=6)),
        st.tuples(st.just("register"), names, national_ids),
        st.tuples(st.just("rename"), st.integers(0, 30), names, st.none() | national_ids),
    ),
    max_size=40,
)


class Feed:
    """Customer events as the store would deliver them, straight into the projection."""

    def __init__(self, projection: CustomersProjection) -> None:
        self.handlers = projection.handlers()
        self.revisions: dict[str, int] = {}
        self.position = 0

    def send(self, kind: str, customer_id: str, data: dict[str, object]) -> None:
        self.position += 1
        revision = self.revisions.get(customer_id, 0) + 1
        self.revisions[customer_id] = revision
        at = (START + timedelta(seconds=self.position)).isoformat()
        event = RecordedEvent(
            f"ev-{self.position}", kind, data, customer_id, revision, self.position, at, {}
        )
        self.handlers[kind](event)


@settings(max_examples=300, deadline=None)
@given(start=st.lists(st.tuples(names, national_ids), max_size=12), steps=actions)
def test_the_fast_search_finds_what_the_definition_does(
    start: list[tuple[str, str]], steps: list[tuple[object, ...]]
) -> None:
    projection = CustomersProjection()
    feed = Feed(projection)
    customers: list[tuple[str, str, str]] = []

    def register(name: str, national_id: str) -> None:
        customer_id = f"customer-{len(customers)}"
        at = (START + timedelta(seconds=feed.position)).isoformat()
        data = {"customerId": customer_id, "fullName": name, "nationalId": national_id}
        feed.send("customer.registered", customer_id, {**data, "registeredAt": at})
        customers.append((customer_id, name, national_id))

    for name, national_id in start:
        register(name, national_id)
    query = ""
    for step in steps:
        match step:
            case ("type", str(letter)):
                query += letter
            case ("back",):
                query = query[:-1]
            case ("set", str(text)):
                query = text
            case ("register", str(name), str(national_id)):
                register(name, national_id)
            case ("rename", int(which), str(name), national_id) if customers:
                customer_id, _, old_id = customers[which % len(customers)]
                at = (START + timedelta(seconds=feed.position)).isoformat()
                data = {"customerId": customer_id, "fullName": name, "changedAt": at}
                if national_id is not None:
                    data["nationalId"] = national_id
                feed.send("customer.details_changed", customer_id, data)
                new_id = old_id if national_id is None else str(national_id)
                customers[which % len(customers)] = (customer_id, name, new_id)
        assert projection.matching(query) == simple_matching(customers, query), query


def test_typing_on_narrows_and_a_backspace_repeats_an_earlier_answer() -> None:
    projection = CustomersProjection()
    feed = Feed(projection)
    for number, name in enumerate(["Zoë Ångström", "Zoe Smith", "Ada Lovelace"]):
        customer_id = f"customer-{number}"
        data = {"customerId": customer_id, "fullName": name, "nationalId": f"ZA{number}0000"}
        feed.send("customer.registered", customer_id, {**data, "registeredAt": START.isoformat()})
    typed = [projection.matching_positions(text) for text in ("z", "zo", "zoe", "zoe sm")]
    assert [list(found) for found in typed] == [[0, 1, 2], [0, 1], [0, 1], [1]]
    assert projection.matching_positions("zoe") is typed[2]  # the backspace: kept
    assert projection.matching("ZA-1 0000") == ["customer-1"]
    assert projection.positions_of(["customer-2", "cust-9"]) == [2, -1]
