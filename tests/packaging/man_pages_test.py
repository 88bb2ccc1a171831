#!/usr/bin/python3
"""The man pages and completions are generated from the same option definitions as --help:
for every command that `hybrid --help` (recursively) lists, its man page exists and names
every option its --help names, and both completion scripts offer them. Reads --help as a
person would see it (text), not the generator's data, so a page that drifted fails here.
Also: `hybrid --version` names a git revision, and man(1) can render a page if installed."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

BIN = os.environ["HYBRID_BINARY"]
CHECKS = []


def run(*args, **kw):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30, **kw)


def check(name, cond, detail=""):
    if not cond:
        raise AssertionError(f"{name}: {detail}")
    CHECKS.append(name)


def parse_help(text):
    """(options, subcommands) named in a CLI11 --help text."""
    options, subs, section = set(), [], None
    for line in text.splitlines():
        if re.match(r"^[A-Z][A-Za-z ]*:\s*$", line):
            section = line.strip().rstrip(":").lower()
            continue
        if not line.startswith("  "):
            if line.strip() == "":
                continue
            section = None if not line.startswith(" ") else section
            continue
        stripped = line.strip()
        if section == "subcommands":
            # "  name   description"; a wrapped description continues further indented.
            m = re.match(r"^  ([a-z][a-z0-9-]*)(\s|$)", line)
            if m:
                subs.append(m.group(1))
        elif section is not None and stripped.startswith("-") and line[2] != " ":
            head = re.split(r"\s{2,}", stripped)[0]
            options.update(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", head))
    return options, subs


def walk(path, pages, found):
    help_text = run(*path, "--help")
    check(f"{' '.join(path) or 'hybrid'} --help exits 0", help_text.returncode == 0, help_text.stderr)
    options, subs = parse_help(help_text.stdout)
    page_name = "-".join(["hybrid", *path]) + ".1"
    check(f"{page_name} exists", page_name in pages, sorted(pages))
    roff = pages[page_name]
    for opt in sorted(options):
        escaped = re.escape(opt.replace("-", "\\-"))  # roff writes every '-' as '\-'
        check(f"{page_name} lists {opt}", re.search(r"(^|[\s,])" + escaped + r"($|[\s,])", roff, re.M) is not None,
              f"{opt} is in `hybrid {' '.join(path)} --help` but not in {page_name}")
    found.append((path, options))
    for sub in subs:
        walk([*path, sub], pages, found)


def main():
    tmp = tempfile.mkdtemp(prefix="hybrid-man-")
    try:
        r = run("help-man", "--out-dir", tmp)
        check("help-man exits 0", r.returncode == 0, r.stderr)
        pages = {}
        for name in os.listdir(tmp):
            with open(os.path.join(tmp, name), encoding="utf-8") as f:
                pages[name] = f.read()
        found = []
        walk([], pages, found)
        check("every page belongs to a command --help lists",
              len(pages) == len(found), f"{len(pages)} pages, {len(found)} commands")
        check("at least the main commands", len(found) >= 10, str(len(found)))
        check("hidden commands have no page", "hybrid-help-man.1" not in pages)

        bash = run("help-completion", "bash").stdout
        zsh = run("help-completion", "zsh").stdout
        for path, options in found:
            for opt in options:
                if opt in ("-h",):
                    continue
                check(f"bash completes {opt} for {path}", opt in bash)
                check(f"zsh completes {opt} for {path}", opt in zsh)
            if path:
                check(f"bash knows the path {path}", "'/" + "/".join(path) + "'" in bash)
        # The bash script really completes: source it and ask for `hybrid tunnel s<TAB>`.
        script = bash + '\nCOMP_WORDS=(hybrid tunnel s); COMP_CWORD=2; _hybrid; echo "${COMPREPLY[@]}"\n'
        out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=10).stdout.split()
        check("bash completes `hybrid tunnel s` to serve", "serve" in out, str(out))
        script = bash + '\nCOMP_WORDS=(hybrid sign-in --rp); COMP_CWORD=2; _hybrid; echo "${COMPREPLY[@]}"\n'
        out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=10).stdout.split()
        check("bash completes `hybrid sign-in --rp` to --rp-id", out == ["--rp-id"], str(out))
        if shutil.which("zsh"):
            r = subprocess.run(["zsh", "-n", "-c", zsh], capture_output=True, text=True, timeout=10)
            check("zsh parses the completion", r.returncode == 0, r.stderr)

        v = run("--version")
        check("--version exits 0", v.returncode == 0, v.stderr)
        check("--version names the revision", re.match(r"^hybrid \d+\.\d+\.\d+ \(git [0-9a-f]{7,}(-dirty)?\)$",
                                                        v.stdout.strip()) is not None, v.stdout)
        if shutil.which("man"):
            r = subprocess.run(["man", "-l", os.path.join(tmp, "hybrid-tunnel-serve.1")], capture_output=True,
                               text=True, timeout=20, env=dict(os.environ, MANPAGER="cat", MANWIDTH="100"))
            check("man renders hybrid-tunnel-serve(1)", r.returncode == 0 and "--listen" in r.stdout, r.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(CHECKS)} checks passed")


if __name__ == "__main__":
    main()
