#!/usr/bin/python3
"""An independent client against `hybrid tunnel serve`: Debian's python3-websockets (10.x),
not our code, checks the wire behaviour a strict third-party client sees: HTTP/1.1 refusals
with the right status, the selected subprotocol, X-caBLE-Routing-ID, relaying, queueing,
close codes, and the push channel with the connect signal."""
import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile

try:
    import websockets
    from websockets.exceptions import InvalidStatusCode, ConnectionClosed
except ImportError:
    sys.exit("FAIL: python3-websockets is not installed (apt-get install python3-websockets)")

import cbor_min

BINARY = os.environ.get("HYBRID_BINARY", "build/app/hybrid")
PASSED = FAILED = 0


def check(cond, what):
    global PASSED, FAILED
    if cond:
        PASSED += 1
    else:
        FAILED += 1
        print("FAILED:", what, file=sys.stderr)


async def refused_status(url, **kw):
    try:
        kw.setdefault("open_timeout", 5)
        ws = await websockets.connect(url, **kw)
        await ws.close()
        return 101
    except InvalidStatusCode as e:
        return e.status_code


async def main(base):
    proto = dict(subprotocols=["fido.cable"], open_timeout=5)
    tid = secrets.token_hex(16)
    # /new: 101, fido.cable selected, routing id 3 bytes upper-case hex.
    phone = await websockets.connect(f"{base}/cable/new/{tid.upper()}", **proto)
    check(phone.subprotocol == "fido.cable", "subprotocol selected")
    check(phone.response_headers.get("X-caBLE-Routing-ID") == "2A0000", "routing id header")
    await phone.send(b"\x01queued")
    client = await websockets.connect(f"{base}/cable/connect/2a0000/{tid}", **proto)
    check(await asyncio.wait_for(client.recv(), 5) == b"\x01queued", "queued message delivered")
    await client.send(b"\x02" * 3000)
    check(await asyncio.wait_for(phone.recv(), 5) == b"\x02" * 3000, "relay client->phone")
    # Refusals are real HTTP/1.1 responses this strict client parses.
    check(await refused_status(f"{base}/cable/new/{secrets.token_hex(16)}") == 400, "400 without subprotocol")
    check(await refused_status(f"{base}/cable/new/{tid}", **proto) == 409, "409 duplicate /new")
    check(await refused_status(f"{base}/cable/connect/2A0000/{tid}", **proto) == 410, "410 full tunnel")
    check(await refused_status(f"{base}/cable/connect/2A0000/{secrets.token_hex(16)}", **proto) == 404, "404 unknown")
    check(await refused_status(f"{base}/cable/contact/AAEC", **proto) == 410, "410 unknown contact")
    # Closing one side closes the other with 1000.
    await phone.close()
    try:
        await asyncio.wait_for(client.recv(), 5)
        check(False, "peer close propagated")
    except ConnectionClosed as e:
        check(e.rcvd is not None and e.rcvd.code == 1000, f"peer closed with 1000 (got {e.rcvd})")
    # A text frame closes the sender with 1003.
    tid2 = secrets.token_hex(16)
    p2 = await websockets.connect(f"{base}/cable/new/{tid2}", **proto)
    await p2.send("text is not allowed")
    try:
        await asyncio.wait_for(p2.recv(), 5)
        check(False, "text frame closes")
    except ConnectionClosed as e:
        check(e.rcvd is not None and e.rcvd.code == 1003, f"text frame -> 1003 (got {e.rcvd})")

    # Push channel: register, get contacted, join, connect signal.
    contact = "cHl0aG9uLXBob25l"  # base64url("python-phone")
    listener = await websockets.connect(f"{base}/cable/push/{contact}",
                                        extra_headers={"X-caBLE-Push-Secret": "s" * 32}, **proto)
    payload = bytes.fromhex("A30148000102030405060702500000000000000000000000000000000003626761")
    caller = await websockets.connect(f"{base}/cable/contact/{contact}", extra_headers={
        "X-caBLE-Client-Payload": payload.hex().upper(), "X-caBLE-Signal-Connection": "true"}, **proto)
    check(caller.response_headers.get("X-caBLE-Signal-Connection") == "true", "signal header echoed")
    push = cbor_min.decode(await asyncio.wait_for(listener.recv(), 5))
    check(push[3] == payload and push[2] == bytes.fromhex("2A0000") and len(push[1]) == 16, "push message")
    joined = await websockets.connect(f"{base}/cable/connect/{push[2].hex()}/{push[1].hex()}", **proto)
    check(await asyncio.wait_for(caller.recv(), 5) == b"\x00", "connect signal 0x00")
    await joined.send(b"hello")
    check(await asyncio.wait_for(caller.recv(), 5) == b"hello", "relay after contact")
    for ws in (client, caller, joined, listener):
        await ws.close()


def run():
    # Stand in for systemd: the server must send READY=1 once listening, STOPPING=1 on SIGTERM.
    notify_dir = tempfile.mkdtemp(prefix="tunnel-notify-")
    notify_path = os.path.join(notify_dir, "notify")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(5)
    proc = subprocess.Popen([BINARY, "tunnel", "serve", "--listen", "127.0.0.1:0", "--routing-id", "2a0000",
                             "--log-json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, NOTIFY_SOCKET=notify_path))
    try:
        ready = json.loads(proc.stdout.readline())
        check(ready["ready"] is True and ready["routing_id"] == "2A0000", "ready line")
        check(notify.recv(64) == b"READY=1", "sd_notify READY=1")
        asyncio.run(asyncio.wait_for(main(ready["url"]), 60))
        proc.terminate()
        check(proc.wait(timeout=10) == 0, "exit 0 on SIGTERM")
        check(notify.recv(64) == b"STOPPING=1", "sd_notify STOPPING=1")
        lines = [l for l in proc.stderr.read().splitlines() if l.strip()]
        check(lines and all(json.loads(l)["stage"] for l in lines), "--log-json writes one JSON object per line")
    finally:
        if proc.poll() is None:
            proc.kill()
        notify.close()
        shutil.rmtree(notify_dir, ignore_errors=True)
    print(f"{PASSED} passed, {FAILED} failed")
    return 0 if FAILED == 0 and PASSED > 0 else 1


if __name__ == "__main__":
    sys.exit(run())
