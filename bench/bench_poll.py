"""The poll side's hot path: a polling agency fetches each copy in its inbox
(GET /api/v1/packages/{id}) and acknowledges it (POST /api/v1/deliveries/{id}/ack), against
a fresh database holding N copies of the sample package (edoc_new.edxml, each with its own
DocumentId), sent by A80 to H17 before the timed phase.

    python bench/bench_poll.py --backend sqlite -n 300 --concurrency 4
    python bench/bench_poll.py --backend postgres -n 300 --concurrency 4

The app runs in-process behind httpx's ASGI transport (no sockets), with the in-process relay
and worker as in `gateway serve`. CPU is this process's user + system time over the timed
phase divided by the copies (server and httpx client; not PostgreSQL's), once for the fetches
and once for the acknowledgements (two timed phases, fetches first).

`--small`: ~5 KiB packages instead (the sample with a 1 KiB attachment, its signature
placeholder removed, accepted unsigned under the default `warn` policy), so that relaying the
bytes weighs less than the statements around them.

`--direct`: the same two phases without HTTP — `PackageService.fetch` / `.acknowledge` each in
its own session and commit, as a request's unit of work runs them — so the figure is the
service and database layer alone (the HTTP stack, auth and middleware cost the same either
way and dominate the full figure).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench_intake import (
    A80,
    DOCUMENT_ID,
    H17,
    SAMPLE,
    bench_settings,
    cpu_seconds,
    drop_bench_database,
)
from gateway.app import create_app
from gateway.auth.service import Principal
from gateway.packages.routes import get_service
from gateway.registry.schemas import AgencyIn, SystemIn
from gateway.registry.service import RegistryService


def small_packages(count: int) -> list[bytes]:
    sys.path.insert(0, str(SAMPLE.parents[2] / "trust"))
    from pki import strip_signatures

    from gateway.edxml import build_package, parse_package

    template = parse_package(SAMPLE.read_bytes())
    out = []
    for n in range(count):
        package = template.model_copy(deep=True)
        package.header.document_id = f"{A80},2026/11/21,{n}/POLL"
        package.attachments[0].data = b"%PDF-1.4\n" + bytes(1000) + b"\n%%EOF\n"
        out.append(strip_signatures(build_package(package)))
    return out


async def timed(jobs, concurrency: int) -> tuple[float, float]:
    """Run the coroutine functions `jobs`, `concurrency` at a time: (wall, CPU) seconds."""
    sem = asyncio.Semaphore(concurrency)

    async def one(job) -> None:
        async with sem:
            await job()

    start, cpu_start = time.perf_counter(), cpu_seconds()
    await asyncio.gather(*(one(j) for j in jobs))
    return time.perf_counter() - start, cpu_seconds() - cpu_start


async def run(args: argparse.Namespace) -> None:
    tmp = tempfile.TemporaryDirectory(prefix="gateway-bench-")
    raw = SAMPLE.read_bytes()
    packages = (
        small_packages(args.n + args.warmup)
        if args.small
        else [
            raw.replace(DOCUMENT_ID, f"{A80},2026/11/21,{n}/POLL".encode())
            for n in range(args.n + args.warmup)
        ]
    )
    settings, dbname = await bench_settings(args, Path(tmp.name))
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            async with app.state.db.sessionmaker() as session:
                service = RegistryService(session, "bench")
                for code in (A80, H17):
                    await service.create_agency(AgencyIn(code=code, name=f"Bench {code}"))
                _, sender = await service.create_system(SystemIn(name="s", agencies=[A80]))
                system, recipient = await service.create_system(SystemIn(name="r", agencies=[H17]))
                principal = Principal("system", system.id, "r", frozenset({H17}))
                await session.commit()
            transport = httpx.ASGITransport(app=app)
            mine = {"Authorization": f"Bearer {recipient}"}
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                copies: list[tuple[str, str]] = []
                for body in packages:
                    r = await client.post(
                        "/api/v1/packages",
                        content=body,
                        headers={
                            "Authorization": f"Bearer {sender}",
                            "Content-Type": "application/xml",
                        },
                    )
                    assert r.status_code == 202, r.text[:300]
                    j = r.json()
                    copies.append((j["package_id"], j["deliveries"][0]["delivery_id"]))

                db = app.state.db

                async def unit(call) -> None:
                    """One request's unit of work without the request (gateway.db.get_session)."""
                    async with db.sessionmaker() as session:
                        session.info["db"] = db
                        try:
                            request = type("R", (), {"app": app})()
                            await call(get_service(request, session))
                            await session.commit()
                        finally:
                            db.end_write(session)

                def fetch(package_id: str):
                    if args.direct:

                        async def direct() -> None:
                            await unit(lambda s: s.fetch(package_id, principal))

                        return direct

                    async def job() -> None:
                        r = await client.get(f"/api/v1/packages/{package_id}", headers=mine)
                        assert r.status_code == 200, r.text[:300]

                    return job

                def ack(delivery_id: str):
                    if args.direct:

                        async def direct() -> None:
                            await unit(lambda s: s.acknowledge(delivery_id, principal))

                        return direct

                    async def job() -> None:
                        r = await client.post(f"/api/v1/deliveries/{delivery_id}/ack", headers=mine)
                        assert r.status_code == 200 and not r.json()["already_acknowledged"]

                    return job

                warm, todo = copies[: args.warmup], copies[args.warmup :]
                await timed([fetch(p) for p, _ in warm] + [ack(d) for _, d in warm], 1)
                f_wall, f_cpu = await timed([fetch(p) for p, _ in todo], args.concurrency)
                a_wall, a_cpu = await timed([ack(d) for _, d in todo], args.concurrency)
        n = len(todo)
        print(
            f"{args.backend}{' direct' if args.direct else ''}: {n} copies "
            f"of {sum(map(len, packages)) / len(packages) / 1024:.0f} KiB, "
            f"concurrency {args.concurrency}: "
            f"fetch {n / f_wall:.0f}/s CPU {f_cpu / n * 1000:.2f} ms; "
            f"ack {n / a_wall:.0f}/s CPU {a_cpu / n * 1000:.2f} ms; "
            f"fetch+ack CPU {(f_cpu + a_cpu) / n * 1000:.2f} ms per copy ({args.loop})"
        )
    finally:
        await drop_bench_database(args, dbname)
        tmp.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("-n", type=int, default=300, help="copies to fetch and acknowledge")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--postgres-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/test",
        help="an existing database to connect to for CREATE/DROP DATABASE",
    )
    parser.add_argument("--small", action="store_true", help="~5 KiB packages")
    parser.add_argument("--direct", action="store_true", help="the service layer, no HTTP")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args()
    if args.loop == "uvloop":
        import uvloop

        uvloop.run(run(args))
    else:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
