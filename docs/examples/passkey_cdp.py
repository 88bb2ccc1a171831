#!/usr/bin/python3
"""Register and sign in with a passkey on a website, in a real Chromium, over hybrid: a copyable
example for web developers' CI. No Bluetooth, no phone, nothing off this machine.

`hybrid browser` starts Debian's Chromium wired to a local hybrid stack (virtual Bluetooth,
a TLS tunnel server, Xvfb) with a software phone that reads the QR code off the screen and
answers from its passkey store. This script drives the browser through the Chrome DevTools
Protocol (CDP, over python3-websockets): it opens the site, calls the page's own functions
that run navigator.credentials.create() and .get(), and checks what the site's server said.

    python3 docs/examples/passkey_cdp.py [--hybrid build/app/hybrid] [--site URL] [--user NAME]

Without --site it starts `hybrid kiosk`, whose website page (/site) is the relying party:
replace that with your own site and your own page's calls. Exit 0 when both ceremonies
succeed. Needs: chromium, xvfb, libnss3-tools, python3-websockets (Debian 12).
"""
import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import websockets  # python3-websockets


def start(cmd, what, timeout=60):
    """Starts a long-running `hybrid` command and returns (process, its JSON ready line)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + timeout
    line = ""
    while time.monotonic() < deadline and not line:
        line = p.stdout.readline()  # the first line is the ready line (or a failure)
        if not line and p.poll() is not None:
            break
    ready = json.loads(line) if line else {}
    if not ready.get("ready"):
        p.kill()
        sys.exit(f"{what} did not start: {ready.get('error', 'no ready line')}")
    return p, ready


def stop(p, timeout=20):
    """Ctrl-C: the command stops everything it started and removes its temporary files."""
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


class Cdp:
    """The smallest useful CDP client: one page target, commands with ids, events ignored."""

    def __init__(self, ws):
        self.ws, self.next_id = ws, 0

    async def call(self, method, timeout=30, **params):
        self.next_id += 1
        my_id = self.next_id
        await self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]

    async def evaluate(self, expression, timeout=60):
        """Runs JavaScript in the page; awaits a returned promise; returns its JSON value."""
        r = await self.call("Runtime.evaluate", timeout=timeout, expression=expression, awaitPromise=True,
                            returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails'].get('text')}")
        return r["result"].get("value")


async def drive(devtools, site, user):
    # The first page target (the tab `hybrid browser` opened).
    with urllib.request.urlopen(devtools + "/json/list", timeout=10) as r:
        page = next(t for t in json.load(r) if t["type"] == "page")
    # ping_interval=None: Chromium's DevTools socket does not answer WebSocket pings.
    async with websockets.connect(page["webSocketDebuggerUrl"], max_size=None, ping_interval=None) as ws:
        cdp = Cdp(ws)
        # WebAuthn needs a focused document; on a virtual screen, say it is.
        await cdp.call("Emulation.setFocusEmulationEnabled", enabled=True)
        await cdp.call("Page.navigate", url=site)
        for _ in range(100):
            if await cdp.evaluate("document.readyState === 'complete' && typeof window.site === 'object'"):
                break
            await asyncio.sleep(0.1)
        # The page's own functions: fetch options, call navigator.credentials, post the result.
        created = await cdp.evaluate(f"site.register({json.dumps(user)})", timeout=90)
        print("create:", json.dumps(created))
        signed_in = await cdp.evaluate("site.signIn()", timeout=90)
        print("get:   ", json.dumps(signed_in))
        shown = await cdp.evaluate("document.getElementById('status').textContent")
        print("page:  ", shown)
        return created, signed_in


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hybrid", default=os.environ.get("HYBRID_BINARY", "hybrid"))
    ap.add_argument("--site", help="your website's page (default: start `hybrid kiosk` and use its /site page)")
    ap.add_argument("--user", default="dave")
    args = ap.parse_args()

    browser, ready = start([args.hybrid, "browser", "--approve", "always"], "hybrid browser")
    kiosk = None
    try:
        site = args.site
        if not site:
            kiosk, k = start([args.hybrid, "kiosk", "--listen", "127.0.0.1:0", "--dbus-address", ready["dbus_address"]],
                             "hybrid kiosk")
            site = k["site"]
        created, signed_in = asyncio.run(drive(ready["devtools"], site, args.user))
    finally:
        if kiosk:
            stop(kiosk)
        stop(browser)
    # What the phone and the browser did, as JSON lines after the ready line.
    for line in browser.stdout.read().splitlines():
        event = json.loads(line)
        print("event: ", event["event"], {k: v for k, v in event.items() if k not in ("event", "t")})
    ok = created.get("kind") == "registered" and signed_in.get("kind") == "signed_in"
    print("ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
