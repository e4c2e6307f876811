"""The reliability suite: every test runs on a SQLite file and on the PostgreSQL server.

    QT_QPA_PLATFORM=offscreen .venv/bin/pytest tests/reliability -q -s

Sizes fit CI (about 70 s for the folder on two cores); ``BANK_DESKTOP_RELIABILITY_SCALE`` (a
factor, default 1) multiplies the work of every test for a longer run, e.g.
``BANK_DESKTOP_RELIABILITY_SCALE=3`` (about 2 minutes). It is an environment variable rather
than a pytest option because a conftest below the rootdir cannot add options. The figures each
test produced (commands run, kills injected, events checked, violations found) are printed at
the end of the run under "reliability figures" (and, with ``-s``, after each test) and are
attached to the JUnit report as properties.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bank_desktop.eventstore import prepare_store

SCALE = float(os.environ.get("BANK_DESKTOP_RELIABILITY_SCALE", "1") or "1")


def scaled(count: int, minimum: int = 1) -> int:
    """``count`` times the suite's scale factor."""
    return max(minimum, round(count * SCALE))


@dataclass(frozen=True)
class Target:
    """One store under test: its kind and the URL every process opens it with."""

    kind: str  #: "sqlite" or "postgresql"
    url: str
    #: PostgreSQL only: the application_name every connection of this test carries, so an
    #: outage can terminate exactly this test's backends and never another session's.
    application_name: str | None = None
    path: Path | None = None  #: SQLite only: the file


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    if request.param == "sqlite":
        path = tmp_path / "bank.db"
        made = Target("sqlite", f"sqlite://{path}", path=path)
    else:
        base: str = request.getfixturevalue("postgres_url")
        name = f"bdrel_{uuid.uuid4().hex[:12]}"
        joiner = "&" if "?" in base else "?"
        made = Target("postgresql", f"{base}{joiner}application_name={name}", application_name=name)
    store, _ = prepare_store(made.url)  # the schema (PostgreSQL) or the file (SQLite)
    store.close()
    return made


# ── figures ───────────────────────────────────────────────────────────────────────────────


@dataclass
class Figures:
    """Counts one test reports; printed at the end of the run and recorded as properties."""

    test: str
    values: dict[str, Any] = field(default_factory=dict)

    def add(self, **values: Any) -> None:
        for key, value in values.items():
            if isinstance(value, int | float) and isinstance(self.values.get(key), int | float):
                self.values[key] += value
            else:
                self.values[key] = value

    def line(self) -> str:
        return ", ".join(f"{k}={_shown(v)}" for k, v in self.values.items())


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


_COLLECTED: list[Figures] = []
TOTALS = ("commands", "kills", "events_checked", "violations")


@pytest.fixture
def figures(request: pytest.FixtureRequest, record_property: Any) -> Iterator[Figures]:
    found = Figures(request.node.nodeid.split("::", 1)[-1])
    yield found
    for key, value in found.values.items():
        record_property(key, value)
    _COLLECTED.append(found)
    print(f"\n[reliability] {found.test}: {found.line()}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _COLLECTED:
        return
    terminalreporter.write_sep("=", f"reliability figures (scale {SCALE:g})")
    for found in _COLLECTED:
        terminalreporter.write_line(f"{found.test}: {found.line()}")
    totals = {key: sum(f.values.get(key, 0) for f in _COLLECTED) for key in TOTALS}
    terminalreporter.write_line(
        "total: " + ", ".join(f"{key}={value}" for key, value in totals.items())
    )
