"""Packaged icons and style sheet: every one loads, and the style sheet parses cleanly."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from importlib.resources import files
from typing import Any

import pytest
from PySide6.QtCore import QByteArray, QSize, Qt, QtMsgType
from PySide6.QtGui import QColor, QImage, QPainter, QPalette
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QStatusBar,
    QTableWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)
from pytestqt.qtbot import QtBot

from bank_desktop.gui import assets

_SVG = "{http://www.w3.org/2000/svg}"
_SEVERE = (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)
# The offscreen platform's own complaints, unrelated to the style sheet.
_PLATFORM_NOISE = ("propagateSizeHints", "does not support raise", "grabbing the keyboard")


@pytest.fixture
def styled_app(qapp: QApplication) -> Iterator[QApplication]:
    """The QApplication with our style sheet, restored to its previous one afterwards."""
    previous = qapp.styleSheet()
    qapp.setStyleSheet(assets.style_sheet())
    yield qapp
    qapp.setStyleSheet(previous)


def _opaque_pixels(image: QImage) -> int:
    return sum(
        1
        for y in range(image.height())
        for x in range(image.width())
        if image.pixelColor(x, y).alpha() > 0
    )


@pytest.mark.parametrize("name", assets.ICON_NAMES)
def test_every_toolbar_icon_renders_at_24_pixels(qapp: QApplication, name: str) -> None:
    icon = assets.icon(name)

    pixmap = icon.pixmap(QSize(24, 24))

    assert not icon.isNull()
    assert not pixmap.isNull()
    assert pixmap.size() == QSize(24, 24)
    assert _opaque_pixels(pixmap.toImage()) > 20  # something is drawn, not an empty square


def test_the_icon_files_are_exactly_the_known_names() -> None:
    folder = files(assets.RESOURCE_PACKAGE).joinpath("icons")
    names = {entry.name for entry in folder.iterdir() if entry.name.endswith(".svg")}

    assert names == {f"{name}.svg" for name in assets.ICON_NAMES}


@pytest.mark.parametrize("name", assets.ICON_NAMES)
def test_toolbar_icons_share_one_grid_colour_and_weight(name: str) -> None:
    root = ET.fromstring(assets.resource_path(f"icons/{name}.svg").read_bytes())

    assert root.tag == f"{_SVG}svg"
    assert root.get("viewBox") == "0 0 24 24"
    assert root.get("stroke") == "#2b4c7e"
    assert root.get("stroke-width") == "2"
    assert root.get("fill") == "none"
    # No shape overrides the shared stroke or fills itself in.
    for element in root.iter():
        assert element.get("stroke") in (None, "#2b4c7e"), name
        assert element.get("fill") in (None, "none"), name


def test_an_unknown_icon_name_lists_the_known_ones(qapp: QApplication) -> None:
    with pytest.raises(ValueError, match="Unknown icon 'deposits'") as raised:
        assets.icon("deposits")

    for name in assets.ICON_NAMES:
        assert name in str(raised.value)


def test_resource_paths_stay_inside_the_package() -> None:
    with pytest.raises(ValueError, match="relative"):
        assets.resource_path("../settings.py")
    with pytest.raises(ValueError, match="relative"):
        assets.resource_path("/etc/passwd")
    with pytest.raises(FileNotFoundError):
        assets.resource_path("icons/nothing.svg")


def test_the_app_icon_renders_from_16_to_256_pixels(qapp: QApplication) -> None:
    icon = assets.app_icon()

    assert not icon.isNull()
    for size in (16, 32, 256):
        assert icon.pixmap(QSize(size, size)).size() == QSize(size, size)


def test_the_app_icon_png_is_a_256_pixel_rendering_of_the_svg(qapp: QApplication) -> None:
    png = QImage()
    assert png.loadFromData(assets.resource_path(assets.APP_ICON_PNG).read_bytes(), "PNG")
    assert png.size() == QSize(256, 256)

    # Kept in step with the SVG: compare both, shrunk to 32 pixels to ignore antialiasing.
    renderer = QSvgRenderer(QByteArray(assets.resource_path(assets.APP_ICON_SVG).read_bytes()))
    fresh = QImage(256, 256, QImage.Format.Format_ARGB32)
    fresh.fill(Qt.GlobalColor.transparent)
    painter = QPainter(fresh)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    small_png, small_fresh = (
        image.convertToFormat(QImage.Format.Format_ARGB32).scaled(
            32,
            32,
            Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        for image in (png, fresh)
    )
    worst = max(
        abs(a - b)
        for y in range(32)
        for x in range(32)
        for a, b in zip(_rgba(small_png, x, y), _rgba(small_fresh, x, y), strict=True)
    )
    assert worst <= 16


def _rgba(image: QImage, x: int, y: int) -> tuple[int, int, int, int]:
    colour = image.pixelColor(x, y)
    return colour.red(), colour.green(), colour.blue(), colour.alpha()


def _sample_window() -> QMainWindow:
    """One of each widget the style sheet has rules for."""
    window = QMainWindow()
    toolbar = QToolBar("Actions")
    toolbar.addAction(assets.icon("deposit"), "Deposit")
    window.addToolBar(toolbar)
    central = QWidget()
    layout = QVBoxLayout(central)
    table = QTableWidget(3, 3)
    table.setHorizontalHeaderLabels(["Account", "Customer", "Balance"])
    table.setAlternatingRowColors(True)
    layout.addWidget(table)
    invalid = QLineEdit("12,34.5")
    invalid.setObjectName("amountEdit")
    invalid.setProperty("invalid", True)
    layout.addWidget(invalid)
    error = QLabel("Amount must be a number.")
    error.setObjectName("formError")
    layout.addWidget(error)
    button = QPushButton("OK")
    button.setDefault(True)
    layout.addWidget(button)
    window.setCentralWidget(central)
    status = QStatusBar()
    status.addPermanentWidget(QLabel("● live"))
    status.addPermanentWidget(QLabel("clerk-7"))
    window.setStatusBar(status)
    return window


def test_the_style_sheet_applies_without_qt_warnings(
    qtbot: QtBot, qtlog: Any, styled_app: QApplication
) -> None:
    window = _sample_window()
    qtbot.addWidget(window)
    with qtbot.waitExposed(window):
        window.show()
    window.grab()  # paints every widget, so every rule is used at least once

    severe = [
        record.message
        for record in qtlog.records
        if record.type in _SEVERE and not any(noise in record.message for noise in _PLATFORM_NOISE)
    ]
    assert severe == []


def test_form_errors_are_dark_red(qtbot: QtBot, styled_app: QApplication) -> None:
    label = QLabel("Clerk id is required.")
    label.setObjectName("formError")
    qtbot.addWidget(label)
    label.ensurePolished()

    assert label.palette().color(QPalette.ColorRole.WindowText) == QColor("#8b1a1a")


def test_an_invalid_line_edit_gets_a_red_border(qtbot: QtBot, styled_app: QApplication) -> None:
    valid = QLineEdit("100.00")
    invalid = QLineEdit("100.00")
    invalid.setProperty("invalid", True)
    for edit in (valid, invalid):
        qtbot.addWidget(edit)
        edit.resize(160, 30)
        edit.ensurePolished()

    edge_of = {edit: edit.grab().toImage().pixelColor(0, 15) for edit in (valid, invalid)}

    red = edge_of[invalid]
    assert red.red() > 150
    assert max(red.green(), red.blue()) < 80
    assert edge_of[valid] != red
