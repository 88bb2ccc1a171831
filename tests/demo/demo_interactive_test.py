#!/usr/bin/python3
"""`hybrid demo` as a person runs it: the narrated visits, then the kiosk stays up (its page
answers, the visits are in its history) until Ctrl-C (SIGINT), which stops everything it
started: the kiosk, the tunnel server, the private dbus-daemon and any phone."""
import json
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import support  # noqa: E402


def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, r.read().decode()


def main():
    assert support.HYBRID, "HYBRID_BINARY is not set (run through ctest)"
    tmp = Path(tempfile.mkdtemp(prefix="hybrid-demo-interactive-"))
    demo = None
    try:
        demo = support.Child(["demo", "--dir", tmp / "files", "--pace", "0", "--think-time", "0.3", "--no-browser"], tmp / "demo.log",
                             own_group=True)
        lines = []
        url = None
        bus_dir = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = demo.read_line(max(0.1, deadline - time.monotonic()))
            if line is None:
                break
            lines.append(line)
            if "virtual air (private D-Bus)" in line:
                # unix:path=/tmp/hybrid-bus-XXXXXX/bus,guid=…
                bus_dir = line.split("unix:path=", 1)[1].split(",")[0].rsplit("/", 1)[0]
            if line.startswith("The kiosk stays up for you: "):
                url = line.split(": ", 1)[1].strip()
                break
        text = "\n".join(lines)
        assert url, f"the demo never said the kiosk stays up; output:\n{text}\nlog:\n{demo.log_text()}"
        assert "6 of 6 visits went as expected." in text, text
        assert "confirm on the phone" in text, text
        assert bus_dir and bus_dir.startswith("/tmp/"), bus_dir
        # The QR code drawn in the terminal (half blocks) is there.
        assert sum("▀" in l or "▄" in l for l in lines) >= 10, text

        status, body = get(url + "healthz")
        assert status == 200 and body == "ok\n"
        status, body = get(url + "api/state")
        state = json.loads(body)
        assert state["phase"] in ("preparing", "scan"), state["phase"]
        assert len(state["history"]) == 6, state["history"]
        assert state["phone_commands"] is None or "--kind synced" in state["phone_commands"]["synced"]

        # Ctrl-C (to the whole process group, as a terminal sends it): everything stops, in
        # order (no component complains that another vanished first), promptly, with exit 0.
        t0 = time.monotonic()
        rc = demo.ctrl_c(timeout=15)
        took = time.monotonic() - t0
        log = demo.log_text()
        assert rc == 0, f"exit {rc}; log:\n{log}"
        assert "[error]" not in log and "[warn]" not in log, log
        assert took < 10, took
        left = support.processes_mentioning(str(tmp)) + support.processes_mentioning(bus_dir)
        assert not left, f"left running after Ctrl-C: {left}"
        try:
            get(url + "healthz")
            raise AssertionError("the kiosk still answers after Ctrl-C")
        except OSError:
            pass
        print(f"demo: visits ok, kiosk up, Ctrl-C stopped everything in {took:.1f} s")
    finally:
        if demo:
            demo.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
