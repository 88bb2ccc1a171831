#!/usr/bin/python3
"""Silent sockets against `hybrid kiosk` (a real process on loopback): a /status WebSocket
whose client never answers a ping (half-open, or a page that froze) must be closed by the
kiosk within its --status-hangup-after bound, and so must a TCP connection that never sends
a request; a page that answers pings keeps its socket (issue 15: bench/run-abuse's
`kiosk half_open` showed such sockets kept forever, fds 9 -> 208)."""
import asyncio
import base64
import json
import os
import socket
import sys
import threading
import time

try:
    import websockets
except ImportError:
    sys.exit("FAIL: python3-websockets is not installed (apt-get install python3-websockets)")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import Child, artifacts_dir  # noqa: E402

PING_AFTER, HANGUP_AFTER = 1, 3
# lws checks validity once a second and the handshake timeout is 10 s: generous bounds for a
# loaded machine, far below "forever".
SILENT_BOUND = HANGUP_AFTER + 7
IDLE_TCP_BOUND = 10 + 8
FAILED = []


def check(cond, what):
    if not cond:
        FAILED.append(what)
        print("FAILED:", what, file=sys.stderr)


def silent_status_socket(port):
    """Upgrades /status by hand, then only reads (never answers a ping). Returns (seconds until
    the kiosk closed it or None, opcodes seen)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               f"Sec-WebSocket-Protocol: hybrid-kiosk\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            return None, ["no upgrade"]
        buf += chunk
    head, buf = buf.split(b"\r\n\r\n", 1)
    if b" 101 " not in head.split(b"\r\n")[0]:
        return None, ["refused: " + head.split(b"\r\n")[0].decode(errors="replace")]
    opened = time.monotonic()
    opcodes = []
    s.settimeout(1)
    while time.monotonic() - opened < SILENT_BOUND + 5:
        # Frames from the server are unmasked: note each opcode, skip its payload.
        while len(buf) >= 2:
            n = buf[1] & 0x7F
            hdr = 2 + (2 if n == 126 else 8 if n == 127 else 0)
            if len(buf) < hdr:
                break
            if n == 126:
                n = int.from_bytes(buf[2:4], "big")
            elif n == 127:
                n = int.from_bytes(buf[2:10], "big")
            if len(buf) < hdr + n:
                break
            opcodes.append(buf[0] & 0x0F)
            buf = buf[hdr + n:]
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            chunk = b""
        if not chunk:
            s.close()
            return time.monotonic() - opened, opcodes
        buf += chunk
    s.close()
    return None, opcodes


def idle_tcp(port, out):
    s = socket.create_connection(("127.0.0.1", port), timeout=1)
    t0 = time.monotonic()
    while time.monotonic() - t0 < IDLE_TCP_BOUND + 5:
        try:
            if not s.recv(4096):
                out.append(time.monotonic() - t0)
                break
        except socket.timeout:
            continue
        except OSError:
            out.append(time.monotonic() - t0)
            break
    s.close()


async def answering_page(port):
    """websockets answers pings by itself, like a browser: the socket must stay open."""
    async with websockets.connect(f"ws://127.0.0.1:{port}/status", subprotocols=["hybrid-kiosk"],
                                  open_timeout=10, ping_interval=None) as ws:
        t0 = time.monotonic()
        while time.monotonic() - t0 < HANGUP_AFTER * 2 + 2:
            try:
                await asyncio.wait_for(ws.recv(), 0.5)
            except asyncio.TimeoutError:
                pass
        return ws.open


def main():
    if not os.environ.get("HYBRID_BINARY"):
        sys.exit("FAIL: HYBRID_BINARY is not set (run through ctest)")
    log = artifacts_dir() / "kiosk_silent_socket.log"
    kiosk = Child(["kiosk", "--listen", "127.0.0.1:0", "--dbus-address", "unix:path=/nonexistent/hybrid-test-bus",
                   "--status-ping-after", str(PING_AFTER), "--status-hangup-after", str(HANGUP_AFTER),
                   "--timeout", "60"], log)
    try:
        port = int(kiosk.ready(30)["url"].rstrip("/").rsplit(":", 1)[1])
        idle_closed = []
        idle = threading.Thread(target=idle_tcp, args=(port, idle_closed))
        idle.start()
        answering = {}
        page = threading.Thread(target=lambda: answering.setdefault("open", asyncio.run(answering_page(port))))
        page.start()
        closed_after, opcodes = silent_status_socket(port)
        check(closed_after is not None and closed_after <= SILENT_BOUND,
              f"a /status socket that never answers a ping is closed within {SILENT_BOUND} s "
              f"(closed after {closed_after}; opcodes seen {opcodes})")
        check(0x9 in opcodes, f"the kiosk pinged the silent socket first (opcodes seen {opcodes})")
        page.join(30)
        check(answering.get("open") is True, "a page that answers pings keeps its socket past the hang-up time")
        idle.join(IDLE_TCP_BOUND + 10)
        check(bool(idle_closed) and idle_closed[0] <= IDLE_TCP_BOUND,
              f"a TCP connection that never sends a request is closed within {IDLE_TCP_BOUND} s (got {idle_closed})")
        check(kiosk.p.poll() is None, "the kiosk is still running at the end")
    finally:
        kiosk.stop(timeout=15)
    if FAILED:
        sys.exit(f"FAIL: {len(FAILED)} check(s) failed (kiosk log: {log})")
    print("PASS")


if __name__ == "__main__":
    main()
