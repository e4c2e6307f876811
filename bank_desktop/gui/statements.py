"""Account statements as files: CSV for spreadsheets, PDF (A4) for customers.

Plain functions without widgets, so the statement dialog can run them on a worker thread: the
PDF is painted with ``QPainter`` on a ``QPdfWriter`` into memory, which Qt supports off the GUI
thread (a ``QGuiApplication`` must exist, for fonts). Both files are written atomically (a
temporary file in the same folder, then ``os.replace``): a crash or a full disk never leaves a
half statement under the name the clerk chose.

Balances come from the :class:`Statement` (the fold of the account's events); nothing here
adds amounts up again except the totals the Statement itself provides.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Final

from PySide6.QtCore import QBuffer, QIODevice, QMarginsF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
)

from bank_desktop.application.projections import LedgerEntry, Statement
from bank_desktop.domain import format_money
from bank_desktop.domain.money import ZERO, exact_cents
from bank_desktop.gui.models.ledger import KIND_LABELS
from bank_desktop.private_files import write_atomically

CSV_ENCODING: Final = "utf-8-sig"  #: with a BOM, so Excel reads non-ASCII names correctly
CSV_COLUMNS: Final = (
    "Date/time",
    "Type",
    "Description",
    "Amount",
    "Balance",
    "Clerk",
    "Counterpart",
    "Event id",
)
#: First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


# ── shared ───────────────────────────────────────────────────────────────────────────────


def plain_amount(amount: Decimal) -> str:
    """``1234.56`` / ``-30.00``: no currency sign or grouping, never rounding a cent away."""
    cents = exact_cents(amount)
    value = amount if cents is None else cents
    with localcontext() as ctx:
        ctx.prec = max(40, len(value.as_tuple().digits) + 4)
        return f"{value + ZERO:f}"  # + ZERO turns -0.00 into 0.00


def period_text(statement: Statement) -> str:
    """The period as a clerk reads it: whole local days inclusive, else exact local times."""
    start, end = statement.start.astimezone(), statement.end.astimezone()
    last_day = end.date() - timedelta(days=1)
    if start.time() == time(0) and end.time() == time(0) and last_day >= start.date():
        if last_day == start.date():
            return f"{start:%Y-%m-%d}"
        return f"{start:%Y-%m-%d} to {last_day:%Y-%m-%d}"
    return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} (end excluded)"


def _local(moment: datetime) -> datetime:
    return moment.astimezone()


# ── CSV ──────────────────────────────────────────────────────────────────────────────────


def safe_cell(text: str) -> str:
    """Text a spreadsheet shows as text: a leading ``= + - @`` (or tab, CR) gets a ``'``."""
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def csv_rows(statement: Statement, *, customer_id: str | None = None) -> list[list[str]]:
    """The CSV as rows: a header block, a blank row, the column names, one row per entry."""
    rows = [
        ["Account", safe_cell(statement.account_id)],
        ["Customer", safe_cell(customer_id or "")],
        ["Period", safe_cell(period_text(statement))],
        ["Period start", _local(statement.start).isoformat()],
        ["Period end (excluded)", _local(statement.end).isoformat()],
        ["Opening balance", plain_amount(statement.opening_balance)],
        ["Closing balance", plain_amount(statement.closing_balance)],
        ["Total in", plain_amount(statement.total_in)],
        ["Total out", plain_amount(statement.total_out)],
        ["Entries", str(len(statement.entries))],
        [],
        list(CSV_COLUMNS),
    ]
    rows.extend(_csv_entry(entry) for entry in statement.entries)
    return rows


def _csv_entry(entry: LedgerEntry) -> list[str]:
    return [
        _local(entry.occurred_at).isoformat(timespec="seconds"),
        KIND_LABELS.get(entry.kind, entry.kind),
        safe_cell(entry.description),
        plain_amount(entry.amount),
        plain_amount(entry.balance),
        safe_cell(entry.clerk_id or ""),
        safe_cell(entry.counterparty_account_id or ""),
        safe_cell(entry.event_id),
    ]


def write_csv(statement: Statement, path: Path, *, customer_id: str | None = None) -> None:
    """Write the statement as UTF-8 CSV with a BOM, amounts as plain decimals (``-30.00``)."""
    text = io.StringIO(newline="")
    csv.writer(text, quoting=csv.QUOTE_MINIMAL).writerows(
        csv_rows(statement, customer_id=customer_id)
    )
    write_atomically(path, text.getvalue().encode(CSV_ENCODING))


# ── PDF ──────────────────────────────────────────────────────────────────────────────────

_MARGIN_MM: Final = 15.0
_RESOLUTION: Final = 300  # dots per inch: plenty for text, small coordinates
#: Column heads and alignment. Every column but the description is as wide as its widest text
#: (a date or an amount must never wrap); the description takes the rest and wraps.
_COLUMNS: Final = (
    ("Date", Qt.AlignmentFlag.AlignLeft),
    ("Type", Qt.AlignmentFlag.AlignLeft),
    ("Description", Qt.AlignmentFlag.AlignLeft),
    ("Amount", Qt.AlignmentFlag.AlignRight),
    ("Balance", Qt.AlignmentFlag.AlignRight),
)
_DESCRIPTION: Final = 2
_AMOUNT: Final = 3
_BALANCE: Final = 4
_GREY: Final = QColor(100, 100, 100)
_RULE: Final = QColor(180, 180, 180)
_STRIPE: Final = QColor(243, 245, 248)
_OUT: Final = QColor(170, 40, 40)


@dataclass(frozen=True, slots=True)
class _Row:
    cells: tuple[str, ...]
    height: float
    negative: bool


def _cells(entry: LedgerEntry) -> tuple[str, ...]:
    description = entry.description
    if entry.counterparty_account_id:
        description += f" ({entry.counterparty_account_id})"
    return (
        f"{_local(entry.occurred_at):%Y-%m-%d %H:%M}",
        KIND_LABELS.get(entry.kind, entry.kind),
        description,
        format_money(entry.amount) if entry.amount else "",
        format_money(entry.balance),
    )


class _PdfStyle:
    """Fonts and measures for one writer (font sizes in points, lengths in device pixels)."""

    def __init__(self, writer: QPdfWriter, cells: Sequence[tuple[str, ...]]) -> None:
        page = writer.pageLayout().paintRectPixels(writer.resolution())
        self.width, self.height = float(page.width()), float(page.height())
        self.title = QFont()
        self.title.setPointSizeF(16)
        self.title.setBold(True)
        self.body = QFont()
        self.body.setPointSizeF(9)
        self.bold = QFont(self.body)
        self.bold.setBold(True)
        self.small = QFont()
        self.small.setPointSizeF(7.5)
        self.body_metrics = QFontMetricsF(self.body, writer)
        self.title_line = QFontMetricsF(self.title, writer).lineSpacing()
        self.line = self.body_metrics.lineSpacing()
        self.pad = self.line * 0.3
        self.footer = QFontMetricsF(self.small, writer).lineSpacing() * 2
        self.header_row = self.line + 2 * self.pad
        self.bold_metrics = bold_metrics = QFontMetricsF(self.bold, writer)
        self.widths = [
            max(
                [bold_metrics.horizontalAdvance(name)]
                + [self.body_metrics.horizontalAdvance(row[column]) for row in cells]
            )
            + 2 * self.pad
            + 1
            for column, (name, _) in enumerate(_COLUMNS)
        ]
        fixed = sum(self.widths) - self.widths[_DESCRIPTION]
        self.widths[_DESCRIPTION] = max(self.width - fixed, self.width * 0.25)
        self.lefts = [sum(self.widths[:column]) for column in range(len(_COLUMNS))]

    def cell_rect(self, column: int, top: float, height: float) -> QRectF:
        return QRectF(
            self.lefts[column] + self.pad, top, self.widths[column] - 2 * self.pad, height
        )

    def row(self, cells: tuple[str, ...], negative: bool) -> _Row:
        """A row as tall as its wrapped description."""
        box = QRectF(0, 0, self.widths[_DESCRIPTION] - 2 * self.pad, 1e6)
        wrap = int(Qt.TextFlag.TextWordWrap)
        text_height = self.body_metrics.boundingRect(box, wrap, cells[_DESCRIPTION]).height()
        return _Row(cells, max(self.line, text_height) + 2 * self.pad, negative)


def _paginate(rows: Sequence[_Row], *, first_room: float, room: float, tail: float) -> list[range]:
    """Split rows into pages by height; the last page also fits ``tail`` (the closing line),
    and no page but an empty statement's is without rows."""
    pages: list[range] = []
    start, used, space = 0, 0.0, first_room
    for index, row in enumerate(rows):
        if used + row.height > space and index > start:
            pages.append(range(start, index))
            start, used, space = index, 0.0, room
        used += row.height
    if used + tail > space and len(rows) - start > 1:
        pages.append(range(start, len(rows) - 1))  # carry one row over to the closing line
        start = len(rows) - 1
    pages.append(range(start, len(rows)))
    return pages


def write_pdf(
    statement: Statement,
    path: Path,
    *,
    customer_id: str | None = None,
    bank_name: str = "Bank Desktop",
) -> None:
    """Write the statement as an A4 PDF: heading, balances, entries table, page numbers.

    Safe to call from a worker thread while a ``QGuiApplication`` exists; raises
    ``RuntimeError`` without one (Qt needs it for fonts).
    """
    write_atomically(path, render_pdf(statement, customer_id=customer_id, bank_name=bank_name))


def render_pdf(
    statement: Statement, *, customer_id: str | None = None, bank_name: str = "Bank Desktop"
) -> bytes:
    """The statement's PDF, rendered in memory (any thread, once a QGuiApplication exists)."""
    if not isinstance(QGuiApplication.instance(), QGuiApplication):
        raise RuntimeError("PDF statements need a running Qt application (for fonts).")
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setResolution(_RESOLUTION)
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(_MARGIN_MM, _MARGIN_MM, _MARGIN_MM, _MARGIN_MM),
            QPageLayout.Unit.Millimeter,
        )
    )
    writer.setTitle(f"Statement for account {statement.account_id}")
    writer.setCreator(bank_name)
    cells = [_cells(entry) for entry in statement.entries]
    style = _PdfStyle(writer, cells)
    rows = [
        style.row(row, entry.amount < 0)
        for row, entry in zip(cells, statement.entries, strict=True)
    ]
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError("Could not start the PDF.")
    try:
        top = _paint_heading(painter, style, statement, customer_id, bank_name)
        room = style.height - style.footer - style.header_row
        pages = _paginate(rows, first_room=room - top, room=room, tail=style.header_row)
        for number, page in enumerate(pages, start=1):
            if number > 1:
                writer.newPage()
                top = 0.0
            top = _paint_table(painter, style, rows, page, top)
            if number == len(pages):
                _paint_closing(painter, style, statement, top)
            _paint_footer(painter, style, statement, bank_name, number=number, pages=len(pages))
    finally:
        painter.end()
    buffer.close()
    return bytes(buffer.data().data())


def _paint_heading(
    painter: QPainter,
    style: _PdfStyle,
    statement: Statement,
    customer_id: str | None,
    bank_name: str,
) -> float:
    """Bank, title and the statement's facts on page one; returns where the table starts."""
    painter.setPen(QPen(Qt.GlobalColor.black))
    painter.setFont(style.title)
    title_height = style.title_line
    painter.drawText(
        QRectF(0, 0, style.width, title_height),
        int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
        f"{bank_name} — Account statement",
    )
    top = title_height + style.line
    facts = [
        ("Account", statement.account_id),
        ("Customer", customer_id or "—"),
        ("Period", period_text(statement)),
        ("Opening balance", format_money(statement.opening_balance)),
        ("Money in", format_money(statement.total_in)),
        ("Money out", format_money(statement.total_out)),
        ("Closing balance", format_money(statement.closing_balance)),
    ]
    label_width = style.width * 0.22
    for label, value in facts:
        painter.setFont(style.bold)
        painter.drawText(QRectF(0, top, label_width, style.line), 0, label)
        painter.setFont(style.body)
        painter.drawText(QRectF(label_width, top, style.width - label_width, style.line), 0, value)
        top += style.line
    return top + style.line


def _paint_table(
    painter: QPainter, style: _PdfStyle, rows: Sequence[_Row], page: Iterable[int], top: float
) -> float:
    """The column heads and this page's rows from ``top``; returns the bottom of the table."""
    align_v = Qt.AlignmentFlag.AlignVCenter
    painter.setFont(style.bold)
    painter.setPen(QPen(Qt.GlobalColor.black))
    for column, (name, align) in enumerate(_COLUMNS):
        painter.drawText(style.cell_rect(column, top, style.header_row), int(align | align_v), name)
    top += style.header_row
    painter.setPen(QPen(_RULE, 0))
    painter.drawLine(0, round(top), round(style.width), round(top))
    painter.setFont(style.body)
    wrap = int(Qt.TextFlag.TextWordWrap)
    shown = False
    for index in page:
        shown = True
        row = rows[index]
        if index % 2:
            painter.fillRect(QRectF(0, top, style.width, row.height), _STRIPE)
        inner_top = top + style.pad
        inner_height = row.height - 2 * style.pad
        for column, (_, align) in enumerate(_COLUMNS):
            colour = _OUT if column == _AMOUNT and row.negative else Qt.GlobalColor.black
            painter.setPen(QPen(colour))
            flags = int(align | Qt.AlignmentFlag.AlignTop | (wrap if column == _DESCRIPTION else 0))
            painter.drawText(
                style.cell_rect(column, inner_top, inner_height), flags, row.cells[column]
            )
        top += row.height
    if not shown:
        painter.setPen(QPen(_GREY))
        painter.drawText(
            QRectF(0, top, style.width, style.header_row),
            int(Qt.AlignmentFlag.AlignCenter),
            "No transactions in this period.",
        )
        top += style.header_row
    return top


def _paint_closing(painter: QPainter, style: _PdfStyle, statement: Statement, top: float) -> None:
    """The closing balance under the last row, right-aligned like the balance column."""
    painter.setPen(QPen(_RULE, 0))
    painter.drawLine(0, round(top), round(style.width), round(top))
    painter.setPen(QPen(Qt.GlobalColor.black))
    painter.setFont(style.bold)
    align = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    value = format_money(statement.closing_balance)
    # Bold is wider than the body text the balance column was measured with.
    value_width = style.bold_metrics.horizontalAdvance(value) + 2 * style.pad
    value_left = min(style.lefts[_BALANCE], style.width - value_width)
    painter.drawText(
        QRectF(value_left, top, style.width - value_left - style.pad, style.header_row),
        align,
        value,
    )
    painter.drawText(
        QRectF(0, top, value_left - style.pad, style.header_row), align, "Closing balance"
    )


def _paint_footer(
    painter: QPainter,
    style: _PdfStyle,
    statement: Statement,
    bank_name: str,
    *,
    number: int,
    pages: int,
) -> None:
    painter.setFont(style.small)
    painter.setPen(QPen(_GREY))
    box = QRectF(0, style.height - style.footer, style.width, style.footer)
    bottom = Qt.AlignmentFlag.AlignBottom
    painter.drawText(
        box,
        int(Qt.AlignmentFlag.AlignLeft | bottom),
        f"{bank_name} · {statement.account_id} · {period_text(statement)}",
    )
    painter.drawText(box, int(Qt.AlignmentFlag.AlignRight | bottom), f"Page {number} of {pages}")
