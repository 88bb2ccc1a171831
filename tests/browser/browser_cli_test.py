#!/usr/bin/python3
"""`hybrid browser`'s error paths, without starting Chromium: Chromium missing (from $PATH,
and a wrong --chromium), Xvfb missing, the DevTools and tunnel ports in use. Each must exit
with its documented code, name what to install or what to change, print a JSON line saying
it is not ready, and leave nothing in TMPDIR or running."""
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def run(args, tmp, path=None):
    env = dict(os.environ, TMPDIR=str(tmp))
    env.pop("DISPLAY", None)
    if path is not None:
        env["PATH"] = path
    p = subprocess.run([common.HYBRID, "browser", *args], capture_output=True, timeout=40, env=env,
                       stdin=subprocess.DEVNULL, preexec_fn=common.support._die_with_parent)
    out, err = p.stdout.decode(), p.stderr.decode()
    lines = out.strip().splitlines()
    assert lines, f"no JSON line on stdout; stderr: {err}"
    j = json.loads(lines[-1])
    assert j["ready"] is False and j["error"], j
    common.assert_nothing_left(tmp)
    return p.returncode, err


def main():
    assert common.HYBRID, "HYBRID_BINARY is not set (run through ctest)"
    tmp = common.private_tmp()
    try:
        # Chromium missing from $PATH (a PATH with everything else the command needs).
        bin_dir = tmp.parent / (tmp.name + "-bin")
        bin_dir.mkdir()
        for tool in ("Xvfb", "certutil", "dbus-daemon"):
            found = shutil.which(tool)
            assert found, f"{tool} is not installed (scripts/install-deps)"
            os.symlink(found, bin_dir / tool)
        rc, err = run([], tmp, path=str(bin_dir))
        assert rc == 3, (rc, err)
        assert "Chromium was not found" in err and "install the Debian package chromium" in err, err

        rc, err = run(["--chromium", "/nonexistent/chromium"], tmp)
        assert rc == 3 and "/nonexistent/chromium" in err and "chromium" in err, (rc, err)

        # Xvfb missing (no $DISPLAY, so it is needed).
        rc, err = run(["--xvfb-program", "/nonexistent/Xvfb"], tmp)
        assert rc == 3 and "install the Debian package xvfb" in err, (rc, err)

        # certutil missing.
        rc, err = run(["--certutil", "/nonexistent/certutil"], tmp)
        assert rc == 3 and "install the Debian package libnss3-tools" in err, (rc, err)

        # Ports in use.
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            rc, err = run(["--devtools-port", str(port)], tmp)
            assert rc == 15 and f"127.0.0.1:{port} is in use" in err and "--devtools-port" in err, (rc, err)
            rc, err = run(["--tunnel-port", str(port)], tmp)
            assert rc == 15 and f"127.0.0.1:{port} is in use" in err and "--tunnel-port" in err, (rc, err)

        # Bad command lines.
        p = subprocess.run([common.HYBRID, "browser", "--approve", "maybe"], capture_output=True, timeout=20)
        assert p.returncode == 2 and b"always, never or ask" in p.stderr, p
        p = subprocess.run([common.HYBRID, "browser", "--help"], capture_output=True, timeout=20)
        assert p.returncode == 0 and b"DevTools" in p.stdout and b"docs/browser.md" in p.stdout, p
        print("browser cli: ok")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(tmp.parent / (tmp.name + "-bin"), ignore_errors=True)


if __name__ == "__main__":
    main()
