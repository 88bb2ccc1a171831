#!/usr/bin/python3
"""The kiosk page in Debian's Chromium (headless, driven by selenium + chromedriver), with
everything else real and on loopback: `hybrid virtual-air`, `hybrid tunnel serve`,
`hybrid kiosk`, and `hybrid phone` answering the codes the page shows.

A visitor creates a synced passkey (with the exact command line the page shows), signs in
with it, an admin registers an attested device-bound passkey, an engineer is refused a
synced one under a device-bound-only profile, and the screen clears for the next visitor.
Also: the QR drawn on the page decodes to its text copy, nothing is loaded from elsewhere,
the page fits a phone-sized window, and the status socket refuses other origins.
Screenshots go to <build>/test-artifacts/demo/; with HYBRID_UPDATE_SCREENSHOTS=1 the
signed-in one is copied to docs/screenshots/kiosk.png."""
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import support  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chromium.remote_connection import ChromiumRemoteConnection  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

WAIT = 25  # seconds, for anything the page should show


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, log_path):
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise AssertionError(f"{what} did not start; see {log_path}")
            time.sleep(0.1)


def chromium(tmp, procs):
    """Headless Chromium driven by chromedriver, every hop addressed by IP: a minimal system
    (such as a fresh chroot) may have no /etc/hosts, and both selenium's Service and
    chromedriver's own launcher insist on "localhost". So the test starts Chromium with a
    DevTools port on 127.0.0.1 and chromedriver on another, and attaches the two."""
    devtools = free_port()
    browser_log = tmp / "chromium.log"
    browser = subprocess.Popen(
        ["/usr/bin/chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1",
         f"--user-data-dir={tmp / 'chromium-profile'}", "--window-size=1920,1080",
         "--remote-debugging-address=127.0.0.1", f"--remote-debugging-port={devtools}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=open(browser_log, "wb"), stdin=subprocess.DEVNULL,
        preexec_fn=support._die_with_parent)
    procs.append(browser)
    wait_port(devtools, browser, "Chromium", browser_log)
    port = free_port()
    driver_log = tmp / "chromedriver.log"
    driver_proc = subprocess.Popen(["/usr/bin/chromedriver", f"--port={port}", "--allowed-ips=127.0.0.1",
                                    f"--log-path={driver_log}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   stdin=subprocess.DEVNULL, preexec_fn=support._die_with_parent)
    procs.append(driver_proc)
    wait_port(port, driver_proc, "chromedriver", driver_log)
    o = webdriver.ChromeOptions()
    o.add_experimental_option("debuggerAddress", f"127.0.0.1:{devtools}")
    executor = ChromiumRemoteConnection(f"http://127.0.0.1:{port}", vendor_prefix="goog", browser_name="chrome")
    return webdriver.Remote(command_executor=executor, options=o)


def emulate(driver, width, height, mobile):
    """Exactly this viewport (the headless window's own size is not the page's)."""
    driver.execute("executeCdpCommand", {"cmd": "Emulation.setDeviceMetricsOverride",
                                         "params": {"width": width, "height": height, "deviceScaleFactor": 1,
                                                    "mobile": mobile}})


class Page:
    def __init__(self, driver):
        self.d = driver

    def text(self, id_):
        return self.d.find_element(By.ID, id_).text

    def value(self, id_):
        return self.d.find_element(By.ID, id_).get_attribute("value") or ""

    def body(self, attr):
        return self.d.find_element(By.TAG_NAME, "body").get_attribute(f"data-{attr}")

    def wait(self, what, cond, timeout=WAIT):
        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.1).until(lambda d: cond())
        except Exception:
            raise AssertionError(f"the page never showed {what}; status: {self.text('status')!r}, "
                                 f"phase {self.body('phase')!r}")

    def fresh_code(self, mode, previous):
        """Waits for a new QR code of `mode`; returns its text."""
        self.wait(f"a fresh {mode} code",
                  lambda: self.body("mode") == mode and self.body("phase") == "scan"
                  and self.value("qr-text").startswith("FIDO:/") and self.value("qr-text") != previous)
        return self.value("qr-text")

    def register(self, user):
        box = self.d.find_element(By.ID, "user")
        box.clear()
        box.send_keys(user)
        self.d.find_element(By.CSS_SELECTOR, "#register-form button[type=submit]").click()

    def shot(self, name):
        path = support.artifacts_dir() / name
        self.d.save_screenshot(str(path))
        return path


def check_qr_image(page, tmp, expected):
    """The QR drawn on the page decodes (zbarimg) to the text copy next to it."""
    png = tmp / "qr.png"
    page.d.find_element(By.ID, "qr").screenshot(str(png))
    out = subprocess.run(["zbarimg", "--raw", "-q", str(png)], capture_output=True, timeout=20)
    assert out.returncode == 0, f"zbarimg could not read the page's QR code: {out.stderr!r}"
    assert out.stdout.decode().strip() == expected, (out.stdout, expected)


async def check_status_socket(port):
    import websockets
    url = f"ws://127.0.0.1:{port}/status"
    # Another site's page may not open the status socket.
    try:
        async with websockets.connect(url, subprotocols=["hybrid-kiosk"], origin="http://evil.example",
                                      open_timeout=5) as ws:
            await asyncio.wait_for(ws.recv(), 3)
        raise AssertionError("a cross-origin status socket was accepted")
    except (websockets.exceptions.InvalidHandshake, websockets.exceptions.ConnectionClosed, OSError,
            asyncio.TimeoutError):
        pass
    async with websockets.connect(url, subprotocols=["hybrid-kiosk"], origin=f"http://127.0.0.1:{port}",
                                  open_timeout=5) as ws:
        state = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert state["type"] == "state" and "phase" in state, state
        await ws.send(json.dumps({"action": "register", "user": "Not A Name"}))
        while True:
            m = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if m["type"] == "error":
                assert "user name" in m["message"], m
                break
        await ws.send("not json")
        while True:
            m = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if m["type"] == "error":
                break


def main():
    assert support.HYBRID, "HYBRID_BINARY is not set (run through ctest)"
    tmp = Path(tempfile.mkdtemp(prefix="hybrid-demo-browser-"))
    children = []
    browser_procs = []  # Chromium and chromedriver
    driver = None
    t0 = time.monotonic()
    try:
        air = support.Child(["virtual-air"], tmp / "air.log")
        children.append(air)
        bus = air.ready()["dbus_address"]
        tunnel = support.Child(["tunnel", "serve", "--listen", "127.0.0.1:0"], tmp / "tunnel.log")
        children.append(tunnel)
        tunnel_url = tunnel.ready()["url"]

        alice_store = tmp / "alice-device-bound.json"
        root = subprocess.run([support.HYBRID, "ctap", "attestation-root", "--store", str(alice_store)],
                              capture_output=True, timeout=20)
        assert root.returncode == 0, root.stderr
        (tmp / "root.pem").write_bytes(root.stdout)

        kiosk = support.Child(["kiosk", "--listen", "127.0.0.1:0", "--tunnel-override", tunnel_url,
                               "--dbus-address", bus, "--db", tmp / "kiosk.sqlite", "--clear-after", "4",
                               "--attestation-root", tmp / "root.pem",
                               "--phone-store-synced", tmp / "dave-synced.json",
                               "--phone-store-device-bound", alice_store], tmp / "kiosk.log")
        children.append(kiosk)
        url = kiosk.ready()["url"]
        port = int(url.rstrip("/").rsplit(":", 1)[1])

        driver = chromium(tmp, browser_procs)
        page = Page(driver)
        # A 1080p kiosk screen, exactly (the headless window's own size includes no chrome).
        emulate(driver, 1920, 1080, mobile=False)
        driver.get(url)
        page.wait("the live connection", lambda: page.text("conn") == "Live")
        code = page.fresh_code("sign_in", "")
        assert page.text("status") == "Scan the code with your phone to sign in"
        assert page.text("qr-heading") == "Sign in"
        check_qr_image(page, tmp, code)

        # Accessibility basics: a live status region, the QR described and also as text.
        status = driver.find_element(By.ID, "status")
        assert status.get_attribute("role") == "status" and status.get_attribute("aria-live") == "polite"
        assert "text" in driver.find_element(By.ID, "qr").get_attribute("aria-label")
        assert driver.find_element(By.CSS_SELECTOR, "label[for=qr-text]").text
        assert driver.find_element(By.CSS_SELECTOR, "#steps li[aria-current=step]").text == "Scan the code"

        # 1. Dave creates a synced passkey, with the command line the page shows.
        page.register("dave")
        code = page.fresh_code("register", code)
        assert page.text("qr-heading") == "Create a passkey for Dave"
        page.shot("kiosk-code.png")
        command = page.text("cmd-synced")
        assert command.startswith(support.HYBRID + " phone --qr '" + code + "'"), command
        run = subprocess.run(command + " --timeout 40", shell=True, capture_output=True, timeout=60,
                             stdin=subprocess.DEVNULL)
        assert run.returncode == 0, (run.returncode, run.stderr.decode()[-2000:])
        page.wait("the new passkey", lambda: page.text("status") == "Passkey created for Dave")
        assert page.body("outcome") == "registered"
        facts = page.text("outcome-facts")
        assert "synced" in facts and "Hybrid Software Phone (synced)" in facts and "staff" in facts, facts
        page.shot("kiosk-registered.png")

        # 2. Dave signs in with it.
        driver.find_element(By.ID, "btn-sign-in").click()
        code = page.fresh_code("sign_in", code)
        rc, out, err = support.run_phone(["--qr", code, "--store", tmp / "dave-synced.json", "--tunnel", tunnel_url,
                                          "--domain-id", "0", "--kind", "synced", "--approve", "auto",
                                          "--dbus-address", bus, "--timeout", "40"])
        assert rc == 0, (rc, err[-2000:])
        page.wait("the sign-in", lambda: page.text("status") == "Signed in as Dave")
        assert page.text("outcome-title") == "Welcome, Dave"
        facts = page.text("outcome-facts")
        assert "synced (can move between devices)" in facts, facts
        assert "unverified claim" in facts and "no trusted attestation" in facts, facts
        assert "complete" in driver.find_element(By.CSS_SELECTOR, "#steps li[data-step='4']").get_attribute("class")
        signed_in = page.shot("kiosk-signed-in.png")

        # 3. Alice (admins: attestation enforced) registers a device-bound attested passkey.
        page.register("alice")
        code = page.fresh_code("register", code)
        rc, out, err = support.run_phone(["--qr", code, "--store", alice_store, "--tunnel", tunnel_url,
                                          "--domain-id", "0", "--kind", "device-bound", "--approve", "auto",
                                          "--dbus-address", bus, "--timeout", "40"])
        assert rc == 0, (rc, err[-2000:])
        page.wait("Alice's passkey", lambda: page.text("status") == "Passkey created for Alice")
        facts = page.text("outcome-facts")
        assert "device-bound" in facts and "yes, to a trusted root" in facts and "admins" in facts, facts
        page.shot("kiosk-attested.png")

        # 4. Bob (engineers: device-bound only) is refused a synced passkey.
        page.register("bob")
        code = page.fresh_code("register", code)
        rc, out, err = support.run_phone(["--qr", code, "--store", tmp / "bob-synced.json", "--tunnel", tunnel_url,
                                          "--domain-id", "0", "--kind", "synced", "--approve", "auto",
                                          "--dbus-address", bus, "--timeout", "40"])
        assert rc == 0, (rc, err[-2000:])
        page.wait("the refusal", lambda: page.text("status").startswith("Refused:"))
        assert "engineers" in page.text("status"), page.text("status")
        assert page.body("outcome") == "refused"
        assert page.text("qr").splitlines()[-1] == "Refused", page.text("qr")  # the mark where the code was
        assert page.text("outcome-title") == "Refused by the passkey policy"
        facts = page.text("outcome-facts")
        assert "passkey_types" in facts and "engineers" in facts and "synced" in facts, facts
        page.shot("kiosk-refused.png")

        # The finished visitor's screen clears by itself (--clear-after 4) to a fresh code.
        code = page.fresh_code("sign_in", code)
        assert page.body("outcome") == ""
        assert driver.find_element(By.ID, "outcome").get_attribute("hidden") is not None
        history = page.text("history")
        assert "Dave signed in" in history and "refused for Bob (passkey_types)" in history, history
        people = page.text("people")
        assert "Alice (alice) admins, staff admins 1" in people, people

        # Nothing came from anywhere but the kiosk.
        origin = url.rstrip("/")
        resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert resources and all(r.startswith(origin) for r in resources), resources

        # A phone-sized window: one column, nothing wider than the screen, the QR large.
        emulate(driver, 390, 844, mobile=True)
        driver.execute_script("window.scrollTo(0, 0)")
        time.sleep(0.5)
        overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the page is {overflow}px wider than a phone screen"
        qr_width = driver.find_element(By.ID, "qr").size["width"]
        assert qr_width >= 250, qr_width
        page.shot("kiosk-phone.png")
        check_qr_image(page, tmp, page.value("qr-text"))

        asyncio.run(check_status_socket(port))

        if os.environ.get("HYBRID_UPDATE_SCREENSHOTS") == "1":
            dest = Path(os.environ.get("HYBRID_SOURCE_DIR", ".")) / "docs" / "screenshots" / "kiosk.png"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(signed_in, dest)
            print(f"updated {dest}")

        old_code = page.value("qr-text")
        rc = kiosk.stop()
        assert rc == 0, f"hybrid kiosk exited with {rc} on SIGTERM; log:\n{kiosk.log_text()}"

        # A kiosk screen runs for days: the page notices the kiosk going away and picks it up
        # again when it comes back (on the same port, with a fresh state).
        page.wait("the lost connection", lambda: page.text("conn") == "Reconnecting…")
        kiosk2 = support.Child(["kiosk", "--listen", f"127.0.0.1:{port}", "--tunnel-override", tunnel_url,
                                "--dbus-address", bus, "--db", tmp / "kiosk.sqlite"], tmp / "kiosk2.log")
        children.append(kiosk2)
        kiosk2.ready()
        page.wait("the connection again", lambda: page.text("conn") == "Live")
        page.fresh_code("sign_in", old_code)
        assert page.text("history") == "Nobody yet.", page.text("history")
        assert kiosk2.stop() == 0
        print(f"demo_browser_test: ok in {time.monotonic() - t0:.1f} s; screenshots in {support.artifacts_dir()}")
    finally:
        if driver:
            driver.quit()
        for d in reversed(browser_procs):
            if d.poll() is None:
                d.terminate()
                try:
                    d.wait(5)
                except subprocess.TimeoutExpired:
                    d.kill()
        for c in reversed(children):
            c.kill()
        shutil.rmtree(tmp, ignore_errors=True)
        left = support.processes_mentioning(str(tmp))
        assert not left, f"processes left running: {left}"


if __name__ == "__main__":
    main()
