#!/usr/bin/python3
"""What the PC-side and phone-side commands leave on this machine (issue 15): the --qr-png
file (0600, never written through a symlink, removed when the transaction ends) and the
default store directory (created 0700) (finding 6); peer-supplied phone names printed without
control characters or bidi overrides (finding 7); core dumps off in processes that hold
secrets (finding 8). Real processes: `hybrid virtual-air`, `hybrid sign-in`, `hybrid phone`,
`hybrid phones list`; command-line text that leaves the machine must be UTF-8.
Usage: local_safety_test.py qr-png|store-dir|names|wire-text|core-dumps"""
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("HYBRID_BINARY", "")
FAILED = []


def check(cond, what):
    if not cond:
        FAILED.append(what)
        print("FAILED:", what, file=sys.stderr)


def start(args, env):
    return subprocess.Popen([BIN] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            env=env, text=True)


def stop(p, timeout=10):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    try:
        return p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.communicate()


def qr_png(tmp, env):
    air = start(["virtual-air"], env)
    try:
        info = json.loads(air.stdout.readline())
        png = os.path.join(tmp, "qr.png")
        victim = os.path.join(tmp, "victim.txt")
        with open(victim, "w") as f:
            f.write("do not overwrite\n")
        os.symlink(victim, png)  # planted before the run: must not be written through
        c = start(["sign-in", "--rp-id", "example.com", "--dbus-address", info["dbus_address"], "--no-qr",
                   "--tunnel-override", "ws://127.0.0.1:9", "--qr-png", png, "--advert-timeout", "4",
                   "--timeout", "6"], env)
        seen_mode = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and c.poll() is None:
            try:
                st = os.lstat(png)
                if stat.S_ISREG(st.st_mode):
                    seen_mode = stat.S_IMODE(st.st_mode)
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        _, err = stop(c, timeout=30)
        with open(victim, "rb") as f:
            check(f.read() == b"do not overwrite\n", "the QR PNG was not written through a planted symlink")
        check(seen_mode is not None, "the QR PNG was written while the code was shown (stderr: %s)" % err[-400:])
        check(seen_mode == 0o600, "the QR PNG is private to its owner (mode %s)" % (oct(seen_mode) if seen_mode else None))
        check(not os.path.lexists(png), "the QR PNG is removed when the transaction ends")
    finally:
        stop(air)


def store_dir(tmp, env):
    data = os.path.join(tmp, "fresh-home", "share")  # nothing of it exists yet
    env = dict(env, XDG_DATA_HOME=data)
    p = start(["phone", "--listen", "--tunnel", "ws://127.0.0.1:9", "--timeout", "5"], env)
    deadline = time.monotonic() + 20
    store = os.path.join(data, "hybrid")
    while time.monotonic() < deadline and p.poll() is None and not os.path.exists(store + "/phone-credentials.json.identity.json"):
        time.sleep(0.05)
    _, err = stop(p)
    check(os.path.isdir(store), "the default store directory was created (stderr: %s)" % err[-400:])
    if os.path.isdir(store):
        mode = stat.S_IMODE(os.stat(store).st_mode)
        check(mode == 0o700, "the default store directory is 0700 (got %s)" % oct(mode))
    check("cannot" not in err.lower() or "store" not in err.lower(), "no store error: " + err[-400:])


def names(tmp, env):
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives import serialization
    key = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    hostile = "Pixel\u202e\u2066 \x1b[2J\x1b]0;pwned\x07\u009b31m"
    store = os.path.join(tmp, "links.json")
    with open(store, "w") as f:
        json.dump({"version": 1, "phones": [{"name": hostile, "contact_id": "01" * 16, "link_id": "02" * 8,
                                             "link_secret": "03" * 32, "phone_public_key": key.hex(),
                                             "domain_id": 0, "tunnel_override": "", "linked_at": 1}]}, f,
                  ensure_ascii=False)
    r = subprocess.run([BIN, "phones", "--link-store", store, "list"], capture_output=True, timeout=20, env=env)
    out = r.stdout.decode("utf-8", "replace")
    check(r.returncode == 0, "phones list exits 0 (%d: %s)" % (r.returncode, r.stderr[-300:]))
    for bad, what in (("\x1b", "ESC"), ("\u202e", "RLO"), ("\u2066", "LRI"), ("\u009b", "CSI"), ("\\u001b", "escaped ESC"),
                      ("\\u009b", "escaped CSI")):
        check(bad not in out, f"phones list prints no {what} from a phone's name")
    check("Pixel" in out, "phones list still shows the name")
    r = subprocess.run([BIN, "phones", "--link-store", store, "forget", "nobody\u202e"], capture_output=True,
                       timeout=20, env=env)
    check("\u202e".encode() not in r.stderr, "an error message does not echo a bidi override")


def wire_text(tmp, env):
    """Command-line text that goes over the wire or into a stored file (the phone's name in
    its linking info and identity file, the user and RP names of a request, the kiosk's page
    title) must be UTF-8: invalid bytes are a usage error (exit 2), named in the message,
    before anything is stored or sent (CBOR and JSON text must be valid UTF-8)."""
    bad = os.fsdecode(b"Pixel\xff\xfe\xc3")  # surrogate-escaped: passed to the child as these raw bytes
    store = os.path.join(tmp, "p.json")
    cases = [
        ("phone --name", ["phone", "--listen", "--tunnel", "ws://127.0.0.1:9", "--store", store, "--name", bad,
                          "--timeout", "5"]),
        ("phone --name with a QR", ["phone", "--qr", "FIDO:/0", "--store", store, "--name", bad, "--timeout", "5"]),
        ("register --user-name", ["register", "--rp-id", "example.com", "--user-name", bad, "--timeout", "5"]),
        ("register --user-display-name", ["register", "--rp-id", "example.com", "--user-name", "alice",
                                          "--user-display-name", bad, "--timeout", "5"]),
        ("register --rp-name", ["register", "--rp-id", "example.com", "--rp-name", bad, "--user-name", "alice",
                                "--timeout", "5"]),
        ("sign-in --rp-id", ["sign-in", "--rp-id", bad, "--timeout", "5"]),
        ("kiosk --title", ["kiosk", "--listen", "127.0.0.1:0", "--title", bad, "--timeout", "5"]),
    ]
    for what, args in cases:
        r = subprocess.run([BIN] + args, capture_output=True, timeout=30, env=env, stdin=subprocess.DEVNULL)
        err = r.stderr.decode("utf-8", "replace")
        check(r.returncode == 2, f"{what} with invalid UTF-8 is a usage error (exit {r.returncode}: {err[-300:]})")
        check("UTF-8" in err, f"{what}: the error says the text is not UTF-8 ({err[-300:]})")
    check(not os.path.exists(store) and not os.path.exists(store + ".identity.json"),
          "no store or identity file was written for a refused name")
    # A valid non-ASCII name is still accepted (the phone starts, then times out or is stopped).
    p = start(["phone", "--listen", "--tunnel", "ws://127.0.0.1:9", "--store", store, "--name", "Téléphone ☎",
               "--timeout", "3"], env)
    time.sleep(1.0)
    alive_or_clean = p.poll() is None or p.returncode != 2
    stop(p)
    check(alive_or_clean, "a valid UTF-8 name is not refused")


def core_dumps(tmp, env):
    def limits_of(pid):
        with open(f"/proc/{pid}/limits") as f:
            for line in f:
                if line.startswith("Max core file size"):
                    return line.split()[4:6]
        return None

    for args in (["phone", "--listen", "--tunnel", "ws://127.0.0.1:9", "--store", os.path.join(tmp, "p.json"),
                  "--timeout", "5"],
                 ["kiosk", "--listen", "127.0.0.1:0", "--dbus-address", "unix:path=/nonexistent/bus", "--timeout", "10"]):
        p = start(args, env)
        time.sleep(1.5)
        lim = limits_of(p.pid) if p.poll() is None else None
        stop(p)
        check(lim == ["0", "0"], f"hybrid {args[0]} runs with core dumps off (Max core file size {lim})")


def main():
    if not BIN:
        sys.exit("FAIL: HYBRID_BINARY is not set (run through ctest)")
    which = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="hybrid-safety-")
    env = dict(os.environ, XDG_DATA_HOME=os.path.join(tmp, "data"), HYBRID_LOG="warn")
    try:
        {"qr-png": qr_png, "store-dir": store_dir, "names": names, "wire-text": wire_text,
         "core-dumps": core_dumps}[which](tmp, env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if FAILED:
        sys.exit(f"FAIL: {len(FAILED)} check(s) failed")
    print("PASS")


if __name__ == "__main__":
    main()
