"""Verification time and memory for a sample-sized package and one with a 20 MB attachment.

Run from the project root:  /work/venv/bin/python bench/bench_verify.py [--rounds N]
Prints figures only; asserts nothing. Signing and verifying each run in a fresh process, so the
peak RSS printed for verification is not inflated by building or signing the package.
"""

from __future__ import annotations

import argparse
import base64
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "samples" / "edoc_new.edxml"
sys.path.insert(0, str(ROOT / "tests" / "trust"))  # the test PKI factory

ATTACHMENT_MIB = 20


def build_package(case: str) -> bytes:
    from pki import strip_signatures

    package = strip_signatures(SAMPLE.read_bytes())
    if case == "sample":
        return package
    start = package.index(b"ContentTransferEncoded")
    start = package.index(b">", start) + 1
    end = package.index(b"</", start)
    payload = base64.b64encode(os.urandom(ATTACHMENT_MIB * 1024 * 1024))
    return package[:start] + payload + package[end:]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def prepare(case: str, directory: Path) -> None:
    """Build a test PKI, sign the package as an agency would, write package + trust files."""
    from cryptography.hazmat.primitives.serialization import Encoding
    from pki import build_pki

    from gateway.trust import GatewaySigner

    pki = build_pki()
    signer = GatewaySigner(pki.agency_key, pki.agency, [pki.intermediate])
    package = build_package(case)
    started = time.perf_counter()
    signed = signer.sign_edxml(package)
    elapsed = time.perf_counter() - started
    (directory / "signed.edxml").write_bytes(signed)
    (directory / "ca.pem").write_bytes(pki.bundle_pem())
    (directory / "ca.crl").write_bytes(pki.crl.public_bytes(Encoding.DER))
    size = len(signed) / 1024 / 1024
    print(f"{case:>7}: {size:6.2f} MiB signed package, signing took {elapsed * 1000:7.1f} ms")


def verify_loop(case: str, directory: Path, rounds: int) -> None:
    """Verify in a process that did nothing else, so ru_maxrss is verification's own peak."""
    from datetime import UTC, datetime

    from gateway.trust import TrustStore, verify_package

    store = TrustStore.from_files(directory / "ca.pem", [directory / "ca.crl"])
    signed = (directory / "signed.edxml").read_bytes()
    baseline = peak_rss_mib()
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        report = verify_package(signed, store, at=datetime.now(UTC))
        timings.append(time.perf_counter() - started)
        if not report.is_signed_valid:
            print(f"{case}: unexpected {report.classification} {report.reason}")
            return
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    median = statistics.median(timings)
    print(
        f"{case:>7}: verify median {median * 1000:7.1f} ms, p95 {p95 * 1000:7.1f} ms"
        f" over {rounds} rounds; peak RSS {peak_rss_mib():6.1f} MiB"
        f" (process with package loaded: {baseline:6.1f} MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=0, help="default: 200 sample, 20 for 20mb")
    parser.add_argument("--step", choices=["prepare", "verify"], help=argparse.SUPPRESS)
    parser.add_argument("--case", choices=["sample", "20mb"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "prepare":
        prepare(args.case, args.dir)
        return
    if args.step == "verify":
        verify_loop(args.case, args.dir, args.rounds)
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for case in ("sample", "20mb"):
        rounds = args.rounds or (200 if case == "sample" else 20)
        with tempfile.TemporaryDirectory() as directory:
            for step in ("prepare", "verify"):
                command = [sys.executable, __file__, "--step", step, "--case", case]
                command += ["--dir", directory, "--rounds", str(rounds)]
                subprocess.run(command, check=False, env=env)


if __name__ == "__main__":
    main()
