#!/usr/bin/python3
"""The folders are layers and includes only point down.

Each layer below may include the layers listed for it (and itself), nothing else; a new
folder must be added here with its place, so the table in docs/architecture.md and the
code cannot drift apart silently. Also checks that the include graph has no cycle.
"""
import os
import re
import sys

# layer -> layers it may include (directly). Keep in step with docs/architecture.md.
ALLOWED = {
    "base": set(),
    "crypto": {"base"},
    "cbor": {"base"},
    "qr": {"base", "crypto", "cbor"},
    "hybrid": {"base", "crypto", "cbor", "qr"},
    "ctap": {"base", "crypto", "cbor"},
    "webauthn": {"base", "crypto", "cbor", "ctap"},
    "tunnel": {"base", "crypto", "cbor", "hybrid"},
    "ble": {"base"},
    "roles": {"base", "crypto", "cbor", "qr", "hybrid", "ctap", "webauthn", "tunnel", "ble"},
    "demo": {"base", "crypto", "cbor", "qr", "hybrid", "ctap", "webauthn", "tunnel", "ble", "roles"},
    "bridge": {"base", "crypto", "cbor", "qr", "hybrid", "ctap", "webauthn", "tunnel", "ble", "roles"},
    "browser": {"base", "crypto", "cbor", "qr", "hybrid", "ctap", "webauthn", "tunnel", "ble", "roles", "demo"},
    "doctor": {"base", "crypto", "cbor", "qr", "hybrid", "ctap", "webauthn", "tunnel", "ble", "roles"},
    # libhybrid: the public API (include/hybrid/, standard library only) over the roles.
    "include": set(),
    "lib": {"base", "crypto", "cbor", "qr", "hybrid", "ctap", "webauthn", "tunnel", "ble", "roles", "include"},
    "app": {"base", "crypto", "cbor", "qr", "hybrid", "ctap", "webauthn", "tunnel", "ble", "roles",
            "demo", "bridge", "doctor", "browser"},
}
# Folders that sit beside the layers and may include any of them.
TOP = {"tests", "fuzz", "bench", "examples"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/')
SOURCE = (".h", ".hpp", ".cpp", ".cc", ".c", ".in")


def includes(root, folder):
    for dirpath, _, files in os.walk(os.path.join(root, folder)):
        for name in files:
            if not name.endswith(SOURCE):
                continue
            path = os.path.join(dirpath, name)
            with open(path, encoding="utf-8", errors="replace") as f:
                for lineno, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if m:
                        yield path, lineno, m.group(1)


def find_cycle(graph):
    state = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                return stack + [node, nxt]
            if nxt not in state:
                found = visit(nxt, stack + [node])
                if found:
                    return found
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node, [])
            if found:
                return found
    return None


def main():
    root = os.environ.get("HYBRID_SOURCE_DIR") or os.getcwd()
    problems = []
    graph = {}
    folders = sorted(d for d in os.listdir(root)
                     if os.path.isdir(os.path.join(root, d)) and not d.startswith(".")
                     and not d.startswith("build"))
    layers_seen = set()
    for folder in folders:
        found = list(includes(root, folder))
        if not found and folder not in ALLOWED:
            continue
        if folder in TOP:
            continue
        if folder not in ALLOWED:
            problems.append(f"{folder}/: a folder with C++ includes that the layering table "
                            f"does not know; add it to tests/repo/layering_test.py and "
                            f"docs/architecture.md")
            continue
        layers_seen.add(folder)
        for path, lineno, target in found:
            if target == folder or target not in ALLOWED:
                continue
            graph.setdefault(folder, set()).add(target)
            if target not in ALLOWED[folder]:
                problems.append(f"{os.path.relpath(path, root)}:{lineno}: {folder}/ includes "
                                f"{target}/, which is not below it")
    cycle = find_cycle(graph)
    if cycle:
        problems.append("include cycle between folders: " + " -> ".join(cycle))
    for p in problems:
        print("layering:", p)
    print(f"layering: {len(layers_seen)} layers checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
