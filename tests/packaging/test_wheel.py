"""The wheel: built from the tree, installed into a clean virtual environment, complete.

The window's resources live in the top-level ``resources/`` folder and reach the package only
through the build's mapping (``pyproject.toml``): this proves the installed package finds them
without the source tree, and that the explicit package list names every package there is.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    shutil.rmtree(ROOT / "build" / "lib", ignore_errors=True)  # setuptools keeps stale copies
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("bank_desktop-*.whl")
    return built


def test_the_wheel_holds_every_package_of_the_tree_and_the_resources(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {
        str(init.parent.relative_to(ROOT)) for init in (ROOT / "bank_desktop").rglob("__init__.py")
    }

    missing = sorted(p for p in packages if f"{p}/__init__.py" not in names)
    assert missing == []
    modules = {n for n in names if n.startswith("bank_desktop/") and n.endswith(".py")}
    tree = {str(p.relative_to(ROOT)) for p in (ROOT / "bank_desktop").rglob("*.py")}
    assert sorted(m for m in modules if m not in tree and "/resources/" not in m) == []
    resources = sorted(p.relative_to(ROOT / "resources") for p in (ROOT / "resources").rglob("*"))
    for resource in resources:
        if resource.suffix in (".svg", ".png", ".qss"):
            assert f"bank_desktop/resources/{resource}" in names


def test_the_installed_wheel_finds_the_resources_without_the_source_tree(
    wheel: Path, tmp_path: Path
) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    probe = (
        "from importlib.resources import files\n"
        "import bank_desktop\n"
        "root = files('bank_desktop.resources')\n"
        "assert root.joinpath('style.qss').read_text().strip()\n"
        "assert root.joinpath('icons').joinpath('deposit.svg').read_text().count('<svg') == 1\n"
        "print(bank_desktop.__file__)\n"
    )
    result = subprocess.run(
        [str(python), "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the source tree: only the installed package can answer
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert str(env_dir) in result.stdout
