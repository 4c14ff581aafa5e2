"""CPU accounting from /proc: who spent the machine's CPU during a phase of a benchmark.

A snapshot sums utime + stime of every process, under the name the harness gave it (serve/2,
worker1, …) or its group (PostgreSQL backends, RabbitMQ's Erlang VM, everything else), plus the
machine's busy and total time from /proc/stat. The difference of two snapshots, divided by the
packages handled in between, says where each package's CPU goes — which is what bounds
throughput on a saturated box.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
GROUPS = {
    "postgres": "postgresql",
    "beam.smp": "rabbitmq",
    "erl_child_setup": "rabbitmq",
    "epmd": "rabbitmq",
    "inet_gethost": "rabbitmq",
}


def _process_cpu(pid: int) -> tuple[str, float] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = stat[stat.index("(") + 1 : stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2 :].split()
    return comm, (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def _postgres_backend_of_another(pid: int, database: str) -> bool:
    """A PostgreSQL backend (`postgres: [15/main: ]user database host(port) …`) serving
    another database than the run's — another job sharing the server is not ours."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    if not title.startswith("postgres:") or "(" not in title:
        return False  # the postmaster and its background processes serve every database
    words = title.split(":", 2)[-1].split()
    return len(words) >= 2 and database not in words[:2]


def snapshot(named: dict[str, int], database: str | None = None) -> dict[str, float]:
    """`database`: count only the PostgreSQL backends serving it (others' go to `other`)."""
    names = {pid: name for name, pid in named.items()}
    totals: Counter[str] = Counter()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        got = _process_cpu(pid)
        if got is not None:
            comm, seconds = got
            group = names.get(pid) or GROUPS.get(comm, "other")
            if group == "postgresql" and database and _postgres_backend_of_another(pid, database):
                group = "other"
            totals[group] += seconds
    cpu = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(v) for v in cpu]
    totals["_busy"] = (sum(ticks) - ticks[3] - ticks[4]) / TICK  # minus idle and iowait
    totals["_total"] = sum(ticks) / TICK
    return dict(totals)


def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}


def per_package(spent: dict[str, float], packages: int) -> str:
    """'serve/2 4.1 ms, …; machine busy 97%' for a report line."""
    parts = [
        f"{name} {seconds * 1000 / max(1, packages):.1f}"
        for name, seconds in sorted(spent.items(), key=lambda kv: -kv[1])
        if not name.startswith("_") and seconds > 0
    ]
    busy = spent["_busy"] / spent["_total"] if spent.get("_total") else 0.0
    total = spent.get("_busy", 0.0) * 1000 / max(1, packages)
    return f"{total:.1f} ms of CPU per package ({', '.join(parts)} ms); machine busy {busy:.0%}"
