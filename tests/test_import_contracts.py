"""The import contracts say what they claim: every adapter module is named where it must be."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: What application/ may import from eventstore/: the port and its errors (and the package).
PORT = {"bank_desktop.eventstore", "bank_desktop.eventstore.port", "bank_desktop.eventstore.errors"}


def _contract(name: str) -> dict[str, list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (found,) = [c for c in contracts if c["name"] == name]
    return found  # type: ignore[no-any-return]


def test_the_application_contract_names_every_adapter_module() -> None:
    folder = ROOT / "bank_desktop" / "eventstore"
    modules = {
        "bank_desktop.eventstore." + path.stem
        for path in folder.glob("*.py")
        if path.stem != "__init__"
    } | {"bank_desktop.eventstore." + path.parent.name for path in folder.glob("*/__init__.py")}
    forbidden = set(
        _contract("The application layer imports no Qt, drivers, or adapters")["forbidden_modules"]
    )

    assert sorted(modules - PORT - forbidden) == []
