"""``bank-desktop verify``: the command line of verification (the work is in ``auditing``).

Exit codes: 0 nothing wrong, 1 problems found, 2 bad usage (a seal file that cannot be read or
written, a store that is not a Bank Desktop store), 3 the store is unavailable.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from bank_desktop.application.verification import Seal, SealError, VerificationReport
from bank_desktop.auditing import run_verification
from bank_desktop.console import report_store_failure
from bank_desktop.eventstore import EventStoreError
from bank_desktop.private_files import write_atomically


def add_verify_parser(commands: Any) -> None:
    """The ``verify`` command on the CLI's subparsers."""
    verify = commands.add_parser(
        "verify",
        help="check the history: hash chains, positions, read models, money; exit 1 on problems",
        description="Verify the store's history without changing it: every event's hash and "
        "link, stream and global positions, the saved read model against a fresh fold, and "
        "that money is conserved. Each problem names its stream and position.",
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.add_argument(
        "--seal",
        metavar="FILE",
        help="also write a seal (every stream's chain head, the position, the date) to FILE, "
        "a new file; keep it where whoever can write the store cannot",
    )
    verify.add_argument(
        "--against",
        metavar="FILE",
        help="prove that nothing up to a seal made earlier was changed, removed or inserted",
    )


class _ProgressBar:
    """A bar on a terminal's stderr, redrawn at most ten times a second; nothing elsewhere."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._shown = 0.0
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._shown < 0.1 and done < total:
            return
        self._shown = now
        share = done / total if total else 1.0
        filled = int(share * 30)
        self._stream.write(
            f"\rVerifying [{'#' * filled}{'.' * (30 - filled)}] {share:4.0%} "
            f"{done:,} of {total:,} events"
        )
        self._stream.flush()
        self._drawn = True

    def clear(self) -> None:
        if self._drawn:
            self._stream.write("\r\033[K")
            self._stream.flush()


def run_verify_command(
    args: argparse.Namespace, store_url: str, data_dir: Path, out: TextIO
) -> int:
    seal_file = Path(args.seal) if args.seal else None
    if seal_file is not None and seal_file.exists():
        print(
            f"error: {seal_file} exists; a seal is evidence and is never overwritten: name a "
            "new file",
            file=sys.stderr,
        )
        return 2
    against = None
    if args.against:
        try:
            against = Seal.from_json(json.loads(Path(args.against).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            kind = "cannot be used" if isinstance(exc, SealError) else "cannot be read"
            print(f"error: the seal {args.against} {kind}: {reason}", file=sys.stderr)
            return 2
    bar = _ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    try:
        report = run_verification(
            store_url, data_dir, against=against, seal=seal_file is not None, progress=bar
        )
    except EventStoreError as exc:
        return report_store_failure(exc)
    finally:
        if bar is not None:
            bar.clear()
    if seal_file is not None and report.seal is not None:
        try:
            write_atomically(
                seal_file, json.dumps(report.seal.to_json(), ensure_ascii=False).encode()
            )
        except OSError as exc:
            print(f"error: cannot write the seal {seal_file}: {exc.strerror}", file=sys.stderr)
            return 2
    if args.json:
        document = report.to_json()
        document["sealWritten"] = str(seal_file) if seal_file is not None else None
        print(json.dumps(document, ensure_ascii=False, indent=2), file=out)
    else:
        _print_report(report, seal_file, out)
    return 0 if report.ok else 1


def _print_report(report: VerificationReport, seal_file: Path | None, out: TextIO) -> None:
    for finding in sorted(report.findings, key=lambda f: not f.problem):
        print(finding, file=out)
    for line in report.summary():
        print(line, file=out)
    if seal_file is not None and report.seal is not None:
        print(
            f"Seal written to {seal_file}: {len(report.seal.streams):,} streams up to position "
            f"{report.seal.position:,}, {report.seal.sealed_at}.",
            file=out,
        )
