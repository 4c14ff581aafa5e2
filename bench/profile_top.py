"""Where a process's samples go, from py-spy's collapsed stacks (bench/harness.py --profile):

    python bench/profile_top.py DIR/worker1.txt [--top 25]

Prints the functions with the most samples on the stack (inclusive) and on top (self), as a
share of all samples: the text version of the flame graph, for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    for path in args.files:
        inclusive: Counter[str] = Counter()
        own: Counter[str] = Counter()
        total = 0
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            frames = [f.split(" (")[0] + " (" + f.split(" (")[-1] for f in stack.split(";")]
            total += n
            for frame in set(frames):
                inclusive[frame] += n
            own[frames[-1]] += n
        print(f"== {path.name}: {total} samples")
        print("inclusive:")
        for frame, n in inclusive.most_common(args.top):
            print(f"  {n / total:6.1%}  {frame}")
        print("self:")
        for frame, n in own.most_common(args.top):
            print(f"  {n / total:6.1%}  {frame}")


if __name__ == "__main__":
    main()
