#!/usr/bin/env python3
"""python-fido2 (Debian's 0.9.1) drives `hybrid bridge --socket PATH --backend software`.

The client is python-fido2's own CTAPHID and CTAP2 code (CtapHidDevice, Ctap2,
Fido2Client) over a custom CtapHidConnection that carries raw 64-byte reports on the
bridge's SOCK_SEQPACKET socket, and a Fido2Server verifies what comes back. Covered:
makeCredential + getAssertion succeed and verify; CANCEL mid-transaction; silent up=false
probes; the reuse of one phone assertion for a repeated directed request; malformed
CTAPHID packets (bad length, wrong sequence, unknown command, oversized message, unknown
channel, stalled message) answered with CTAPHID errors while the bridge keeps serving;
and an unknown backend or linked phone refusing to start.

The phone here is the project's software authenticator (in memory); bridge_hybrid_e2e_test.py
runs the hybrid backend through a real tunnel server, the virtual air and `hybrid phone`.
The socket connection and the bridge process handle are in bridge_support.py.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from fido2.client import Fido2Client
from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2
from fido2.hid import CAPABILITY, CTAPHID
from fido2.server import Fido2Server

from bridge_support import (ERR_INVALID_CHANNEL, ERR_INVALID_CMD, ERR_INVALID_LEN,
                            ERR_INVALID_SEQ, ERR_MSG_TIMEOUT, HYBRID, Bridge, RawHost,
                            cont_packet, init_packet)

ORIGIN = "https://example.com"
RP = {"id": "example.com", "name": "Example"}


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


class BackendsThatCannotStart(unittest.TestCase):
    def run_bridge(self, *args):
        with tempfile.TemporaryDirectory() as d:
            proc = subprocess.run([HYBRID, "bridge", "--socket", os.path.join(d, "s"), *args],
                                  capture_output=True, text=True, timeout=20)
            self.assertFalse(os.path.exists(os.path.join(d, "s")))
        self.assertEqual(proc.returncode, 2, proc.stderr)  # a configuration problem
        self.assertEqual(proc.stdout, "")  # no ready line: it never pretended to serve
        return proc.stderr

    def test_an_unknown_backend_lists_the_available_ones(self):
        err = self.run_bridge("--backend", "carrier-pigeon")
        self.assertIn('unknown backend "carrier-pigeon"', err)
        self.assertIn("hybrid", err)
        self.assertIn("software", err)

    def test_the_hybrid_backend_refuses_a_linked_phone_it_does_not_know(self):
        with tempfile.TemporaryDirectory() as d:
            err = self.run_bridge("--backend", "hybrid", "--phone", "Nobody's phone",
                                  "--link-store", os.path.join(d, "links.json"))
        self.assertIn("no linked phone is called \"Nobody's phone\"", err)


if __name__ == "__main__":
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    for case in (BridgeWithFido2Client, CancelMidTransaction, BackendsThatCannotStart):
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
