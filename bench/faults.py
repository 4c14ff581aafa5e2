"""Fault-injection run: 2,000 signed packages through the whole gateway (real processes, the
real PostgreSQL and RabbitMQ) while the harness SIGKILLs a worker five times, restarts
RabbitMQ once and PostgreSQL once, one push endpoint answers 503 to every other request and
one is down for good. Then it checks, and prints the counts:

- every package stored once (one row per DocumentId, none missing, none twice);
- every delivery ends `delivered`/`acknowledged` — or `failed`, exactly for the agency whose
  endpoint is permanently down;
- no recipient received the same delivery id as new twice (the receiver de-duplicates by
  X-Gateway-Delivery-Id; redeliveries after a kill are counted, each id is accepted once), and
  every delivered push copy reached its endpoint;
- the audit chain verifies (`gateway audit verify`).

    python bench/faults.py [--packages 2000]

The mid-burst server kill (`--server-kill`) is a separate, shorter scenario on the embedded
queue (no broker): `gateway serve` alone (relay and worker inside it) takes a burst of 200
signed packages, the receiver holds each push for a moment so copies are in flight, and the
harness SIGKILLs the server mid-burst and starts it again at once. It prints how long the jobs
the dead server held took to go out (`recovery_s`, from the kill until the last of them was
done), on top of the same checks (stored once, every copy delivered, duplicates de-duplicated,
chain intact):

    python bench/faults.py --server-kill [--packages 200]

It restarts the machine's PostgreSQL and RabbitMQ, which disturbs everything else using them:
run it when nothing else does (no pytest running), and it checks both are back at the end.
Not part of the test suite. Exit status 1 if a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Harness, free_port, wait_http


def sh(*command: str, timeout: float = 120) -> tuple[int, str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    return done.returncode, (done.stdout + done.stderr).strip()


def services_up() -> dict[str, bool]:
    pg, _ = sh("pg_isready", "-h", "127.0.0.1")
    rabbit, _ = sh("rabbitmqctl", "status", timeout=60)
    return {"postgresql": pg == 0, "rabbitmq": rabbit == 0}


def restart_rabbitmq() -> str:
    a = sh("rabbitmqctl", "stop_app")
    time.sleep(3)
    b = sh("rabbitmqctl", "start_app")
    sh("rabbitmqctl", "await_startup", timeout=120)
    return f"stop_app {a[0]}, start_app {b[0]}"


def restart_postgresql() -> str:
    code, out = sh("pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart")
    for _ in range(60):
        if sh("pg_isready", "-h", "127.0.0.1")[0] == 0:
            break
        time.sleep(0.5)
    return f"restart {code} {out[:200]}"


class Chaos(threading.Thread):
    """The fault schedule, started when the driver has signed its packages and begins."""

    def __init__(self, h: Harness, args: argparse.Namespace):
        super().__init__(daemon=True)
        self.h, self.args = h, args
        self.log: list[str] = []
        self.stop = threading.Event()
        self.restarts: dict[str, int] = {}

    def note(self, text: str) -> None:
        line = f"t+{time.monotonic() - self.t0:5.1f}s {text}"
        self.log.append(line)
        print(f"faults: {line}", flush=True)

    def supervise(self) -> None:
        """Restart relay/worker processes that exited (as systemd or Kubernetes would)."""
        for name, proc in list(self.h.procs.named.items()):
            if name.startswith(("relay", "worker")) and proc.poll() is not None:
                self.restarts[name] = self.restarts.get(name, 0) + 1
                self.note(f"{name} exited {proc.returncode}: restarted")
                self.h.restart(name)

    def wait(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not self.stop.is_set():
            self.supervise()
            time.sleep(0.2)

    def run(self) -> None:
        self.t0 = time.monotonic()
        plan: list[tuple[float, str]] = [(8 + 12 * i, "kill") for i in range(5)]
        if not self.args.kills_only:
            plan += [(30, "rabbitmq"), (70, "postgresql")]
        plan.sort()
        kills = 0
        for at, what in plan:
            self.wait(at - (time.monotonic() - self.t0))
            if self.stop.is_set():
                return
            if what == "kill":
                name = f"worker{kills % 2 + 1}"
                pid = self.h.procs.named[name].pid
                self.h.procs.stop(name, signal.SIGKILL, wait=5)
                kills += 1
                self.note(f"SIGKILL {name} (pid {pid}), kill {kills}/5")
                time.sleep(1)
                self.h.restart(name)
                self.note(f"{name} restarted")
            elif what == "rabbitmq":
                self.note("RabbitMQ: " + restart_rabbitmq())
            else:
                self.note("PostgreSQL: " + restart_postgresql())
        while not self.stop.is_set():
            self.wait(1)


RETRY_BUDGET = 300  # seconds of retrying before a copy fails (the default is 24 h)


def wait_for_dead_endpoint(
    h: Harness, args: argparse.Namespace, limit: float = RETRY_BUDGET + 120
) -> float:
    """Copies for the endpoint that is down for good retry until the retry budget
    (GATEWAY_DELIVERY_MAX_TOTAL_SECONDS) runs out and then fail: wait for that."""
    import asyncpg
    from sqlalchemy.engine import make_url

    async def pending() -> int:
        u = make_url(args.postgres_url)
        conn = await asyncpg.connect(
            host=u.host, port=u.port, user=u.username, password=u.password, database=h.dbname
        )
        try:
            return await conn.fetchval(
                "SELECT count(*) FROM deliveries WHERE state = 'pending'"
                " AND recipient_code = ANY($1::text[])",
                list(args.dead),
            )
        finally:
            await conn.close()

    started = time.monotonic()
    while time.monotonic() - started < limit and asyncio.run(pending()):
        time.sleep(2)
    return round(time.monotonic() - started, 1)


def checks(h: Harness, args: argparse.Namespace, driver: dict[str, Any]) -> dict[str, Any]:
    import asyncpg
    from sqlalchemy.engine import make_url

    async def query() -> dict[str, Any]:
        u = make_url(args.postgres_url)
        conn = await asyncpg.connect(
            host=u.host, port=u.port, user=u.username, password=u.password, database=h.dbname
        )
        try:
            docs = await conn.fetchrow(
                "SELECT count(*) AS rows, count(DISTINCT document_id) AS ids"
                " FROM packages WHERE kind = 'document'"
            )
            states = await conn.fetch(
                "SELECT recipient_code, state, count(*) AS n FROM deliveries"
                " WHERE kind = 'document' GROUP BY recipient_code, state"
            )
            pushed = await conn.fetch(
                "SELECT d.id FROM deliveries d JOIN agencies a ON a.code = d.recipient_code"
                " WHERE d.kind = 'document' AND a.delivery_mode = 'push'"
                " AND d.state IN ('delivered', 'acknowledged')"
            )
            return {
                "rows": docs["rows"],
                "ids": docs["ids"],
                "states": [(r["recipient_code"], r["state"], r["n"]) for r in states],
                "pushed": {r["id"] for r in pushed},
            }
        finally:
            await conn.close()

    db = asyncio.run(query())
    receiver = json.loads((h.workdir / "receiver.json").read_text())
    arrivals = receiver["arrivals"]
    dead = set(args.dead)
    by_state: dict[str, int] = {}
    wrong: list[str] = []
    for code, state, n in db["states"]:
        by_state[state] = by_state.get(state, 0) + n
        ok = state == "failed" if code in dead else state in ("delivered", "acknowledged")
        if not ok:
            wrong.append(f"{n} to {code} {state}")
    never_arrived = [i for i in db["pushed"] if i not in arrivals]
    done = subprocess.run(
        h.gateway("audit", "verify"), env=h.env(), capture_output=True, text=True, check=False
    )
    code, out = done.returncode, (done.stdout + done.stderr).strip()
    return {
        "packages_sent": args.packages,
        "stored_rows": db["rows"],
        "distinct_document_ids": db["ids"],
        "stored_once": db["rows"] == db["ids"] == args.packages,
        "deliveries_by_state": by_state,
        "deliveries_in_wrong_state": wrong,
        "receiver": receiver["counts"],
        "new_ids_at_receiver": len(arrivals),
        "delivered_push_copies_not_received": len(never_arrived),
        "audit_verify": {"exit": code, "output": out[-300:]},
        "driver_answers": driver["answers"],
        "driver_drained": driver["drained"],
    }


async def _pg(h: Harness, args: argparse.Namespace, sql: str) -> list[Any]:
    import asyncpg
    from sqlalchemy.engine import make_url

    u = make_url(args.postgres_url)
    conn = await asyncpg.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, database=h.dbname
    )
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


class ServerKill(threading.Thread):
    """SIGKILL `gateway serve` `kill_after` seconds into the burst, start it again at once, and
    time how long the jobs it held (leased rows of the embedded queue) take to be done."""

    def __init__(self, h: Harness, args: argparse.Namespace):
        super().__init__(daemon=True)
        self.h, self.args = h, args
        self.log: list[str] = []
        self.result: dict[str, Any] = {}

    def note(self, text: str) -> None:
        line = f"t+{time.monotonic() - self.t0:5.1f}s {text}"
        self.log.append(line)
        print(f"faults: {line}", flush=True)

    def run(self) -> None:
        self.t0 = time.monotonic()
        time.sleep(self.args.kill_after)
        leased = "SELECT count(*) AS n FROM queued_jobs WHERE locked_by IS NOT NULL"
        while time.monotonic() - self.t0 < 60:  # kill while pushes are in flight
            if asyncio.run(_pg(self.h, self.args, leased))[0]["n"] >= 4:
                break
            time.sleep(0.1)
        pid = self.h.procs.named["serve"].pid
        self.h.procs.stop("serve", signal.SIGKILL, wait=5)
        killed = time.monotonic()
        self.note(f"SIGKILL gateway serve (pid {pid}) mid-burst")
        held = asyncio.run(
            _pg(self.h, self.args, "SELECT id FROM queued_jobs WHERE locked_by IS NOT NULL")
        )
        orphans = {r["id"] for r in held}
        self.note(f"{len(orphans)} jobs were held by the dead server")
        self.h.restart("serve")
        wait_http(f"{self.h.config['gateway_url']}/readyz", 60, self.h.procs)
        ready = time.monotonic()
        self.note("gateway serve restarted and ready")
        left, unclaimed = set(orphans), set(orphans)
        claimed = ready
        while left and time.monotonic() - killed < 900:
            rows = asyncio.run(_pg(self.h, self.args, "SELECT id, locked_by FROM queued_jobs"))
            left &= {r["id"] for r in rows}
            # taken again by the new server (every lease now is its own) or done
            unclaimed &= {r["id"] for r in rows if r["locked_by"] is None}
            if not unclaimed and claimed == ready:
                claimed = time.monotonic()
            if left:
                time.sleep(0.1)
        done = time.monotonic()
        self.note(f"jobs held at the kill: {len(orphans) - len(left)}/{len(orphans)} done")
        self.result = {
            "jobs_held_at_kill": len(orphans),
            "jobs_held_never_done": len(left),
            "restart_to_ready_s": round(ready - killed, 1),
            "recovery_s": round(done - killed, 1),
            "ready_to_all_reclaimed_s": round(max(claimed, ready) - ready, 1),
            "ready_to_recovered_s": round(done - ready, 1),
            # the restarted server released them at start (else their leases had lapsed first)
            "released_at_start": "process that is gone"
            in (self.h.workdir / "serve.log").read_text(errors="replace"),
        }


def server_kill(args: argparse.Namespace) -> None:
    args.serve_workers, args.workers, args.worker_concurrency = 1, 0, 16
    args.status_fraction, args.json = 0.0, None
    args.bound_packages = args.bound_seconds = args.sustained_packages = 0
    args.sustained_seconds = args.mix_packages = args.mix_seconds = args.mix_rate = 0
    args.concurrency, args.big_mb = 16, 0
    args.drain_seconds, args.phase_timeout = 600, 1800
    args.answer_delay = 0.3  # each push waits for its answer: copies are in flight at the kill
    args.fail_503, args.dead = [], []
    args.set = [
        "GATEWAY_BROKER_URL=",  # the embedded (database) queue, relay and worker in the server
        "GATEWAY_RELAY_IN_PROCESS=true",
        # every push agency's endpoint is the one receiver (one origin, one concurrency limit):
        # let it take as many pushes as the worker runs, as 10 separate endpoints would
        "GATEWAY_PUSH_ENDPOINT_CONCURRENCY=16",
        *args.set,
    ]
    h = Harness(args)
    killer = ServerKill(h, args)
    ok = False
    try:
        h.setup()
        h.procs.start(
            "serve",
            h.gateway("serve", "--port", str(h.gateway_port), "--log-level", "warning"),
            h.env(),
            h.workdir / "serve.log",
        )
        wait_http(f"{h.config['gateway_url']}/readyz", 60, h.procs)
        ready = h.workdir / "driver-ready"
        extra = {
            "fault_packages": args.packages,
            "fault_rate": args.rate,
            "driver_ready": str(ready),
            "dead": [],
        }

        def start_killer() -> None:
            while not ready.exists():
                time.sleep(0.05)
            killer.start()

        threading.Thread(target=start_killer, daemon=True).start()
        driver = h.driver("faults", "faults.json", extra, supervise=lambda: None)
        killer.join(timeout=900)
        h.procs.stop("receiver")
        result = checks(h, args, driver)
        result["server_kill"] = killer.result
        result["faults"] = killer.log
        print(json.dumps(result, indent=2, ensure_ascii=False))
        ok = (
            result["stored_once"]
            and not result["deliveries_in_wrong_state"]
            and result["delivered_push_copies_not_received"] == 0
            and result["audit_verify"]["exit"] == 0
            and killer.result.get("jobs_held_at_kill", 0) > 0  # else the kill proved nothing
            and killer.result.get("jobs_held_never_done") == 0
        )
        recovery = killer.result.get("recovery_s")
        print(f"faults: server kill: in-flight work recovered {recovery} s after the kill")
        print(f"faults: {'ALL CHECKS PASSED' if ok else 'CHECKS FAILED'}")
    finally:
        h.cleanup()
    sys.exit(0 if ok else 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--packages", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=15, help="packages offered per second")
    parser.add_argument("--agencies", type=int, default=20)
    parser.add_argument(
        "--postgres-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--rabbitmq-url", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--kills-only", action="store_true", help="no service restarts (a dry run of the script)"
    )
    parser.add_argument(
        "--server-kill",
        action="store_true",
        help="the mid-burst SIGKILL of `gateway serve` on the embedded queue (see above)",
    )
    parser.add_argument("--kill-after", type=float, default=2.0, help="seconds into the burst")
    args = parser.parse_args()
    if args.server_kill:
        if args.packages == 2000:
            args.packages = 200
        args.set = []
        server_kill(args)
        return
    # what the harness needs (see bench/harness.py)
    args.serve_workers, args.workers, args.worker_concurrency = 2, 2, 16
    args.status_fraction, args.set, args.json = 0.0, [], None
    args.bound_packages = args.bound_seconds = args.sustained_packages = 0
    args.sustained_seconds = args.mix_packages = args.mix_seconds = args.mix_rate = 0
    args.concurrency, args.big_mb = 16, 0
    args.drain_seconds, args.phase_timeout = 300, 1800
    args.dead_port = free_port()  # nothing listens there
    h = Harness(args)
    push = [c for i, c in enumerate(h.codes) if i % 2 == 0]
    args.fail_503, args.dead = [push[0]], [push[1]]
    args.set = [
        "GATEWAY_DELIVERY_RETRY_TIERS=1,2,4,8",  # short tiers so the run ends in minutes
        # long enough that the flaky endpoint's copies always get through (its breaker opens
        # for up to 8 s at a time), short enough that the dead endpoint's fail within the run
        f"GATEWAY_DELIVERY_MAX_TOTAL_SECONDS={RETRY_BUDGET}",
        "GATEWAY_PUSH_BREAKER_COOLDOWN_SECONDS=2",
        "GATEWAY_PUSH_BREAKER_MAX_COOLDOWN_SECONDS=8",
        "GATEWAY_PUSH_CONNECT_TIMEOUT=1",
    ]
    chaos = Chaos(h, args)
    ok = False
    try:
        print(f"faults: services before: {services_up()}", flush=True)
        h.setup()
        h.start_gateway()
        ready = h.workdir / "driver-ready"
        extra = {
            "fault_packages": args.packages,
            "fault_rate": args.rate,
            "driver_ready": str(ready),
            "dead": args.dead,
        }

        def start_chaos() -> None:
            while not ready.exists():
                time.sleep(0.2)
            chaos.start()

        threading.Thread(target=start_chaos, daemon=True).start()
        driver = h.driver("faults", "faults.json", extra, supervise=chaos.supervise)
        chaos.stop.set()
        settled = wait_for_dead_endpoint(h, args)
        h.procs.stop("receiver")
        result = checks(h, args, driver)
        result["dead_endpoint_settled_after_s"] = settled
        result["faults"] = chaos.log
        result["process_restarts_after_exit"] = chaos.restarts
        print(json.dumps(result, indent=2, ensure_ascii=False))
        ok = (
            result["stored_once"]
            and not result["deliveries_in_wrong_state"]
            and result["delivered_push_copies_not_received"] == 0
            and result["audit_verify"]["exit"] == 0
        )
        print(f"faults: {'ALL CHECKS PASSED' if ok else 'CHECKS FAILED'}")
    finally:
        chaos.stop.set()
        h.cleanup()
        up = services_up()
        if not all(up.values()):
            if not up["postgresql"]:
                restart_postgresql()
            if not up["rabbitmq"]:
                sh("rabbitmqctl", "start_app")
            up = services_up()
        print(f"faults: services after: {up}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
