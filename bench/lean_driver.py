"""The cheap load side of the benchmark harness (bench/harness.py starts it as its own process).

    python bench/lean_driver.py bounds CONFIG.json   # the two single-process bounds
    python bench/lean_driver.py run CONFIG.json      # sustained intake (wrk), then a fixed rate

Sustained intake is driven by Debian's `wrk` (C, epoll) with bench/wrk_intake.lua: pre-built
signed ~16 KB packages (RSA-2048/SHA-256, 1–5 recipients, the agencies half push, half poll),
`concurrency` connections in a closed loop. The fixed-rate phase (the latency target) is an
open loop from this process over bench/lean_http.py, a few tens of µs per request. Polling
agencies are played by this process too: a poll-mode recipient's cue (its code in wrk's .poll
files, or in an answer here) makes it drain its inbox — GET /inbox, GET the package, POST the
ack — as an agency's system would. Signing is done before anything is timed.

Everything is measured on the gateway's side of the wire from the database afterwards:
a copy is done when pushed and answered 2xx (`delivered`, push mode) or fetched and
acknowledged (`acknowledged`, poll mode); intake → delivered latency is its `delivered_at`
minus its `queued_at` (the moment intake committed it).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cpu  # bench/cpu.py
from lean_http import Pool
from load_driver import KIB, Spec, bound, make_specs, sign_all, timed_rounds

BENCH = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------------- bounds


def raw_bound(config: dict[str, Any]) -> dict[str, Any]:
    """The raw primitives, one process: one hardened lxml parse, XSD validation, the enveloped
    signature's C14N + SHA-256 digest and C14N of SignedInfo, one RSA-2048 verify with
    `cryptography` — the least any correct intake must do per package."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from lxml import etree

    from gateway.edxml.schema import compiled

    ds = "{http://www.w3.org/2000/09/xmldsig#}"
    specs = make_specs(config, config["bound_packages"], ((16 * KIB, 1.0),), "RAW", seed=4)
    packages = sign_all(specs, config["workdir"], config["sign_processes"])
    schema = compiled("document")
    options = dict(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True,
        remove_comments=True, remove_pis=True,
    )  # fmt: skip
    timings: Counter[str] = Counter()

    def once(data: bytes) -> None:
        t0 = time.perf_counter()
        root = etree.fromstring(data, etree.XMLParser(**options))
        t1 = time.perf_counter()
        signature = root.find(f".//{ds}Signature")
        assert signature is not None
        parent = signature.getparent()
        index = parent.index(signature)
        parent.remove(signature)  # the XSD sees the package without its signature
        schema.validate(root)
        t2 = time.perf_counter()
        digest = hashlib.sha256(etree.tostring(root, method="c14n", exclusive=True)).digest()
        parent.insert(index, signature)
        signed_info = signature.find(f"{ds}SignedInfo")
        expected = signed_info.findtext(f".//{ds}DigestValue")
        assert base64.b64decode(expected) == digest, "digest mismatch"
        c14n = etree.tostring(signed_info, method="c14n", exclusive=True)
        t3 = time.perf_counter()
        cert = x509.load_der_x509_certificate(
            base64.b64decode(signature.findtext(f".//{ds}X509Certificate"))
        )
        cert.public_key().verify(
            base64.b64decode(signature.findtext(f"{ds}SignatureValue")),
            c14n,
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
        t4 = time.perf_counter()
        timings["parse"] += t1 - t0
        timings["xsd"] += t2 - t1
        timings["c14n_digest"] += t3 - t2
        timings["rsa_verify"] += t4 - t3

    return timed_rounds(once, packages, config["bound_seconds"], timings)


def bounds(config: dict[str, Any]) -> dict[str, Any]:
    return {"gateway": bound(config), "raw": raw_bound(config)}


# ---------------------------------------------------------------------------- the traffic


class Agencies:
    """The agencies' systems: keys, modes, and the polling ones draining their inboxes."""

    def __init__(self, config: dict[str, Any], pool: Pool) -> None:
        self.keys = {code: a["key"] for code, a in config["agencies"].items()}
        self.poll = {code for code, a in config["agencies"].items() if a["mode"] == "poll"}
        self.pool = pool
        self.dirty: set[str] = set()
        self.cue = asyncio.Event()
        self.answers: Counter[str] = Counter()
        self.busy: set[str] = set()

    def mark(self, agency: str) -> None:
        if agency in self.poll:
            self.dirty.add(agency)
            self.cue.set()

    async def post(self, sender: str, body: bytes) -> tuple[int, float]:
        headers = {
            "Content-Type": "application/xml",
            "Authorization": f"Bearer {self.keys[sender]}",
        }
        t0 = time.perf_counter()
        try:
            status, data = await self.pool.request("POST", "/api/v1/packages", headers, body)
        except (OSError, asyncio.IncompleteReadError) as exc:
            self.answers[f"error:{type(exc).__name__}"] += 1
            return 0, time.perf_counter() - t0
        latency = time.perf_counter() - t0
        self.answers[str(status)] += 1
        if status == 202:
            for d in json.loads(data)["deliveries"]:
                self.mark(d["recipient"])
        return status, latency

    async def drain(self, agency: str) -> None:
        key = {"Authorization": f"Bearer {self.keys[agency]}"}
        try:
            while True:
                status, data = await self.pool.request(
                    "GET", "/api/v1/inbox?limit=200&state=pending", key
                )
                if status != 200:
                    self.answers[f"inbox:{status}"] += 1
                    return
                items = json.loads(data)["items"]
                for item in items:
                    status, _ = await self.pool.request("GET", item["href"], key)
                    self.answers[f"fetch:{status}"] += 1
                    status, _ = await self.pool.request(
                        "POST", f"/api/v1/deliveries/{item['delivery_id']}/ack", key
                    )
                    self.answers[f"ack:{status}"] += 1
                if len(items) < 200:
                    return
        except (OSError, asyncio.IncompleteReadError) as exc:
            self.answers[f"poll-error:{type(exc).__name__}"] += 1
            await asyncio.sleep(0.2)
            self.mark(agency)

    async def poller(self, stop: asyncio.Event, concurrency: int = 6) -> None:
        sem = asyncio.Semaphore(concurrency)

        async def one(agency: str) -> None:
            async with sem:
                try:
                    await self.drain(agency)
                finally:
                    self.busy.discard(agency)
                    if agency in self.dirty:
                        self.cue.set()

        tasks: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            self.cue.clear()
            for agency in [a for a in self.dirty if a not in self.busy]:
                self.dirty.discard(agency)
                self.busy.add(agency)
                task = asyncio.create_task(one(agency))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.cue.wait(), 0.5)
        await asyncio.gather(*tasks, return_exceptions=True)

    async def tail(self, paths: list[Path], stop: asyncio.Event) -> None:
        """wrk's cues: its threads append `recipient package_id` lines for poll copies."""
        offsets = dict.fromkeys(paths, 0)
        while not stop.is_set():
            for path in paths:
                with contextlib.suppress(FileNotFoundError), path.open("rb") as f:
                    f.seek(offsets[path])
                    chunk = f.read()
                    end = chunk.rfind(b"\n") + 1
                    offsets[path] += end
                    for line in chunk[:end].splitlines():
                        self.mark(line.split(b" ", 1)[0].decode())
            await asyncio.sleep(0.02)


# --------------------------------------------------------------------------- the database


async def connect(config: dict[str, Any]) -> Any:
    import asyncpg

    return await asyncpg.connect(**config["db"])


COPIES = """
SELECT d.state, a.delivery_mode, d.queued_at, d.delivered_at, d.acknowledged_at
  FROM deliveries d JOIN packages p ON p.id = d.package_id
  JOIN agencies a ON a.code = d.recipient_code
 WHERE p.kind = 'document' AND p.document_id LIKE $1
"""


async def copies_left(conn: Any, tag: str) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM deliveries d JOIN packages p ON p.id = d.package_id "
        "JOIN agencies a ON a.code = d.recipient_code "
        "WHERE p.kind = 'document' AND p.document_id LIKE $1 AND NOT ("
        "(a.delivery_mode = 'push' AND d.state IN ('delivered', 'acknowledged')) OR "
        "(a.delivery_mode = 'poll' AND d.state = 'acknowledged'))",
        f"%/{tag}",
    )


async def drained(conn: Any, tag: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await copies_left(conn, tag) == 0:
            return True
        await asyncio.sleep(0.2)
    return False


async def outcome(conn: Any, tag: str) -> dict[str, Any]:
    """Per phase: copies, intake → delivered latency, packages and copies done per second
    from the first intake to the last copy done (pushed 2xx, or fetched and acknowledged)."""
    rows = await conn.fetch(COPIES, f"%/{tag}")
    latencies, ends, starts = [], [], []
    for state, mode, queued, delivered, acked in rows:
        starts.append(queued)
        if delivered is not None:
            latencies.append((delivered - queued).total_seconds())
        end = acked if mode == "poll" else (delivered if state != "pending" else None)
        if end is not None:
            ends.append(end)
    packages = await conn.fetchval(
        "SELECT count(*) FROM packages WHERE kind = 'document' AND document_id LIKE $1",
        f"%/{tag}",
    )
    span = (max(ends) - min(starts)).total_seconds() if ends and starts else float("nan")
    latencies.sort()

    def q(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "packages": packages,
        "copies": len(rows),
        "done": len(ends),
        "span_s": span,
        "packages_per_s": packages / span if ends else 0.0,
        "copies_per_s": len(ends) / span if ends else 0.0,
        "latency_ms": {"p50": q(0.5), "p95": q(0.95), "p99": q(0.99), "max": q(1.0)}
        if latencies
        else {},
    }


# ------------------------------------------------------------------------------- phases


def write_wrk_inputs(
    workdir: Path, config: dict[str, Any], bodies: list[tuple[Spec, bytes]], threads: int
) -> None:
    keys = {code: a["key"] for code, a in config["agencies"].items()}
    files = [(workdir / f"wrk-{i}.bin").open("wb") for i in range(threads)]
    for n, (spec, body) in enumerate(bodies):
        f = files[n % threads]
        f.write(f"{keys[spec.sender]}\n{len(body)}\n".encode() + body)
    for f in files:
        f.close()
    polls = [c for c, a in config["agencies"].items() if a["mode"] == "poll"]
    (workdir / "poll-agencies.txt").write_text("\n".join(polls) + "\n")


async def fixed_rate(
    agencies: Agencies, bodies: list[tuple[Spec, bytes]], rate: float
) -> dict[str, Any]:
    """Open loop: one POST every 1/rate s whatever the answers do."""
    latencies: list[float] = []
    started = time.perf_counter()

    async def one(spec: Spec, body: bytes) -> None:
        _, latency = await agencies.post(spec.sender, body)
        latencies.append(latency)

    tasks = []
    for i, (spec, body) in enumerate(bodies):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(spec, body)))
    await asyncio.gather(*tasks)
    latencies.sort()
    return {
        "packages": len(bodies),
        "seconds": time.perf_counter() - started,
        "offered_per_s": rate,
        "intake_p99_ms": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000,
    }


async def run(config: dict[str, Any]) -> dict[str, Any]:
    workdir = Path(config["workdir"])
    processes, threads = config["sign_processes"], config["wrk_threads"]
    t0 = time.perf_counter()
    warm = make_specs(config, 40, ((16 * KIB, 1.0),), "W", seed=6)
    s_specs = make_specs(config, config["sustained_packages"], ((16 * KIB, 1.0),), "S", seed=1)
    r_count = max(10, int(config["rate"] * config["rate_seconds"]))
    r_specs = make_specs(config, r_count, ((16 * KIB, 1.0),), "R", seed=2)
    signed = sign_all(warm + s_specs + r_specs, str(workdir), processes)
    w_bodies = list(zip(warm, signed[: len(warm)], strict=True))
    s_bodies = list(zip(s_specs, signed[len(warm) : len(warm) + len(s_specs)], strict=True))
    r_bodies = list(zip(r_specs, signed[len(warm) + len(s_specs) :], strict=True))
    write_wrk_inputs(workdir, config, s_bodies, threads)
    took = time.perf_counter() - t0
    print(f"driver: signed {len(signed)} packages in {took:.1f} s", file=sys.stderr)

    host, port = config["gateway_host"], config["gateway_port"]
    agencies = Agencies(config, Pool(host, port, 64))
    stop = asyncio.Event()
    poller = asyncio.create_task(agencies.poller(stop))
    tail = asyncio.create_task(
        agencies.tail([workdir / f"wrk-{i}.poll" for i in range(threads)], stop)
    )
    conn = await connect(config)
    out: dict[str, Any] = {}
    try:
        # warm-up: imports, prepared statements, connections in every process
        await fixed_rate(agencies, w_bodies, 20)
        out["warmup_drained"] = await drained(conn, "W", config["drain_seconds"])

        pids = {**config["pids"], "driver": os.getpid()}
        before = cpu.snapshot(pids, config["db"]["database"])
        wrk = subprocess.Popen(  # noqa: ASYNC220 - starting it does not block
            [
                "wrk", "-t", str(threads), "-c", str(config["concurrency"]),
                "-d", f"{max(1, round(config['sustained_seconds']))}s", "--timeout", "60s",
                "-s", str(BENCH / "wrk_intake.lua"), f"http://{host}:{port}",
            ],
            env={**os.environ, "WRK_DIR": str(workdir)},
            stdout=(workdir / "wrk.out").open("wb"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        wrk_cpu = await _reap(wrk.pid, workdir / "wrk.out")
        wrk.returncode = 0  # reaped above: its CPU from the kernel's rusage when it exited
        # wrk never saw the answers to the requests it had in flight when it stopped, so no
        # cue came for their poll copies: every polling agency looks once, as its periodic
        # poll would
        for agency in agencies.poll:
            agencies.mark(agency)
        intake = cpu.snapshot(pids, config["db"]["database"])
        intake["driver-wrk"] = wrk_cpu
        summary = json.loads((workdir / "wrk-summary.json").read_text())
        out["sustained"] = {"wrk": summary, "cpu_intake": cpu.delta(before, intake)}
        out["sustained_drained"] = await drained(conn, "S", config["drain_seconds"])
        total = cpu.snapshot(pids, config["db"]["database"])
        total["driver-wrk"] = wrk_cpu
        out["sustained"]["cpu_total"] = cpu.delta(before, total)
        out["sustained"]["outcome"] = await outcome(conn, "S")

        before = cpu.snapshot(pids, config["db"]["database"])
        out["rate"] = await fixed_rate(agencies, r_bodies, config["rate"])
        out["rate_drained"] = await drained(conn, "R", config["drain_seconds"])
        out["rate"]["cpu_total"] = cpu.delta(before, cpu.snapshot(pids, config["db"]["database"]))
        out["rate"]["outcome"] = await outcome(conn, "R")
    finally:
        stop.set()
        await asyncio.gather(poller, tail)
        await conn.close()
    out["answers"] = dict(agencies.answers)
    return out


async def _reap(pid: int, output: Path) -> float:
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)  # noqa: ASYNC222 - WNOHANG
        if done:
            if os.waitstatus_to_exitcode(status) != 0:
                tail = output.read_text(errors="replace")[-2000:]  # noqa: ASYNC240 - at exit
                raise SystemExit(f"driver: wrk exited {os.waitstatus_to_exitcode(status)}\n{tail}")
            return usage.ru_utime + usage.ru_stime
        await asyncio.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["bounds", "run"])
    parser.add_argument("config", type=Path)
    args = parser.parse_args()
    config = json.loads(args.config.read_text())
    if args.mode == "bounds":
        result = bounds(config)
    else:
        from gateway import event_loop

        result = event_loop.run(run(config))
    result["finished_at"] = datetime.now(UTC).isoformat()
    Path(config["results"]).write_text(json.dumps(result, default=str))
    os._exit(0)


if __name__ == "__main__":
    main()
