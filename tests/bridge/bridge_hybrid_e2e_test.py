#!/usr/bin/python3
"""The bridge with its real backend, end to end, as separate processes on loopback.

python-fido2 (Debian's 0.9.1: its own CTAPHID and CTAP2 client code over the socket
connection in bridge_support.py) talks to `hybrid bridge --socket … --backend hybrid`; the
bridge runs each request as a hybrid transaction through the virtual air (`hybrid
virtual-air`, a fake BlueZ on a private dbus-daemon) and a real tunnel server (`hybrid
tunnel serve`) with the software phone (`hybrid phone`), started only once the bridge shows
its QR code (read back from --qr-png with zbarimg, as a camera would, and compared with the
text line on the bridge's terminal). Checked:

* makeCredential then getAssertion succeed and verify in python-fido2's Fido2Server; the
  QR code asks for the right request type, offers linking, is announced by notify-send
  (a stand-in on PATH that records its arguments) and is removed once used;
* a silent up=false probe is answered at once without a QR code or a phone;
* CANCEL while the bridge waits for the phone (none is started) ends with
  CTAP2_ERR_KEEPALIVE_CANCEL, and the bridge then serves the next request with a phone;
* the linking data that phone offers is stored, and a second bridge started with
  --phone NAME reaches it (`hybrid phone --listen`) without any QR code;
* the bridge's own counters agree.

Bounded in time (an alarm ends everything after 100 s); every process is stopped.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from fido2.client import ClientError, Fido2Client
from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2
from fido2.server import Fido2Server

from bridge_support import HYBRID, Bridge

ORIGIN = "https://example.com"
RP = {"id": "example.com", "name": "Example"}
TOTAL_SECONDS = 100
PASSED = []


def check(name, cond, detail=""):
    if not cond:
        raise AssertionError("%s: %s" % (name, detail))
    PASSED.append(name)
    print("ok %s" % name, flush=True)


class Timeout(Exception):
    pass


def on_alarm(signum, frame):
    raise Timeout("the test ran longer than %d s" % TOTAL_SECONDS)


class Processes:
    """The virtual air, the tunnel server, phones and bridges; all stopped by close()."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="bridge-hybrid-e2e-")
        self.procs = []
        self.bridges = []
        bin_dir = os.path.join(self.dir, "bin")
        os.mkdir(bin_dir)
        self.notify_log = os.path.join(self.dir, "notify.log")
        notifier = os.path.join(bin_dir, "notify-send")
        with open(notifier, "w") as f:
            f.write("#!/bin/sh\nprintf '%%s\\n' \"$*\" >> '%s'\n" % self.notify_log)
        os.chmod(notifier, 0o755)
        self.env = dict(os.environ, XDG_DATA_HOME=os.path.join(self.dir, "data"), HYBRID_LOG="info",
                        PATH=bin_dir + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"))
        self.env.pop("JOURNAL_STREAM", None)
        self.env.pop("HYBRID_KEYLOG", None)
        self.dbus = self.service(["virtual-air"])["dbus_address"]
        self.tunnel = self.service(["tunnel", "serve", "--listen", "127.0.0.1:0"])["url"]
        check("tunnel server on loopback", self.tunnel.startswith("ws://127.0.0.1:"), self.tunnel)
        self.phone_store = os.path.join(self.dir, "phone.json")
        self.link_store = os.path.join(self.dir, "links.json")

    def service(self, args):
        p = subprocess.Popen([HYBRID] + args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             env=self.env, text=True)
        self.procs.append(p)
        line = p.stdout.readline()
        info = json.loads(line)
        assert info.get("ready"), line
        return info

    def bridge(self, name, *extra):
        d = os.path.join(self.dir, name)
        os.mkdir(d)
        png = os.path.join(d, "qr.png")
        b = Bridge("--tunnel-override", self.tunnel, "--dbus-address", self.dbus, "--qr-png", png,
                   "--qr-terminal", "always", "--link-store", self.link_store, "--timeout", "30",
                   "--advert-timeout", "20", *extra, backend="hybrid", directory=d, env=self.env)
        b.png = png
        self.bridges.append(b)
        return b

    def phone(self, qr, *extra):
        args = [HYBRID, "phone", "--store", self.phone_store, "--tunnel", self.tunnel, "--dbus-address",
                self.dbus, "--kind", "synced", "--timeout", "30"]
        args += (["--qr", qr] if qr else []) + list(extra)
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env, text=True)
        self.procs.append(p)
        return p

    def notifications(self):
        if not os.path.exists(self.notify_log):
            return []
        with open(self.notify_log) as f:
            return f.read().splitlines()

    def close(self):
        for b in self.bridges:
            if b.proc.poll() is None:
                b.proc.send_signal(signal.SIGTERM)
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs + [b.proc for b in self.bridges]:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        for b in self.bridges:
            if not b.log.closed:
                b.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for_qr(bridge, previous=None, timeout=15):
    """The QR code the bridge shows, read from its PNG with zbarimg (what a camera sees)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if bridge.proc.poll() is not None:
            raise AssertionError("the bridge exited while a QR code was expected:\n" + bridge.logs())
        if os.path.exists(bridge.png):
            r = subprocess.run(["zbarimg", "--raw", "-q", bridge.png], capture_output=True, text=True,
                               timeout=10)
            text = r.stdout.strip()
            if r.returncode == 0 and text.startswith("FIDO:/") and text != previous:
                return text
        time.sleep(0.05)
    raise AssertionError("no QR code appeared in %s within %d s:\n%s" % (bridge.png, timeout, bridge.logs()))


def wait_for_push_listener(tunnel, timeout=10):
    """`hybrid phone --listen` prints its ready line before its push channel is open; the
    tunnel server's /metrics says when the channel is there."""
    url = tunnel.replace("ws://", "http://", 1) + "/metrics"
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with urllib.request.urlopen(url, timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("hybrid_tunnel_push_listeners ") and float(line.split()[1]) >= 1:
                    return
        time.sleep(0.05)
    raise AssertionError("the linked phone's push channel did not open within %d s" % timeout)


def decode_qr(qr, env):
    out = subprocess.run([HYBRID, "qr", "decode", qr], capture_output=True, text=True, timeout=10, env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def in_background(fn):
    """Runs fn() on a thread; returns a join(timeout) that gives its result or raises its error."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: B902 - handed to the caller
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()

    def join(timeout):
        t.join(timeout)
        if t.is_alive():
            raise AssertionError("the client call did not return within %d s" % timeout)
        if "error" in box:
            raise box["error"]
        return box["value"]

    return join


def through_phone(procs, bridge, ceremony, request_type, phone_args=()):
    """Runs one client call that needs the phone: waits for the bridge's QR code, checks
    it, starts `hybrid phone --qr` with it and returns the call's result."""
    notes_before = len(procs.notifications())
    join = in_background(ceremony)
    qr = wait_for_qr(bridge)
    decoded = decode_qr(qr, procs.env)
    check("QR code asks for '%s'" % request_type, decoded["request_type"] == request_type, decoded)
    check("QR code offers linking", decoded["supports_linking"] is True, decoded)
    check("QR code text on the bridge's terminal matches the PNG", ("QR code text: " + qr) in bridge.logs(100000))
    phone = procs.phone(qr, *phone_args)
    value = join(40)
    _, perr = phone.communicate(timeout=20)
    check("phone exit 0", phone.returncode == 0, perr)
    notes = procs.notifications()[notes_before:]
    what = "create a passkey" if request_type == "mc" else "sign in with a passkey"
    check("notify-send announced the QR code once (%s)" % request_type,
          len(notes) == 1 and what in notes[0] and bridge.png in notes[0] and "FIDO:/" not in notes[0], notes)
    check("the used QR code is removed", not os.path.exists(bridge.png))
    return value


def sign_in(procs, bridge, device, server, credential, phone_args=()):
    client = Fido2Client(device, ORIGIN)
    options, state = server.authenticate_begin([credential], user_verification="preferred")
    if phone_args is None:  # a linked phone: no QR code
        selection = in_background(lambda: client.get_assertion(options["publicKey"]))(40)
    else:
        selection = through_phone(procs, bridge, lambda: client.get_assertion(options["publicKey"]), "ga",
                                  phone_args)
    response = selection.get_response(0)
    server.authenticate_complete(state, [credential], response.credential_id, response.client_data,
                                 response.authenticator_data, response.signature)
    return response


def main():
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TOTAL_SECONDS)
    started = time.monotonic()
    procs = Processes()
    try:
        bridge = procs.bridge("first")
        device = bridge.device()
        server = Fido2Server(RP)

        # makeCredential through the phone, verified.
        user = {"id": os.urandom(16), "name": "alice"}
        create_options, state = server.register_begin(user, user_verification="preferred")
        client = Fido2Client(device, ORIGIN)
        made = through_phone(procs, bridge, lambda: client.make_credential(create_options["publicKey"]), "mc")
        auth_data = server.register_complete(state, made.client_data, made.attestation_object)
        check("makeCredential verified by Fido2Server", auth_data.credential_data is not None)
        check("user present and verified", auth_data.is_user_present() and auth_data.is_user_verified())
        check("a synced passkey (BE and BS set)", auth_data.flags & 0x18 == 0x18, hex(auth_data.flags))
        credential = auth_data.credential_data

        # getAssertion through the phone, verified.
        sign_in(procs, bridge, device, server, credential)
        check("getAssertion verified by Fido2Server", True)

        # A silent probe: answered by the bridge alone, no QR code, no phone.
        ctap = Ctap2(device)
        notes_before = len(procs.notifications())
        qr_lines_before = bridge.logs(100000).count("QR code text: ")
        t0 = time.monotonic()
        probe = ctap.get_assertion(RP["id"], os.urandom(32),
                                   [{"type": "public-key", "id": credential.credential_id,
                                     "transports": ["usb"]}], options={"up": False})
        elapsed = time.monotonic() - t0
        check("up=false probe answered at once (%.2f s)" % elapsed, elapsed < 2.0)
        check("probe names the credential, no flags, no signature",
              probe.credential["id"] == credential.credential_id and probe.auth_data.flags == 0
              and probe.signature == b"", probe)
        check("probe showed no QR code", not os.path.exists(bridge.png)
              and bridge.logs(100000).count("QR code text: ") == qr_lines_before
              and len(procs.notifications()) == notes_before)

        # CANCEL while the bridge waits for a phone that never comes.
        event = threading.Event()
        keepalives = []
        def cancel_once_the_qr_code_shows():
            wait_for_qr(bridge)
            event.set()
            return time.monotonic()

        waiter = in_background(cancel_once_the_qr_code_shows)
        try:
            ctap.make_credential(os.urandom(32), RP, {"id": b"bob", "name": "bob"},
                                 [{"type": "public-key", "alg": -7}], options={"uv": True},
                                 event=event, on_keepalive=keepalives.append)
            raise AssertionError("makeCredential succeeded although it was cancelled")
        except CtapError as e:
            answered_at = time.monotonic()
            check("CANCEL ends the transaction with KEEPALIVE_CANCEL",
                  e.code == CtapError.ERR.KEEPALIVE_CANCEL, e)
        cancelled_at = waiter(20)
        check("the cancel was answered within 2 s (%.2f s)" % (answered_at - cancelled_at),
              answered_at - cancelled_at < 2.0)
        check("keepalives (UPNEEDED) while waiting", keepalives and int(keepalives[0]) == 2, keepalives)
        deadline = time.monotonic() + 5
        while os.path.exists(bridge.png) and time.monotonic() < deadline:
            time.sleep(0.05)
        check("the cancelled QR code is removed", not os.path.exists(bridge.png))

        # The bridge serves the next request, with a phone that offers to link.
        sign_in(procs, bridge, device, server, credential, ["--offer-linking", "--name", "Bridge Phone"])
        check("getAssertion after the cancel verified", True)
        device.close()
        check("the phone's linking data is stored", 'linked this phone as "Bridge Phone"' in bridge.logs(100000),
              bridge.logs())
        listed = subprocess.run([HYBRID, "phones", "--link-store", procs.link_store, "list"],
                                capture_output=True, text=True, timeout=10, env=procs.env)
        check("`hybrid phones list` shows it", [p["name"] for p in json.loads(listed.stdout)] == ["Bridge Phone"],
              listed.stdout + listed.stderr)

        summary = bridge.stop()
        check("first bridge counted 4 phone transactions, 1 probe, 1 cancel",
              (summary["phone_transactions"], summary["probes_answered"], summary["cancels"],
               summary["timeouts"]) == (4, 1, 1, 0), summary)

        # A second bridge reaches the linked phone without a QR code.
        second = procs.bridge("second", "--phone", "Bridge Phone")
        listener = procs.phone(None, "--listen", "--max-transactions", "1")
        ready = json.loads(listener.stdout.readline())
        check("linked phone listening", ready.get("ready") is True, ready)
        wait_for_push_listener(procs.tunnel)
        device = second.device()
        notes_before = len(procs.notifications())
        sign_in(procs, second, device, server, credential, phone_args=None)
        device.close()
        check("linked getAssertion verified by Fido2Server", True)
        check("linked phone: no QR code shown", "QR code text: " not in second.logs(100000)
              and len(procs.notifications()) == notes_before)
        listener.wait(timeout=15)
        check("linked phone served one transaction and stopped", listener.returncode == 0)
        summary = second.stop()
        check("second bridge counted 1 phone transaction", summary["phone_transactions"] == 1, summary)
    except BaseException:
        for b in procs.bridges:
            print("---- log of the bridge in %s:\n%s" % (b.dir, b.logs()), file=sys.stderr)
        raise
    finally:
        procs.close()
        signal.alarm(0)
    print("%d passed, 0 failed in %.1f s" % (len(PASSED), time.monotonic() - started))


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, Timeout, ClientError, CtapError, OSError, subprocess.TimeoutExpired) as e:
        print("FAILED: %r" % (e,), file=sys.stderr)
        print("%d passed, 1 failed" % len(PASSED))
        sys.exit(1)
