"""The load side of the benchmark harness, run as its own process (bench/harness.py starts it).

    python bench/load_driver.py bound CONFIG.json      # the bare bound, one process
    python bench/load_driver.py run CONFIG.json        # sustained intake, then the mix
    python bench/load_driver.py big CONFIG.json        # one 25 MB package (memory)
    python bench/load_driver.py faults CONFIG.json     # bench/faults.py: N packages, retried

Packages are real signed edXML (RSA-2048, SHA-256, enveloped XMLDSig over the whole package,
signed by the test PKI of tests/trust/pki.py whose bundle the gateway trusts), each with its
own DocumentId, 1–5 recipients, 10% urgent, a PDF attachment sized to make the package ~10 KB,
~200 KB or ~5 MB (the mix) or ~16 KB (sustained intake). Signing is done before anything is
timed, in a pool of processes. Results are written as JSON to CONFIG's `results` path.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import httpx

import cpu  # bench/cpu.py

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "samples" / "edoc_new.edxml"
sys.path.insert(0, str(ROOT / "tests" / "trust"))  # the test PKI's signer

KIB = 1024
MIX = ((10 * KIB, 0.85), (200 * KIB, 0.13), (5 * KIB * KIB, 0.02))
"""(package size, share): the realistic mix — mostly letters, some with scans, a few big."""


# ------------------------------------------------------------------------ building packages


@dataclass(frozen=True)
class Spec:
    n: int
    sender: str
    recipients: tuple[str, ...]
    size: int
    urgent: bool
    tag: str


@cache
def _template() -> Any:
    from gateway.edxml import parse_package

    return parse_package(SAMPLE.read_bytes())


@cache
def _signer(workdir: str) -> tuple[Any, list[Any]]:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key((Path(workdir) / "agency-key.pem").read_bytes(), None)
    certs = x509.load_pem_x509_certificates((Path(workdir) / "agency-chain.pem").read_bytes())
    return key, certs


@cache
def _overhead(workdir: str) -> int:
    return len(_build(Spec(0, "000.00.00.A80", ("28.22.H17",), 0, False, "x"), workdir, 0))


def _build(spec: Spec, workdir: str, attachment: int) -> bytes:
    from pki import agency_sign, strip_signatures

    from gateway.edxml import build_package
    from gateway.edxml.models import Organization

    package = _template().model_copy(deep=True)
    header = package.header
    header.sender = header.sender.model_copy(update={"organ_id": spec.sender})
    header.recipients = [
        Organization(organ_id=code, organ_name=f"Cơ quan {code}") for code in spec.recipients
    ]
    header.document_id = f"{spec.sender},2026/11/21,{spec.n}/{spec.tag}"
    header.code = header.code.model_copy(update={"code_number": str(spec.n)})
    if header.other_info is not None:
        header.other_info.priority = 2 if spec.urgent else 0
    rnd = random.Random(spec.n)
    package.attachments[0].data = b"%PDF-1.4\n" + rnd.randbytes(attachment) + b"\n%%EOF\n"
    package.attachments[0].attachment_name = f"vanban-{spec.n}.pdf"
    key, certs = _signer(workdir)
    return agency_sign(strip_signatures(build_package(package)), key, certs)


def build_signed(spec: Spec, workdir: str) -> bytes:
    attachment = max(0, (spec.size - _overhead(workdir)) * 3 // 4)
    return _build(spec, workdir, attachment)


def _build_one(args: tuple[Spec, str]) -> bytes:
    return build_signed(*args)


def make_specs(
    config: dict[str, Any], count: int, sizes: tuple[tuple[int, float], ...], tag: str, seed: int
) -> list[Spec]:
    rnd = random.Random(seed)
    codes = list(config["agencies"])
    weights = [w for _, w in sizes]
    specs = []
    for n in range(count):
        sender = rnd.choice(codes)
        recipients = rnd.sample([c for c in codes if c != sender], rnd.randint(1, 5))
        size = rnd.choices([s for s, _ in sizes], weights)[0]
        specs.append(Spec(n, sender, tuple(recipients), size, rnd.random() < 0.10, tag))
    return specs


def sign_all(specs: list[Spec], workdir: str, processes: int) -> list[bytes]:
    with ProcessPoolExecutor(processes) as pool:
        return list(pool.map(_build_one, [(s, workdir) for s in specs], chunksize=8))


# --------------------------------------------------------------------------- the bare bound


def bound(config: dict[str, Any]) -> dict[str, Any]:
    """What intake does before touching the database, in a tight loop, in one process, over
    the same ~16 KB packages the sustained phase sends: one parse + validate (XSD and rules),
    keeping the tree, then the signature verified on that tree (chain, CRL) as
    `gateway.packages.signatures.verify_for_intake` does (no re-read of signed bytes)."""
    from gateway.edxml import Limits, validate_package
    from gateway.packages.signatures import verify_for_intake
    from gateway.trust import TrustStore

    specs = make_specs(config, config["bound_packages"], ((16 * KIB, 1.0),), "BOUND", seed=3)
    packages = sign_all(specs, config["workdir"], config["sign_processes"])
    store = TrustStore.from_files(Path(config["workdir"]) / "bundle.pem", [])
    limits = Limits()
    timings: dict[str, float] = Counter()

    def once(data: bytes) -> None:
        t0 = time.perf_counter()
        report = validate_package(data, limits=limits, keep_tree=True)
        t1 = time.perf_counter()
        verdict = verify_for_intake(data, report.read, store, at=datetime.now(UTC))
        t2 = time.perf_counter()
        assert report.ok and verdict.is_signed_valid, (report.findings, verdict.reason)
        assert verdict.signed_xml is None, "intake took the re-read fallback"
        timings["validate"] += t1 - t0
        timings["verify"] += t2 - t1

    return {
        **timed_rounds(once, packages, config["bound_seconds"], timings),
        "package_bytes": sum(map(len, packages)) / len(packages),
    }


def timed_rounds(
    once: Callable[[bytes], None],
    packages: list[bytes],
    seconds: float,
    timings: dict[str, float],
) -> dict[str, Any]:
    """A bound's measurement: `once` over the packages for `seconds` after a warm-up of 20,
    with the per-step times `once` adds to `timings` as milliseconds per package."""
    for data in packages[:20]:
        once(data)
    timings.clear()
    rounds = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for data in packages:
            once(data)
            rounds += 1
    elapsed = time.perf_counter() - started
    return {
        "packages_per_s": rounds / elapsed,
        "ms": {k: v / rounds * 1000 for k, v in timings.items()},
        "rounds": rounds,
    }


# ------------------------------------------------------------------------------ the traffic


class Traffic:
    def __init__(self, config: dict[str, Any]):
        self.config = config
        self.url = config["gateway_url"].rstrip("/")
        self.keys = {code: a["key"] for code, a in config["agencies"].items()}
        self.modes = {code: a["mode"] for code, a in config["agencies"].items()}
        self.posted: dict[str, dict[str, Any]] = {}  # delivery id → {t, recipient, phase}
        self.fetched: dict[str, float] = {}  # poll-mode delivery id → first fetch time
        self.outstanding: dict[str, set[str]] = {}  # poll agency → delivery ids not fetched
        self.answers: Counter[str] = Counter()
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(120, connect=10),
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=256),
        )

    async def post(self, spec: Spec, body: bytes, phase: str, *, retry: bool = False) -> float:
        """POST one package; returns the latency. `retry`: keep trying through outages (the
        fault run), as an agency system's outbox would."""
        headers = {
            "Content-Type": "application/xml",
            "Authorization": f"Bearer {self.keys[spec.sender]}",
        }
        while True:
            t = time.time()
            t0 = time.perf_counter()
            try:
                r = await self.client.post(
                    f"{self.url}/api/v1/packages", content=body, headers=headers
                )
                status = r.status_code
            except httpx.HTTPError as exc:
                status, r = 0, None
                self.answers[f"error:{type(exc).__name__}"] += 1
            latency = time.perf_counter() - t0
            if status == 202 or not retry or (400 <= status < 500 and status != 429):
                break
            self.answers[f"retry:{status}"] += 1
            await asyncio.sleep(0.5)
        self.answers[str(status)] += 1
        if status == 202 and r is not None:
            result = r.json()
            for d in result["deliveries"]:
                if result.get("duplicate") and d["delivery_id"] in self.posted:
                    continue
                self.posted[d["delivery_id"]] = {
                    "t": t,
                    "recipient": d["recipient"],
                    "phase": phase,
                    "size": len(body),
                    "urgent": spec.urgent,
                }
                if self.modes.get(d["recipient"]) == "poll":
                    self.outstanding.setdefault(d["recipient"], set()).add(d["delivery_id"])
        elif status and r is not None and self.answers[str(status)] <= 3:
            print(f"driver: {status} {r.text[:300]}", file=sys.stderr)
        return latency

    # --- poll-mode recipients: inbox → fetch → ack, while there is something to fetch
    async def poller(self, stop: asyncio.Event) -> None:
        sem = asyncio.Semaphore(4)

        async def drain(agency: str) -> None:
            async with sem:
                key = {"Authorization": f"Bearer {self.keys[agency]}"}
                try:
                    r = await self.client.get(f"{self.url}/api/v1/inbox?limit=200", headers=key)
                    if r.status_code != 200:
                        return
                    for item in r.json()["items"]:
                        got = await self.client.get(self.url + item["href"], headers=key)
                        now = time.time()
                        if got.status_code != 200:
                            continue
                        self.fetched.setdefault(item["delivery_id"], now)
                        self.outstanding.get(agency, set()).discard(item["delivery_id"])
                        await self.client.post(
                            f"{self.url}/api/v1/deliveries/{item['delivery_id']}/ack", headers=key
                        )
                except httpx.HTTPError:
                    await asyncio.sleep(0.5)

        while not stop.is_set():
            busy = [a for a, ids in self.outstanding.items() if ids]
            if busy:
                await asyncio.gather(*(drain(a) for a in busy))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)

    async def receiver_stats(self) -> dict[str, Any]:
        r = await self.client.get(self.config["receiver_url"].rstrip("/") + "/stats")
        return r.json()

    async def drained(self, seconds: float) -> bool:
        """Every document posted so far delivered: pushed copies at the receiver, poll copies
        fetched."""
        deadline = time.monotonic() + seconds
        dead = set(self.config.get("dead", []))  # endpoints that are down for good
        push = sum(
            1
            for d in self.posted.values()
            if self.modes.get(d["recipient"]) == "push" and d["recipient"] not in dead
        )
        while time.monotonic() < deadline:
            try:
                stats = await self.receiver_stats()
            except httpx.HTTPError:
                stats = {}
            if stats.get("document", 0) >= push and not any(self.outstanding.values()):
                return True
            await asyncio.sleep(0.2)
        return False


async def sustained(
    traffic: Traffic, bodies: list[tuple[Spec, bytes]], seconds: float, concurrency: int
) -> dict[str, Any]:
    """Closed loop: `concurrency` requests in flight until `seconds` pass (or bodies run out)."""
    queue = list(reversed(bodies))
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds

    async def client() -> None:
        while queue and time.perf_counter() < deadline:
            spec, body = queue.pop()
            latencies.append(await traffic.post(spec, body, "sustained"))

    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "packages": len(latencies),
        "seconds": elapsed,
        "packages_per_s": len(latencies) / elapsed,
        "exhausted": not queue,
        "latency_ms": percentiles(latencies),
    }


async def open_loop(
    traffic: Traffic, bodies: list[tuple[Spec, bytes]], rate: float, phase: str
) -> dict[str, Any]:
    """Open loop: one POST every 1/rate s whatever the answers do (bounded to 512 in flight)."""
    sem = asyncio.Semaphore(512)
    latencies: list[float] = []
    started = time.perf_counter()

    async def one(spec: Spec, body: bytes) -> None:
        async with sem:
            latencies.append(await traffic.post(spec, body, phase))

    tasks = []
    for i, (spec, body) in enumerate(bodies):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(spec, body)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "packages": len(bodies),
        "seconds": elapsed,
        "offered_per_s": rate,
        "intake_latency_ms": percentiles(latencies),
    }


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    values = sorted(values)

    def at(q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))] * 1000

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": values[-1] * 1000}


async def run(config: dict[str, Any]) -> dict[str, Any]:
    workdir, processes = config["workdir"], config["sign_processes"]
    t0 = time.perf_counter()
    s_specs = make_specs(config, config["sustained_packages"], ((16 * KIB, 1.0),), "S", seed=1)
    s_bodies = list(zip(s_specs, sign_all(s_specs, workdir, processes), strict=True))
    m_specs = make_specs(config, config["mix_packages"], MIX, "M", seed=2)
    m_bodies = list(zip(m_specs, sign_all(m_specs, workdir, processes), strict=True))
    print(
        f"driver: signed {len(s_bodies) + len(m_bodies)} packages in "
        f"{time.perf_counter() - t0:.1f} s",
        file=sys.stderr,
    )
    traffic = Traffic(config)
    stop = asyncio.Event()
    poller = asyncio.create_task(traffic.poller(stop))
    out: dict[str, Any] = {}
    try:
        # warm-up: every process's first requests (imports, prepared statements, connections)
        await sustained(traffic, s_bodies[:40], 60, 4)
        out["warmup_drained"] = await traffic.drained(config["drain_seconds"])
        pids = {**config.get("pids", {}), "driver": os.getpid()}
        cpu_before = cpu.snapshot(pids)
        out["sustained"] = await sustained(
            traffic, s_bodies[40:], config["sustained_seconds"], config["concurrency"]
        )
        cpu_intake = cpu.snapshot(pids)
        out["sustained"]["package_bytes"] = sum(len(b) for _, b in s_bodies) / len(s_bodies)
        out["sustained_drained"] = await traffic.drained(config["drain_seconds"])
        # CPU while the phase's packages were taken in, and until all their copies were out
        out["sustained"]["cpu_intake"] = cpu.delta(cpu_before, cpu_intake)
        out["sustained"]["cpu_total"] = cpu.delta(cpu_before, cpu.snapshot(pids))
        rate = config.get("mix_rate") or max(1.0, out["sustained"]["packages_per_s"] / 2)
        count = min(len(m_bodies), max(10, int(rate * config["mix_seconds"])))
        out["mix"] = await open_loop(traffic, m_bodies[:count], rate, "mix")
        mix_sizes = Counter(s.size for s, _ in m_bodies[:count])
        out["mix"]["sizes"] = {str(k): v for k, v in sorted(mix_sizes.items())}
        out["mix"]["urgent"] = sum(1 for s, _ in m_bodies[:count] if s.urgent)
        out["mix_drained"] = await traffic.drained(config["drain_seconds"])
    finally:
        stop.set()
        await poller
    out["answers"] = dict(traffic.answers)
    out["posted"] = traffic.posted
    out["fetched"] = traffic.fetched
    out["peak_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    await traffic.client.aclose()
    return out


async def big(config: dict[str, Any]) -> dict[str, Any]:
    """One ~25 MB signed package to one push-mode recipient."""
    codes = list(config["agencies"])
    push = [c for c in codes if config["agencies"][c]["mode"] == "push"]
    sender = next(c for c in codes if c != push[0])
    spec = Spec(1, sender, (push[0],), config["big_bytes"], False, "BIG")
    body = build_signed(spec, config["workdir"])
    traffic = Traffic(config)
    before = (await traffic.receiver_stats()).get("document", 0)
    t0 = time.perf_counter()
    latency = await traffic.post(spec, body, "big")
    deadline = time.monotonic() + 300
    delivered = False
    while time.monotonic() < deadline:
        if (await traffic.receiver_stats()).get("document", 0) > before:
            delivered = True
            break
        await asyncio.sleep(0.1)
    out = {
        "bytes": len(body),
        "answers": dict(traffic.answers),
        "intake_s": latency,
        "delivered": delivered,
        "end_to_end_s": time.perf_counter() - t0,
    }
    await traffic.client.aclose()
    return out


async def faults(config: dict[str, Any]) -> dict[str, Any]:
    """`count` packages at a steady rate, each retried until accepted (the fault run)."""
    specs = make_specs(config, config["fault_packages"], ((10 * KIB, 1.0),), "F", seed=5)
    bodies = list(
        zip(specs, sign_all(specs, config["workdir"], config["sign_processes"]), strict=True)
    )
    traffic = Traffic(config)
    stop = asyncio.Event()
    poller = asyncio.create_task(traffic.poller(stop))
    sem = asyncio.Semaphore(16)
    ready = Path(config["driver_ready"])
    await asyncio.to_thread(ready.write_text, "signed")  # the harness starts its faults now
    started = time.perf_counter()

    async def one(i: int, spec: Spec, body: bytes) -> None:
        delay = started + i / config["fault_rate"] - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        async with sem:
            await traffic.post(spec, body, "faults", retry=True)

    try:
        await asyncio.gather(*(one(i, s, b) for i, (s, b) in enumerate(bodies)))
        out: dict[str, Any] = {"seconds": time.perf_counter() - started}
        out["drained"] = await traffic.drained(config["drain_seconds"])
    finally:
        stop.set()
        await poller
    out["answers"] = dict(traffic.answers)
    out["posted"] = traffic.posted
    out["fetched"] = traffic.fetched
    out["document_ids"] = len(bodies)
    await traffic.client.aclose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["bound", "run", "big", "faults"])
    parser.add_argument("config", type=Path)
    args = parser.parse_args()
    config = json.loads(args.config.read_text())
    if args.mode == "bound":
        result = bound(config)
    else:
        result = asyncio.run({"run": run, "big": big, "faults": faults}[args.mode](config))
    Path(config["results"]).write_text(json.dumps(result))
    os._exit(0)  # no slow interpreter teardown of the signed packages


if __name__ == "__main__":
    main()
