"""What a live page may have widened in the accounts table, measured without a text per row.

A burst of thousands of deposits must not measure thousands of texts: a balance's width in
the table is set by its digits and sign (a digit's width does not vary), so only the largest
and the most negative balance of a page can be the widest, as at loading
(:func:`~bank_desktop.gui.loading.widest_texts`). Ids and customers never change once an
account exists, unless its customer is renamed: only new and renamed accounts are measured.
"""

from __future__ import annotations

from bank_desktop.application.projections import ReadModel, ReadModelChanges
from bank_desktop.domain import format_money
from bank_desktop.gui.models.accounts import customer_text

Texts = tuple[list[str], list[str], list[str]]


def texts_to_fit(model: ReadModel, changes: ReadModelChanges) -> Texts:
    """(balances, customers, ids) for ``fit_account_columns`` after ``changes``."""
    balances = model.balances
    changed = [r for a in changes.changed_accounts if (r := balances.get(a)) is not None]
    named = {*changes.opened_accounts}
    for customer_id in changes.changed_customers:
        named.update(balances.accounts_of(customer_id))
    new = [r for a in named if (r := balances.get(a)) is not None]
    amounts = [r.balance for r in (*changed, *new)]
    widest = [format_money(min(amounts)), format_money(max(amounts))] if amounts else []
    return widest, [customer_text(r) for r in new], [r.account_id for r in new]
