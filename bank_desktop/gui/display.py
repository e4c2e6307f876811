"""Can Qt open a window here? Answered before Qt tries, because Qt's answer is an abort.

Qt's xcb platform plugin aborts the process (exit 134) when a library it links is missing or no
X server answers, and its message blames ``libxcb-cursor0`` whatever is really missing. The
window checks first and says in one line what is missing and how to run without a screen.
Only the X11 case is checked: for any other platform (offscreen, Wayland, …) Qt decides.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

#: Every system library Qt's xcb plugin links (``ldd libqxcb.so``), with its Debian package.
#: ``scripts/bootstrap.sh`` installs these; a test checks both against the installed plugin.
XCB_LIBRARIES: Final = {
    "libGL.so.1": "libgl1",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}
HEADLESS_HINT: Final = (
    "without a screen, run it with QT_QPA_PLATFORM=offscreen (bank-desktop --smoke checks an "
    "installation that way) or under xvfb-run -a"
)

Loader = Callable[[str], object]


def xcb_plugin_path() -> Path:
    """Where the installed Qt keeps its xcb platform plugin."""
    from PySide6.QtCore import QLibraryInfo

    plugins = QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)
    return Path(plugins) / "platforms" / "libqxcb.so"


def _bundled_folders() -> list[Path]:
    """Folders a packaged build carries libraries in (PyInstaller copies some system ones)."""
    folders = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        folders.append(Path(bundle))
    return folders


def _load(name: str, load: Loader) -> object:
    """Load ``name`` as Qt would find it: from the system, or from the bundle it ships in."""
    try:
        return load(name)
    except OSError:
        for folder in _bundled_folders():
            for path in (folder / name, *folder.glob(f"**/{name}")):
                if path.is_file():
                    return load(str(path))
        raise


def missing_libraries(load: Loader = ctypes.CDLL) -> list[str]:
    """The libraries of :data:`XCB_LIBRARIES` the dynamic loader cannot find, in order."""
    missing = []
    for name in XCB_LIBRARIES:
        try:
            _load(name, load)
        except OSError:
            missing.append(name)
    return missing


def _display_answers(display: str) -> bool:
    """Whether an X server accepts a connection on ``display`` (the way Qt will connect)."""
    try:
        xcb = _load("libxcb.so.1", ctypes.CDLL)
    except OSError:
        return False
    assert isinstance(xcb, ctypes.CDLL)
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.restype = ctypes.c_int
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.restype = None
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    try:
        return connection is not None and xcb.xcb_connection_has_error(connection) == 0
    finally:
        if connection is not None:
            xcb.xcb_disconnect(connection)  # also frees the error object xcb returns


def _uses_xcb(environ: Mapping[str, str]) -> bool:
    platforms = [p.split(":", 1)[0].strip() for p in environ.get("QT_QPA_PLATFORM", "").split(";")]
    platforms = [p for p in platforms if p]
    if platforms:
        return platforms == ["xcb"]
    return sys.platform.startswith("linux") and not environ.get("WAYLAND_DISPLAY")


def display_problem(
    environ: Mapping[str, str] | None = None,
    *,
    load: Loader = ctypes.CDLL,
    answers: Callable[[str], bool] = _display_answers,
) -> str | None:
    """Why the window cannot open here, in one line for the terminal; None when it can."""
    env = os.environ if environ is None else environ
    if not _uses_xcb(env):
        return None
    display = env.get("DISPLAY", "").strip()
    if not display:
        return (
            "cannot open a window: no display (DISPLAY is not set). Start it in a desktop "
            f"session; {HEADLESS_HINT}."
        )
    missing = missing_libraries(load)
    if missing:
        packages = " ".join(dict.fromkeys(XCB_LIBRARIES[name] for name in missing))
        return (
            f"cannot open a window: Qt's X11 plugin needs {', '.join(missing)} "
            f"(Debian/Ubuntu: apt-get install {packages}; ./scripts/run installs them); "
            f"{HEADLESS_HINT}."
        )
    if not answers(display):
        return (
            f"cannot open a window: the X display {display} is not reachable (no X server, or "
            f"no permission: check DISPLAY and XAUTHORITY); {HEADLESS_HINT}."
        )
    return None


if __name__ == "__main__":  # ``python -m bank_desktop.gui.display``: a check for scripts
    problem = display_problem()
    print(f"bank-desktop: {problem}" if problem else "bank-desktop: a window can open here.")
    raise SystemExit(2 if problem else 0)
