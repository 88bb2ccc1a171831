#!/usr/bin/python3
"""The README's exit-code table must be exactly what `hybrid --help` prints (base/exit_code.cpp)."""
import os
import re
import subprocess
import sys


def help_codes(binary):
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30).stdout
    if "Exit codes:" not in out:
        sys.exit("readme exit codes: `hybrid --help` has no 'Exit codes:' block")
    block = out.split("Exit codes:", 1)[1]
    return [(int(m.group(1)), m.group(2).strip())
            for m in re.finditer(r"^\s*(\d+)\s{2}(.+)$", block, re.M)]


def readme_codes(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return [(int(m.group(1)), m.group(2).strip())
            for m in re.finditer(r"^\| (\d+) \| (.+?) \|$", text, re.M)]


def main():
    root = os.environ.get("HYBRID_SOURCE_DIR", os.getcwd())
    binary = os.environ.get("HYBRID_BINARY", os.path.join(root, "build/app/hybrid"))
    from_help = help_codes(binary)
    from_readme = readme_codes(os.path.join(root, "README.md"))
    if not from_help:
        sys.exit("readme exit codes: no codes parsed from `hybrid --help`")
    if from_help != from_readme:
        print("`hybrid --help`:", *from_help, sep="\n  ")
        print("README.md:", *from_readme, sep="\n  ")
        print("readme exit codes: the README's table differs from `hybrid --help`; 0 passed, 1 failed")
        return 1
    print(f"readme exit codes: {len(from_help)} codes agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
