#!/usr/bin/env python3
"""Sections of RESULTS.md written by harnesses other than run-e2e.sh, between keep markers that
bench/e2e/summarise.py carries over when it rewrites the file.

    python3 sections.py --out bench/RESULTS.md --name NAME < section.md
"""
import argparse
import os
import sys


def replace_section(path, name, lines):
    """Puts {@code lines} between the markers of {@code name} in {@code path}, replacing an earlier
    block of that name; a new block goes before the history."""
    begin, end = f"<!-- keep:{name} -->", f"<!-- /keep:{name} -->"
    block = "\n".join([begin] + lines + [end])
    text = open(path).read() if os.path.exists(path) else ""
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    elif "## History" in text:
        head, rest = text.split("## History", 1)
        text = head + block + "\n\n## History" + rest
    else:
        text = text + ("\n" if text else "") + block + "\n"
    with open(path, "w") as f:
        f.write(text)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", required=True)
    p.add_argument("--name", required=True)
    a = p.parse_args()
    replace_section(a.out, a.name, sys.stdin.read().rstrip("\n").split("\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
