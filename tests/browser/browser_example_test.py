#!/usr/bin/python3
"""The docs' example as a web developer would run it in CI: docs/examples/passkey_cdp.py starts
`hybrid browser` (Chromium on Xvfb, our virtual air, TLS tunnel and screen-reading phone) and
`hybrid kiosk`, drives the kiosk's website page over CDP through navigator.credentials.create()
and .get(), and the website's relying party verifies both. Then: the JSON events say what the
phone did, and after the example's Ctrl-C nothing is left running or in TMPDIR (a private one)."""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "passkey_cdp.py"


def main():
    assert common.HYBRID, "HYBRID_BINARY is not set (run through ctest)"
    tmp = common.private_tmp()
    try:
        env = dict(os.environ, TMPDIR=str(tmp))
        env.pop("DISPLAY", None)
        t0 = time.monotonic()
        p = subprocess.run(["/usr/bin/python3", str(EXAMPLE), "--hybrid", common.HYBRID, "--user", "dave"],
                           capture_output=True, timeout=130, env=env, stdin=subprocess.DEVNULL,
                           preexec_fn=common.support._die_with_parent)
        took = time.monotonic() - t0
        out, err = p.stdout.decode(), p.stderr.decode()
        assert p.returncode == 0, f"exit {p.returncode}\nstdout:\n{out}\nstderr:\n{err[-4000:]}"
        assert out.strip().endswith("ok"), out
        # The website's relying party verified both ceremonies.
        assert '"kind": "registered"' in out and '"user": "dave"' in out and '"profile": "staff"' in out, out
        assert '"kind": "signed_in"' in out, out
        assert "page:   Signed in as Dave." in out, out
        # The phone's events, in order for each ceremony.
        events = [l.split()[1] for l in out.splitlines() if l.startswith("event: ")]
        for e in ("qr_shown", "tunnel_joined", "advert_sent", "handshake_done", "ctap_command", "ctap_status",
                  "credential_returned", "transaction_done", "stopped"):
            assert e in events, (e, events)
        assert events.count("credential_returned") == 2, events
        assert "account_picker_confirmed" in events, events
        assert "'command': 'authenticatorMakeCredential'" in out and "'command': 'authenticatorGetAssertion'" in out, out
        assert events.index("qr_shown") < events.index("advert_sent") < events.index("credential_returned")
        common.assert_nothing_left(tmp)
        print(f"docs example: create + get in Chromium over hybrid, ok in {took:.1f} s (with start-up)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
