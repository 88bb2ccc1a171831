#!/usr/bin/python3
"""A tunnel cluster that survives node loss (issue 16): Debian's HAProxy started from a
copy of the SHIPPED deploy/haproxy.cfg (only the listening address, the certificate and
the node ports are rewritten, and the rewrite fails if any of them is missing), three
`hybrid tunnel serve` nodes on loopback, the virtual air, software phones and the PC.

Phases (each bounded; the whole test well under 3 minutes):
  1. spread: raw tunnel pairs (python3-websockets) and QR sign-ins land on every node
     (each node's /metrics counts its own), a linked sign-in works;
  2. kill -9 the node holding the linked phone's push channel, while a steady stream of
     pairings runs through HAProxy and a linked sign-in is in progress on that node:
     its tunnels end promptly and the client says why; the other nodes' tunnels still
     relay; no pairing started after the kill fails; a QR sign-in works once HAProxy has
     marked the node down; the linked phone re-registers on the node its contact id now
     maps to, by itself, and the next linked sign-in works; the secret it bound on the dead
     node is still required on a node that never saw it (bindings in redis-server);
  3. the killed node comes back; then a rolling restart (SIGTERM = drain, restart, wait
     until HAProxy has it up) of all three nodes under the same steady load: no pairing
     fails; the linked phone follows and a linked sign-in works afterwards.
Numbers are printed as `measure: …` lines (docs/tunnel.md quotes them)."""
import asyncio
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

try:
    import websockets
    from websockets.exceptions import ConnectionClosed
except ImportError:
    sys.exit("FAIL: python3-websockets is not installed (apt-get install python3-websockets)")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from hybrid_procs import Checks, Collector, Loopback, b64u, free_port, wait_for  # noqa: E402
import hybrid_procs  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED_CFG = os.path.join(ROOT, "deploy", "haproxy.cfg")
check = Checks(clock=True)


def measure(text):
    print(f"measure: {text}", flush=True)


def metrics(port):
    return hybrid_procs.metrics(f"http://127.0.0.1:{port}", 3)


def healthz_status(port):
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


class Node:
    def __init__(self, env, index):
        self.env = env
        self.index = index
        self.routing_id = f"2A000{index}"
        self.port = free_port()
        self.proc = None
        self.start()

    def start(self):
        self.proc, info = self.env.service(
            ["tunnel", "serve", "--listen", f"127.0.0.1:{self.port}", "--routing-id", self.routing_id,
             "--trust-forwarded-for", "--push-idle-timeout", "9", "--ttl", "90", "--log-level", "warn",
             "--registration-store", f"redis://127.0.0.1:{self.env.redis_port}"])
        assert info["port"] == self.port, info

    def metrics(self):
        return metrics(self.port)


class Env(Loopback):
    def __init__(self):
        super().__init__("hybrid-cluster-", client_timeout="40", phone_timeout="40", qr_deadline=20)
        self.start_air()
        # The push bindings every node reaches (--registration-store): Debian's redis-server.
        self.redis_port = free_port()
        self.redis = subprocess.Popen(["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                                       "--save", "", "--appendonly", "no", "--loglevel", "warning"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(self.redis)
        wait_for("redis-server", lambda: socket.create_connection(("127.0.0.1", self.redis_port), 1).close()
                 or True, 10)
        self.nodes = [Node(self, i) for i in (1, 2, 3)]
        self.haproxy_port = free_port()
        self.url = self.tunnel = f"ws://127.0.0.1:{self.haproxy_port}"
        cfg = os.path.join(self.dir, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(self.rewrite(open(SHIPPED_CFG).read()))
        self.haproxy = subprocess.Popen(["haproxy", "-db", "-f", cfg], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self.procs.append(self.haproxy)
        self.halog = Collector(self.haproxy.stdout)
        wait_for("HAProxy to listen", lambda: socket.create_connection(("127.0.0.1", self.haproxy_port), 1).close()
                 or True, 10)

    def rewrite(self, text):
        """The shipped file with loopback ports. Fails if the file no longer has what it
        rewrites (then this test must be updated with it, not silently test something else)."""
        def sub(pattern, repl, count_expected=None):
            nonlocal text
            text, n = re.subn(pattern, repl, text, flags=re.M)
            if n == 0 or (count_expected and n != count_expected):
                raise AssertionError(f"deploy/haproxy.cfg changed: '{pattern}' matched {n} times")
        sub(r"^(\s*)bind :443 ssl crt \S+ alpn http/1.1$", rf"\g<1>bind 127.0.0.1:{self.haproxy_port}", 1)
        for node in self.nodes:
            sub(rf"127\.0\.0\.1:900{node.index}\b", f"127.0.0.1:{node.port}")
            if f"/cable/connect/{node.routing_id.lower()}/" not in text:
                raise AssertionError(f"deploy/haproxy.cfg has no /connect route for {node.routing_id}")
        if os.environ.get("HYBRID_CLUSTER_WITHOUT_RETRIES"):  # to measure what the retry lines buy
            for line in (r"^\s*retries \d+$", r"^\s*option redispatch.*$", r"^\s*retry-on .*$"):
                sub(line, "")
        # A test machine cannot give one process the 800 000 descriptors of the shipped maxconn.
        sub(r"^(\s*)maxconn \d+$", r"\g<1>maxconn 4000", 1)
        return text

    def node_of_listener(self):
        for n in self.nodes:
            try:
                if n.metrics().get("hybrid_tunnel_push_listeners", 0) >= 1:
                    return n
            except OSError:
                pass
        return None


# ---- raw tunnels and the steady load (python3-websockets, in one asyncio thread) ---------

PROTO = dict(subprotocols=["fido.cable"], open_timeout=10, close_timeout=2)


class Loop:
    def __init__(self):
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def run(self, coro, timeout=30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def spawn(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop)


async def open_pair(base):
    tid = secrets.token_hex(16)
    phone = await websockets.connect(f"{base}/cable/new/{tid}", **PROTO)
    rid = phone.response_headers["X-caBLE-Routing-ID"]
    client = await websockets.connect(f"{base}/cable/connect/{rid}/{tid}", **PROTO)
    await phone.send(b"\x01hello")
    assert await asyncio.wait_for(client.recv(), 5) == b"\x01hello"
    return rid, phone, client


async def relay_ok(pair):
    rid, phone, client = pair
    await client.send(b"\x02ping")
    return await asyncio.wait_for(phone.recv(), 5) == b"\x02ping"


async def push_status(base, contact, secret):
    try:
        ws = await websockets.connect(f"{base}/cable/push/{contact}", extra_headers={"X-caBLE-Push-Secret": secret},
                                      **PROTO)
        await ws.close()
        return 101
    except websockets.exceptions.InvalidStatusCode as e:
        return e.status_code


async def close_pair(pair):
    await pair[1].close()
    await pair[2].close()


async def wait_closed(pair):
    """Seconds until the phone side of a pair sees its connection end, and how."""
    t = time.time()
    try:
        while True:
            await asyncio.wait_for(pair[1].recv(), 10)
    except ConnectionClosed as e:
        return time.time() - t, e.code
    except asyncio.TimeoutError:
        return None, None


class Load:
    """Steady pairings through HAProxy: /new, /connect, one message each way, close."""

    def __init__(self, loop, base, concurrency=3):
        self.base = base
        self.results = []  # (started, routing id or None, error or None)
        self.stopping = False
        self.futures = [loop.spawn(self.worker()) for _ in range(concurrency)]

    async def one(self):
        started = time.time()
        opened = []
        try:
            tid = secrets.token_hex(16)
            phone = await websockets.connect(f"{self.base}/cable/new/{tid}", **PROTO)
            opened.append(phone)
            rid = phone.response_headers["X-caBLE-Routing-ID"]
            client = await websockets.connect(f"{self.base}/cable/connect/{rid}/{tid}", **PROTO)
            opened.append(client)
            await phone.send(b"\x01hello")
            assert await asyncio.wait_for(client.recv(), 5) == b"\x01hello"
            await client.send(b"\x02bye")
            assert await asyncio.wait_for(phone.recv(), 5) == b"\x02bye"
            self.results.append((started, rid, None))
        except Exception as e:  # every failure is recorded, then judged by the test
            self.results.append((started, None, f"{type(e).__name__}: {e} ({len(opened)} sides open)"))
        for ws in opened:
            await ws.close()

    async def worker(self):
        while not self.stopping:
            await self.one()
            await asyncio.sleep(0.02)

    def stop(self):
        self.stopping = True
        for f in self.futures:
            f.result(30)

    def between(self, t0, t1):
        return [r for r in self.results if t0 <= r[0] < t1]


def main():
    env = Env()
    loop = Loop()
    try:
        # ---- 1. spread ------------------------------------------------------------------
        pairs = [loop.run(open_pair(env.url)) for _ in range(9)]
        by_node = {n.routing_id: [p for p in pairs if p[0] == n.routing_id] for n in env.nodes}
        gauges = {n.routing_id: n.metrics()["hybrid_tunnel_paired_tunnels"] for n in env.nodes}
        check("raw tunnels land on every node (each node's /metrics counts its own)",
              all(len(v) >= 1 for v in by_node.values()) and all(
                  gauges[r] == len(by_node[r]) for r in gauges), f"{ {r: len(v) for r, v in by_node.items()} } {gauges}")

        rc, out, err = env.qr_transaction("register", ["--user-name", "alice", "--user-id", b64u(b"alice"),
                                                        "--challenge", b64u(secrets.token_bytes(32))])
        check("QR register through HAProxy: exit 0", rc == 0, err)
        cred_id = json.loads(out)["rawId"]
        # A second phone for QR sign-ins while the first one listens (a store has one user).
        rc, out, err = env.qr_transaction("register", ["--user-name", "bob", "--user-id", b64u(b"bob"),
                                                        "--challenge", b64u(secrets.token_bytes(32))], store="qr.json")
        check("QR register of a second phone: exit 0", rc == 0, err)
        qr_cred = json.loads(out)["rawId"]
        rc, out, err = env.qr_transaction("sign-in", ["--allow-credential", cred_id],
                                      ["--offer-linking", "--name", "Test Phone"])
        check("QR sign-in with linking through HAProxy: exit 0", rc == 0, err)
        before = {n.routing_id: n.metrics()["hybrid_tunnel_tunnels_created_total"]
                  for n in env.nodes}
        for _ in range(3):
            rc, out, err = env.qr_transaction("sign-in", ["--allow-credential", qr_cred], store="qr.json")
            check("QR sign-in: exit 0", rc == 0, err)
        created = {n.routing_id: n.metrics()["hybrid_tunnel_tunnels_created_total"] - before[n.routing_id]
                   for n in env.nodes}
        check("3 QR sign-ins created their tunnels on 3 different nodes", all(v == 1 for v in created.values()),
              created)

        listen = env.phone("--listen", "--think-time", "2500", "--reconnect-max", "1")
        plog = Collector(listen.stderr)
        pout = Collector(listen.stdout)
        wait_for("the linked phone's push channel", lambda: env.node_of_listener() is not None, 15)
        victim = env.node_of_listener()
        measure(f"the linked phone's contact id maps to node {victim.routing_id}")
        c = env.client("sign-in", "--phone", "Test Phone", "--allow-credential", cred_id)
        out, err = c.communicate(timeout=60)
        check("linked sign-in through HAProxy: exit 0", c.returncode == 0, err)
        wait_for("the push channel again", lambda: env.node_of_listener() is victim, 15)

        # ---- 2. kill -9 -------------------------------------------------------------------
        load = Load(loop, env.url)
        time.sleep(2)
        served_before = plog.text().count("CTAP command")
        c = env.client("sign-in", "--phone", "Test Phone", "--allow-credential", cred_id)
        cerr = Collector(c.stderr)
        wait_for("the phone to get the linked client's request",
                 lambda: plog.text().count("CTAP command") > served_before, 20)
        check("the linked sign-in's tunnel is on the victim",
              victim.metrics()["hybrid_tunnel_paired_tunnels"] >= 1 + len(by_node[victim.routing_id]))
        kill_at = time.time()
        victim.proc.kill()
        victim.proc.wait()
        closes = [loop.run(wait_closed(p), 15) for p in by_node[victim.routing_id]]
        measure(f"victim's raw tunnels ended after {', '.join(f'{t:.2f} s (code {code})' for t, code in closes)}")
        check("the victim's tunnels end promptly (within 3 s)", all(t is not None and t < 3 for t, _ in closes), closes)
        try:
            c.wait(timeout=20)
        except subprocess.TimeoutExpired:
            c.kill()
            raise AssertionError("the client whose tunnel died did not exit within 20 s: " + cerr.text())
        client_end = time.time() - kill_at
        measure(f"the linked sign-in client exited {client_end:.2f} s after the kill with code {c.returncode}")
        check("the client whose tunnel died exits promptly (within 5 s)", client_end < 5, cerr.text())
        check("the client says the connection to the tunnel server was lost",
              "connection to the tunnel server was lost" in cerr.text() and c.returncode != 0, cerr.text())
        survivors = [p for n in env.nodes if n is not victim for p in by_node[n.routing_id]]
        check("the other nodes' tunnels still relay", all(loop.run(relay_ok(p)) for p in survivors))
        down_at = None
        wait_for("HAProxy to mark the victim down", lambda: env.halog.first_time(
            rf"any_node/node{victim.index} is DOWN", kill_at) is not None, 10)
        down_at = env.halog.first_time(rf"any_node/node{victim.index} is DOWN", kill_at)
        measure(f"HAProxy marked the victim down {down_at - kill_at:.2f} s after the kill")
        rc, out, err = env.qr_transaction("sign-in", ["--allow-credential", qr_cred], store="qr.json")
        check("a QR sign-in after the node is marked down: exit 0", rc == 0, err)
        wait_for("the linked phone to re-register on a surviving node",
                 lambda: env.node_of_listener() not in (None, victim), 30)
        moved = env.node_of_listener()
        rereg = plog.first_time("listening for linked clients", kill_at)
        measure(f"the linked phone re-registered on node {moved.routing_id} "
                f"{(rereg or time.time()) - kill_at:.2f} s after the kill")
        c = env.client("sign-in", "--phone", "Test Phone", "--allow-credential", cred_id)
        out, err = c.communicate(timeout=60)
        check("linked sign-in after the node loss: exit 0", c.returncode == 0, err)
        # The binding the phone made on the dead node holds on every node: on the node that
        # has never seen this contact id, another secret is refused (403), the right one is not.
        third = next(n for n in env.nodes if n not in (victim, moved))
        ident = json.load(open(os.path.join(env.dir, "phone.json.identity.json")))
        contact = b64u(bytes.fromhex(ident["contact_id"]))
        check("another secret for the phone's contact id is refused on a node that never saw it (403)",
              loop.run(push_status(f"ws://127.0.0.1:{third.port}", contact, "a-thief-secret-0000000")) == 403)
        after_kill = load.between(kill_at, kill_at + 3)
        failed = [r for r in after_kill if r[2]]
        measure(f"pairings started in the 3 s after the kill: {len(after_kill)}, failed: {len(failed)}")
        check("no pairing started in the 3 s after the kill failed", len(after_kill) > 0 and not failed, failed[:3])
        during = load.between(kill_at - 0.5, kill_at)
        measure(f"pairings started in the 0.5 s before the kill: {len(during)}, "
                f"failed: {len([r for r in during if r[2]])} (those paired on the victim die with it)")

        # ---- 3. the node comes back; rolling restart under load ---------------------------
        victim.start()
        up_at = time.time()
        wait_for("HAProxy to mark the victim up", lambda: env.halog.first_time(
            rf"any_node/node{victim.index} is UP", up_at) is not None, 15)
        # The first node drained still carries paired tunnels from phase 1: they keep
        # relaying while it drains, and it exits once they end.
        first = next(n for n in env.nodes if n is not victim and by_node[n.routing_id])
        for n in env.nodes:
            if n is not first:
                for p in by_node[n.routing_id]:
                    loop.run(close_pair(p))
        roll_start = time.time()
        for n in [first] + [m for m in env.nodes if m is not first]:
            t = t_sig = time.time()
            n.proc.send_signal(signal.SIGTERM)
            if n is first:
                wait_for("the draining node to answer /healthz with 503", lambda: healthz_status(n.port) == 503, 3,
                         step=0.05)
                check("a draining node answers /healthz with 503", True)
                time.sleep(1)
                check("a draining node's paired tunnels still relay",
                      all(loop.run(relay_ok(p)) for p in by_node[n.routing_id]))
                check("a draining node waits for its tunnels", n.proc.poll() is None)
                t = time.time()
                for p in by_node[n.routing_id]:
                    loop.run(close_pair(p))
            try:
                n.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"node {n.routing_id} did not drain within 40 s")
            measure(f"node {n.routing_id} exited {time.time() - t:.2f} s after "
                    f"{'its last tunnel closed' if n is first else 'SIGTERM'} (exit {n.proc.returncode})")
            check(f"node {n.routing_id} exits 0 after draining", n.proc.returncode == 0)
            wait_for(f"HAProxy to mark node {n.routing_id} down", lambda: env.halog.first_time(
                rf"any_node/node{n.index} is DOWN", t_sig) is not None, 15)
            n.start()
            t_up = time.time()
            wait_for(f"HAProxy to mark node {n.routing_id} up", lambda: env.halog.first_time(
                rf"any_node/node{n.index} is UP", t_up) is not None, 15)
        roll_end = time.time()
        load.stop()
        rolled = load.between(roll_start, roll_end)
        failed = [r for r in rolled if r[2]]
        measure(f"rolling restart of 3 nodes took {roll_end - roll_start:.1f} s; pairings started: {len(rolled)}, "
                f"failed: {len(failed)}")
        check("no pairing failed during the rolling restart", len(rolled) > 20 and not failed, failed[:3])
        wait_for("the linked phone on some node", lambda: env.node_of_listener() is not None, 20)
        c = env.client("sign-in", "--phone", "Test Phone", "--allow-credential", cred_id)
        out, err = c.communicate(timeout=60)
        check("linked sign-in after the rolling restart: exit 0", c.returncode == 0, err)
        check("the linked phone is still running", listen.poll() is None, plog.text()[-2000:])
    finally:
        env.close(signal.SIGINT)


if __name__ == "__main__":
    check.run(main)
