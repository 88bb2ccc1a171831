#!/usr/bin/python3
"""Hostile visitors against `hybrid kiosk` (a real process on loopback), driven by Debian's
python3-websockets: messages of the wrong shape, wrong JSON types and invalid UTF-8 must each
get an error reply and leave the kiosk serving (issue 15 finding 1); requests for another Host
name (DNS rebinding) and WebSockets or state reads from another origin must be refused, and the
test sees the refusal itself, an HTTP 403, never a timeout (finding 5)."""
import asyncio
import http.client
import json
import os
import socket
import sys

try:
    import websockets
    from websockets.exceptions import InvalidStatusCode, ConnectionClosed
except ImportError:
    sys.exit("FAIL: python3-websockets is not installed (apt-get install python3-websockets)")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import Child, artifacts_dir  # noqa: E402

FAILED = []
WAIT = 10  # seconds for any one reply under a loaded machine


def check(cond, what):
    if not cond:
        FAILED.append(what)
        print("FAILED:", what, file=sys.stderr)


def http_get(port, path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


async def error_reply(ws):
    """The next {"type":"error"} message (state pushes may come first)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while True:
        msg = await asyncio.wait_for(ws.recv(), max(0.1, deadline - loop.time()))
        if isinstance(msg, bytes):
            continue
        j = json.loads(msg)
        if j.get("type") == "error":
            return j


# Each is a message the page never sends; each must get an error reply.
HOSTILE = [
    ("user is a number", b'{"action":"register","user":1}'),
    ("user is null", b'{"action":"register","user":null}'),
    ("user is an object", b'{"action":"register","user":{"a":1}}'),
    ("display name is a number", b'{"action":"register","user":"alice","display_name":5}'),
    ("action is an array", b'{"action":["sign_in"]}'),
    ("action is missing", b'{"user":"alice"}'),
    ("not an object", b'[1,2,3]'),
    ("not JSON", b'{"action":'),
    ("unknown action cut inside a UTF-8 sequence", ('{"action":"' + "a" * 31 + "\u00e9\u00e9\u00e9" + '"}').encode()),
    ("unknown action with a control character and bidi override",
     ('{"action":"\u202e\\u001b[2Jx"}').encode()),
    ("escaped lone surrogate", b'{"action":"\\ud800"}'),
    ("user with invalid UTF-8 bytes", b'{"action":"register","user":"\xff\xfe"}'),
    ("deep nesting", b"[" * 2000 + b"]" * 2000),
]


async def hostile_messages(port):
    url = f"ws://127.0.0.1:{port}/status"
    async with websockets.connect(url, subprotocols=["hybrid-kiosk"], open_timeout=WAIT, max_size=2**22) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        check("phase" in first, "the socket pushes the state first")
        for name, raw in HOSTILE:
            try:
                # Valid text goes in a text frame; invalid UTF-8 in a binary frame (websockets
                # will not put it in a text one; hostile_text_frames does that by hand).
                try:
                    await ws.send(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    await ws.send(raw)
                reply = await error_reply(ws)
                check(isinstance(reply.get("message"), str) and reply["message"],
                      f"{name}: an error reply with a message")
            except (ConnectionClosed, asyncio.TimeoutError, OSError) as e:
                check(False, f"{name}: got no error reply ({type(e).__name__}: {e})")
                return


async def hostile_text_frames(port):
    """Invalid UTF-8 inside a *text* frame: the kiosk may close (1007) but must keep serving."""
    url = f"ws://127.0.0.1:{port}/status"
    async with websockets.connect(url, subprotocols=["hybrid-kiosk"], open_timeout=WAIT) as ws:
        await asyncio.wait_for(ws.recv(), WAIT)
        # Raw bytes in a text frame through websockets' (10.x) low-level frame writer.
        from websockets.frames import Opcode
        await ws.write_frame(True, Opcode.TEXT, b'{"action":"register","user":"\xc3"}')
        try:
            while True:
                msg = await asyncio.wait_for(ws.recv(), WAIT)
                if json.loads(msg).get("type") == "error":
                    break
        except ConnectionClosed:
            pass  # a close with a reason is an acceptable answer too


async def refused(url, host=None, **kw):
    """The HTTP status of a refused handshake, or None if it was accepted. A timeout or a
    dropped connection is not a refusal: it raises and fails the test. With `host`, the
    request names that host (a socket to the kiosk is passed in: no DNS lookup)."""
    if host:
        port = int(url.split(":")[2].split("/")[0])
        kw["sock"] = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        url = f"ws://{host}/status"
    try:
        ws = await websockets.connect(url, subprotocols=["hybrid-kiosk"], open_timeout=WAIT, **kw)
    except InvalidStatusCode as e:
        return e.status_code
    await ws.close()
    return None


async def origin_checks(port):
    base = f"ws://127.0.0.1:{port}/status"
    check(await refused(base) is None, "a WebSocket without an Origin (not a browser) is accepted")
    check(await refused(base, origin=f"http://127.0.0.1:{port}") is None, "the kiosk's own origin is accepted")
    status = await refused(base, origin="http://evil.example")
    check(status == 403, f"a WebSocket from another origin is refused with 403 (got {status})")
    # DNS rebinding: the attacker's page is same-origin with its own name, pointed at us.
    status = await refused(base, origin=f"http://evil.example:{port}", host=f"evil.example:{port}")
    check(status == 403, f"a rebinding page's WebSocket (Host evil.example) is refused with 403 (got {status})")
    status = await refused(base, origin=f"http://kiosk.local:{port}", host=f"kiosk.local:{port}")
    check(status is None, f"an --allowed-host name is accepted (got {status})")


def state_checks(port):
    status, body = http_get(port, "/api/state")
    check(status == 200 and b'"phase"' in body, f"the state is served to the kiosk's own page (got {status})")
    status, body = http_get(port, "/api/state", {"Host": f"evil.example:{port}"})
    check(status == 403 and b"FIDO:" not in body, f"/api/state for Host evil.example is refused (got {status})")
    status, _ = http_get(port, "/", {"Host": f"evil.example:{port}"})
    check(status == 403, f"the page for Host evil.example is refused (got {status})")
    status, body = http_get(port, "/api/state", {"Origin": "http://evil.example"})
    check(status == 403 and b"FIDO:" not in body, f"/api/state read with another Origin is refused (got {status})")
    status, body = http_get(port, "/api/state", {"Sec-Fetch-Site": "cross-site"})
    check(status == 403 and b"FIDO:" not in body, f"/api/state fetched by another site is refused (got {status})")
    status, _ = http_get(port, "/api/state", {"Sec-Fetch-Site": "same-origin", "Host": f"[::1]:{port}"})
    check(status == 200, f"an IP-literal Host is served (got {status})")


def main():
    if not os.environ.get("HYBRID_BINARY"):
        sys.exit("FAIL: HYBRID_BINARY is not set (run through ctest)")
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    log = artifacts_dir() / f"kiosk_hostile_{which}.log"
    args = ["kiosk", "--listen", "127.0.0.1:0", "--dbus-address", "unix:path=/nonexistent/hybrid-test-bus",
            "--timeout", "90"]
    if which in ("all", "origin"):
        args += ["--allowed-host", "kiosk.local"]
    kiosk = Child(args, log)
    try:
        line = kiosk.read_line(30)
        if not line:
            sys.exit(f"FAIL: the kiosk printed no ready line (see {log})")
        port = int(json.loads(line)["url"].rstrip("/").rsplit(":", 1)[1])
        if which in ("all", "input"):
            asyncio.run(hostile_messages(port))
            check(kiosk.p.poll() is None, "the kiosk is still running after the hostile messages")
            if kiosk.p.poll() is None:
                asyncio.run(hostile_text_frames(port))
            check(kiosk.p.poll() is None, "the kiosk is still running after invalid UTF-8 in a text frame")
            if kiosk.p.poll() is None:
                check(http_get(port, "/healthz")[1] == b"ok\n", "the kiosk still answers /healthz")
                # and a fresh visitor still gets a working socket
                async def fresh():
                    async with websockets.connect(f"ws://127.0.0.1:{port}/status", subprotocols=["hybrid-kiosk"],
                                                  open_timeout=WAIT) as ws:
                        return json.loads(await asyncio.wait_for(ws.recv(), WAIT))
                check("phase" in asyncio.run(fresh()), "a new visitor's socket still gets the state")
        if which in ("all", "origin") and kiosk.p.poll() is None:
            asyncio.run(origin_checks(port))
            state_checks(port)
        check(kiosk.p.poll() is None, "the kiosk is still running at the end")
    finally:
        if kiosk.p.poll() is None:
            kiosk.p.terminate()
        try:
            kiosk.p.wait(15)
        except Exception:
            kiosk.p.kill()
    if FAILED:
        print(f"FAIL: {len(FAILED)} check(s) failed (kiosk log: {log})", file=sys.stderr)
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
