#!/usr/bin/python3
"""`hybrid demo --once` as CI runs it: every scripted visit must produce its expected
outcome (exit 0, JSON summary on the last line), and nothing it started may be left
running. Then the same with a policy without the refusing rules: --once must
fail and say which visits went wrong."""
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import support  # noqa: E402

EXPECTED = [
    ("Dave creates a synced passkey", "registered", ""),
    ("Dave signs in with it", "signed_in", ""),
    ("Alice creates a device-bound, attested passkey", "registered", ""),
    ("Alice signs in with it", "signed_in", ""),
    ("Bob tries a synced passkey", "refused", "passkey_types"),
    ("Carol tries a passkey from a blocked provider", "refused", "key_restrictions.block"),
]
WEBSITE = ["Dave creates a passkey on the website, in Chromium", "Dave signs in on the website with it",
           "Bob tries a synced passkey on the website"]



def permissive_policy():
    """The demo's policy with the two refusing rules switched off (same profiles and groups)."""
    policy = json.loads(Path("demo/kiosk-policy.json").read_text())
    for p in policy["profiles"]:
        if p["name"] == "engineers":
            p["passkey_types"] = ["device-bound", "synced"]
        if p["name"] == "contractors":
            del p["key_restrictions"]
    return policy


def run_demo(tmp, *extra):
    t0 = time.monotonic()
    p = subprocess.run([support.HYBRID, "demo", "--once", "--dir", str(tmp), *extra], capture_output=True,
                       timeout=110, stdin=subprocess.DEVNULL, preexec_fn=support._die_with_parent)
    out = p.stdout.decode()
    lines = out.strip().splitlines()
    assert lines, f"no output; stderr:\n{p.stderr.decode()[-3000:]}"
    summary = json.loads(lines[-1])
    left = support.processes_mentioning(str(tmp))
    assert not left, f"hybrid demo left processes running: {left}"
    return p.returncode, out, summary, time.monotonic() - t0


def main():
    assert support.HYBRID, "HYBRID_BINARY is not set (run through ctest)"
    tmp = Path(tempfile.mkdtemp(prefix="hybrid-demo-once-"))
    try:
        rc, out, summary, took = run_demo(tmp / "run")
        assert rc == 0, f"exit {rc}\n{out}"
        assert summary["ok"] is True, summary
        got = [(v["title"], v["outcome"], v["rule"]) for v in summary["visits"]]
        assert got == EXPECTED + list(zip(WEBSITE, ["registered", "signed_in", "refused"], ["", "", "passkey_types"])), got
        assert all(v["ok"] for v in summary["visits"]), summary
        assert "9 of 9 visits went as expected." in out, out
        # The website visits in Chromium: what the page showed.
        assert 'page: "Passkey created for Dave."' in out and 'page: "Signed in as Dave."' in out, out
        assert "page: \"Refused: synced passkeys are not allowed by profile 'engineers'" in out, out
        assert "Refused: synced passkeys are not allowed by profile 'engineers'" in out, out
        assert "attested to a trusted root, profile admins" in out, out
        # The kiosk's database holds what was accepted, and only that.
        db = tmp / "run" / "kiosk.sqlite"
        assert db.exists()
        import sqlite3
        con = sqlite3.connect(str(db))
        accounts = sorted(r[0] for r in con.execute("SELECT name FROM accounts"))
        passkeys = con.execute("SELECT COUNT(*) FROM passkeys").fetchone()[0]
        con.close()
        assert accounts == ["alice", "dave"], accounts
        assert passkeys == 3, passkeys  # Dave's at the kiosk and on the website, Alice's
        print(f"demo --once: ok in {took:.1f} s")

        # Under a policy without the two refusing rules, the refusals do not happen: --once fails.
        policy = tmp / "permissive.json"
        policy.write_text(json.dumps(permissive_policy()))
        rc, out, summary, _ = run_demo(tmp / "run2", "--policy", str(policy), "--no-browser")
        assert rc != 0, f"--once exited 0 although visits went differently\n{out}"
        assert summary["ok"] is False
        bad = [v["title"] for v in summary["visits"] if not v["ok"]]
        assert bad == ["Bob tries a synced passkey", "Carol tries a passkey from a blocked provider"], summary
        assert "expected refused, got registered" in out, out
        print("demo --once with a permissive policy: fails as it should")

        # Without Chromium, the demo says so and skips only the website visits.
        rc, out, summary, _ = run_demo(tmp / "run3", "--chromium", "/nonexistent/chromium")
        assert rc == 0, f"exit {rc}\n{out}"
        got = [(v["title"], v["outcome"], v["rule"]) for v in summary["visits"]]
        assert got[:6] == EXPECTED, got
        assert [(g[0], g[1]) for g in got[6:]] == [(t, "skipped") for t in WEBSITE], got
        assert "Chromium is not available" in out and "install the Debian package chromium" in out, out
        assert "Skipping the 3 website visits" in out, out
        print("demo --once without Chromium: website visits skipped with a message")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
