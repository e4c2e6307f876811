"""A psycopg connection that gives up on a silent server: the client's half of the stall bound.

A link that stops forwarding without a word (a NAT entry or firewall state gone, a half-dead
VPN, a stuck proxy) sends no error, no reset and no FIN; keepalives and ``tcp_user_timeout`` do
not fire while something on the way still acknowledges, and the server's ``statement_timeout``
cannot help when the query never reached it. psycopg then waits for the answer for as long as
the stall lasts. So every wait of a statement is watched here: psycopg wakes its wait every
0.1 s when nothing happened on the socket, and once nothing has happened for longer than the
bound the connection is closed and :class:`StalledError` raised.

It is silence that counts, not the statement's total time, so a slow but live link (each
reply late, but coming) still works. A closed connection is never reused mid-protocol (the
pool discards it), and the server rolls back whatever transaction it had open: nothing is half
written. Whether a COMMIT already sent was applied cannot be known by anyone; that is what
command ids are for.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from time import monotonic
from typing import Any, TypeVar

import psycopg
from psycopg.abc import PQGen

RV = TypeVar("RV")

#: How often psycopg wakes a wait with nothing to report (its own default).
_WAKE_UP = 0.1


class StalledError(psycopg.OperationalError):
    """The server sent nothing for longer than the bound while an answer was due."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no answer from the server within {seconds:g} s")
        self.seconds = seconds


class GuardedConnection(psycopg.Connection[Any]):
    """A connection whose every statement fails with StalledError after ``silence_limit``
    seconds without a sign of life from the server (None: wait as long as it takes)."""

    silence_limit: float | None = None

    def wait(self, gen: PQGen[RV], interval: float = _WAKE_UP, timeout: float | None = None) -> RV:
        """psycopg's wait for one exchange with the server, watched for silence."""
        limit = self.silence_limit
        watched = gen if limit is None else _watched(gen, limit)
        try:
            if timeout is None:
                return super().wait(watched, interval)
            return super().wait(watched, interval, timeout)
        except StalledError:
            # Mid-protocol, the connection can never be used again: close it (the pool
            # discards it; the server rolls back its open transaction when it notices).
            self.pgconn.finish()
            raise


def _watched(gen: PQGen[RV], limit: float) -> PQGen[RV]:
    """``gen`` as it is, except that it raises StalledError after ``limit`` seconds in which
    the socket was neither readable nor writable."""
    heard = monotonic()
    try:
        state = next(gen)
    except StopIteration as done:
        result: RV = done.value
        return result
    while True:
        ready = yield state
        if ready:
            heard = monotonic()
        elif monotonic() - heard > limit:
            gen.close()
            raise StalledError(limit)
        try:
            state = gen.send(ready)
        except StopIteration as done:
            result = done.value
            return result


@contextmanager
def unwatched(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """Let ``conn`` wait as long as it takes inside the block: for notifications, where
    silence is normal, and for ``deploy``'s one-off schema work."""
    if not isinstance(conn, GuardedConnection):
        yield
        return
    limit, conn.silence_limit = conn.silence_limit, None
    try:
        yield
    finally:
        conn.silence_limit = limit
