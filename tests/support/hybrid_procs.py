"""Scaffolding shared by the Python tests that run hybrid as separate processes on loopback
(tests/roles, tests/cluster, tests/doctor, tests/hybrid): named checks with a pass count,
free ports, bounded waits, ready lines, stream collectors, and an environment with the
virtual air, a tunnel URL, the PC (`hybrid register` / `hybrid sign-in`) and the software
phone. Each test imports it with
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
Every wait takes its timeout from the caller, so each test keeps its own bounds."""
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BIN = os.environ.get("HYBRID_BINARY", "")
RP = "example.com"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Checks:
    """Named assertions: each one that holds prints `ok NAME` (with the seconds since the
    start when `clock` is set) and counts as passed."""

    def __init__(self, clock=False):
        self.passed = []
        self.t0 = time.time() if clock else None

    def __call__(self, name, cond, detail=""):
        if not cond:
            raise AssertionError(f"{name}: {detail}")
        self.passed.append(name)
        suffix = f"  [{time.time() - self.t0:.1f} s]" if self.t0 is not None else ""
        print(f"ok {name}{suffix}", flush=True)

    def run(self, main):
        """Runs main() and ends the script: `N passed, 0 failed`, or the failed check on
        stderr, `N passed, 1 failed` and exit status 1."""
        run_main(main, self.passed)
        print(f"{len(self.passed)} passed, 0 failed")


def run_main(main, passed=None):
    """Runs main(); an AssertionError is reported as `FAILED: …` (and the pass count when
    `passed` is given) and ends the script with status 1."""
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        if passed is not None:
            print(f"{len(passed)} passed, 1 failed")
        sys.exit(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(what, pred, timeout, step=0.1):
    """Polls pred() (an OSError counts as not yet) until it is true or `timeout` s pass."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            if pred():
                return True
        except OSError:
            pass
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def metrics(base_url, timeout):
    """A tunnel server's /metrics as {series: value}; base_url is its http:// or ws:// URL."""
    url = base_url.replace("ws://", "http://", 1) + "/metrics"
    text = urllib.request.urlopen(url, timeout=timeout).read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def ready_line(p, what):
    """The JSON ready line a hybrid service prints first on stdout."""
    line = p.stdout.readline()
    assert line, f"{what} printed no ready line"
    info = json.loads(line)
    assert info.get("ready"), line
    return info


class Collector:
    """Reads a stream in a thread so that pipes never fill up; keeps each line's arrival time."""

    def __init__(self, stream):
        self.lines = []
        self.lock = threading.Lock()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream):
        for line in stream:
            with self.lock:
                self.lines.append((time.time(), line))

    def text(self):
        with self.lock:
            return "".join(l for _, l in self.lines)

    def first_time(self, pattern, after=0.0):
        with self.lock:
            for t, l in self.lines:
                if t >= after and re.search(pattern, l):
                    return t
        return None


def read_qr(client, deadline):
    """The QR text the client prints on stderr (what a phone's camera would read). What the
    client printed up to it is kept in client.consumed."""
    end = time.time() + deadline
    lines = []
    while time.time() < end:
        line = client.stderr.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("QR code text: "):
            client.consumed = "".join(lines)
            return line[len("QR code text: "):].strip()
    raise AssertionError("the client printed no QR code: " + "".join(lines))


class Loopback:
    """A private directory and environment (XDG_DATA_HOME inside it, HYBRID_LOG=warn), the
    processes a test starts (all stopped by close()), and the PC and phone commands against
    `self.tunnel` and `self.dbus`, which the test sets once its services run."""

    def __init__(self, prefix, client_timeout="30", phone_timeout="30", qr_deadline=10):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.procs = []
        self.env = dict(os.environ, XDG_DATA_HOME=os.path.join(self.dir, "data"), HYBRID_LOG="warn")
        self.client_timeout = client_timeout
        self.phone_timeout = phone_timeout
        self.qr_deadline = qr_deadline  # seconds a client may take to show its QR code
        self.tunnel = None
        self.dbus = None

    def service(self, args, what=None):
        """Starts `hybrid ARGS` and waits for its ready line; returns (process, ready line)."""
        p = subprocess.Popen([BIN] + args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=self.env, text=True)
        self.procs.append(p)
        return p, ready_line(p, what or args[0])

    def start_air(self):
        _, info = self.service(["virtual-air"])
        self.dbus = info["dbus_address"]

    def client(self, verb, *args):
        cmd = [BIN, verb, "--rp-id", RP, "--tunnel-override", self.tunnel, "--dbus-address", self.dbus,
               "--no-qr", "--timeout", self.client_timeout] + list(args)
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env, text=True)

    def phone(self, *args, store="phone.json", tunnel=None):
        cmd = [BIN, "phone", "--store", os.path.join(self.dir, store), "--tunnel", tunnel or self.tunnel,
               "--dbus-address", self.dbus, "--timeout", self.phone_timeout] + list(args)
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env, text=True)
        self.procs.append(p)
        return p

    def qr_pair(self, verb, client_args, phone_args=(), store="phone.json"):
        """A client showing a QR code and the phone that scanned it, both running."""
        c = self.client(verb, *client_args)
        qr = read_qr(c, self.qr_deadline)
        return c, self.phone("--qr", qr, *phone_args, store=store)

    def qr_transaction(self, verb, client_args, phone_args=(), store="phone.json"):
        """A QR transaction to its end: (client exit code, stdout, stderr), with the phone's
        stderr appended when the client failed."""
        c, p = self.qr_pair(verb, client_args, phone_args, store=store)
        out, err = c.communicate(timeout=60)
        _, perr = p.communicate(timeout=30)
        return c.returncode, out, err + ("" if c.returncode == 0 else "\nphone: " + perr)

    def close(self, sig=signal.SIGTERM):
        """Signals every process still running (SIGCONT first, in case a test stopped it),
        kills what has not exited 5 s later, and removes the directory."""
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
                p.send_signal(sig)
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
