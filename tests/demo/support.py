"""Helpers for the demo's script tests: child processes of the hybrid binary that die with
the test (PR_SET_PDEATHSIG), ready-line parsing with timeouts, leftover-process checks."""
import ctypes
import json
import os
import select
import signal
import subprocess
import time
from pathlib import Path

HYBRID = os.environ.get("HYBRID_BINARY", "")
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _own_group_and_die_with_parent():
    os.setpgid(0, 0)  # like a job in a terminal: Ctrl-C goes to its whole process group
    _die_with_parent()


def artifacts_dir() -> Path:
    """<build dir>/test-artifacts/demo (HYBRID_BINARY is <build dir>/app/hybrid)."""
    d = Path(HYBRID).resolve().parents[1] / "test-artifacts" / "demo"
    d.mkdir(parents=True, exist_ok=True)
    return d


class Child:
    """A hybrid subcommand with stdout piped (read line by line) and stderr in a log file."""

    def __init__(self, args, log_path, env=None, own_group=False):
        self.args = args
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "wb")
        self._buf = b""
        self.p = subprocess.Popen([HYBRID] + [str(a) for a in args], stdout=subprocess.PIPE, stderr=self._log,
                                  stdin=subprocess.DEVNULL,
                                  preexec_fn=_own_group_and_die_with_parent if own_group else _die_with_parent,
                                  env=dict(os.environ, **(env or {})))

    def read_line(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if not r:
                continue
            chunk = os.read(self.p.stdout.fileno(), 65536)
            if not chunk:
                if self._buf:
                    break
                return None
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line.decode("utf-8", "replace")

    def ready(self, timeout=20):
        line = self.read_line(timeout)
        if line is None:
            raise AssertionError(f"{self.args[0]} printed no ready line; log:\n{self.log_text()}")
        j = json.loads(line)
        assert j.get("ready") is True, line
        return j

    def log_text(self):
        if not self._log.closed:
            self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Signals the process and waits; returns its exit code (kills it after `timeout`)."""
        if self.p.poll() is None:
            self.p.send_signal(sig)
            self._wait_after(f"{sig!r}", timeout)
        self._log.close()
        return self.p.returncode

    def ctrl_c(self, timeout=10):
        """SIGINT to the whole process group, as a terminal's Ctrl-C; returns the exit code."""
        os.killpg(self.p.pid, signal.SIGINT)
        self._wait_after("Ctrl-C", timeout)
        self._log.close()
        return self.p.returncode

    def _wait_after(self, what, timeout):
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(5)
            raise AssertionError(f"{self.args[0]} did not stop within {timeout} s after {what}")

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(5)
        self._log.close()


def processes_mentioning(text):
    """PIDs (other than ours) whose command line contains `text`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if text in cmd:
            found.append((int(entry), cmd))
    return found


def run_phone(argv, timeout=40):
    """Runs `hybrid phone …` to completion; returns (exit code, stdout, stderr)."""
    p = subprocess.run([HYBRID, "phone"] + [str(a) for a in argv], capture_output=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    return p.returncode, p.stdout.decode(), p.stderr.decode()
