"""Icons and the style sheet, loaded from the ``bank_desktop.resources`` package data
(the top-level ``resources/`` folder, mapped into the package by the build).

Everything goes through :func:`importlib.resources.files`, never a path relative to this file
or the working directory, so an installed wheel and a PyInstaller bundle find the same files.
SVGs are read as bytes and rendered with QtSvg, which works from any Traversable (also from a
zip) and does not depend on Qt's SVG icon-engine plugin being bundled.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Final

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QIcon, QImage, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

RESOURCE_PACKAGE: Final = "bank_desktop.resources"
ICON_NAMES: Final = (
    "open-account",
    "deposit",
    "withdraw",
    "transfer",
    "close-account",
    "filter",
    "resync",
    "export-statement",
    "settings",
    "help",
    "verify-history",
    "customer",
    "hold",
    "reverse",
    "journal",
)
APP_ICON_SVG: Final = "app-icon.svg"
APP_ICON_PNG: Final = "app-icon-256.png"
STYLE_SHEET: Final = "style.qss"

_TOOLBAR_SIZES: Final = (16, 20, 24, 32, 48, 64)
_APP_ICON_SIZES: Final = (16, 24, 32, 48, 64, 128, 256)


def resource_path(name: str) -> Traversable:
    """The packaged resource ``name`` (a relative path such as ``"icons/deposit.svg"``)."""
    parts = name.split("/")
    if not name or name.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"Resource names are relative paths inside the package: {name!r}")
    resource = files(RESOURCE_PACKAGE)
    for part in parts:  # one segment at a time: some readers (a PyInstaller bundle's) take one
        resource = resource.joinpath(part)
    if not resource.is_file():
        raise FileNotFoundError(f"No packaged resource {name!r} in {RESOURCE_PACKAGE}")
    return resource


def icon(name: str) -> QIcon:
    """The toolbar icon ``name`` (one of :data:`ICON_NAMES`), sharp from 16 to 64 pixels."""
    if name not in ICON_NAMES:
        known = ", ".join(ICON_NAMES)
        raise ValueError(f"Unknown icon {name!r}; known icons: {known}")
    return _svg_icon(f"icons/{name}.svg", _TOOLBAR_SIZES)


def app_icon() -> QIcon:
    """The application's window and task-bar icon."""
    return _svg_icon(APP_ICON_SVG, _APP_ICON_SIZES)


def style_sheet() -> str:
    """The application style sheet, for ``QApplication.setStyleSheet``."""
    return resource_path(STYLE_SHEET).read_text(encoding="utf-8")


def _svg_icon(name: str, sizes: Iterable[int]) -> QIcon:
    renderer = QSvgRenderer(QByteArray(resource_path(name).read_bytes()))
    if not renderer.isValid():
        raise ValueError(f"Resource {name!r} is not a valid SVG")
    result = QIcon()
    for size in sizes:
        result.addPixmap(QPixmap.fromImage(_render(renderer, size)))
    return result


def _render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, size, size))
    finally:
        painter.end()
    return image
