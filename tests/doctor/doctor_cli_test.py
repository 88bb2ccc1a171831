#!/usr/bin/python3
"""`hybrid doctor` as a user runs it, against real processes on loopback: the virtual air in
each of its failing configurations (no adapter, powered off, rfkill-blocked), a dbus-daemon
where nobody owns org.bluez, a dbus-daemon whose policy denies discovery and advertising (a
real AccessDenied from the daemon), no bus at all, and tunnel servers over TLS with the
right CA, the wrong CA, and nobody listening. Each failing configuration must be reported
with its fix and the documented exit code (0 ok, 17 warnings, 18 failures). Every process
and wait is bounded; everything is cleaned up."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from hybrid_procs import BIN, free_port, ready_line  # noqa: E402

PROCS = []
PASSED = []


def start(args, env=None):
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    PROCS.append(p)
    return p


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


def air(*flags, dbus=None):
    args = [BIN, "virtual-air"] + list(flags)
    if dbus:
        args += ["--dbus-address", dbus]
    p = start(args)
    return p, ready_line(p, "virtual-air")["dbus_address"]


def dbus_daemon(tmp, name, extra_policy=""):
    d = os.path.join(tmp, name)
    os.mkdir(d)
    conf = os.path.join(d, "bus.conf")
    with open(conf, "w") as f:
        f.write(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={d}/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
  {extra_policy}
</busconfig>
""")
    p = start(["dbus-daemon", "--nofork", "--print-address", "--config-file", conf])
    addr = p.stdout.readline().strip()
    assert addr.startswith("unix:"), addr
    return p, addr


def doctor(*args, env):
    r = subprocess.run([BIN, "doctor", "--json", "--timeout", "5"] + list(args), capture_output=True, text=True,
                       timeout=60, env=env)
    out = json.loads(r.stdout)
    checks = {c["name"]: c for c in out["checks"]}
    return r.returncode, out, checks


def expect(checks, name, status, *fix_words, detail_words=()):
    c = checks[name]
    assert c["status"] == status, f"{name}: expected {status}, got {c}"
    for w in fix_words:
        assert w in c["fix"], f"{name}: fix lacks {w!r}: {c['fix']}"
    for w in detail_words:
        assert w in c["detail"], f"{name}: detail lacks {w!r}: {c['detail']}"
    if status in ("warn", "fail"):
        assert c["fix"], f"{name}: a {status} without a fix"


def pki(tmp):
    ext = os.path.join(tmp, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run = lambda *a: subprocess.run(["openssl"] + list(a), cwd=tmp, check=True, capture_output=True, timeout=30)
    run("req", "-x509", *ec, "-days", "2", "-subj", "/CN=doctor-test-ca", "-keyout", "ca.key", "-out", "ca.pem")
    run("req", "-x509", *ec, "-days", "2", "-subj", "/CN=other-ca", "-keyout", "other.key", "-out", "other.pem")
    run("req", *ec, "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", ext, "-out", "server.pem")
    return {k: os.path.join(tmp, v) for k, v in
            {"ca": "ca.pem", "other": "other.pem", "cert": "server.pem", "key": "server.key"}.items()}


def main():
    tmp = tempfile.mkdtemp(prefix="hybrid-doctor-")
    try:
        env = dict(os.environ, XDG_DATA_HOME=os.path.join(tmp, "data"), HYBRID_LOG="warn")
        env.pop("HYBRID_DBUS_ADDRESS", None)
        certs = pki(tmp)
        tunnel = start([BIN, "tunnel", "serve", "--listen", "127.0.0.1:0", "--tls-cert", certs["cert"], "--tls-key",
                        certs["key"]])
        wss = "wss://127.0.0.1:%d" % ready_line(tunnel, "tunnel")["port"]
        uhid_ok = os.access("/dev/uhid", os.R_OK | os.W_OK)
        uhid_fix = () if uhid_ok else ("70-hybrid-bridge-uhid.rules",) if os.path.exists("/dev/uhid") else ("modprobe uhid",)
        net = ["--tunnel", wss, "--ca-file", certs["ca"]]

        # 1. Everything in order (the virtual air, a TLS tunnel with its CA, fresh stores).
        a, bus = air()
        code, out, c = doctor("--dbus-address", bus, *net, env=env)
        for n in ("dbus", "bluez", "adapter", "powered", "rfkill", "discovery-policy", "advertising-policy",
                  "tunnel", "clock", "store:data directory", "store:linked phones"):
            expect(c, n, "ok")
        assert "TLSv1" in c["tunnel"]["detail"] and certs["ca"] in c["tunnel"]["detail"], c["tunnel"]
        expect(c, "uhid", "ok" if uhid_ok else "warn", *uhid_fix)
        assert code == (0 if uhid_ok else 17), (code, out)
        assert out["status"] == ("ok" if uhid_ok else "warn")
        PASSED.append("healthy")

        # 2. The tunnel: the wrong CA, then nobody listening; the clock is then skipped.
        code, out, c = doctor("--dbus-address", bus, "--tunnel", wss, "--ca-file", certs["other"], env=env)
        expect(c, "tunnel", "fail", "--ca-file", detail_words=("does not verify", certs["other"]))
        expect(c, "clock", "skipped")
        assert code == 18 and out["status"] == "fail"
        code, out, c = doctor("--dbus-address", bus, "--tunnel", "wss://127.0.0.1:%d" % free_port(), env=env)
        expect(c, "tunnel", "fail", "is the tunnel service running", detail_words=("Connection refused",))
        assert code == 18
        PASSED.append("tunnel wrong CA / unreachable")

        # 3. Store permissions: a link store others can read.
        os.makedirs(os.path.join(tmp, "data", "hybrid"))
        links = os.path.join(tmp, "data", "hybrid", "linked-phones.json")
        with open(links, "w") as f:
            f.write("{}")
        os.chmod(links, 0o644)
        code, out, c = doctor("--dbus-address", bus, "--no-tunnel", env=env)
        expect(c, "store:linked phones", "warn", "chmod 600 " + links, detail_words=("0644",))
        assert "tunnel" not in c
        os.chmod(links, 0o600)
        code, out, c = doctor("--dbus-address", bus, "--no-tunnel", env=env)
        expect(c, "store:linked phones", "ok")
        PASSED.append("store permissions")

        # The human-readable form carries the same fixes.
        r = subprocess.run([BIN, "doctor", "--dbus-address", bus, "--tunnel", wss, "--ca-file", certs["other"]],
                           capture_output=True, text=True, timeout=60, env=env)
        assert r.returncode == 18 and "[fail]" in r.stdout and "fix: " in r.stdout, r.stdout
        stop(a)

        # 4. The virtual air's failing configurations.
        for flags, name, fix, more in (
                (["--no-adapter"], "adapter", "bluetoothctl list", {"powered": "skipped"}),
                (["--powered-off"], "powered", "bluetoothctl power on", {"rfkill": "ok", "discovery-policy": "ok"}),
                (["--rfkill-blocked"], "powered", "rfkill unblock bluetooth", {"rfkill": "fail"})):
            a, bus = air(*flags)
            code, out, c = doctor("--dbus-address", bus, "--no-tunnel", env=env)
            expect(c, name, "fail", fix)
            for n, s in more.items():
                expect(c, n, s)
            assert code == 18, (flags, code)
            stop(a)
            PASSED.append(" ".join(flags))

        # 5. A bus where nobody owns org.bluez (BlueZ absent), and no bus at all.
        d, bus = dbus_daemon(tmp, "nobluez")
        code, out, c = doctor("--dbus-address", bus, "--no-tunnel", env=env)
        expect(c, "dbus", "ok")
        expect(c, "bluez", "fail", "virtual-air", detail_words=("org.bluez",))
        expect(c, "adapter", "skipped")
        assert code == 18
        stop(d)
        code, out, c = doctor("--dbus-address", "unix:path=%s/no-such-bus" % tmp, "--no-tunnel", env=env)
        expect(c, "dbus", "fail", "--dbus-address")
        expect(c, "bluez", "skipped")
        assert code == 18
        PASSED.append("BlueZ absent / no D-Bus")

        # 6. A real AccessDenied: the daemon's policy forbids discovery and advertising calls.
        deny = """<policy context="mandatory">
    <deny send_destination="org.bluez" send_interface="org.bluez.Adapter1" send_member="StartDiscovery"/>
    <deny send_destination="org.bluez" send_interface="org.bluez.LEAdvertisingManager1"
          send_member="RegisterAdvertisement"/>
  </policy>"""
        d, bus = dbus_daemon(tmp, "denied", deny)
        a, _ = air(dbus=bus)
        code, out, c = doctor("--dbus-address", bus, "--no-tunnel", env=env)
        expect(c, "discovery-policy", "fail", "bluetooth` group", detail_words=("AccessDenied", "StartDiscovery"))
        expect(c, "advertising-policy", "fail", "bluetooth` group", detail_words=("AccessDenied",))
        expect(c, "powered", "ok")
        assert code == 18
        stop(a)
        stop(d)
        PASSED.append("AccessDenied by policy")

        # 7. sign-in and register run the fast checks before any QR code: with no D-Bus or an
        # adapter that is off, no QR code is drawn and the exit code is 4 (Bluetooth unavailable).
        a, bus = air("--powered-off")
        for cmd, dbus, fix in ((["sign-in"], "unix:path=%s/no-such-bus" % tmp, "--dbus-address"),
                               (["register", "--user-name", "alice"], bus, "bluetoothctl power on")):
            r = subprocess.run([BIN] + cmd + ["--rp-id", "example.com", "--dbus-address", dbus,
                                              "--tunnel-override", wss, "--ca-file", certs["ca"], "--timeout", "20"],
                               capture_output=True, text=True, timeout=60, env=env)
            assert r.returncode == 4, (cmd, r.returncode, r.stderr)
            assert "QR code text" not in r.stderr and "FIDO:/" not in r.stderr and "\u2580" not in r.stderr \
                and "\u2588" not in r.stderr, r.stderr
            assert "no QR code is shown" in r.stderr and "fix: " in r.stderr and fix in r.stderr, r.stderr
        # --power-on makes an adapter that is merely off acceptable: the QR code is shown then.
        r = subprocess.run([BIN, "sign-in", "--rp-id", "example.com", "--dbus-address", bus, "--power-on",
                            "--tunnel-override", wss, "--ca-file", certs["ca"], "--advert-timeout", "1",
                            "--timeout", "10"], capture_output=True, text=True, timeout=60, env=env)
        assert r.returncode == 5 and "QR code text: FIDO:/" in r.stderr, (r.returncode, r.stderr)
        stop(a)
        PASSED.append("no QR code without Bluetooth")

        # 8. The air's error knob: no free advertising slot is a warning, not a failure.
        a, bus = air("--fail", "RegisterAdvertisement=org.bluez.Error.NotPermitted:Maximum advertisements reached")
        code, out, c = doctor("--dbus-address", bus, "--no-tunnel", env=env)
        expect(c, "advertising-policy", "warn", "advertise off")
        stop(a)
        PASSED.append("no advertising slot")
    finally:
        for p in PROCS:
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)
    print("doctor_cli_test: passed:", "; ".join(PASSED))


if __name__ == "__main__":
    main()
