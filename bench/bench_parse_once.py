"""Intake's CPU-bound steps before the database, old against new in the same run (issue 14,
"parse once; verify on that tree").

    python bench/bench_parse_once.py --old-src /tmp/parse_old/src [--seconds 8 --rounds 3]

`--old-src` is a checkout of gateway's `src/` before the change (e.g. `git archive <commit> src
| tar -x -C /tmp/parse_old`). Each side runs in its own process, importing gateway from its
own source; the sides alternate `--rounds` times over the same signed ~16 KiB packages (the
harness's, bench/load_driver.py), then each measures the extra resident memory (VmHWM over
VmRSS just before) of one pass over one signed 25 MB package, in a fresh process.

One pass is what PackageService.intake and TrustSignatureCheck do before the database:
old: validate_package → verify_package (signxml) → parse_package(signed_xml) (the re-read);
new: validate_package(keep_tree=True) → verify_for_intake on that tree.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "trust"))  # the test PKI
sys.path.insert(0, str(ROOT / "bench"))
KIB = 1024


def prepare(workdir: Path, count: int, big_mb: float) -> None:
    """Keys, the trust bundle, the small packages and the big one, built with this checkout."""
    from cryptography.hazmat.primitives import serialization
    from pki import build_pki

    from load_driver import Spec, build_signed

    pki = build_pki()
    (workdir / "bundle.pem").write_bytes(pki.bundle_pem())
    (workdir / "agency-key.pem").write_bytes(
        pki.agency_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (workdir / "agency-chain.pem").write_bytes(
        b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (pki.agency, pki.intermediate))
    )
    codes = [f"000.00.00.A{n:02d}" for n in range(10, 20)]
    small = [
        build_signed(
            Spec(n, codes[n % 10], (codes[(n + 1) % 10],), 16 * KIB, False, "P1"), str(workdir)
        )
        for n in range(count)
    ]
    (workdir / "small.json").write_text(json.dumps([p.decode() for p in small]))
    big = build_signed(
        Spec(0, codes[0], (codes[1],), int(big_mb * 1e6), False, "BIG"), str(workdir)
    )
    (workdir / "big.edxml").write_bytes(big)


def _pipeline(workdir: Path, steps: dict[str, float]):
    """The side's intake steps before the database, as one function of the package bytes;
    each step's time is added to `steps` (seconds)."""
    from gateway.edxml import Limits, parse_package, validate_package
    from gateway.trust import TrustStore

    store = TrustStore.from_files(workdir / "bundle.pem", [])
    limits = Limits(max_package_bytes=64 << 20, max_attachment_bytes=64 << 20)
    clock = time.perf_counter
    try:
        from gateway.packages.signatures import verify_for_intake
    except ImportError:  # the old code
        from gateway.trust import verify_package

        def once(data: bytes) -> None:
            t0 = clock()
            report = validate_package(data, limits=limits)
            t1 = clock()
            verdict = verify_package(data, store, at=datetime.now(UTC))
            t2 = clock()
            assert report.ok and verdict.is_signed_valid, (report.findings, verdict.reason)
            parse_package(verdict.signed_xml, limits)
            t3 = clock()
            steps["validate"] += t1 - t0
            steps["verify"] += t2 - t1
            steps["reread"] += t3 - t2

        return "old", once

    def once(data: bytes) -> None:
        t0 = clock()
        report = validate_package(data, limits=limits, keep_tree=True)
        t1 = clock()
        verdict = verify_for_intake(data, report.read, store, at=datetime.now(UTC))
        t2 = clock()
        assert report.ok and verdict.is_signed_valid, (report.findings, verdict.reason)
        if verdict.signed_xml is not None:  # the fallback (never for these packages)
            parse_package(verdict.signed_xml, limits)
        t3 = clock()
        steps["validate"] += t1 - t0
        steps["verify"] += t2 - t1
        steps["reread"] += t3 - t2

    return "new", once


def child_time(workdir: Path, seconds: float) -> None:
    steps: dict[str, float] = {"validate": 0.0, "verify": 0.0, "reread": 0.0}
    side, once = _pipeline(workdir, steps)
    packages = [p.encode() for p in json.loads((workdir / "small.json").read_text())]
    for data in packages[:20]:
        once(data)
    steps.update(dict.fromkeys(steps, 0.0))
    rounds, started = 0, time.perf_counter()
    cpu = time.process_time()
    while time.perf_counter() - started < seconds:
        for data in packages:
            once(data)
            rounds += 1
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    size = sum(map(len, packages)) / len(packages)
    ms = {k: round(v / rounds * 1000, 2) for k, v in steps.items()}
    print(
        json.dumps(
            {
                "side": side,
                "per_s": rounds / wall,
                "cpu_ms": cpu / rounds * 1000,
                "bytes": size,
                "ms": ms,
            }
        )
    )


def _kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def child_memory(workdir: Path) -> None:
    side, once = _pipeline(workdir, {"validate": 0.0, "verify": 0.0, "reread": 0.0})
    once(json.loads((workdir / "small.json").read_text())[0].encode())  # schemas compiled
    data = (workdir / "big.edxml").read_bytes()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _kib("VmRSS")
    started = time.perf_counter()
    once(data)
    took = time.perf_counter() - started
    extra = (_kib("VmHWM") - before) * 1024
    print(json.dumps({"side": side, "bytes": len(data), "extra": extra, "s": took}))


def _run(src: Path, mode: str, workdir: Path, *extra: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, __file__, mode, str(workdir), *extra],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old-src", type=Path, required=True)
    parser.add_argument("--new-src", type=Path, default=ROOT / "src")
    parser.add_argument("--packages", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--big-mb", type=float, default=25.0)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        prepare(workdir, args.packages, args.big_mb)
        sides = {"old": args.old_src, "new": args.new_src}
        times: dict[str, list[dict]] = {"old": [], "new": []}
        for _ in range(args.rounds):
            for name, src in sides.items():
                times[name].append(_run(src, "--child-time", workdir, str(args.seconds)))
        for name, runs in times.items():
            assert all(r["side"] == name for r in runs), runs
            rates = ", ".join(f"{r['per_s']:.0f}/s ({r['cpu_ms']:.2f} ms CPU)" for r in runs)
            print(f"{name}: {runs[0]['bytes'] / KIB:.1f} KiB packages: {rates}")
            print(f"{name}: wall ms per step, per round: {[r['ms'] for r in runs]}")
        ratios = [
            n["cpu_ms"] / o["cpu_ms"] for o, n in zip(times["old"], times["new"], strict=True)
        ]
        print("new/old CPU per package, per round: " + ", ".join(f"{r:.2f}" for r in ratios))
        for name, src in sides.items():
            m = _run(src, "--child-memory", workdir)
            print(
                f"{name}: {m['bytes'] / 1e6:.1f} MB package: peak extra memory "
                f"{m['extra'] / 2**20:.0f} MiB = {m['extra'] / m['bytes']:.1f}x, "
                f"one pass {m['s']:.2f} s"
            )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child-time":
        child_time(Path(sys.argv[2]), float(sys.argv[3]))
    elif len(sys.argv) > 2 and sys.argv[1] == "--child-memory":
        child_memory(Path(sys.argv[2]))
    else:
        main()
