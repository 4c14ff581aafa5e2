"""End-to-end delivery: intake → outbox → relay → RabbitMQ → `gateway worker` process(es) →
a local push endpoint. Prints deliveries/s and the intake→endpoint latency (p50/p99).

    python bench/bench_delivery.py -n 300 --workers 1
    python bench/bench_delivery.py -n 300 --workers 2 \
        --postgres-url postgresql+asyncpg://postgres@127.0.0.1:5432/test \
        --rabbitmq-url amqp://guest:guest@127.0.0.1:5672/

Setup: a fresh PostgreSQL database; the API (intake, and the relay in-process) runs here behind
httpx's ASGI transport; `--workers` real `gateway worker` processes consume a unique queue
prefix; the recipient (28.22.H17, push mode) is a uvicorn endpoint in this process that checks
nothing and answers 200. The sender posts `edoc_new.edxml` (359 KiB, distinct DocumentIds)
with `--concurrency` requests in flight. Latency = the 2xx push arriving at the endpoint minus
the start of the POST /packages that created it. Throughput = deliveries / (last arrival −
first POST).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aio_pika
import httpx
import uvicorn

from gateway.app import create_app
from gateway.delivery import config
from gateway.packages.service import no_signature_check
from gateway.registry.schemas import AgencyIn, SystemIn
from gateway.registry.service import RegistryService
from gateway.settings import Settings

SAMPLE = Path(__file__).resolve().parent.parent / "tests" / "data" / "samples" / "edoc_new.edxml"
DOCUMENT_ID = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT".encode()
A80, H17 = "000.00.00.A80", "28.22.H17"


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


class Recipient:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.done = asyncio.Event()
        self.expected = 0

    async def app(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        headers = dict(scope["headers"])
        delivery_id = headers.get(b"x-gateway-delivery-id", b"").decode()
        self.arrived.setdefault(delivery_id, time.perf_counter())
        if len(self.arrived) >= self.expected:
            self.done.set()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def run(args: argparse.Namespace) -> None:
    from sqlalchemy.engine import make_url

    raw = SAMPLE.read_bytes()
    packages = [
        raw.replace(DOCUMENT_ID, f"{A80},2026/11/21,{n}/DBENCH".encode())
        for n in range(args.n + args.warmup)
    ]
    tmp = tempfile.TemporaryDirectory(prefix="gateway-bench-")
    dbname = f"gateway_bench_{uuid.uuid4().hex[:8]}"
    await admin_sql(args.postgres_url, f'CREATE DATABASE "{dbname}"')
    url = make_url(args.postgres_url).set(database=dbname).render_as_string(hide_password=False)
    settings = Settings(
        data_dir=Path(tmp.name),
        database_url=url,
        broker_url=args.rabbitmq_url,
        broker_prefix=f"bench-{uuid.uuid4().hex[:8]}",
        relay_in_process=True,
        worker_in_process=False,
        relay_poll_interval=0.05,
    )
    recipient = Recipient()
    recipient.expected = args.warmup
    server = uvicorn.Server(
        uvicorn.Config(
            recipient.app, host="127.0.0.1", port=0, log_level="warning", interface="asgi3"
        )
    )
    server_task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    endpoint = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/edxml"
    app = create_app(settings, signature_check=no_signature_check)
    workers: list[subprocess.Popen] = []
    try:
        async with app.router.lifespan_context(app):
            async with app.state.db.sessionmaker() as session:
                service = RegistryService(session, "bench")
                await service.create_agency(AgencyIn(code=A80, name="Bench A80"))
                agency = await service.create_agency(
                    AgencyIn(
                        code=H17, name="Bench H17", delivery_mode="push", endpoint_url=endpoint
                    )
                )
                from gateway.registry.push_secrets import rotate_push_secret

                await rotate_push_secret(session, agency, settings.secret_box(), actor="bench")
                _, key = await service.create_system(SystemIn(name="bench", agencies=[A80]))
                await session.commit()
            env = {
                **os.environ,
                "GATEWAY_DATABASE_URL": url,
                "GATEWAY_DATA_DIR": tmp.name,
                "GATEWAY_AUTO_MIGRATE": "false",
                "GATEWAY_BROKER_URL": args.rabbitmq_url,
                "GATEWAY_BROKER_PREFIX": settings.broker_prefix,
            }
            workers = [
                subprocess.Popen(  # noqa: ASYNC220 - started once, before measuring
                    [sys.executable, "-m", "gateway.cli", "worker", "--log-level", "warning"],
                    env=env,
                )
                for _ in range(args.workers)
            ]
            transport = httpx.ASGITransport(app=app)
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/xml"}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", timeout=60
            ) as client:
                started: dict[str, float] = {}

                async def post(body: bytes) -> None:
                    t0 = time.perf_counter()
                    r = await client.post("/api/v1/packages", content=body, headers=headers)
                    if r.status_code != 202:
                        raise SystemExit(f"unexpected answer {r.status_code}: {r.text[:300]}")
                    started[r.json()["deliveries"][0]["delivery_id"]] = t0

                # warm-up: also waits for the workers to be up and consuming
                for body in packages[: args.warmup]:
                    await post(body)
                await asyncio.wait_for(recipient.done.wait(), 120)
                warm = set(started)
                recipient.done.clear()
                recipient.expected = args.warmup + args.n
                sem = asyncio.Semaphore(args.concurrency)

                async def one(body: bytes) -> None:
                    async with sem:
                        await post(body)

                first = time.perf_counter()
                await asyncio.gather(*(one(b) for b in packages[args.warmup :]))
                await asyncio.wait_for(recipient.done.wait(), 600)
            measured = [i for i in started if i not in warm]
            latencies = sorted(recipient.arrived[i] - started[i] for i in measured)
            last = max(recipient.arrived[i] for i in measured)
            p50 = statistics.median(latencies)
            p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
            print(
                f"workers={args.workers}: {len(measured)} deliveries of "
                f"{len(raw) / 1024:.0f} KiB, intake concurrency {args.concurrency}: "
                f"{len(measured) / (last - first):.1f} deliveries/s; intake→endpoint latency "
                f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
            )
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            try:
                w.wait(30)
            except subprocess.TimeoutExpired:
                w.kill()
        server.should_exit = True
        await server_task
        conn = await aio_pika.connect(args.rabbitmq_url)
        async with conn:
            await config.topology(settings).delete(await conn.channel())
        await admin_sql(args.postgres_url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        tmp.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=300, help="deliveries measured")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1, help="gateway worker processes")
    parser.add_argument("--concurrency", type=int, default=8, help="intake requests in flight")
    parser.add_argument(
        "--postgres-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--rabbitmq-url", default="amqp://guest:guest@127.0.0.1:5672/")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
