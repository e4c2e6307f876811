"""Starting the window where no screen can be opened: one clear line, never Qt's plugin abort."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bank_desktop.gui.display import (
    XCB_LIBRARIES,
    display_problem,
    missing_libraries,
    xcb_plugin_path,
)

ROOT = Path(__file__).resolve().parents[2]


def start_window(tmp_path: Path, **env: str | None) -> subprocess.CompletedProcess[str]:
    """``bank-desktop`` (the window) as a clerk starts it, with ``env`` changed."""
    environ = {k: v for k, v in os.environ.items() if k not in env}
    environ.update({k: v for k, v in env.items() if v is not None})
    return subprocess.run(
        [sys.executable, "-m", "bank_desktop", "--store", f"sqlite://{tmp_path / 'bank.db'}"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        check=False,
    )


def unused_display() -> str:
    """A display number nothing listens on (no socket in /tmp/.X11-unix, no TCP port)."""
    for number in range(90, 200):
        if Path(f"/tmp/.X11-unix/X{number}").exists() or Path(f"/tmp/.X{number}-lock").exists():
            continue
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", 6000 + number)) != 0:
                return f":{number}"
    pytest.skip("no free X display number")


def test_without_a_display_the_window_says_so_in_one_line(tmp_path: Path) -> None:
    result = start_window(tmp_path, DISPLAY=None, WAYLAND_DISPLAY=None, QT_QPA_PLATFORM=None)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "DISPLAY" in lines[0]
    assert "QT_QPA_PLATFORM=offscreen" in lines[0]
    assert "xvfb-run -a" in lines[0]
    assert "qt.qpa" not in result.stderr


def test_an_unreachable_display_is_named(tmp_path: Path) -> None:
    display = unused_display()
    result = start_window(tmp_path, DISPLAY=display, WAYLAND_DISPLAY=None, QT_QPA_PLATFORM="xcb")
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert f"X display {display} is not reachable" in line
    assert "QT_QPA_PLATFORM=offscreen" in line


def test_missing_libraries_are_named_with_their_packages() -> None:
    def loader(name: str) -> object:
        if name in ("libxcb-icccm.so.4", "libxcb-keysyms.so.1"):
            raise OSError(f"{name}: cannot open shared object file")
        return object()

    problem = display_problem({"DISPLAY": ":0"}, load=loader)
    assert problem is not None
    assert "\n" not in problem
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in problem
    assert "apt-get install libxcb-icccm4 libxcb-keysyms1" in problem
    assert "QT_QPA_PLATFORM=offscreen" in problem


@pytest.mark.parametrize(
    "environ",
    [
        {"QT_QPA_PLATFORM": "offscreen"},
        {"QT_QPA_PLATFORM": "wayland", "WAYLAND_DISPLAY": "wayland-0"},
        {"WAYLAND_DISPLAY": "wayland-0"},
    ],
)
def test_other_platforms_are_left_to_qt(environ: dict[str, str]) -> None:
    def loader(name: str) -> object:
        raise OSError("nothing is installed")

    assert display_problem(environ, load=loader) is None


@pytest.mark.x11
def test_the_library_list_is_what_the_xcb_plugin_links() -> None:
    """The list comes from the plugin itself (``ldd``), not from guessing: every system library
    it links is known with its package, and none is missing on this machine."""
    if shutil.which("ldd") is None:
        pytest.skip("ldd is not available")
    output = subprocess.run(
        ["ldd", str(xcb_plugin_path())], capture_output=True, text=True, check=True
    ).stdout
    assert "not found" not in output, f"the X11 window cannot start here:\n{output}"
    linked = set(re.findall(r"^\s*(lib(?:xcb|X11|xkbcommon|GL\.)\S*\.so\.\d+)", output, re.M))
    assert linked <= set(XCB_LIBRARIES), linked - set(XCB_LIBRARIES)
    assert missing_libraries() == []


def test_bootstrap_installs_every_package_the_plugin_needs() -> None:
    script = (ROOT / "scripts" / "bootstrap.sh").read_text(encoding="utf-8")
    for package in {*XCB_LIBRARIES.values(), "xvfb", "xauth"}:
        assert re.search(rf"\b{re.escape(package)}\b", script), package


def test_a_library_the_packaged_build_carries_is_not_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PyInstaller may copy some xcb libraries into the bundle, where Qt finds them."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "libxcb-icccm.so.4").write_bytes(b"")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)

    def loader(name: str) -> object:
        if name in ("libxcb-icccm.so.4", "libxcb-keysyms.so.1"):
            raise OSError(f"{name}: cannot open shared object file")
        return object()

    assert missing_libraries(loader) == ["libxcb-keysyms.so.1"]
