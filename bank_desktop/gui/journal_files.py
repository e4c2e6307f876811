"""The end-of-day journal as files: PDF (A4, for the branch's binder) and CSV (a spreadsheet).

Plain functions without widgets, run on a worker thread by the journal dialog. The PDF is a
``QTextDocument`` printed on a ``QPdfWriter`` in memory: Qt's rich-text classes are reentrant
(a document made on the worker holds no GUI-thread resources), and the document paginates
the lines and numbers the pages. The CSV is :func:`~bank_desktop.application.journal.journal_csv`
(the same as ``bank-desktop journal --csv``) with a BOM, so a spreadsheet reads names right.
Both are written atomically, like statements: never half a file under the clerk's name.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from PySide6.QtCore import QBuffer, QIODevice, QMarginsF
from PySide6.QtGui import (
    QFont,
    QGuiApplication,
    QPageLayout,
    QPageSize,
    QPdfWriter,
    QTextDocument,
)

from bank_desktop.application.journal import Journal, JournalLine, journal_csv
from bank_desktop.domain import format_money
from bank_desktop.gui.models.ledger import KIND_LABELS
from bank_desktop.private_files import write_atomically

CSV_ENCODING: Final = "utf-8-sig"
_RESOLUTION: Final = 300
#: Kinds whose total is money held or freed, not moved.
HELD_KINDS: Final = frozenset({"hold_placed", "hold_released"})


#: What each kind's total counts (the ledger's labels name one line).
TOTAL_LABELS: Final = {
    "opened": "Accounts opened",
    "deposit": "Deposits",
    "withdrawal": "Withdrawals",
    "transfer_in": "Transfers in",
    "transfer_out": "Transfers out",
    "reversal": "Reversals",
    "hold_placed": "Holds placed",
    "hold_released": "Holds released",
    "refused": "Refused transfer debits",
    "closed": "Accounts closed",
}


def kind_label(kind: str) -> str:
    """A line's kind as the ledger names it ("Deposit")."""
    return KIND_LABELS.get(kind, kind)


def total_label(kind: str) -> str:
    """What a kind's total counts ("Deposits")."""
    return TOTAL_LABELS.get(kind, kind)


def line_time(journal: Journal, line: JournalLine) -> str:
    """The line's time in the journal's zone, to the second."""
    return f"{line.occurred_at.astimezone(journal.start.tzinfo):%H:%M:%S}"


def who(journal: Journal) -> str:
    return journal.clerk_id or "all clerks"


def balance_rows(journal: Journal) -> list[tuple[str, str]]:
    """The balance sums as (label, figure) rows, in the order they add up."""
    rows = [
        ("Balances at the start of the day", format_money(journal.opening_total)),
        ("Net of these lines", format_money(journal.net)),
    ]
    if journal.clerk_id is not None:
        rows.append(("Net of the other clerks' lines", format_money(journal.others_net)))
    rows.append(("Balances at the end of the day", format_money(journal.closing_total)))
    rows.append(("Reconciles", "yes" if journal.reconciles else "NO: the sums do not add up"))
    return rows


# ── CSV ──────────────────────────────────────────────────────────────────────────────────


def write_journal_csv(journal: Journal, path: Path) -> Path:
    write_atomically(path, journal_csv(journal).encode(CSV_ENCODING))
    return path


# ── PDF ──────────────────────────────────────────────────────────────────────────────────


def journal_html(
    journal: Journal, names: Mapping[str, str], *, bank_name: str = "Bank Desktop"
) -> str:
    """The journal as the HTML the PDF is printed from (every text escaped)."""
    e = html.escape
    start = journal.start
    facts = (
        f"<p><b>Day:</b> {journal.day.isoformat()} ({e(journal.zone)}, "
        f"{start:%H:%M} to {journal.end.astimezone(start.tzinfo):%H:%M} next day) &nbsp; "
        f"<b>Clerk:</b> {e(who(journal))} &nbsp; <b>Lines:</b> {len(journal.lines):,}</p>"
    )
    totals = (
        "".join(
            f"<tr><td>{e(total_label(kind))}</td><td align='right'>{total.count:,}</td>"
            f"<td align='right'>{e(format_money(total.amount))}"
            f"{' held' if kind in HELD_KINDS else ''}</td></tr>"
            for kind, total in journal.totals.items()
            if total.count
        )
        or "<tr><td colspan='3'>No transactions on this day.</td></tr>"
    )
    sums = "".join(
        f"<tr><td>{e(label)}</td><td align='right'><b>{e(value)}</b></td></tr>"
        for label, value in balance_rows(journal)
    )
    lines = "".join(_line_row(journal, line, names) for line in journal.lines)
    head = "".join(
        f"<th align='{align}'>{title}</th>"
        for title, align in (
            ("Time", "left"),
            ("Account", "left"),
            ("Customer", "left"),
            ("Kind", "left"),
            ("Amount", "right"),
            ("Held", "right"),
            ("Description", "left"),
            ("Clerk", "left"),
        )
    )
    skipped = (
        f"<p><i>Left out: {journal.skipped:,} stored event(s) this version cannot read.</i></p>"
        if journal.skipped
        else ""
    )
    return (
        "<html><body>"
        f"<h2>{e(bank_name)} — End-of-day journal</h2>{facts}"
        "<h3>Totals by kind</h3>"
        "<table cellspacing='0' cellpadding='3' border='1'>"
        f"<tr><th align='left'>Kind</th><th align='right'>Count</th>"
        f"<th align='right'>Amount</th></tr>{totals}"
        f"<tr><td>Transfers taking part</td><td align='right'>{journal.transfers:,}</td>"
        "<td></td></tr>"
        "</table>"
        "<h3>Balances</h3>"
        f"<table cellspacing='0' cellpadding='3' border='1'>{sums}</table>{skipped}"
        "<h3>Transactions</h3>"
        f"<table cellspacing='0' cellpadding='2' border='1' width='100%'><tr>{head}</tr>"
        f"{lines}</table>"
        "</body></html>"
    )


def _line_row(journal: Journal, line: JournalLine, names: Mapping[str, str]) -> str:
    e = html.escape
    amount = format_money(line.amount) if line.amount else ""
    held = format_money(line.held) if line.held is not None else ""
    return (
        f"<tr><td>{line_time(journal, line)}</td><td>{e(line.account_id)}</td>"
        f"<td>{e(names.get(line.account_id, ''))}</td><td>{e(kind_label(line.kind))}</td>"
        f"<td align='right'>{e(amount)}</td><td align='right'>{e(held)}</td>"
        f"<td>{e(line.description)}</td><td>{e(line.clerk_id or '')}</td></tr>"
    )


def render_journal_pdf(
    journal: Journal, names: Mapping[str, str], *, bank_name: str = "Bank Desktop"
) -> bytes:
    """The journal's PDF in memory (any thread, once a QGuiApplication exists, for fonts)."""
    if not isinstance(QGuiApplication.instance(), QGuiApplication):
        raise RuntimeError("PDF journals need a running Qt application (for fonts).")
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setResolution(_RESOLUTION)
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Landscape,  # eight columns of lines
            QMarginsF(0, 0, 0, 0),  # the document keeps its own margins
            QPageLayout.Unit.Millimeter,
        )
    )
    writer.setTitle(f"Journal of {journal.day.isoformat()} ({who(journal)})")
    writer.setCreator(bank_name)
    document = QTextDocument()
    font = QFont()
    font.setPointSizeF(8)
    document.setDefaultFont(font)
    document.setHtml(journal_html(journal, names, bank_name=bank_name))
    # No page size of its own: print_() lays the document out for the writer, with 2 cm
    # margins and the page numbers at the foot of each page.
    document.print_(writer)
    buffer.close()
    return bytes(buffer.data().data())


def write_journal_pdf(journal: Journal, path: Path, names: Mapping[str, str]) -> Path:
    write_atomically(path, render_journal_pdf(journal, names))
    return path
