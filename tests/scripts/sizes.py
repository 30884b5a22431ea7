#!/usr/bin/env python3
"""Checks that no file in api/src is over 600 lines and no function over 150 lines (counted
from its `fn` line to its closing brace). Prints the largest of each; exits 1 on a breach.

    python3 tests/scripts/sizes.py            # from the repository root
"""

import pathlib
import re
import sys

MAX_FILE, MAX_FN = 600, 150
FN = re.compile(r"\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?fn\s+(\w+)")


def functions(lines):
    """(length, first line, name) of each function with a body."""
    i = 0
    while i < len(lines):
        m = FN.match(lines[i])
        if not m:
            i += 1
            continue
        depth, started, j = 0, False, i
        while j < len(lines):
            code = re.sub(r'"([^"\\]|\\.)*"', '""', lines[j].split("//")[0])
            for ch in code:
                if ch == "{":
                    depth, started = depth + 1, True
                elif ch == "}":
                    depth -= 1
            if started and depth <= 0:
                break
            if not started and code.rstrip().endswith(";"):
                break
            j += 1
        if started:
            yield j - i + 1, i + 1, m.group(5)
            i = j + 1
        else:
            i += 1


def main():
    root = pathlib.Path(__file__).resolve().parents[2] / "api" / "src"
    files, fns = [], []
    for path in sorted(root.rglob("*.rs")):
        lines = path.read_text(encoding="utf-8").split("\n")
        rel = path.relative_to(root.parents[1])
        files.append((len(lines) - 1, str(rel)))
        fns.extend((n, f"{rel}:{line} {name}") for n, line, name in functions(lines))
    files.sort(reverse=True)
    fns.sort(reverse=True)
    print(f"largest file: {files[0][1]} ({files[0][0]} lines; limit {MAX_FILE})")
    print(f"longest function: {fns[0][1]} ({fns[0][0]} lines; limit {MAX_FN})")
    breaches = [f"{p}: {n} lines" for n, p in files if n > MAX_FILE]
    breaches += [f"{p}: {n} lines" for n, p in fns if n > MAX_FN]
    for b in breaches:
        print("over the limit:", b)
    sys.exit(1 if breaches else 0)


main()
