#!/usr/bin/python3
"""The shipped deploy/haproxy.cfg does not expose a node's /metrics (issue 15 finding 9):
real HAProxy with that file (only its TLS bind, node addresses and maxconn rewritten for loopback)
in front of a real `hybrid tunnel serve`: /metrics through HAProxy is refused with 403,
while the node itself still answers it and HAProxy still routes tunnel paths."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("HYBRID_BINARY", "build/app/hybrid")
SRC = os.environ.get("HYBRID_SOURCE_DIR", ".")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, timeout=5):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: cable.example.org\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else 0
    return status, data


def main():
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not os.path.exists(haproxy):
        sys.exit("FAIL: haproxy is not installed (Debian package haproxy)")
    tmp = tempfile.mkdtemp(prefix="hybrid-haproxy-")
    procs = []
    try:
        node = subprocess.Popen([BIN, "tunnel", "serve", "--listen", "127.0.0.1:0", "--routing-id", "2A0001",
                                 "--log-level", "warn"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(node)
        info = json.loads(node.stdout.readline())
        node_port = info["port"]
        front = free_port()
        cfg = open(os.path.join(SRC, "deploy/haproxy.cfg")).read()
        cfg = re.sub(r"^\s*bind .*$", f"    bind 127.0.0.1:{front}", cfg, count=1, flags=re.M)
        cfg = re.sub(r"127\.0\.0\.1:900\d", f"127.0.0.1:{node_port}", cfg)
        cfg = cfg.replace("log stdout format raw local0", "")
        cfg = re.sub(r"^(\s*)maxconn \d+", r"\1maxconn 1000", cfg, flags=re.M)  # a test's fd limit
        path = os.path.join(tmp, "haproxy.cfg")
        open(path, "w").write(cfg)
        chk = subprocess.run([haproxy, "-c", "-q", "-f", path], capture_output=True, text=True, timeout=20)
        if chk.returncode != 0:
            sys.exit("FAIL: haproxy rejects the shipped config: " + chk.stderr[-600:])
        hp = subprocess.Popen([haproxy, "-db", "-f", path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(hp)
        deadline = time.monotonic() + 15
        status = 0
        while time.monotonic() < deadline:
            try:
                status, _ = get(front, "/healthz")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        failed = []
        if status != 200:
            failed.append(f"HAProxy routes /healthz to the node (got {status})")
        direct, body = get(node_port, "/metrics")
        if direct != 200 or b"hybrid_tunnel_" not in body:
            failed.append(f"the node itself serves /metrics (got {direct})")
        for p in ("/metrics", "/METRICS", "/metrics?x=1"):
            s, body = get(front, p)
            if s != 403 or b"hybrid_tunnel_" in body:
                failed.append(f"{p} through HAProxy is refused with 403 (got {s})")
        for f in failed:
            print("FAILED:", f, file=sys.stderr)
        if failed:
            sys.exit(f"FAIL: {len(failed)} check(s) failed")
        print("PASS")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
