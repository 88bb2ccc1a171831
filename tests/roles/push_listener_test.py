#!/usr/bin/python3
"""`hybrid phone --listen` keeps its push channel alive and comes back after failures
(issue 15, finding 3). Separate processes on loopback: a real tunnel server, the virtual
air, the software phone and the PC; plus a fake tunnel server written here that sends
close frames whose reason is not valid UTF-8.

  1. The server's push idle timeout is 2 s: the phone learns it (X-caBLE-Push-Idle-Timeout)
     and sends keepalives every third of it, so after 3x the timeout the server has closed
     no push channel for silence, the phone is still registered and a linked sign-in works.
  2. The tunnel server is stopped (SIGSTOP, a half-open channel): the phone notices that its
     keepalive is not answered and reconnects once the server is back.
  3. The tunnel server is killed (-9) and restarted on the same port after 8 s: the phone
     (which used to give up after ~7 s) re-registers by itself and the next linked sign-in works.
  4. A close reason with invalid UTF-8, on the push channel and on a linked tunnel, does not
     end the phone: it reports the failure as valid JSON and listens again."""
import base64
import hashlib
import json
import secrets
import signal
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from hybrid_procs import Checks, Collector, Loopback, b64u, metrics, wait_for  # noqa: E402

check = Checks()


class Env(Loopback):
    def __init__(self):
        super().__init__("hybrid-push-", qr_deadline=15)
        self.start_air()
        self.start_tunnel(0)

    def start_tunnel(self, port):
        self.tunnel_proc, info = self.service(["tunnel", "serve", "--listen", f"127.0.0.1:{port}",
                                               "--push-idle-timeout", "2"])
        self.tunnel = info["url"]
        self.port = info["port"]


def linked_sign_in(env, cred_id):
    c = env.client("sign-in", "--phone", "Test Phone", "--allow-credential", cred_id)
    out, err = c.communicate(timeout=60)
    return c.returncode, out, err


def listener_registered(env):
    return metrics(env.tunnel, 5).get("hybrid_tunnel_push_listeners", 0) >= 1


def wait(what, pred, timeout):
    wait_for(what, pred, timeout, step=0.2)


# ---- a fake tunnel server that closes with invalid UTF-8 reasons --------------------------

def ws_accept(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the upgrade")
        data += chunk
    head = data.split(b"\r\n\r\n")[0].decode()
    path = head.split(" ")[1]
    key = [l.split(":", 1)[1].strip() for l in head.split("\r\n") if l.lower().startswith("sec-websocket-key:")][0]
    accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Protocol: fido.cable\r\n\r\n").encode())
    return path


def ws_frame(opcode, payload):
    n = len(payload)
    head = bytes([0x80 | opcode])
    head += bytes([n]) if n < 126 else bytes([126]) + n.to_bytes(2, "big")
    return head + payload


def cbor_bstr(b):
    n = len(b)
    return (bytes([0x40 | n]) if n < 24 else bytes([0x58, n])) + b


class FakeTunnel:
    BAD_REASON = b"\xff\xfe\xc3(bad \xed\xa0\x80 utf-8"

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(30)
        self.url = f"ws://127.0.0.1:{self.sock.getsockname()[1]}"
        self.paths = []
        self.error = None
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        try:
            # 1: the push channel, closed at once with a bad reason.
            c, _ = self.sock.accept()
            self.paths.append(ws_accept(c))
            c.sendall(ws_frame(0x8, (1000).to_bytes(2, "big") + self.BAD_REASON))
            time.sleep(0.3)
            c.close()
            # 2: the phone comes back; push it a linked client's tunnel.
            c2, _ = self.sock.accept()
            self.paths.append(ws_accept(c2))
            payload = b"\xa3\x01" + cbor_bstr(secrets.token_bytes(8)) + b"\x02" + cbor_bstr(secrets.token_bytes(16)) + \
                b"\x03\x62ga"
            push = b"\xa3\x01" + cbor_bstr(secrets.token_bytes(16)) + b"\x02" + cbor_bstr(b"\x2a\x00\x09") + \
                b"\x03" + cbor_bstr(payload)
            c2.sendall(ws_frame(0x2, push))
            # 3: the phone joins that tunnel: close it with a bad reason.
            c3, _ = self.sock.accept()
            self.paths.append(ws_accept(c3))
            c3.sendall(ws_frame(0x8, (1011).to_bytes(2, "big") + self.BAD_REASON))
            time.sleep(0.3)
            c3.close()
            c2.close()
            # 4: the phone listens again.
            c4, _ = self.sock.accept()
            self.paths.append(ws_accept(c4))
            time.sleep(1)
            c4.close()
        except Exception as e:  # reported by the main thread
            self.error = repr(e)


def main():
    env = Env()
    try:
        # A linked phone: register, then a QR sign-in that sends linking data.
        rc, out, err = env.qr_transaction("register", ["--user-name", "alice", "--user-id", b64u(b"alice"),
                                                        "--challenge", b64u(secrets.token_bytes(32))], [])
        check("register over QR: exit 0", rc == 0, err)
        cred_id = json.loads(out)["rawId"]
        rc, out, err = env.qr_transaction("sign-in", ["--allow-credential", cred_id],
                                      ["--offer-linking", "--name", "Test Phone"])
        check("QR sign-in with linking: exit 0", rc == 0, err)

        listen = env.phone("--listen", "--reconnect-max", "2")
        log = Collector(listen.stderr)
        check("phone --listen ready", json.loads(listen.stdout.readline()).get("ready") is True)
        wait("the push listener", lambda: listener_registered(env), 15)

        # 1. Keepalives at a third of the announced 2 s idle timeout.
        before = metrics(env.tunnel, 5)
        time.sleep(6.5)
        after = metrics(env.tunnel, 5)
        check("keepalive interval learned from the server", "keepalive every 666 ms" in log.text(), log.text())
        cut = after.get("hybrid_tunnel_idle_timeouts_total", 0) - before.get("hybrid_tunnel_idle_timeouts_total", 0)
        check("no push channel closed for silence in 3x the idle timeout", cut == 0, f"{cut} idle closes")
        regs = after["hybrid_tunnel_push_registrations_total"]
        check("the phone stayed on one push connection (no re-registration)",
              after.get('hybrid_tunnel_closes_total{code="1008"}', 0) == 0 and listener_registered(env), str(after))
        rc, out, err = linked_sign_in(env, cred_id)
        check("linked sign-in after 3x the idle timeout: exit 0", rc == 0, err)
        wait("the push listener after the sign-in", lambda: listener_registered(env), 15)

        # 2. A half-open channel: the server stops answering; the phone notices.
        env.tunnel_proc.send_signal(signal.SIGSTOP)
        try:
            wait("the phone to notice the unanswered keepalive",
                     lambda: "no answer to a keepalive" in log.text(), 10)
        finally:
            env.tunnel_proc.send_signal(signal.SIGCONT)
        check("dead channel detected (no answer to a keepalive)", True)
        wait("the push listener after the stall", lambda: listener_registered(env), 20)
        rc, out, err = linked_sign_in(env, cred_id)
        check("linked sign-in after a stalled server: exit 0", rc == 0, err)
        wait("the push listener after the sign-in", lambda: listener_registered(env), 15)

        # 3. The server is killed and comes back on the same port 8 s later.
        env.tunnel_proc.kill()
        env.tunnel_proc.wait()
        time.sleep(8)
        check("the phone is still running 8 s after its server died", listen.poll() is None, log.text()[-2000:])
        env.start_tunnel(env.port)
        t0 = time.time()
        wait("the phone to re-register on the restarted server", lambda: listener_registered(env), 15)
        print(f"re-registered {time.time() - t0:.1f} s after the restart", flush=True)
        check("backoff was bounded", "reconnecting in" in log.text(), log.text()[-2000:])
        rc, out, err = linked_sign_in(env, cred_id)
        check("linked sign-in after the server restart: exit 0", rc == 0, err)
        listen.send_signal(signal.SIGTERM)
        listen.wait(timeout=10)
        check("phone --listen stops on SIGTERM with exit 0", listen.returncode == 0, log.text()[-2000:])

        # 4. Invalid UTF-8 close reasons.
        fake = FakeTunnel()
        p = env.phone("--listen", "--reconnect-max", "1", tunnel=fake.url)
        plog = Collector(p.stderr)
        lines = []
        threading.Thread(target=lambda: lines.extend(p.stdout), daemon=True).start()
        fake.thread.join(timeout=40)
        check("fake server: no error", fake.error is None and not fake.thread.is_alive(), f"{fake.error} {plog.text()}")
        check("fake server saw push, push, connect, push",
              [x.split("/")[2] for x in fake.paths] == ["push", "push", "connect", "push"], fake.paths)
        check("the phone survived both bad close reasons", p.poll() is None, plog.text()[-2000:])
        results = [json.loads(l) for l in lines if '"ok"' in l]
        check("the failed linked transaction is reported as valid JSON", len(results) == 1 and results[0]["ok"] is False,
              lines)
        check("the close code is reported", "1011" in results[0]["error"], results[0])
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)
        check("phone exits 0 on SIGTERM after the bad reasons", p.returncode == 0, plog.text()[-2000:])
    finally:
        env.close()


if __name__ == "__main__":
    check.run(main)
