#!/usr/bin/python3
"""End to end, as separate processes on loopback: a real tunnel server (`hybrid tunnel
serve`), the virtual air on a private dbus-daemon (`hybrid virtual-air`), the software
phone (`hybrid phone`) and the PC (`hybrid register` / `hybrid sign-in`). Results are
verified by an independent relying party: python3-fido2's Fido2Server. Each failure class
must produce its own exit code. Every process is bounded in time and cleaned up."""
import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fido2.client import ClientData
from fido2.ctap2 import AttestationObject, AuthenticatorData
from fido2.server import Fido2Server
from fido2.webauthn import PublicKeyCredentialRpEntity

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from hybrid_procs import BIN, RP, Checks, Loopback, b64u, read_qr  # noqa: E402

check = Checks()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Env(Loopback):
    def __init__(self):
        super().__init__("hybrid-e2e-")
        self.start_air()
        self.tunnel_proc, info = self.service(["tunnel", "serve", "--listen", "127.0.0.1:0"])
        self.tunnel = info["url"]


def transact(env, verb, client_args, phone_args=(), store="phone.json"):
    c, p = env.qr_pair(verb, client_args, phone_args, store=store)
    out, err = c.communicate(timeout=45)
    pout, perr = p.communicate(timeout=45)
    return c.returncode, out, c.consumed + err, p.returncode, pout, perr


def register_and_verify(env, server, user, kind, store, extra=()):
    state_opts, state = server.register_begin({"id": user.encode(), "name": user, "displayName": user},
                                              user_verification="preferred")
    challenge = state["challenge"]
    rc, out, err, prc, pout, perr = transact(
        env, "register", ["--user-name", user, "--user-id", b64u(user.encode()), "--challenge", challenge,
                          "--attestation", "direct"] + list(extra),
        ["--kind", kind], store=store)
    check(f"register {kind}: client exit 0", rc == 0, err)
    check(f"register {kind}: phone exit 0", prc == 0, perr)
    cred = json.loads(out)
    check(f"register {kind}: transports hybrid", cred["response"]["transports"] == ["hybrid"], out)
    att = AttestationObject(unb64u(cred["response"]["attestationObject"]))
    auth_data = server.register_complete(state, ClientData(unb64u(cred["response"]["clientDataJSON"])), att)
    check(f"register {kind}: verified by python-fido2 (fmt {att.fmt})", auth_data.credential_data is not None)
    flags = auth_data.flags
    be, bs = bool(flags & 0x08), bool(flags & 0x10)
    if kind == "synced":
        check("synced passkey has BE=1 BS=1 and none attestation", be and bs and att.fmt == "none", f"{flags:#x} {att.fmt}")
    else:
        check("device-bound passkey has BE=0 BS=0 and packed attestation", not be and not bs and att.fmt == "packed",
              f"{flags:#x} {att.fmt}")
    return auth_data.credential_data, cred


def sign_in_and_verify(env, server, cred_data, store, extra=()):
    opts, state = server.authenticate_begin([cred_data], user_verification="preferred")
    challenge = state["challenge"]
    rc, out, err, prc, pout, perr = transact(
        env, "sign-in", ["--challenge", challenge, "--allow-credential", b64u(cred_data.credential_id)] + list(extra),
        store=store)
    check("sign-in: client exit 0", rc == 0, err)
    a = json.loads(out)
    server.authenticate_complete(state, [cred_data], unb64u(a["rawId"]),
                                 ClientData(unb64u(a["response"]["clientDataJSON"])),
                                 AuthenticatorData(unb64u(a["response"]["authenticatorData"])),
                                 unb64u(a["response"]["signature"]))
    check("sign-in: assertion verified by python-fido2", True)
    for stage in ("QR code shown", "phone nearby", "tunnel connected", "handshake done", "waiting for the user", "done"):
        check(f"sign-in progress shows '{stage}'", stage in err, err)
    return a


def main():
    env = Env()
    try:
        server = Fido2Server(PublicKeyCredentialRpEntity(RP, "Example"), attestation="direct")
        cred, _ = register_and_verify(env, server, "alice", "synced", "synced.json", ["--prf"])
        sign_in_and_verify(env, server, cred, "synced.json")

        dev_cred, _ = register_and_verify(env, server, "bob", "device-bound", "bound.json")
        sign_in_and_verify(env, server, dev_cred, "bound.json")

        # PRF: the same salt gives the same result in two sign-ins.
        salt = b64u(b"s" * 32)
        results = []
        for _ in range(2):
            a = sign_in_and_verify(env, server, cred, "synced.json", ["--prf-salt", salt])
            results.append(a["clientExtensionResults"]["prf"]["results"]["first"])
        check("PRF results equal across two sign-ins with the same salt", results[0] == results[1] and results[0], results)

        # Linking: the QR sign-in above offered linking; the phone sends it with --offer-linking.
        rc, out, err, prc, _, perr = transact(env, "sign-in", ["--allow-credential", b64u(cred.credential_id)],
                                              ["--offer-linking", "--name", "Test Phone"], store="synced.json")
        check("QR sign-in with linking: exit 0", rc == 0, err)
        check("linking stored", 'Linked this phone as "Test Phone"' in err, err)
        listen = env.phone("--listen", "--max-transactions", "1", store="synced.json")
        assert json.loads(listen.stdout.readline())["ready"]
        opts, state = server.authenticate_begin([cred], user_verification="preferred")
        c = env.client("sign-in", "--phone", "Test Phone", "--challenge", state["challenge"], "--allow-credential",
                       b64u(cred.credential_id))
        out, err = c.communicate(timeout=45)
        check("linked sign-in without a QR code: exit 0", c.returncode == 0, err)
        check("linked sign-in showed no QR code", "QR code text" not in err, err)
        a = json.loads(out)
        server.authenticate_complete(state, [cred], unb64u(a["rawId"]), ClientData(unb64u(a["response"]["clientDataJSON"])),
                                     AuthenticatorData(unb64u(a["response"]["authenticatorData"])),
                                     unb64u(a["response"]["signature"]))
        check("linked sign-in verified by python-fido2", True)
        listen.wait(timeout=10)

        # Failure classes, each with its own exit code.
        c = env.client("sign-in", "--advert-timeout", "2")
        _, err = c.communicate(timeout=30)
        check("no advert: exit 5", c.returncode == 5, f"{c.returncode} {err}")
        check("no advert: says what to do", "Bluetooth" in err or "phone" in err, err)

        rc, out, err, prc, _, _ = transact(env, "sign-in", [], store="empty.json")
        check("phone answers a CTAP error: exit 9", rc == 9, f"{rc} {err}")

        c = subprocess.Popen([BIN, "sign-in", "--rp-id", RP, "--tunnel-override", "ws://127.0.0.1:9", "--dbus-address",
                              env.dbus, "--no-qr", "--timeout", "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env.env, text=True)
        qr = read_qr(c, env.qr_deadline)
        p = env.phone("--qr", qr, store="synced.json")
        _, err = c.communicate(timeout=30)
        p.kill()
        p.wait()
        check("wrong tunnel override: exit 15 (network)", c.returncode == 15, f"{c.returncode} {err}")

        c = env.client("sign-in")
        qr = read_qr(c, env.qr_deadline)
        p = env.phone("--qr", qr, "--think-time", "5000", store="synced.json")
        deadline = time.time() + 15
        seen = ""
        while time.time() < deadline:
            line = c.stderr.readline()
            seen += line
            if "waiting for the user" in line or not line:
                break
        p.kill()
        p.wait()
        _, err = c.communicate(timeout=30)
        check("phone killed while the user confirms: exit 10", c.returncode == 10, f"{c.returncode} {seen}{err}")

        # A linked phone whose contact ID the server does not know: 410, link forgotten.
        links_path = os.path.join(env.dir, "data", "hybrid", "linked-phones.json")
        links = json.load(open(links_path))
        ghost = dict(links["phones"][0], name="Ghost", contact_id="00" * 16,
                     phone_public_key=links["phones"][0]["phone_public_key"][:-2] + links["phones"][0]["phone_public_key"][-2:])
        links["phones"] = [ghost]
        json.dump(links, open(links_path, "w"))
        c = env.client("sign-in", "--phone", "Ghost", "--advert-timeout", "2")
        _, err = c.communicate(timeout=40)
        check("410 on contact: the link is forgotten", 'forgot the linked phone "Ghost"' in err, err)
        check("410 on contact: falls back to a QR code (then no advert: exit 5)", c.returncode == 5, f"{c.returncode} {err}")

        # Ctrl-C while scanning: exit 11.
        c = env.client("sign-in")
        read_qr(c, env.qr_deadline)
        time.sleep(0.5)
        c.send_signal(signal.SIGINT)
        _, err = c.communicate(timeout=10)
        check("Ctrl-C while waiting for the advert: exit 11", c.returncode == 11, f"{c.returncode} {err}")
    finally:
        env.close()


if __name__ == "__main__":
    check.run(main)
