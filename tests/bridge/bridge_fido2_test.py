#!/usr/bin/env python3
"""python-fido2 (Debian's 0.9.1) drives `hybrid bridge --socket PATH --backend software`.

The client is python-fido2's own CTAPHID and CTAP2 code (CtapHidDevice, Ctap2,
Fido2Client) over a custom CtapHidConnection that carries raw 64-byte reports on the
bridge's SOCK_SEQPACKET socket, and a Fido2Server verifies what comes back. Covered:
makeCredential + getAssertion succeed and verify; CANCEL mid-transaction; silent up=false
probes; the reuse of one phone assertion for a repeated directed request; malformed
CTAPHID packets (bad length, wrong sequence, unknown command, oversized message, unknown
channel, stalled message) answered with CTAPHID errors while the bridge keeps serving;
and `--backend hybrid` refusing to start while that backend is not built in.

The phone is the project's software authenticator (in memory) for now; the run through a real
tunnel server and `hybrid phone` is wired once the hybrid backend exists.
"""

import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from fido2.client import Fido2Client
from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2
from fido2.hid import CAPABILITY, CTAPHID, CtapHidDevice
from fido2.hid.base import CtapHidConnection, HidDescriptor
from fido2.server import Fido2Server

HYBRID = os.environ.get("HYBRID_BINARY", "build/app/hybrid")
ORIGIN = "https://example.com"
RP = {"id": "example.com", "name": "Example"}
REPORT = 64
READ_TIMEOUT = 10.0

# CTAPHID error codes (CTAP 2.1 §11.2.9.1.6)
ERR_INVALID_CMD, ERR_INVALID_LEN, ERR_INVALID_SEQ = 0x01, 0x03, 0x04
ERR_MSG_TIMEOUT, ERR_INVALID_CHANNEL = 0x05, 0x0B


class SocketConnection(CtapHidConnection):
    """Raw 64-byte reports over the bridge's SOCK_SEQPACKET socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(READ_TIMEOUT)
        self.sock.connect(path)

    def write_packet(self, data):
        assert len(data) == REPORT, len(data)
        self.sock.send(data)

    def read_packet(self):
        data = self.sock.recv(REPORT)
        if not data:
            raise OSError("the bridge closed the connection")
        return data

    def close(self):
        self.sock.close()


class Bridge:
    """One `hybrid bridge` process on a socket in a temporary directory."""

    def __init__(self, *extra):
        self.dir = tempfile.mkdtemp(prefix="bridge-test-")
        self.path = os.path.join(self.dir, "fido.sock")
        # Logs go to a file: a pipe nobody reads could fill up and stall the bridge.
        self.log_path = os.path.join(self.dir, "bridge.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [HYBRID, "bridge", "--socket", self.path, "--backend", "software", *extra],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        if not ready:
            self.proc.kill()
            raise RuntimeError("the bridge did not print its ready line within 20 s:\n" + self.logs())
        line = self.proc.stdout.readline()
        info = json.loads(line)
        assert info["ready"] is True and info["path"] == self.path, info
        self.summary = None

    def device(self):
        descriptor = HidDescriptor(self.path, 0x1209, 0x0001, REPORT, REPORT)
        return CtapHidDevice(descriptor, SocketConnection(self.path))

    def stop(self):
        """SIGTERM; returns the {"stopped":true,…} summary line."""
        if self.summary is None:
            self.proc.send_signal(signal.SIGTERM)
            out, _ = self.proc.communicate(timeout=20)
            self.log.close()
            assert self.proc.returncode == 0, (self.proc.returncode, self.logs())
            self.summary = json.loads(out.strip().splitlines()[-1])
            assert self.summary["stopped"] is True
            assert not os.path.exists(self.path), "the socket file was left behind"
            os.unlink(self.log_path)
            os.rmdir(self.dir)
        return self.summary

    def logs(self):
        with open(self.log_path) as f:
            return f.read()[-4000:]


# ---- raw CTAPHID helpers, for what python-fido2 refuses to send ------------------------

def init_packet(cid, cmd, bcnt, data=b""):
    return (struct.pack(">IBH", cid, 0x80 | cmd, bcnt) + data[:57]).ljust(REPORT, b"\0")


def cont_packet(cid, seq, data=b""):
    return (struct.pack(">IB", cid, seq) + data[:59]).ljust(REPORT, b"\0")


class RawHost:
    def __init__(self, path):
        self.conn = SocketConnection(path)

    def send(self, packet):
        self.conn.write_packet(packet)

    def read_message(self, cid):
        """One whole message on `cid`: (command, payload)."""
        while True:
            pkt = self.conn.read_packet()
            rcid, cmd, bcnt = struct.unpack_from(">IBH", pkt)
            if rcid != cid:
                continue
            payload = pkt[7:7 + bcnt]
            seq = 0
            while len(payload) < bcnt:
                pkt = self.conn.read_packet()
                rcid2, rseq = struct.unpack_from(">IB", pkt)
                assert rcid2 == cid and rseq == seq
                payload += pkt[5:5 + bcnt - len(payload)]
                seq += 1
            return cmd & 0x7F, payload

    def allocate(self):
        nonce = os.urandom(8)
        self.send(init_packet(0xFFFFFFFF, CTAPHID.INIT, 8, nonce))
        cmd, payload = self.read_message(0xFFFFFFFF)
        assert cmd == CTAPHID.INIT and payload[:8] == nonce
        return struct.unpack_from(">I", payload, 8)[0]

    def expect_error(self, cid, code):
        cmd, payload = self.read_message(cid)
        assert cmd == CTAPHID.ERROR, "expected a CTAPHID error, got command 0x%02x" % cmd
        assert payload == bytes([code]), "expected error 0x%02x, got %s" % (code, payload.hex())

    def ping(self, cid, data):
        self.send(init_packet(cid, CTAPHID.PING, len(data), data))
        for i in range(0, max(0, len(data) - 57), 59):
            self.send(cont_packet(cid, i // 59, data[57 + i:57 + i + 59]))
        cmd, payload = self.read_message(cid)
        assert cmd == CTAPHID.PING and payload == data, (cmd, payload)

    def close(self):
        self.conn.close()


def register_and_sign_in(device, test):
    """A full WebAuthn registration and sign-in through Fido2Client; verified by Fido2Server."""
    client = Fido2Client(device, ORIGIN)
    server = Fido2Server(RP)
    user = {"id": os.urandom(16), "name": "alice"}
    create_options, state = server.register_begin(user, user_verification="preferred")
    made = client.make_credential(create_options["publicKey"])
    auth_data = server.register_complete(state, made.client_data, made.attestation_object)
    EXPECTED["phone_transactions"] += 2
    test.assertTrue(auth_data.is_user_present())
    test.assertTrue(auth_data.is_user_verified())
    credential = auth_data.credential_data

    request_options, state = server.authenticate_begin([credential], user_verification="preferred")
    selection = client.get_assertion(request_options["publicKey"])
    response = selection.get_response(0)
    server.authenticate_complete(state, [credential], response.credential_id, response.client_data,
                                 response.authenticator_data, response.signature)
    return credential


class BridgeWithFido2Client(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bridge = Bridge()

    @classmethod
    def tearDownClass(cls):
        cls.bridge.stop()

    def test_1_init_capabilities_ping_wink_and_msg(self):
        dev = self.bridge.device()
        try:
            self.assertEqual(dev.version, 2)
            caps = dev.capabilities
            self.assertTrue(caps & CAPABILITY.CBOR)
            self.assertTrue(caps & CAPABILITY.WINK)
            self.assertTrue(caps & CAPABILITY.NMSG)
            self.assertEqual(dev.ping(b"x" * 300), b"x" * 300)
            dev.wink()
            # U2F is refused with "INS not supported".
            self.assertEqual(dev.call(CTAPHID.MSG, bytes.fromhex("0003000000")), b"\x6d\x00")
        finally:
            dev.close()

    def test_2_get_info(self):
        dev = self.bridge.device()
        try:
            info = Ctap2(dev).get_info()
            self.assertEqual(info.versions, ["FIDO_2_0", "FIDO_2_1"])
            self.assertEqual(info.options.get("rk"), True)
            self.assertEqual(info.options.get("up"), True)
            self.assertEqual(info.options.get("uv"), True)
            self.assertFalse(info.pin_uv_protocols)
            self.assertEqual(info.max_creds_in_list, 64)
            self.assertEqual(info.max_cred_id_length, 1023)
            self.assertIn("hybrid", info.transports)
        finally:
            dev.close()

    def test_3_register_and_sign_in_verify(self):
        dev = self.bridge.device()
        try:
            register_and_sign_in(dev, self)
        finally:
            dev.close()

    def test_4_silent_probe_never_reaches_the_phone(self):
        dev = self.bridge.device()
        try:
            ctap = Ctap2(dev)
            credential = register_and_sign_in(dev, self)
            cid = credential.credential_id
            other = os.urandom(32)
            allow = [{"type": "public-key", "id": other, "transports": ["usb"]},
                     {"type": "public-key", "id": cid, "transports": ["usb"]}]
            # The phone would answer NO_CREDENTIALS for `other` and would sign: this answer
            # (a pre-flight match naming the first credential, no flags, no signature)
            # can only come from the bridge.
            probe = ctap.get_assertion(RP["id"], b"\0" * 32, allow, options={"up": False})
            self.assertEqual(probe.credential["id"], other)
            self.assertEqual(probe.auth_data.flags, 0)
            self.assertEqual(probe.signature, b"")
            with self.assertRaises(CtapError) as e:
                ctap.get_assertion(RP["id"], b"\0" * 32, None, options={"up": False})
            self.assertEqual(e.exception.code, CtapError.ERR.NO_CREDENTIALS)
            EXPECTED["probes_answered"] += 2
            # The real request that follows (narrowed to the "matched" credential, as
            # Firefox does) reaches the phone with the whole probed list again, so the
            # phone finds its own credential.
            cdh = os.urandom(32)
            real = ctap.get_assertion(RP["id"], cdh, [{"type": "public-key", "id": other,
                                                       "transports": ["usb"]}],
                                      options={"uv": True})
            EXPECTED["phone_transactions"] += 1
            EXPECTED["transports_stripped"] += 1
            self.assertEqual(real.credential["id"], cid)
            real.verify(cdh, credential.public_key)
            # The immediate repeat of the same, directed request gets the phone's last
            # assertion back, byte for byte (ECDSA signatures are randomised: a new one
            # from the phone would differ), instead of a second QR scan.
            again = ctap.get_assertion(RP["id"], cdh, [{"type": "public-key", "id": cid}],
                                       options={"uv": True})
            EXPECTED["assertions_reused"] += 1
            self.assertEqual(again.signature, real.signature)
            self.assertEqual(again.auth_data, real.auth_data)
            # A different ceremony goes to the phone again.
            cdh2 = os.urandom(32)
            fresh = ctap.get_assertion(RP["id"], cdh2, [{"type": "public-key", "id": cid}],
                                       options={"uv": True})
            EXPECTED["phone_transactions"] += 1
            fresh.verify(cdh2, credential.public_key)
            self.assertNotEqual(fresh.signature, real.signature)
        finally:
            dev.close()

    def test_5_malformed_packets_get_ctaphid_errors_and_the_bridge_keeps_serving(self):
        host = RawHost(self.bridge.path)
        try:
            cid = host.allocate()
            # Bad length: INIT with a 4-byte nonce; WINK with data.
            host.send(init_packet(0xFFFFFFFF, CTAPHID.INIT, 4, b"abcd"))
            host.expect_error(0xFFFFFFFF, ERR_INVALID_LEN)
            host.send(init_packet(cid, CTAPHID.WINK, 1, b"x"))
            host.expect_error(cid, ERR_INVALID_LEN)
            # Oversized message: BCNT above 7609 bytes.
            host.send(init_packet(cid, CTAPHID.CBOR, 7610, b"\x04"))
            host.expect_error(cid, ERR_INVALID_LEN)
            host.send(init_packet(cid, CTAPHID.PING, 0xFFFF))
            host.expect_error(cid, ERR_INVALID_LEN)
            # Wrong sequence: CONT 1 where 0 was expected.
            host.send(init_packet(cid, CTAPHID.PING, 100, b"a" * 57))
            host.send(cont_packet(cid, 1, b"b" * 43))
            host.expect_error(cid, ERR_INVALID_SEQ)
            # Unknown command, vendor command, LOCK (not offered).
            for cmd in (0x55, 0x41, CTAPHID.LOCK):
                host.send(init_packet(cid, cmd, 0))
                host.expect_error(cid, ERR_INVALID_CMD)
            # A channel that was never allocated, and a non-INIT command on broadcast.
            host.send(init_packet(cid ^ 0x5A5A5A5A, CTAPHID.PING, 1, b"z"))
            host.expect_error(cid ^ 0x5A5A5A5A, ERR_INVALID_CHANNEL)
            host.send(init_packet(0xFFFFFFFF, CTAPHID.PING, 1, b"z"))
            host.expect_error(0xFFFFFFFF, ERR_INVALID_CHANNEL)
            # A stalled message times out.
            host.send(init_packet(cid, CTAPHID.PING, 200, b"c" * 57))
            started = time.monotonic()
            host.expect_error(cid, ERR_MSG_TIMEOUT)
            self.assertLess(time.monotonic() - started, 3.0)
            # Still serving, on the same channel and through python-fido2.
            host.ping(cid, os.urandom(500))
        finally:
            host.close()
        dev = self.bridge.device()
        try:
            register_and_sign_in(dev, self)
        finally:
            dev.close()


# Requests each test expects to reach the phone; checked against the bridge's own count.
EXPECTED = {"phone_transactions": 0, "probes_answered": 0, "assertions_reused": 0,
            "transports_stripped": 0}


class CancelMidTransaction(unittest.TestCase):
    def test_cancel_ends_the_transaction_and_the_bridge_keeps_serving(self):
        bridge = Bridge("--phone-delay", "10000")
        try:
            dev = bridge.device()
            ctap = Ctap2(dev)
            event = threading.Event()
            keepalives = []
            timer = threading.Timer(0.5, event.set)
            timer.start()
            started = time.monotonic()
            with self.assertRaises(CtapError) as e:
                ctap.make_credential(os.urandom(32), RP, {"id": b"u", "name": "u"},
                                     [{"type": "public-key", "alg": -7}], options={"uv": True},
                                     event=event, on_keepalive=keepalives.append)
            self.assertEqual(e.exception.code, CtapError.ERR.KEEPALIVE_CANCEL)
            self.assertLess(time.monotonic() - started, 3.0)  # not the phone's 10 s
            self.assertTrue(keepalives, "no KEEPALIVE arrived while the phone was waited for")
            self.assertEqual(int(keepalives[0]), 2)  # UPNEEDED
            # The bridge serves the next request.
            self.assertEqual(ctap.get_info().versions, ["FIDO_2_0", "FIDO_2_1"])
            dev.close()
        finally:
            summary = bridge.stop()
        self.assertEqual(summary["cancels"], 1)
        self.assertEqual(summary["phone_transactions"], 1)


class HybridBackendNotBuiltIn(unittest.TestCase):
    def test_the_hybrid_backend_says_it_is_missing_and_exits_non_zero(self):
        with tempfile.TemporaryDirectory() as d:
            proc = subprocess.run([HYBRID, "bridge", "--socket", os.path.join(d, "s")],
                                  capture_output=True, text=True, timeout=20)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("not built into this binary", proc.stderr)
        self.assertEqual(proc.stdout, "")  # no ready line: it never pretended to serve


if __name__ == "__main__":
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    for case in (BridgeWithFido2Client, CancelMidTransaction, HybridBackendNotBuiltIn):
        suite.addTests(loader.loadTestsFromTestCase(case))
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    if not result.wasSuccessful():
        sys.exit(1)
    # The bridge's own count (its summary at SIGTERM) must match what the tests expected.
    summary = BridgeWithFido2Client.bridge.summary
    print("bridge summary: %s" % json.dumps(summary))
    mismatched = {k: (summary.get(k), v) for k, v in EXPECTED.items() if summary.get(k) != v}
    if mismatched:
        print("bridge summary differs from the expected counts (got, expected): %s" % mismatched,
              file=sys.stderr)
        sys.exit(1)
    sys.exit(0)
