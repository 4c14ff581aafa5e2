"""The proof harness: the whole gateway as real processes against the real PostgreSQL and
RabbitMQ, driven from a separate, cheap load generator, with its figures set against two bounds.

    python bench/harness.py                 # full run (200 agencies, a few minutes of load)
    python bench/harness.py --smoke         # CI: tiny, about a minute; prints, never judges speed
    python bench/harness.py --profile DIR   # also py-spy every gateway process (profile_top.py)

What runs (all on 127.0.0.1, ports chosen free, everything removed afterwards):
- a fresh PostgreSQL database (migrated with `gateway db upgrade`) and a unique RabbitMQ
  prefix (its queues deleted at the end);
- `gateway serve --workers W`, `gateway relay`, `gateway worker` × K;
- bench/receiver.py: the push endpoint of every push-mode agency (half of them; the other half
  poll), checking HMACs, de-duplicating by delivery id, sending statuses back for a share of
  the documents;
- bench/lean_driver.py: the agencies' systems — signed ~16 KB packages (RSA-2048/SHA-256),
  1–5 recipients; sustained intake through Debian's `wrk` (bench/wrk_intake.lua), a fixed-rate
  open loop and the poll-mode agencies' inbox → fetch → ack over a raw keep-alive client
  (bench/lean_http.py).

Phases: (1) the two bounds, each in ONE process before the gateway starts: the gateway's own
pipeline (one parse + validate, verify on that tree, as intake calls it) and the raw primitives (one
hardened parse, XSD, C14N + SHA-256, one RSA verify with `cryptography`); (2) sustained intake,
closed loop, then until every copy is done (pushed 2xx, or fetched and acknowledged): intake
rate, end-to-end rate, CPU per package per process group; (3) a fixed offered rate (125/s):
intake → delivered latency from the database; (4) one 25 MB package: each process's peak extra
memory as a multiple of its size. CPU per package per process (server, relay, worker,
PostgreSQL backends of this run's database, RabbitMQ, driver incl. wrk, receiver) is printed
for every run, `--smoke` included.

Exit status: non-zero only when something crashed (a process died, a phase raised) — never
for slowness; figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT / "tests" / "trust"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def agency_codes(n: int) -> list[str]:
    return [f"000.00.{10 + i // 100:02d}.H{i % 100:02d}" for i in range(n)]


# ------------------------------------------------------------------------------- processes


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) in KiB from /proc."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def reset_peak(pid: int) -> None:
    """Reset VmHWM to the current RSS (Linux: write 5 to clear_refs)."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


@dataclass
class Procs:
    named: dict[str, subprocess.Popen] = field(default_factory=dict)
    commands: dict[str, tuple[list[str], dict[str, str], Path]] = field(default_factory=dict)

    def start(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.commands[name] = (command, env, log)
        self.named[name] = subprocess.Popen(
            command,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def pids(self) -> dict[str, int]:
        """Every gateway process by name; uvicorn's worker processes as serve/1, serve/2, …"""
        out = {}
        for name, p in self.named.items():
            if p.poll() is not None:
                continue
            out[name] = p.pid
            for i, child in enumerate(children(p.pid), 1):
                if name == "serve":
                    out[f"serve/{i}"] = child
        return out

    def dead(self) -> list[str]:
        return [
            f"{n} (exit {p.returncode})"
            for n, p in self.named.items()
            if p.poll() is not None and not n.startswith(("driver", "py-spy"))
        ]

    def stop(self, name: str, sig: int = signal.SIGTERM, wait: float = 30) -> None:
        p = self.named.get(name)
        if p is None or p.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, sig)
        try:
            p.wait(wait)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)

    def stop_all(self) -> None:
        for name in list(self.named):
            self.stop(name)


# --------------------------------------------------------------------------------- harness


class Harness:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.workdir = Path(tempfile.mkdtemp(prefix="gateway-harness-"))
        self.run_id = uuid.uuid4().hex[:8]
        self.dbname = f"gateway_harness_{self.run_id}"
        self.prefix = f"harness-{self.run_id}"
        self.gateway_port = free_port()
        self.receiver_port = free_port()
        self.procs = Procs()
        self.codes = agency_codes(args.agencies)
        self.config: dict[str, Any] = {}
        self.db_created = False
        self.secrets_key = ""

    # --- setup ------------------------------------------------------------------------
    def database_url(self) -> str:
        from sqlalchemy.engine import make_url

        url = make_url(self.args.postgres_url).set(database=self.dbname)
        return url.render_as_string(hide_password=False)

    def asyncpg_params(self) -> dict[str, Any]:
        from sqlalchemy.engine import make_url

        u = make_url(self.args.postgres_url)
        return {
            "host": u.host,
            "port": u.port or 5432,
            "user": u.username,
            "password": u.password,
            "database": self.dbname,
        }

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT / "src"),
            "GATEWAY_ENVIRONMENT": "development",
            "GATEWAY_DATABASE_URL": self.database_url(),
            "GATEWAY_DATA_DIR": str(self.workdir),
            "GATEWAY_AUTO_MIGRATE": "false",
            "GATEWAY_BROKER_URL": self.args.rabbitmq_url,
            "GATEWAY_BROKER_PREFIX": self.prefix,
            "GATEWAY_TRUST_BUNDLE": str(self.workdir / "bundle.pem"),
            "GATEWAY_RELAY_IN_PROCESS": "false",
            "GATEWAY_SECRETS_KEY": self.secrets_key,
            "GATEWAY_LOG_LEVEL": "warning",
            "GATEWAY_WORKER_CONCURRENCY": str(self.args.worker_concurrency),
            **dict(kv.split("=", 1) for kv in self.args.set),
        }

    def gateway(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "gateway.cli", *args]

    def setup(self) -> None:
        from cryptography.fernet import Fernet
        from cryptography.hazmat.primitives import serialization
        from pki import build_pki

        self.secrets_key = Fernet.generate_key().decode()
        pki = build_pki()
        (self.workdir / "bundle.pem").write_bytes(pki.bundle_pem())
        (self.workdir / "agency-key.pem").write_bytes(
            pki.agency_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        (self.workdir / "agency-chain.pem").write_bytes(
            b"".join(
                c.public_bytes(serialization.Encoding.PEM) for c in (pki.agency, pki.intermediate)
            )
        )
        asyncio.run(admin_sql(self.args.postgres_url, f'CREATE DATABASE "{self.dbname}"'))
        self.db_created = True
        subprocess.run(
            self.gateway("db", "upgrade"),
            env=self.env(),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        agencies = asyncio.run(self.register())
        self.config = {
            "workdir": str(self.workdir),
            "gateway_url": f"http://127.0.0.1:{self.gateway_port}",
            "receiver_url": f"http://127.0.0.1:{self.receiver_port}",
            "agencies": agencies,
            "sign_processes": 2,
            "bound_packages": self.args.bound_packages,
            "bound_seconds": self.args.bound_seconds,
            "sustained_packages": self.args.sustained_packages,
            "sustained_seconds": self.args.sustained_seconds,
            "concurrency": self.args.concurrency,
            "mix_packages": self.args.mix_packages,
            "mix_seconds": self.args.mix_seconds,
            "mix_rate": self.args.mix_rate,
            "drain_seconds": self.args.drain_seconds,
            "big_bytes": int(self.args.big_mb * 1_000_000),
            # bench/lean_driver.py
            "gateway_host": "127.0.0.1",
            "gateway_port": self.gateway_port,
            "db": self.asyncpg_params(),
            # (bench/faults.py builds its own arguments, without these)
            "wrk_threads": getattr(self.args, "wrk_threads", 1),
            "rate": getattr(self.args, "rate", 0),
            "rate_seconds": getattr(self.args, "rate_seconds", 0),
        }
        receiver = {
            "gateway_url": self.config["gateway_url"],
            "agencies": {c: a for c, a in agencies.items() if a["mode"] == "push"},
            "status_fraction": self.args.status_fraction,
            "fail_503": self.args.fail_503,
            "answer_delay": getattr(self.args, "answer_delay", 0.0),
            "out": str(self.workdir / "receiver.json"),
        }
        (self.workdir / "receiver-config.json").write_text(json.dumps(receiver))
        self.procs.start(
            "receiver",
            [
                sys.executable,
                str(BENCH / "receiver.py"),
                str(self.workdir / "receiver-config.json"),
                "--port",
                str(self.receiver_port),
            ],
            self.env(),
            self.workdir / "receiver.log",
        )
        wait_http(f"{self.config['receiver_url']}/stats", 30, self.procs)

    async def register(self) -> dict[str, dict[str, str]]:
        from gateway.db import Database
        from gateway.registry.push_secrets import rotate_push_secret
        from gateway.registry.schemas import AgencyIn, SystemIn
        from gateway.registry.service import RegistryService
        from gateway.settings import Settings

        settings = Settings(
            database_url=self.database_url(),
            data_dir=self.workdir,
            secrets_key=self.secrets_key,
            auto_migrate=False,
        )
        db = Database(settings)
        out: dict[str, dict[str, str]] = {}
        try:
            async with db.sessionmaker() as session:
                registry = RegistryService(session, "harness")
                dead = set(getattr(self.args, "dead", []))
                for i, code in enumerate(self.codes):
                    push = i % 2 == 0
                    port = self.args.dead_port if code in dead else self.receiver_port
                    agency = await registry.create_agency(
                        AgencyIn(
                            code=code,
                            name=f"Cơ quan thử {code}",
                            delivery_mode="push" if push else "poll",
                            endpoint_url=(f"http://127.0.0.1:{port}/push/{code}" if push else None),
                        )
                    )
                    entry = {"mode": "push" if push else "poll"}
                    if push:
                        entry["secret"] = await rotate_push_secret(
                            session, agency, settings.secret_box(), actor="harness"
                        )
                    out[code] = entry
                for code in self.codes:
                    _, key = await registry.create_system(
                        SystemIn(name=f"qlvb-{code}", agencies=[code])
                    )
                    out[code]["key"] = key
                await session.commit()
        finally:
            await db.dispose()
        return out

    def start_gateway(self) -> None:
        env, logs = self.env(), self.workdir
        self.procs.start(
            "serve",
            self.gateway(
                "serve",
                "--port",
                str(self.gateway_port),
                "--workers",
                str(self.args.serve_workers),
                "--log-level",
                "warning",
            ),
            env,
            logs / "serve.log",
        )
        self.procs.start(
            "relay", self.gateway("relay", "--log-level", "warning"), env, logs / "relay.log"
        )
        for i in range(self.args.workers):
            self.procs.start(
                f"worker{i + 1}",
                self.gateway("worker", "--log-level", "warning"),
                env,
                logs / f"worker{i + 1}.log",
            )
        wait_http(f"{self.config['gateway_url']}/readyz", 60, self.procs)

    def profile(self, out: Path) -> None:
        """py-spy on every gateway process for the whole load phase (sampled, not traced):
        collapsed stacks in OUT/<process>.txt, read with bench/profile_top.py."""
        out.mkdir(parents=True, exist_ok=True)
        for name, pid in self.procs.pids().items():
            if name == "receiver" or (name == "serve" and self.args.serve_workers > 1):
                continue
            self.procs.start(
                f"py-spy-{name.replace('/', '-')}",
                [
                    "py-spy", "record", "--pid", str(pid), "--rate", "100", "--nonblocking",
                    "--format", "raw", "--output", str(out / f"{name.replace('/', '-')}.txt"),
                ],
                os.environ.copy(),
                self.workdir / "py-spy.log",
            )  # fmt: skip

    def restart(self, name: str) -> None:
        """Start a stopped gateway process again with its first command (a supervisor's job)."""
        self.procs.stop(name, wait=5)
        self.procs.start(name, *self.procs.commands[name])

    def driver(
        self,
        mode: str,
        results: str,
        extra: dict[str, Any] | None = None,
        supervise: Any = None,
        script: str = "load_driver.py",
    ) -> dict[str, Any]:
        config = {**self.config, **(extra or {}), "results": str(self.workdir / results)}
        path = self.workdir / f"driver-{mode}.json"
        path.write_text(json.dumps(config))
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, str(BENCH / script), mode, str(path)],
            env=self.env(),
            start_new_session=True,
        )
        self.procs.named[f"driver-{mode}"] = proc
        while proc.poll() is None:
            time.sleep(0.5)
            dead = self.procs.dead()
            if dead and supervise is not None:
                continue  # the fault run kills and restarts processes on purpose
            if dead:
                proc.kill()
                raise SystemExit(f"harness: process died during {mode}: {dead}")
            if time.monotonic() - started > self.args.phase_timeout:
                proc.kill()
                raise SystemExit(
                    f"harness: {mode} phase did not finish in {self.args.phase_timeout} s"
                )
        if proc.returncode != 0:
            raise SystemExit(f"harness: load driver ({mode}) exited {proc.returncode}")
        return json.loads((self.workdir / results).read_text())

    def peaks(self) -> dict[str, float]:
        return {
            name: proc_status(pid).get("VmHWM", 0) / 1024
            for name, pid in self.procs.pids().items()
            if not name.startswith("driver")
        }

    def memory(self) -> dict[str, Any]:
        pids = {
            n: p
            for n, p in self.procs.pids().items()
            if n.startswith(("serve/", "worker", "relay"))
            or (n == "serve" and self.args.serve_workers == 1)
        }
        baseline = {}
        for name, pid in pids.items():
            baseline[name] = proc_status(pid).get("VmRSS", 0)
            reset_peak(pid)
        big = self.driver("big", "big.json")
        extra = {
            name: (proc_status(pid).get("VmHWM", 0) - baseline[name]) * 1024
            for name, pid in pids.items()
        }
        return {"big": big, "extra_bytes": extra}

    def db_counts(self) -> dict[str, int]:
        async def go() -> dict[str, int]:
            import asyncpg
            from sqlalchemy.engine import make_url

            u = make_url(self.args.postgres_url)
            conn = await asyncpg.connect(
                host=u.host, port=u.port, user=u.username, password=u.password, database=self.dbname
            )
            try:
                return {
                    t: await conn.fetchval(f"SELECT count(*) FROM {t}")  # noqa: S608
                    for t in ("packages", "deliveries", "outbox", "audit_events")
                }
            finally:
                await conn.close()

        return asyncio.run(go())

    def cleanup(self) -> None:
        self.procs.stop_all()
        with contextlib.suppress(Exception):
            asyncio.run(delete_topology(self.args.rabbitmq_url, self.prefix))
        if self.db_created:
            with contextlib.suppress(Exception):
                asyncio.run(
                    admin_sql(
                        self.args.postgres_url,
                        f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)',
                    )
                )
        if self.args.keep:
            print(f"harness: kept {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


def wait_http(url: str, timeout: float, procs: Procs) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if procs.dead():
            raise SystemExit(f"harness: died while starting: {procs.dead()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"harness: {url} not ready after {timeout} s")


async def admin_sql(url: str, sql: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    conn = await asyncpg.connect(
        host=u.host, port=u.port, user=u.username, password=u.password, database=u.database
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def delete_topology(rabbitmq_url: str, prefix: str) -> None:
    import aio_pika

    from gateway.delivery import config
    from gateway.settings import Settings

    settings = Settings(broker_url=rabbitmq_url, broker_prefix=prefix)
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        await config.topology(settings).delete(await connection.channel())


# --------------------------------------------------------------------------------- figures


GROUPS = (
    ("server", ("serve",)),
    ("relay", ("relay",)),
    ("worker", ("worker",)),
    ("postgresql", ("postgresql",)),
    ("rabbitmq", ("rabbitmq",)),
    ("driver", ("driver",)),
    ("receiver", ("receiver",)),
)


def cpu_line(spent: dict[str, float], packages: int) -> tuple[str, float]:
    """CPU ms per package per process group, and the total of the gateway's own run (every
    group above; `other` is what else ran on the box, e.g. other jobs, shown apart)."""
    per = dict.fromkeys([g for g, _ in GROUPS], 0.0)
    other = 0.0
    for name, seconds in spent.items():
        if name.startswith("_"):
            continue
        group = next((g for g, prefixes in GROUPS if name.startswith(prefixes)), None)
        if group is None:
            other += seconds
        else:
            per[group] += seconds
    n = max(1, packages)
    total = sum(per.values()) * 1000 / n
    busy = spent["_busy"] / spent["_total"] if spent.get("_total") else 0.0
    parts = ", ".join(f"{g} {v * 1000 / n:.2f}" for g, v in per.items())
    return (
        f"{total:.2f} ms of CPU per package = {parts} ms (not ours on the box: "
        f"{other * 1000 / n:.2f} ms; machine busy {busy:.0%})",
        total,
    )


def report(
    args: argparse.Namespace,
    h: Harness,
    bounds: dict[str, Any],
    load: dict[str, Any],
    receiver: dict[str, Any],
    peaks: dict[str, float],
    memory: dict[str, Any] | None,
) -> None:
    s, r = load["sustained"], load["rate"]
    wrk = s["wrk"]
    seconds = wrk["duration_us"] / 1e6
    accepted = wrk.get("202", 0)
    intake_rate = accepted / seconds
    so, ro = s["outcome"], r["outcome"]
    gw, raw = bounds["gateway"], bounds["raw"]
    cpu_intake, _ = cpu_line(s["cpu_intake"], accepted)
    cpu_total, total = cpu_line(s["cpu_total"], accepted)
    cpu_rate, _ = cpu_line(r["cpu_total"], ro["packages"])
    wrapped = sum(v for k, v in wrk.items() if k.startswith("wrapped_"))
    lines = [
        f"harness {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, load avg "
        f"{os.getloadavg()[0]:.1f}; {args.agencies} agencies (half push, half poll); "
        f"serve --workers {args.serve_workers}, relay, {args.workers} worker(s) x "
        f"{args.worker_concurrency}; PostgreSQL + RabbitMQ on this box",
        f"bound, gateway pipeline (ONE process: parse once + validate, verify on that tree, "
        f"{gw['package_bytes'] / 1024:.1f} KiB signed): {gw['packages_per_s']:.0f} packages/s "
        f"(validate {gw['ms']['validate']:.2f} ms, verify {gw['ms']['verify']:.2f} ms)",
        f"bound, raw primitives (ONE process: hardened parse, XSD, C14N + SHA-256, RSA verify): "
        f"{raw['packages_per_s']:.0f} packages/s ("
        + ", ".join(f"{k} {v:.2f} ms" for k, v in raw["ms"].items())
        + ")",
        f"sustained intake (wrk -t{args.wrk_threads} -c{args.concurrency}, {seconds:.1f} s, "
        f"~16 KiB signed, 1-5 recipients): {intake_rate:.1f} packages/s "
        f"({accepted} accepted; answers "
        + ", ".join(f"{k} {v}" for k, v in sorted(wrk.items()) if k.isdigit())
        + f"; {wrk['errors']} socket errors; {wrapped} repeats past the prepared packages); "
        f"intake latency p50 {wrk['p50_us'] / 1000:.0f} ms, p99 {wrk['p99_us'] / 1000:.0f} ms; "
        f"= {intake_rate / gw['packages_per_s']:.0%} of the gateway-pipeline bound, "
        f"{intake_rate / raw['packages_per_s']:.0%} of the raw bound",
        f"  CPU while taking them in: {cpu_intake}",
        f"  CPU until every copy was done: {cpu_total}",
        f"  end to end: {so['packages']} packages, {so['done']}/{so['copies']} copies done "
        f"(pushed 2xx, or fetched + acknowledged) in {so['span_s']:.1f} s = "
        f"{so['packages_per_s']:.1f} packages/s ({so['copies_per_s']:.1f} copies/s) = "
        f"{so['packages_per_s'] / gw['packages_per_s']:.0%} of the gateway-pipeline bound, "
        f"{so['packages_per_s'] / raw['packages_per_s']:.0%} of the raw bound"
        f"{'' if load['sustained_drained'] else ' (NOT all done before the drain timeout)'}",
        f"fixed rate {r['offered_per_s']:.0f} packages/s for {r['seconds']:.1f} s "
        f"({ro['packages']} packages, {ro['copies']} copies): intake -> delivered "
        + ", ".join(f"{k} {v:.0f} ms" for k, v in ro["latency_ms"].items())
        + f"; intake p99 {r['intake_p99_ms']:.0f} ms"
        f"{'' if load['rate_drained'] else ' (NOT all done before the drain timeout)'}",
        f"  CPU: {cpu_rate}",
        f"answers to the polling agencies and the fixed-rate sender: {load['answers']}; "
        f"receiver: {receiver.get('counts')}",
        f"database after the load: {load['db_counts']}",
        "peak RSS (MiB): " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(peaks.items())),
    ]
    if memory:
        big = memory["big"]
        size = big["bytes"]
        extra = ", ".join(
            f"{k} {v / 2**20:.0f} MiB = {v / size:.1f}x"
            for k, v in sorted(memory["extra_bytes"].items())
        )
        lines.append(
            f"{size / 1e6:.1f} MB package: answers {big['answers']}, "
            f"intake {big['intake_s']:.2f} s, delivered {big['delivered']} in "
            f"{big['end_to_end_s']:.2f} s; peak extra memory: {extra}"
        )
    print("\n".join(lines), flush=True)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "bounds": bounds,
                    "load": {k: v for k, v in load.items()},
                    "cpu_total_ms_per_package": total,
                    "peaks": peaks,
                    "memory": memory,
                },
                default=str,
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="tiny and quick (CI)")
    parser.add_argument("--agencies", type=int, default=200)
    parser.add_argument("--serve-workers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="gateway worker processes")
    parser.add_argument("--worker-concurrency", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=64, help="sustained: wrk connections")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument(
        "--rate", type=float, default=125, help="the latency phase's offered packages/s"
    )
    parser.add_argument("--rate-seconds", type=float, default=20)
    parser.add_argument("--sustained-seconds", type=float, default=30)
    parser.add_argument("--sustained-packages", type=int, default=6000)
    parser.add_argument("--mix-seconds", type=float, default=30)
    parser.add_argument("--mix-packages", type=int, default=3000)
    parser.add_argument(
        "--mix-rate", type=float, default=0, help="default: half the sustained rate"
    )
    parser.add_argument("--bound-seconds", type=float, default=10)
    parser.add_argument("--bound-packages", type=int, default=200)
    parser.add_argument("--big-mb", type=float, default=25)
    parser.add_argument("--status-fraction", type=float, default=0.2)
    parser.add_argument("--fail-503", action="append", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--drain-seconds", type=float, default=180)
    parser.add_argument("--phase-timeout", type=float, default=1200)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="GATEWAY_X=V",
        help="extra environment for the gateway processes",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument("--profile", metavar="DIR", help="py-spy every gateway process into DIR")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument(
        "--postgres-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--rabbitmq-url", default="amqp://guest:guest@127.0.0.1:5672/")
    args = parser.parse_args()
    if args.smoke:
        args.agencies, args.serve_workers, args.workers = 10, 2, 1
        args.sustained_seconds, args.sustained_packages, args.concurrency = 5, 300, 16
        args.rate, args.rate_seconds = 20, 3
        args.bound_seconds, args.bound_packages = 1, 20
        args.big_mb, args.drain_seconds, args.phase_timeout = 2, 60, 300
    h = Harness(args)
    try:
        h.setup()
        bounds = h.driver("bounds", "bounds.json", script="lean_driver.py")
        h.start_gateway()
        if args.profile:
            h.profile(Path(args.profile))
        load = h.driver("run", "load.json", extra={"pids": h.procs.pids()}, script="lean_driver.py")
        load["db_counts"] = h.db_counts()
        for name in [n for n in h.procs.named if n.startswith("py-spy")]:
            h.procs.stop(name, signal.SIGINT)  # py-spy writes its file on SIGINT
        peaks = h.peaks()
        memory = h.memory() if args.big_mb else None
        h.procs.stop("receiver")
        receiver_out = h.workdir / "receiver.json"
        receiver = json.loads(receiver_out.read_text()) if receiver_out.exists() else {}
        if receiver:
            peaks["receiver"] = receiver["peak_rss_kib"] / 1024
        report(args, h, bounds, load, receiver, peaks, memory)
    finally:
        h.cleanup()


if __name__ == "__main__":
    main()
