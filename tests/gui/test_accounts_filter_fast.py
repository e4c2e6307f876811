"""The accounts filter's fast path (per-row masks, answers narrowed as the clerk types)
against the plain definition, sorted and not, through typing, backspaces, and customers
registered, renamed or given accounts while a filter is up."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import Qt

from bank_desktop.application import BankService
from bank_desktop.application.projections import ReadModel, catch_up
from bank_desktop.application.search_text import fold, terms
from bank_desktop.domain.customer_fields import national_id_key
from bank_desktop.eventstore import open_store
from bank_desktop.gui.models.accounts import CUSTOMER, AccountsModel, sort_key
from bank_desktop.gui.models.accounts_proxy import AccountsProxy

NAMES = ["Zoë Ångström", "Ada Lovelace", "Zoe Smith", "Émile Zola", "Søren Ås"]
QUERY_LETTERS = "azoeéölsAZ -1"


def expected(model: ReadModel, source: AccountsModel, text: str, sorted_: bool) -> list[str]:
    needle, words = fold(text), terms(text)
    as_id = national_id_key(text).casefold()
    try_id = bool(words) and (as_id != words[0] or len(words) > 1)
    rows = []
    for row in model.balances:
        customer = model.customers.get(row.customer_id)
        found = not needle or needle in fold(f"{row.account_id} {row.customer_id}")
        if customer is not None and words and not found:
            id_key = national_id_key(customer.national_id).casefold()
            key = f"{fold(customer.full_name)}\x1f{id_key}"
            found = all(w in key for w in words) or (try_id and as_id in id_key)
        if found:
            rows.append(row)
    if sorted_:
        rows.sort(key=lambda r: (sort_key(r, CUSTOMER), source.row_of(r.account_id)))
    return [row.account_id for row in rows]


steps = st.lists(
    st.one_of(
        st.tuples(st.just("type"), st.sampled_from(QUERY_LETTERS)),
        st.tuples(st.just("back")),
        st.tuples(st.just("rename"), st.integers(0, 9), st.sampled_from(NAMES)),
        st.tuples(st.just("register"), st.sampled_from(NAMES)),
        st.tuples(st.just("open"), st.integers(0, 9)),
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(sorted_=st.booleans(), plan=steps)
def test_the_fast_filter_shows_what_the_definition_does(
    qapp: object, sorted_: bool, plan: list[tuple[object, ...]]
) -> None:
    store = open_store("memory://")
    bank = BankService(store)
    customers = [bank.register_customer(name, f"ID{n:04d}") for n, name in enumerate(NAMES)]
    for n in range(8):
        owner = customers[n % len(customers)] if n % 4 else f"cust-{n}"
        bank.open_account(owner, str(n))
    model = ReadModel()
    catch_up(model, store)
    source = AccountsModel()
    source.set_projection(model.balances, None, model.customers)
    proxy = AccountsProxy()
    proxy.setSourceModel(source)
    if sorted_:
        proxy.sort(CUSTOMER, Qt.SortOrder.AscendingOrder)
    text = ""
    for step in plan:
        match step:
            case ("type", str(letter)):
                text += letter
            case ("back",):
                text = text[:-1]
            case ("rename", int(which), str(name)):
                customer_id = customers[which % len(customers)]
                if model.customers.name_of(customer_id) != name:
                    bank.change_customer_details(customer_id, full_name=name)
            case ("register", str(name)):
                customers.append(bank.register_customer(name, f"ID{len(customers):04d}"))
            case ("open", int(which)):
                bank.open_account(customers[which % len(customers)], "1")
        changes = model.apply(store.read_all(after=model.checkpoint, limit=10_000))
        source.sync(changes.changed_accounts)
        source.flush()
        proxy.set_filter_text(text)
        shown = [proxy.account_id_at(r) for r in range(proxy.rowCount())]
        assert shown == expected(model, source, proxy.filter_text, sorted_), text
