"""Parse + validate time of edXML packages, and peak memory for a large attachment.

    python bench/bench_edxml.py [--loops 50] [--attachment-mb 20]

Prints the median (and p95) of `validate_package` over a loop for the SDK sample
`edoc_new.edxml` and for a generated package carrying one random attachment of the given size
(SDK-style: zipped, stored). Peak memory is measured in a fresh child process as the rise of
the resident-set high-water mark (VmHWM) over the resident size once the file has been read.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from gateway.edxml import build_package, parse_package, validate_package

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "data" / "samples" / "edoc_new.edxml"


def timed(data: bytes, loops: int) -> tuple[float, float]:
    samples = []
    for _ in range(loops):
        start = time.perf_counter()
        report = validate_package(data)
        samples.append(time.perf_counter() - start)
        assert report.ok, report.errors
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def large_package(megabytes: int) -> bytes:
    package = parse_package(SAMPLE.read_bytes())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        content = b"%PDF-1.7\n" + os.urandom(megabytes << 20)  # a PDF by its content
        archive.writestr("5c7082fe-0000-4000-8000-000000000000.pdf", content)
    package.attachments[0].data = buffer.getvalue()
    package.attachments[0].attachment_name = "big.pdf"
    return build_package(package)


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def child_memory(path: str) -> None:
    data = Path(path).read_bytes()
    before = _rss_kib("VmRSS")
    report = validate_package(data)
    assert report.ok
    peak = _rss_kib("VmHWM")
    print(f"{len(data)} {max(0, peak - before) * 1024}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loops", type=int, default=50)
    parser.add_argument("--attachment-mb", type=int, default=20)
    parser.add_argument("--child-memory", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_memory:
        child_memory(args.child_memory)
        return

    sample = SAMPLE.read_bytes()
    validate_package(sample)  # compile the schemas once, as a running service would
    median, p95 = timed(sample, args.loops)
    print(
        f"edoc_new.edxml ({len(sample) / 1024:.0f} KiB): "
        f"parse+validate median {median * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms "
        f"({args.loops} loops)"
    )

    big = large_package(args.attachment_mb)
    loops = max(5, args.loops // 5)
    median, p95 = timed(big, loops)
    print(
        f"{args.attachment_mb} MiB attachment ({len(big) / 2**20:.1f} MiB package): "
        f"parse+validate median {median * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms "
        f"({loops} loops)"
    )

    with tempfile.NamedTemporaryFile(suffix=".edxml") as handle:
        handle.write(big)
        handle.flush()
        out = subprocess.run(
            [sys.executable, __file__, "--child-memory", handle.name],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
    size, extra = int(out[0]), int(out[1])
    print(
        f"peak extra memory validating it: {extra / 2**20:.1f} MiB "
        f"= {extra / size:.2f}x the package, {extra / (args.attachment_mb << 20):.2f}x "
        f"the attachment"
    )


if __name__ == "__main__":
    main()
