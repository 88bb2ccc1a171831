"""Helpers for the `hybrid browser` tests: a private TMPDIR per test, leftover checks."""
import os
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "demo"))
import support  # noqa: E402,F401  (re-exported)

HYBRID = os.environ.get("HYBRID_BINARY", "")


def private_tmp():
    """A directory to use as TMPDIR: everything `hybrid browser` makes must go there and go away."""
    return Path(tempfile.mkdtemp(prefix="hybrid-browser-test-"))


def x_display_files(display):
    """Xvfb's files for ":N" (removed when it stops cleanly)."""
    m = re.fullmatch(r":(\d+)", display or "")
    assert m, display
    n = m.group(1)
    return [Path(f"/tmp/.X{n}-lock"), Path(f"/tmp/.X11-unix/X{n}")]


def assert_nothing_left(tmp, ready=None, pids=()):
    left = list(Path(tmp).iterdir())
    assert not left, f"left in TMPDIR: {left}"
    running = support.processes_mentioning(str(tmp))
    assert not running, f"left running: {running}"
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid), f"process {pid} still running"
    if ready and ready.get("display"):
        for f in x_display_files(ready["display"]):
            assert not f.exists(), f"Xvfb left {f}"


def _zombie(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except OSError:
        return True
