"""The packaged build: built from a clean environment, then run where no Python is visible.

A missing hidden import, plugin or resource fails here, in CI, instead of on a clerk's desk.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "dist" / "bank-desktop"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle() -> Path:
    result = subprocess.run(
        [str(ROOT / "packaging" / "build.sh")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    print(result.stdout.strip().splitlines()[-1])  # "built …: <size> in <seconds> s"
    return BUNDLE


def bare_env(home: Path) -> dict[str, str]:
    """What a bare target machine offers: no virtual environment, no PYTHONPATH."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}


def test_the_bundle_passes_its_smoke_test_on_a_bare_environment(
    bundle: Path, tmp_path: Path
) -> None:
    result = subprocess.run(
        [str(bundle / "bank-desktop"), "--smoke"],
        capture_output=True,
        text=True,
        env={**bare_env(tmp_path), "QT_QPA_PLATFORM": "offscreen"},
        cwd=tmp_path,  # not the source tree: nothing can be imported from it
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "smoke: OK (balance shown: $1,334.56)" in result.stderr


def test_the_bundle_reports_version_and_store(bundle: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(bundle / "bank-desktop"), "--version"],
        capture_output=True,
        text=True,
        env=bare_env(tmp_path),
        cwd=tmp_path,
        timeout=60,
        check=True,
    )
    assert result.stdout.startswith("bank-desktop 0.1.0 (store: sqlite:///")
    assert str(tmp_path) in result.stdout


def test_the_bundle_serves_the_rest_api(bundle: Path, tmp_path: Path) -> None:
    import json
    import re
    import signal
    import urllib.request

    store = f"sqlite://{tmp_path / 'api.db'}"
    issued = subprocess.run(  # a clerk's API token, as an admin gets it: the last line
        [str(bundle / "bank-desktop"), "--store", store, "staff", "token", "teller-1"],
        capture_output=True,
        text=True,
        env=bare_env(tmp_path),
        cwd=tmp_path,
        timeout=60,
        check=True,
    )
    token = issued.stdout.splitlines()[-1]
    server = subprocess.Popen(
        [
            str(bundle / "bank-desktop"),
            "--store",
            store,
            "serve",
            "--port",
            "0",
            "--dev",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=bare_env(tmp_path),
        cwd=tmp_path,
    )
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)", banner)
        assert found, banner + (server.stderr.read() if server.stderr else "")
        request = urllib.request.Request(
            f"http://127.0.0.1:{found.group(1)}/accounts",
            data=b'{"customerId": "cust-1", "initialBalance": 100}',
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 201
            assert json.loads(response.read())["balance"] == 100
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)  # waits, and reads and closes both pipes
        assert server.returncode == 0


def test_the_bundle_stays_small(bundle: Path) -> None:
    # Bytes on disk: PyInstaller links some libraries to each other; count each file once.
    size = sum(f.lstat().st_size for f in bundle.rglob("*") if f.is_file() and not f.is_symlink())
    assert size < 250 * 1024 * 1024, f"{size / 1e6:.0f} MB"
    assert (bundle / "bank-desktop.desktop").is_file()
    assert (bundle / "bank-desktop.png").is_file()
