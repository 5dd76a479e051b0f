"""Summarise py-spy's collapsed stacks (load.py --py-spy DIR): where a row's samples went.

    python bench/spy_summary.py DIR/one-tap-request-create.*.txt [--top 40] [--focus services/]

Prints, for each function, the share of samples in which it is on the stack (inclusive) and at
the top (self), summed over the files given (one per server process).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")


def short(frame: str) -> str:
    m = FRAME.match(frame)
    if not m:
        return frame
    path = m.group("file")
    for marker in ("site-packages/", "lib/python3.12/", "lib/python3.13/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{m.group('func')} ({path})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--focus", help="only functions whose file contains this")
    args = parser.parse_args()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for path in args.files:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack:
                continue
            n = int(count)
            frames = [short(f) for f in stack.split(";")]
            total += n
            own[frames[-1]] += n
            for name in set(frames):
                inclusive[name] += n
    print(f"{total} samples in {len(args.files)} files")
    print(f"{'incl %':>7} {'self %':>7}  function")
    for name, n in inclusive.most_common():
        if args.focus and args.focus not in name:
            continue
        print(f"{100 * n / total:7.1f} {100 * own[name] / total:7.1f}  {name}")
        args.top -= 1
        if args.top <= 0:
            break


if __name__ == "__main__":
    main()
