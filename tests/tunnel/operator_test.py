#!/usr/bin/python3
"""What an operator does with `hybrid tunnel serve`: --check-config names the bad key and its
line; the node refuses to start on a bad file the same way; --log-format json writes one JSON
event per line and never a tunnel id; SIGHUP re-reads the file, changes the log level and
the live limits while a paired tunnel keeps relaying, names the fields that need a restart,
and a bad file on SIGHUP changes nothing. The client is Debian's python3-websockets."""
import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import websockets

BIN = os.environ["HYBRID_BINARY"]
PASSED = []


def check_config(path):
    r = subprocess.run([BIN, "tunnel", "serve", "--check-config", "--config", path], capture_output=True, text=True,
                       timeout=30)
    return r.returncode, r.stdout + r.stderr


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def read_events(path):
    """Every stderr line must be one JSON event."""
    events = []
    with open(path) as f:
        for line in f:
            ev = json.loads(line)
            assert {"ts", "level", "stage", "msg"} <= ev.keys(), line
            events.append(ev)
    return events


def wait_event(path, pred, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for ev in read_events(path):
            if pred(ev):
                return ev
        time.sleep(0.1)
    raise AssertionError("no such log event; log:\n" + open(path).read())


async def relay(a, b, tag):
    await a.send(b"\x01" + tag)
    assert await asyncio.wait_for(b.recv(), 5) == b"\x01" + tag
    await b.send(b"\x02" + tag)
    assert await asyncio.wait_for(a.recv(), 5) == b"\x02" + tag


async def live(base, conf, log, proc, tids):
    proto = dict(subprotocols=["fido.cable"], open_timeout=5)
    tid = secrets.token_hex(16)
    tids.append(tid)
    phone = await websockets.connect(f"{base}/cable/new/{tid}", **proto)
    rid = phone.response_headers["X-caBLE-Routing-ID"]
    client = await websockets.connect(f"{base}/cable/connect/{rid}/{tid}", **proto)
    await relay(phone, client, b"before")
    # The file starts at warn: no debug events yet.
    assert not [e for e in read_events(log) if e["level"] == "debug"], open(log).read()

    # A bad file on SIGHUP: the node says why, with the line, and keeps going unchanged.
    good = open(conf).read()
    write(conf, good.replace('"max_pending_per_ip": 100', '"max_pending_per_ip": "lots"'))
    proc.send_signal(signal.SIGHUP)
    ev = wait_event(log, lambda e: "not reloaded" in e["msg"])
    assert "max_pending_per_ip" in ev["msg"] and "line 5" in ev["msg"], ev
    await relay(phone, client, b"after-bad-reload")

    # A good file: level debug, a new pending limit (live), a new listen address (restart).
    write(conf, good.replace('"warn"', '"debug"').replace('"max_pending_per_ip": 100', '"max_pending_per_ip": 1')
          .replace('127.0.0.1:0', '127.0.0.1:1'))
    proc.send_signal(signal.SIGHUP)
    ev = wait_event(log, lambda e: "configuration reloaded" in e["msg"])
    applied, restart = ev["msg"].split("applied: ")[1].split("; need a restart: ")
    assert "log_level" in applied and "max_pending_per_ip" in applied and "listen" not in applied, ev
    assert restart.strip() == "listen", ev
    await relay(phone, client, b"after-reload")  # the paired tunnel survived both reloads

    # The new level is in force (debug events appear) and so is the new limit: one pending
    # tunnel per address, so a second /new from here is refused with 429.
    t2 = secrets.token_hex(16)
    tids.append(t2)
    pending = await websockets.connect(f"{base}/cable/new/{t2}", **proto)
    wait_event(log, lambda e: e["level"] == "debug" and "admitted" in e["msg"])
    try:
        extra = await websockets.connect(f"{base}/cable/new/{secrets.token_hex(16)}", **proto)
        await extra.close()
        raise AssertionError("the reloaded max_pending_per_ip was not applied")
    except websockets.exceptions.InvalidStatusCode as e:
        assert e.status_code == 429, e.status_code
    await pending.close()
    await phone.close()
    await client.close()


def main():
    tmp = tempfile.mkdtemp(prefix="hybrid-operator-")
    proc = None
    try:
        conf = os.path.join(tmp, "tunnel.json")
        # --check-config: each kind of mistake is named with its key and line.
        for text, words in (
                ('{\n  "listen": "127.0.0.1:0",\n  "ttl_seconds": "120"\n}\n', ['line 3', '"ttl_seconds"', 'whole number']),
                ('{\n  "listen": "127.0.0.1:0",\n\n  "max_conections": 5\n}\n', ['line 4', '"max_conections"', 'not a known key']),
                ('{\n  "max_header_bytes": 70000\n}\n', ['line 2', 'between 256 and 65535']),
                ('{\n  "routing_id": "XYZ"\n}\n', ['line 2', '"routing_id"', '6 hex digits']),
                ('{\n  "log_level": "loud"\n}\n', ['line 2', 'debug, info, warn, error or off']),
                ('{\n  "ttl_seconds": 5,\n  "ttl_seconds": 6\n}\n', ['line 3', 'set twice', 'line 2']),
                ('{\n  "ttl_seconds": 5,\n  "idle_timeout_seconds": 6,,\n}\n', ['line 3', 'not valid JSON']),
                ('{\n  "tls_cert": "/nonexistent/cert.pem",\n  "tls_key": "/nonexistent/key.pem"\n}\n', ['/nonexistent/cert.pem'])):
            write(conf, text)
            code, out = check_config(conf)
            assert code == 2, (text, code, out)
            for w in words:
                assert w in out, (text, w, out)
        shutil.copy("deploy/tunnel.example.json", conf)
        code, out = check_config(conf)
        assert code == 0 and "configuration ok" in out, out
        # The node itself refuses a bad file the same way, before listening.
        write(conf, '{\n  "listen": "127.0.0.1:0",\n  "ttl_seconds": -1\n}\n')
        r = subprocess.run([BIN, "tunnel", "serve", "--config", conf], capture_output=True, text=True, timeout=30)
        assert r.returncode == 2 and "line 3" in r.stderr and "ttl_seconds" in r.stderr and not r.stdout, r
        PASSED.append("check-config")

        write(conf, '{\n  "listen": "127.0.0.1:0",\n  "log_level": "warn",\n  "log_format": "json",\n'
                    '  "max_pending_per_ip": 100\n}\n')
        log = os.path.join(tmp, "stderr.log")
        with open(log, "w") as errf:
            proc = subprocess.Popen([BIN, "tunnel", "serve", "--config", conf], stdout=subprocess.PIPE, stderr=errf,
                                    text=True)
        ready = json.loads(proc.stdout.readline())
        tids = []
        asyncio.run(asyncio.wait_for(live("ws://127.0.0.1:%d" % ready["port"], conf, log, proc, tids), 60))
        PASSED.append("SIGHUP reload with a paired tunnel relaying")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        text = open(log).read()
        events = read_events(log)
        assert len(events) >= 4, text
        for t in tids:
            assert t not in text.lower(), "a tunnel id in the log"
        PASSED.append("json logs, no tunnel ids")
        # --log-json stays as the older spelling.
        r = subprocess.run([BIN, "tunnel", "serve", "--log-json", "--log-format", "text", "--check-config"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        shutil.rmtree(tmp, ignore_errors=True)
    print("operator_test: passed:", "; ".join(PASSED))


if __name__ == "__main__":
    main()
