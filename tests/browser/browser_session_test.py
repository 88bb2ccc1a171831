#!/usr/bin/python3
"""`hybrid browser` under a test's control: the ready line (DevTools answers), a refusal on the
kiosk's website (Bob's synced passkey under the device-bound-only profile 'engineers'), with
the rule's message shown on the page, then a crash of Chromium: the command must notice,
exit 1 naming it, and stop everything it started (Xvfb, the air, the tunnel), leaving
nothing in TMPDIR."""
import asyncio
import json
import os
import shutil
import signal
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs" / "examples"))
import common  # noqa: E402
import passkey_cdp  # noqa: E402  (the docs' CDP client)
import websockets  # noqa: E402


async def refused_on_page(devtools, site):
    with urllib.request.urlopen(devtools + "/json/list", timeout=10) as r:
        page = next(t for t in json.load(r) if t["type"] == "page")
    # ping_interval=None: Chromium's DevTools socket does not answer WebSocket pings.
    async with websockets.connect(page["webSocketDebuggerUrl"], max_size=None, ping_interval=None) as ws:
        cdp = passkey_cdp.Cdp(ws)
        await cdp.call("Emulation.setFocusEmulationEnabled", enabled=True)
        await cdp.call("Page.navigate", url=site)
        for _ in range(100):
            if await cdp.evaluate("document.readyState === 'complete' && typeof window.site === 'object'"):
                break
            await asyncio.sleep(0.1)
        outcome = await cdp.evaluate("site.register('bob')", timeout=90)
        shown = await cdp.evaluate("document.getElementById('status').textContent")
        rule = await cdp.evaluate("document.getElementById('fact-rule').textContent")
        state = await cdp.evaluate("document.body.dataset.outcome")
        return outcome, shown, rule, state


def main():
    assert common.HYBRID, "HYBRID_BINARY is not set (run through ctest)"
    tmp = common.private_tmp()
    logs = tmp.parent / (tmp.name + "-logs")
    browser = kiosk = None
    try:
        env = {"TMPDIR": str(tmp)}
        os.environ.pop("DISPLAY", None)
        browser = common.support.Child(["browser", "--approve", "always", "--log-dir", str(logs)],
                                       logs.with_suffix(".stderr"), env=env)
        ready = browser.ready(timeout=90)
        for k in ("devtools", "websocket", "display", "tunnel", "dbus_address", "chromium_pid"):
            assert k in ready, ready
        assert ready["tunnel"].startswith("wss://127.0.0.1:"), ready
        with urllib.request.urlopen(ready["devtools"] + "/json/version", timeout=10) as r:
            version = json.load(r)
        assert "Chrome" in version["Browser"], version

        kiosk = common.support.Child(["kiosk", "--listen", "127.0.0.1:0", "--dbus-address", ready["dbus_address"]],
                                     tmp.parent / (tmp.name + "-kiosk.log"))
        site = kiosk.ready()["site"]
        assert site.startswith("http://localhost:") and site.endswith("/site"), site
        outcome, shown, rule, state = asyncio.run(refused_on_page(ready["devtools"], site))
        assert outcome["kind"] == "refused" and outcome["rule"] == "passkey_types", outcome
        assert outcome["profile"] == "engineers" and outcome["passkey"]["kind"] == "synced", outcome
        assert shown.startswith("Refused: synced passkeys are not allowed by profile 'engineers'"), shown
        assert rule == "passkey_types" and state == "refused", (rule, state)
        assert kiosk.stop() == 0

        # Chromium's FIDO event log is kept in --log-dir.
        log = (logs / "chromium.log").read_text(errors="replace")
        assert "FIDO" in log or "fido" in log or "cable" in log, log[-2000:]

        # A crash of Chromium stops the whole session.
        os.kill(ready["chromium_pid"], signal.SIGKILL)
        t0 = time.monotonic()
        rc = browser.p.wait(30)
        assert rc == 1, rc
        assert "Chromium exited" in browser.log_text(), browser.log_text()
        events = []
        while (line := browser.read_line(2)) is not None:
            events.append(json.loads(line))
        assert events and events[-1]["event"] == "stopped" and "Chromium exited" in events[-1]["error"], events
        assert any(e["event"] == "ctap_status" and e["status"] == 0 for e in events), events
        common.assert_nothing_left(tmp, ready, [ready["chromium_pid"]])
        print(f"browser session: refusal shown on the page; crash of Chromium cleaned up in "
              f"{time.monotonic() - t0:.1f} s")
    finally:
        for c in (kiosk, browser):
            if c:
                c.kill()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(logs, ignore_errors=True)
        for f in (logs.with_suffix(".stderr"), tmp.parent / (tmp.name + "-kiosk.log")):
            f.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
