"""Intake throughput: POST /api/v1/packages of the sample package (edoc_new.edxml, 359 KiB),
each copy with its own DocumentId, against a fresh database.

    python bench/bench_intake.py --backend sqlite -n 300 --concurrency 1
    python bench/bench_intake.py --backend postgres -n 300 --concurrency 8 \
        --postgres-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
    python bench/bench_intake.py --backend postgres -n 300 --concurrency 8 --signed

`--signed`: ~16 KiB packages signed RSA-2048/SHA-256 by the test PKI (tests/trust/pki.py,
trusted through GATEWAY_TRUST_BUNDLE), each to 1–5 of 10 poll-mode agencies — the shape of
issue 14's targets.

The app runs in-process behind httpx's ASGI transport (no sockets), so the figure is the
service itself: validation, auth, routing, the one-transaction store (package + delivery +
outbox + audit), and the commit, plus the in-process relay and worker of the embedded queue.
Each intake is durable when its 202 is returned. The CPU line is the process's user + system
time over the timed phase divided by the packages (it includes the httpx client in the same
process; the database server's CPU is not in it).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from gateway.app import create_app
from gateway.registry.service import RegistryService
from gateway.settings import Settings

SAMPLE = Path(__file__).resolve().parent.parent / "tests" / "data" / "samples" / "edoc_new.edxml"
DOCUMENT_ID = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT".encode()
A80, H17 = "000.00.00.A80", "28.22.H17"
RECIPIENTS = [f"28.22.H{n:02d}" for n in range(10, 20)]  # --signed: 10 poll-mode agencies


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def signed_packages(count: int, workdir: Path) -> list[bytes]:
    """~16 KiB packages from A80 to 1-5 of RECIPIENTS, signed by the test PKI; writes the
    PKI's bundle to workdir/bundle.pem for the gateway to trust."""
    sys.path.insert(0, str(SAMPLE.parents[2] / "trust"))
    from pki import agency_sign, build_pki, strip_signatures

    from gateway.edxml import build_package, parse_package
    from gateway.edxml.models import Organization

    pki = build_pki()
    (workdir / "bundle.pem").write_bytes(pki.bundle_pem())
    template = parse_package(SAMPLE.read_bytes())
    rnd = random.Random(14)
    out = []
    for n in range(count):
        package = template.model_copy(deep=True)
        header = package.header
        header.recipients = [
            Organization(organ_id=code, organ_name=f"Cơ quan {code}")
            for code in rnd.sample(RECIPIENTS, rnd.randint(1, 5))
        ]
        header.document_id = f"{A80},2026/11/21,{n}/BENCH"
        package.attachments[0].data = b"%PDF-1.4\n" + rnd.randbytes(10_000) + b"\n%%EOF\n"
        package.attachments[0].attachment_name = f"vanban-{n}.pdf"
        out.append(
            agency_sign(strip_signatures(build_package(package)), pki.agency_key, [pki.agency])
        )
    return out


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


async def bench_settings(
    args: argparse.Namespace, data_dir: Path, **extra: object
) -> tuple[Settings, str | None]:
    """Settings on a database of the run's own: SQLite in `data_dir`, or a new PostgreSQL
    database (its name returned, for drop_bench_database) beside `--postgres-url`."""
    if args.backend == "sqlite":
        return Settings(data_dir=data_dir, **extra), None
    from sqlalchemy.engine import make_url

    dbname = f"gateway_bench_{uuid.uuid4().hex[:8]}"
    await admin_sql(args.postgres_url, f'CREATE DATABASE "{dbname}"')
    url = make_url(args.postgres_url).set(database=dbname)
    database_url = url.render_as_string(hide_password=False)
    return Settings(data_dir=data_dir, database_url=database_url, **extra), dbname


async def drop_bench_database(args: argparse.Namespace, dbname: str | None) -> None:
    if dbname:
        await admin_sql(args.postgres_url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


async def run(args: argparse.Namespace) -> None:
    tmp = tempfile.TemporaryDirectory(prefix="gateway-bench-")
    extra: dict[str, object] = {}
    if args.signed:
        packages = signed_packages(args.n + args.warmup, Path(tmp.name))
        extra["trust_bundle"] = Path(tmp.name) / "bundle.pem"
        recipients = RECIPIENTS
    else:
        raw = SAMPLE.read_bytes()
        assert raw.count(DOCUMENT_ID) == 1
        packages = [
            raw.replace(DOCUMENT_ID, f"{A80},2026/11/21,{n}/BENCH".encode())
            for n in range(args.n + args.warmup)
        ]
        recipients = [H17]
    size = sum(map(len, packages)) / len(packages)
    settings, dbname = await bench_settings(args, Path(tmp.name), **extra)
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            async with app.state.db.sessionmaker() as session:
                service = RegistryService(session, "bench")
                for code in (A80, *recipients):
                    from gateway.registry.schemas import AgencyIn, SystemIn

                    await service.create_agency(AgencyIn(code=code, name=f"Bench {code}"))
                _, key = await service.create_system(SystemIn(name="bench", agencies=[A80]))
                await session.commit()
            transport = httpx.ASGITransport(app=app)
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/xml"}
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                latencies: list[float] = []

                async def post(body: bytes, record: bool) -> None:
                    t0 = time.perf_counter()
                    r = await client.post("/api/v1/packages", content=body, headers=headers)
                    if r.status_code != 202 or r.json()["duplicate"]:
                        raise SystemExit(f"unexpected answer {r.status_code}: {r.text[:300]}")
                    if record:
                        latencies.append(time.perf_counter() - t0)

                for body in packages[: args.warmup]:
                    await post(body, False)
                todo = packages[args.warmup :]
                sem = asyncio.Semaphore(args.concurrency)

                async def worker(body: bytes) -> None:
                    async with sem:
                        await post(body, True)

                start, cpu_start = time.perf_counter(), cpu_seconds()
                await asyncio.gather(*(worker(b) for b in todo))
                elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
        lat = sorted(latencies)
        p95 = lat[int(len(lat) * 0.95) - 1]
        print(
            f"{args.backend}: {len(todo)} {'signed ' if args.signed else ''}packages of "
            f"{size / 1024:.0f} KiB, concurrency {args.concurrency}: "
            f"{len(todo) / elapsed:.1f} packages/s ({elapsed:.2f} s); "
            f"latency median {statistics.median(lat) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms; "
            f"CPU {cpu / len(todo) * 1000:.1f} ms per package (this process, {args.loop})"
        )
    finally:
        await drop_bench_database(args, dbname)
        tmp.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("-n", type=int, default=300, help="packages to time")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument(
        "--signed", action="store_true", help="~16 KiB signed packages to 1-5 recipients"
    )
    parser.add_argument(
        "--postgres-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/test",
        help="an existing database to connect to for CREATE/DROP DATABASE",
    )
    parser.add_argument(
        "--loop",
        choices=["uvloop", "asyncio"],
        default="uvloop",
        help="the event loop (uvloop: what `gateway serve` runs on where it is installed)",
    )
    args = parser.parse_args()
    if args.loop == "uvloop":
        import uvloop

        uvloop.run(run(args))
    else:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
