#!/usr/bin/python3
"""The kiosk's website endpoints over HTTP, as a browser and as a hostile client would use them:
the page is served at /site, begin answers WebAuthn options for RP ID "localhost", and bad
bodies (not JSON, wrong shapes, too large, a forged ceremony), other origins and wrong
methods get an HTTP error or a "failed" outcome, while the kiosk keeps serving."""
import http.client
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import support  # noqa: E402


def request(port, method, path, body=None, origin=True, raw=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Host": f"localhost:{port}", "Content-Type": "application/json"}
    if origin is True:
        headers["Origin"] = f"http://localhost:{port}"
    elif origin:
        headers["Origin"] = origin
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    c.request(method, path, body=data, headers=headers)
    r = c.getresponse()
    out = r.status, r.read()
    c.close()
    return out


def main():
    assert support.HYBRID, "HYBRID_BINARY is not set (run through ctest)"
    import tempfile
    tmp = Path(tempfile.mkdtemp(prefix="hybrid-website-http-"))
    kiosk = support.Child(["kiosk", "--listen", "127.0.0.1:0"], tmp / "kiosk.log")
    try:
        ready = kiosk.ready()
        port = int(ready["site"].split(":")[2].split("/")[0])
        assert ready["site"] == f"http://localhost:{port}/site", ready

        status, page = request(port, "GET", "/site", origin=False)
        assert status == 200 and b"navigator" not in page and b"/site.js" in page, (status, page[:200])
        status, js = request(port, "GET", "/site.js", origin=False)
        assert status == 200 and b"navigator.credentials.create" in js

        status, body = request(port, "POST", "/site/api/register/begin", {"user": "dave"})
        assert status == 200, (status, body)
        begin = json.loads(body)
        assert begin["publicKey"]["rp"]["id"] == "localhost" and len(begin["ceremony"]) == 32, begin
        status, body = request(port, "POST", "/site/api/sign-in/begin", {})
        assert status == 200 and "challenge" in json.loads(body)["publicKey"], body

        # Hostile or wrong requests.
        assert request(port, "POST", "/site/api/register/begin", {"user": "dave"}, origin="http://evil.example")[0] == 403
        assert request(port, "POST", "/site/api/register/begin", {"user": "dave"}, origin=False)[0] == 403
        assert request(port, "GET", "/site/api/finish", origin=False)[0] == 405
        assert request(port, "POST", "/site/api/finish", raw=b"{not json")[0] == 400
        assert request(port, "POST", "/site/api/finish", raw=b"\xff\xfe\x00[")[0] == 400
        assert request(port, "POST", "/site/api/register/begin", {"user": "Not A Name!"})[0] == 400
        assert request(port, "POST", "/site/api/nope", {})[0] == 404
        for bad in ([1, 2], {"ceremony": 5}, {"ceremony": "x", "credential": "y"},
                    {"ceremony": begin["ceremony"], "credential": {"id": 1, "response": {"clientDataJSON": 7}}},
                    {"ceremony": begin["ceremony"], "credential": {"response": {"authenticatorData": "%%%"}}},
                    {"ceremony": "a" * 5000, "credential": None, "tag": "t" * 1000}):
            status, body = request(port, "POST", "/site/api/finish", bad)
            if status == 200:
                assert json.loads(body)["kind"] in ("failed", "refused"), body
            else:
                assert status == 400, (status, body)
        status, _ = request(port, "POST", "/site/api/finish", raw=b"{" + b" " * (70 * 1024) + b"}")
        assert status == 413, status
        # Still serving, and the status socket's page is untouched.
        assert request(port, "GET", "/healthz", origin=False) == (200, b"ok\n")
        assert kiosk.p.poll() is None
        assert kiosk.stop() == 0
        print("website http: ok")
    finally:
        kiosk.kill()
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
