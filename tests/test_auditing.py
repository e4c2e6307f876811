"""Verification with the chains checked in other processes finds exactly what one process finds,
makes the same seal, and checks against one; a store that cannot be read fails the same way."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bank_desktop import auditing
from bank_desktop.application import BankService
from bank_desktop.application.demo_data import fill_demo_data
from bank_desktop.application.verification import VerificationReport
from bank_desktop.auditing import run_verification
from bank_desktop.eventstore import StoreUnavailableError, open_store


def findings(report: VerificationReport) -> list[tuple[str, bool, str, int, str]]:
    return sorted(
        (f.kind, f.problem, f.stream_id or "", f.position or 0, f.message) for f in report.findings
    )


@pytest.fixture
def url(tmp_path: Path) -> str:
    address = f"sqlite://{tmp_path / 'bank.db'}"
    store = open_store(address)
    try:
        fill_demo_data(store, events=1500)
        BankService(store).open_account("cust-late", "5")
    finally:
        store.close()
    return address


@pytest.mark.parametrize("parts", [1, 3])
def test_processes_find_what_one_process_finds(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parts: int
) -> None:
    monkeypatch.setattr(auditing, "chain_processes", lambda: parts)
    data = tmp_path / "data"
    clean_one = run_verification(url, data, parallel=False, seal=True)
    clean_many = run_verification(url, data, parallel=True, seal=True)
    assert clean_one.ok
    assert clean_many.ok
    assert clean_one.seal is not None
    assert clean_many.seal is not None
    assert clean_many.seal.streams == clean_one.seal.streams
    raw = sqlite3.connect(tmp_path / "bank.db")
    raw.execute("DROP TRIGGER events_refuse_update")
    raw.execute("DROP TRIGGER events_refuse_delete")
    raw.execute("UPDATE events SET data = replace(data, '.', '9.') WHERE global_position = 700")
    raw.execute("DELETE FROM events WHERE global_position IN (100, 1200)")
    raw.execute(
        "UPDATE events SET metadata = json_remove(metadata, '$.hash') WHERE global_position = 900"
    )
    raw.commit()
    raw.close()
    one = run_verification(url, data, parallel=False, against=clean_one.seal)
    many = run_verification(url, data, parallel=True, against=clean_one.seal)
    assert not one.ok
    assert findings(many) == findings(one)
    assert many.chains == one.chains
    assert {"chain", "position", "seal", "store"} <= set(one.problem_counts)


def test_a_store_that_cannot_be_read_fails_in_both(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailableError):
        run_verification(f"sqlite://{tmp_path / 'none.db'}", tmp_path, parallel=True)


def test_a_chain_process_that_dies_is_a_store_error(url: str) -> None:
    """A chain check killed before it answers (out of memory, a crash) fails the verification
    as a store that could not be read, never with a stray EOFError."""
    chains = auditing.ProcessChains(url, against=None, keep_heads=False, parts=1)
    try:
        chains.start(10)
        child, _ = chains._children[0]
        child.kill()
        child.join()
        with pytest.raises(StoreUnavailableError, match="ended without an answer"):
            chains.results()
    finally:
        chains.stop()


def cpu_ticks(monkeypatch: pytest.MonkeyPatch, *samples: tuple[int, int] | None) -> None:
    """``/proc/stat`` as it reads at each call: (idle, total) ticks; no pause between."""
    readings = iter(samples)
    monkeypatch.setattr(auditing, "_cpu_times", lambda: next(readings))
    monkeypatch.setattr(auditing.time, "sleep", lambda _seconds: None)


@pytest.mark.parametrize(
    ("cpus", "idle_share", "processes"),
    [(2, 0.9, 1), (2, 0.6, 0), (2, 0.0, 0), (4, 0.95, 3), (16, 0.9, 4), (1, 1.0, 0)],
)
def test_chain_processes_take_the_idle_cores_but_one(
    monkeypatch: pytest.MonkeyPatch, cpus: int, idle_share: float, processes: int
) -> None:
    monkeypatch.setattr(auditing.os, "cpu_count", lambda: cpus)
    cpu_ticks(monkeypatch, (1000, 5000), (1000 + round(1000 * idle_share), 6000))
    assert auditing.chain_processes() == processes


def test_cores_idle_now_count_though_the_last_minute_was_busy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Right after a rebuild (or any busy minute) the load average still says one core is
    taken; the cores are idle now, so the chains go to the second one."""
    monkeypatch.setattr(auditing.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(auditing.os, "getloadavg", lambda: (1.2, 0.9, 0.5))
    cpu_ticks(monkeypatch, (1000, 5000), (1195, 5200))
    assert auditing.chain_processes() == 1


@pytest.mark.parametrize(
    ("cpus", "load", "processes"),
    [(2, 0.3, 1), (2, 0.6, 0), (2, 5.0, 0), (4, 0.2, 3), (16, 1.0, 4), (1, 0.0, 0)],
)
def test_without_proc_stat_the_load_average_decides(
    monkeypatch: pytest.MonkeyPatch, cpus: int, load: float, processes: int
) -> None:
    monkeypatch.setattr(auditing.os, "cpu_count", lambda: cpus)
    monkeypatch.setattr(auditing.os, "getloadavg", lambda: (load, load, load))
    cpu_ticks(monkeypatch, None)
    assert auditing.chain_processes() == processes


def test_proc_stat_reads_as_idle_and_total_ticks() -> None:
    ticks = auditing._cpu_times()
    if ticks is None:
        pytest.skip("no /proc/stat here")
    idle, total = ticks
    assert 0 <= idle <= total
    assert 0.0 <= auditing.idle_cores(2, sample=0.05) <= 2.0
