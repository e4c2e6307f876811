"""Customer search at N customers: what one keystroke in a find box or picker costs.

Builds the read model's customers projection from N ``customer.registered`` events (names
drawn from a mix of plain and accented first and last names, national ids of letters and
digits), then times, for every prefix of a few queries typed letter by letter:

- ``matching(text)``: every matching customer id (what an accounts filter uses);
- ``search(text, limit=20)``: the ranked best 20 (what a picker shows);

and the cost to build the index (folding every event) and to restore it from a snapshot.
Target: a keystroke well within 50 ms at 100,000 customers (issue 13).
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from _common import Stopwatch, apply_quick, median, ms, parser, print_header, print_table, section

from bank_desktop.application.projections.customers import CustomersProjection
from bank_desktop.eventstore.port import RecordedEvent

FIRST = [
    "Ada",
    "Zoë",
    "Grace",
    "José",
    "Ångela",
    "Marie",
    "Søren",
    "Li",
    "Émile",
    "Noor",
    "Chloé",
    "Björn",
    "Maya",
    "Iñigo",
    "Olu",
    "Anaïs",
]
LAST = [
    "Lovelace",
    "Hopper",
    "García",
    "Curie",
    "Ångström",
    "Kierkegaard",
    "Nakamura",
    "Müller",
    "Dubois",
    "Okafor",
    "Ivanović",
    "O'Brien",
    "Smith",
    "Núñez",
    "Lindqvist",
    "Chen",
    "Østergaard",
    "Fernández",
    "Kowalski",
    "Mbeki",
]
QUERIES = ["lovelace", "angstrom", "zoe mu", "AB12345"]


def events(count: int, seed: int) -> list[RecordedEvent]:
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    made = []
    for number in range(count):
        at = (start + timedelta(seconds=number)).isoformat()
        name = f"{rng.choice(FIRST)} {rng.choice(FIRST)} {rng.choice(LAST)}-{rng.choice(LAST)}"
        national = f"{rng.choice('ABCDEFGH')}{rng.choice('ABCDEFGH')}{rng.randrange(10**6):06d}"
        made.append(
            RecordedEvent(
                f"ev-{number}",
                "customer.registered",
                {
                    "customerId": f"customer-{number:012d}",
                    "fullName": name,
                    "nationalId": national,
                    "registeredAt": at,
                },
                f"customer-{number:012d}",
                1,
                number + 1,
                at,
                {},
            )
        )
    return made


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--repeat", type=int, default=5, help="times each keystroke is timed")
    args = p.parse_args()
    apply_quick(args, p, customers=5_000, repeat=2)
    print_header("Customer search", args)

    stream = events(args.customers, args.seed)
    section(f"index of {args.customers:,} customers")
    projection = CustomersProjection()
    step = projection.handlers()["customer.registered"]
    with Stopwatch() as build:
        for event in stream:
            step(event)
    state = projection.snapshot_state()
    with Stopwatch() as restore:
        CustomersProjection.from_snapshot_state(state)
    print_table(
        ["what", "time"],
        [["fold every registration (build)", ms(build.seconds)],
         ["restore from a snapshot's rows", ms(restore.seconds)]],
    )  # fmt: skip

    section("one keystroke: each prefix of each query, median of --repeat runs")
    rows = []
    worst = 0.0
    for query in QUERIES:
        for end in range(1, len(query) + 1):
            typed = query[:end]
            match_times, search_times = [], []
            for _ in range(args.repeat):
                started = time.perf_counter()
                found = projection.matching(typed)
                match_times.append(time.perf_counter() - started)
                started = time.perf_counter()
                projection.search(typed, limit=20)
                search_times.append(time.perf_counter() - started)
            worst = max(worst, *match_times, *search_times)
            rows.append([repr(typed), f"{len(found):,}", ms(median(match_times)),
                         ms(median(search_times))])  # fmt: skip
    print_table(["typed", "matches", "matching()", "search(limit=20)"], rows)
    print()
    print(f"slowest single call: {ms(worst)} (target: within 50 ms per keystroke)")


if __name__ == "__main__":
    main()
