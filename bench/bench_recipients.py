"""Validation time against the number of recipients (issue 18, item 3: validation is linear).

    python bench/bench_recipients.py [--counts 1000,2000,4000] [--loops 3]

Each package is the SDK sample with N `To` elements whose OrganIds are lowercase (one
ORGAN_ID_NONSTANDARD warning, with its element path and line, per To) and whose names are in
decomposed Unicode (one TEXT_NORMALIZED warning per To): the worst case for the path
computations that used to scan siblings for every element.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import unicodedata
from pathlib import Path

from gateway.edxml import Limits, build_package, parse_package, validate_package
from gateway.edxml.models import Organization

SAMPLE = Path(__file__).resolve().parent.parent / "tests" / "data" / "samples" / "edoc_new.edxml"
NAME = unicodedata.normalize("NFD", "UBND xã Hòa Sơn")


def package(count: int) -> bytes:
    model = parse_package(SAMPLE.read_bytes())
    model.header.recipients = [
        Organization(organ_id=f"000.{i // 100:02d}.{i % 100:02d}.h17", organ_name=NAME)
        for i in range(count)
    ]
    return build_package(model)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--counts", default="1000,2000,4000")
    parser.add_argument("--loops", type=int, default=3)
    args = parser.parse_args()
    limits = Limits(max_recipients=10_000)
    print("load average before: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    for count in (int(c) for c in args.counts.split(",")):
        data = package(count)
        samples = []
        for _ in range(args.loops):
            start = time.perf_counter()
            report = validate_package(data, limits=limits)
            samples.append(time.perf_counter() - start)
            assert report.ok and len(report.warnings) >= 2 * count, report.errors[:3]
        print(
            f"{count:>6} To ({len(data) / 1024:,.0f} KiB, {len(report.warnings)} warnings): "
            f"validate median {statistics.median(samples) * 1000:,.0f} ms over {args.loops} loops"
        )


if __name__ == "__main__":
    main()
