"""Shared by the bridge's python tests: python-fido2 (Debian's 0.9.1) talking CTAPHID to
`hybrid bridge --socket PATH` through a custom CtapHidConnection, a handle on one bridge
process, and raw CTAPHID packets for what python-fido2 refuses to send."""

import json
import os
import select
import signal
import socket
import struct
import subprocess
import tempfile

from fido2.hid import CTAPHID, CtapHidDevice
from fido2.hid.base import CtapHidConnection, HidDescriptor

HYBRID = os.environ.get("HYBRID_BINARY", "build/app/hybrid")
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
    """One `hybrid bridge --socket` process. With `directory` the socket and the log live
    there (the caller removes it); otherwise in a temporary directory removed by stop()."""

    def __init__(self, *extra, backend="software", directory=None, env=None, ready_timeout=20):
        self.own_dir = directory is None
        self.dir = tempfile.mkdtemp(prefix="bridge-test-") if self.own_dir else directory
        self.path = os.path.join(self.dir, "fido.sock")
        # Logs go to a file: a pipe nobody reads could fill up and stall the bridge.
        self.log_path = os.path.join(self.dir, "bridge.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [HYBRID, "bridge", "--socket", self.path, "--backend", backend, *extra],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        self.summary = None
        ready, _, _ = select.select([self.proc.stdout], [], [], ready_timeout)
        if not ready:
            self.kill()
            raise RuntimeError("the bridge did not print its ready line within %d s:\n%s"
                               % (ready_timeout, self.logs()))
        line = self.proc.stdout.readline()
        try:
            info = json.loads(line)
        except ValueError:
            self.kill()
            raise RuntimeError("the bridge printed no ready line (%r):\n%s" % (line, self.logs()))
        assert info["ready"] is True and info["path"] == self.path, info
        assert info["backend"] == backend, info

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
            if self.own_dir:
                os.unlink(self.log_path)
                os.rmdir(self.dir)
        return self.summary

    def kill(self):
        """For cleanup after a failure: no checks."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        if not self.log.closed:
            self.log.close()

    def logs(self, tail=4000):
        with open(self.log_path) as f:
            return f.read()[-tail:]


# ---- raw CTAPHID, for what python-fido2 refuses to send ---------------------------------

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
