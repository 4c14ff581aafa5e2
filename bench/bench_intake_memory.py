"""Where one large signed package's memory goes in the server process (issue 14).

Builds a ~25 MB signed package as bench/load_driver.py does (the test PKI's agency signer, a
PDF-looking attachment) and runs PackageService.intake's steps up to the database write in
this process, with intake's lifetimes: the body read (gateway.body.read_body_limited, fed
64 KiB ASGI messages as uvicorn does), validation keeping the tree, the signature step
(gateway.packages.signatures.TrustSignatureCheck: the envelope on that tree, then the document
files), what intake keeps of the package after it, and a copy of the bytes standing for
asyncpg's send buffer. Per step: tracemalloc's peak and what the step leaves held, and the RSS
high-water mark (VmHWM, reset before each step), as multiples of the package's size; "from
start" counts what earlier steps still hold. RSS includes libxml2's memory (not traced) and
freed memory the allocator kept. A small package goes through first (imports, caches).

    python bench/bench_intake_memory.py [--mb 25]
    # before: PYTHONPATH=<git archive of the old commit>/src python bench/bench_intake_memory.py
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import sys
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "trust"))  # the test PKI's signer

CHUNK = 64 * 1024


def vm_hwm() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def build(sizes: list[int]) -> tuple[list[bytes], list[bytes]]:
    """Signed packages of these sizes, and the PEM of the test PKI's root, intermediate and CRL."""
    import random

    from cryptography.hazmat.primitives.serialization import Encoding
    from pki import agency_sign, build_pki, strip_signatures

    from gateway.edxml import build_package, parse_package

    pki = build_pki()
    package = parse_package((ROOT / "tests/data/samples/edoc_new.edxml").read_bytes())
    packages = []
    for size in sizes:
        rnd = random.Random(size)
        data = b"%PDF-1.4\n" + rnd.randbytes(size * 3 // 4) + b"\n%%EOF\n"
        package.attachments[0].data = data
        unsigned = strip_signatures(build_package(package))
        packages.append(agency_sign(unsigned, pki.agency_key, [pki.agency, pki.intermediate]))
    pems = [c.public_bytes(Encoding.PEM) for c in (pki.root, pki.intermediate, pki.crl)]
    return packages, pems


def request_for(raw: bytes) -> Any:
    from starlette.requests import Request

    chunks = iter(range(0, len(raw), CHUNK))

    async def receive() -> dict[str, Any]:
        start = next(chunks, None)
        if start is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": raw[start : start + CHUNK], "more_body": True}

    headers = [(b"content-length", str(len(raw)).encode())]
    return Request({"type": "http", "method": "POST", "headers": headers}, receive)


def vm_rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def reset_hwm() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux)


def step(name: str, size: int, fn: Any) -> Any:
    """Run one step: its tracemalloc peak and RSS high-water above what was held before it,
    and what it leaves held (Python allocations; libxml2's own are in the RSS figure only)."""
    gc.collect()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    reset_hwm()
    rss = vm_rss()
    result = fn()
    hwm = vm_hwm()
    current, peak = tracemalloc.get_traced_memory()
    print(
        f"{name:<24} traced peak +{(peak - before) / size:4.2f}x, held after "
        f"+{(current - before) / size:4.2f}x; RSS peak +{(hwm - rss) / size:4.2f}x "
        f"(from start: traced {peak / size:4.2f}x, RSS {(hwm - START_RSS[0]) / size:4.2f}x)"
    )
    PEAKS[0] = max(PEAKS[0], peak - START_TRACED[0])
    PEAKS[1] = max(PEAKS[1], hwm - START_RSS[0])
    return result


START_RSS, START_TRACED, PEAKS = [0], [0], [0, 0]  # set once the measured intake starts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=25)
    args = parser.parse_args()
    import anyio
    from cryptography import x509

    from gateway.body import read_body_limited
    from gateway.edxml import DEFAULT_LIMITS, validate_package
    from gateway.packages import service
    from gateway.packages.signatures import TrustSignatureCheck
    from gateway.trust import TrustStore
    from gateway.trust.policy import SignaturePolicy

    with ProcessPoolExecutor(1) as pool:  # signing's garbage stays out of this process's RSS
        (small, signed), anchors = pool.submit(build, [200_000, int(args.mb * 1e6)]).result()
    store = TrustStore(
        [x509.load_pem_x509_certificate(pem) for pem in anchors[:2]],
        [x509.load_pem_x509_crl(anchors[2])],
    )
    check = TrustSignatureCheck(
        store=store,
        policy=SignaturePolicy(),
        limits=DEFAULT_LIMITS,
        limiter=anyio.CapacityLimiter(1),
    )
    loop = asyncio.new_event_loop()  # one loop, as in the server (asyncio.run's own set-up
    # and tear-down would be counted in a step)

    def intake(body: bytes) -> dict[str, Any]:
        """PackageService.intake's steps up to the database write, with its lifetimes."""
        held: dict[str, Any] = {}
        raw = step(
            "body read",
            len(body),
            lambda: loop.run_until_complete(read_body_limited(request_for(body), 10**9)),
        )
        report = step(
            "validate (keep tree)",
            len(body),
            lambda: validate_package(raw, limits=DEFAULT_LIMITS, keep_tree=True),
        )
        assert report.ok, report.findings
        package, read = report.package, [report.read]
        del report
        verdict = step(
            "signature step + files",
            len(body),
            lambda: loop.run_until_complete(check(package, raw, read.pop())),
        )
        # what intake keeps of the package from here on (before issue 14's fix: all of it)
        package = getattr(service, "_without_file_bytes", lambda p: p)(package)
        gc.collect()
        held["verdict"], held["package"], held["raw"] = verdict, package, raw
        # the database write: asyncpg copies the bytes parameter into its send buffer
        step("database write (a copy)", len(body), lambda: bytearray(raw))
        return held

    with redirect_stdout(io.StringIO()):  # warm up: imports and caches, not per package
        intake(small)
    size = len(signed)
    print(f"package: {size / 1e6:.1f} MB signed; Python {sys.version.split()[0]}")
    gc.collect()
    tracemalloc.start()
    START_RSS[0] = vm_rss()  # `signed` stands for the client's copy, not the server's
    base = START_TRACED[0] = tracemalloc.get_traced_memory()[0]
    PEAKS[:] = [0, 0]  # not the warm-up's
    held = intake(signed)
    current = tracemalloc.get_traced_memory()[0]
    print(
        f"held at the database write +{(current - base) / size:.2f}x; "
        f"peak over the intake: traced +{PEAKS[0] / size:.2f}x, RSS +{PEAKS[1] / size:.2f}x"
    )
    print(f"signature: {held['verdict'].signature_class}")


if __name__ == "__main__":
    main()
