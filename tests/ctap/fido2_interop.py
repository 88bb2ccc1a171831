#!/usr/bin/env python3
"""Interop between our ctap/ layer and an independent implementation, Debian's
python3-fido2 (0.9.1): its client (Fido2Client, Ctap2) drives our software authenticator,
its Fido2Server verifies what our authenticator and our WebAuthn client produce, and
credentials made with python-fido2's data classes and `cryptography` are verified by our
relying party.

Usage: fido2_interop.py PATH_TO_ctap_interop_helper
Exits non-zero on the first failure (python3-fido2 missing is a failure, not a skip).
"""
import json
import os
import subprocess
import sys

try:
    from fido2 import cbor
    from fido2.attestation import (AttestationType, PackedAttestation,
                                   UntrustedAttestation)
    from fido2.client import ClientData, Fido2Client
    from fido2.cose import ES256
    from fido2.ctap import CtapDevice, CtapError
    from fido2.ctap2 import (AttestationObject, AttestedCredentialData,
                             AuthenticatorData, Ctap2)
    from fido2.hid import CAPABILITY, CTAPHID
    from fido2.server import AttestationVerifier, Fido2Server
    from fido2.utils import sha256, websafe_decode, websafe_encode
    from cryptography import x509
    from cryptography.hazmat.backends import default_backend
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
except ImportError as e:  # pragma: no cover
    sys.exit(f"fido2_interop: python3-fido2 and python3-cryptography are needed "
             f"(apt-get install python3-fido2 python3-cryptography): {e}")

ORIGIN = "https://example.com"
RP = {"id": "example.com", "name": "Example"}
CHECKS = 0


def check(cond, what):
    global CHECKS
    CHECKS += 1
    if not cond:
        raise AssertionError(what)


class Helper:
    """The C++ helper process: one JSON line in, one JSON line out."""

    def __init__(self, path):
        self.proc = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)

    def ask(self, **req):
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the helper exited")
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


class HelperDevice(CtapDevice):
    """A CTAP device whose CBOR messages go to our SoftwareAuthenticator.process()."""

    capabilities = CAPABILITY.CBOR

    def __init__(self, helper):
        self.helper = helper
        self.requests = []

    def call(self, cmd, data=b"", event=None, on_keepalive=None):
        if cmd != CTAPHID.CBOR:
            raise CtapError(CtapError.ERR.INVALID_COMMAND)
        self.requests.append(bytes(data))
        return bytes.fromhex(self.helper.ask(op="ctap", hex=bytes(data).hex())["hex"])

    @classmethod
    def list_devices(cls):
        return iter(())


class RootVerifier(AttestationVerifier):
    def __init__(self, root_der):
        super().__init__()
        self.root_der = root_der

    def ca_lookup(self, result, auth_data):
        return [self.root_der]


def other_root_der():
    """A self-signed CA that never issued anything (for the untrusted case)."""
    import datetime
    key = ec.generate_private_key(ec.SECP256R1(), default_backend())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Unrelated CA")])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256(), default_backend()))
    return cert.public_bytes(serialization.Encoding.DER)


def b64(data):
    return websafe_encode(bytes(data))


def to_json_options(obj):
    """python-fido2 option objects (dicts with bytes) → WebAuthn JSON (base64url bytes)."""
    if isinstance(obj, (bytes, bytearray)):
        return b64(obj)
    if isinstance(obj, dict):
        return {str(k): to_json_options(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, (list, tuple)):
        return [to_json_options(v) for v in obj]
    if hasattr(obj, "value"):  # enums
        return obj.value
    return obj


# --- 1. python-fido2's client and server against our authenticator --------------------

def fido2_client_and_server(helper, kind, attestation):
    check(helper.ask(op="new", kind=kind, attestation=attestation)["ok"], "new authenticator")
    device = HelperDevice(helper)
    client = Fido2Client(device, ORIGIN)  # sends getInfo; Ctap2 checks our CBOR is canonical
    info = client.info
    check(info.versions == ["FIDO_2_0", "FIDO_2_1"], f"getInfo versions {info.versions}")
    check("prf" in info.extensions, "getInfo lists prf")
    check(info.options.get("rk") and info.options.get("uv"), "getInfo options rk and uv")
    check(info.pin_uv_protocols == [], "no pinUvAuthProtocols")
    check(info.transports == ["hybrid", "internal"], f"transports {info.transports}")

    root_der = None
    verifier = None
    if attestation == "packed-x5c":
        pem = helper.ask(op="attestation_root")["pem"]
        root_der = x509.load_pem_x509_certificate(pem.encode(), default_backend()).public_bytes(
            serialization.Encoding.DER)
        verifier = RootVerifier(root_der)
    server = Fido2Server(RP, attestation="direct" if attestation != "none" else None,
                         verify_attestation=verifier)

    creds = []
    users = []
    for name in ("alice", "bob"):
        user = {"id": os.urandom(16), "name": name, "displayName": name.title()}
        options, state = server.register_begin(user, resident_key=True,
                                               user_verification="required")
        result = client.make_credential(options["publicKey"])
        auth_data = server.register_complete(state, result.client_data, result.attestation_object)
        flags = auth_data.flags
        if kind == "synced":
            check(flags & 0x18 == 0x18, "synced passkey: BE and BS set")
        else:
            check(flags & 0x18 == 0, "device-bound passkey: BE and BS clear")
        check(auth_data.is_user_verified(), "UV at registration")
        att = result.attestation_object
        if attestation == "none":
            check(att.fmt == "none" and att.att_statement == {}, "none attestation")
        else:
            check(att.fmt == "packed", "packed attestation")
            res = PackedAttestation().verify(att.att_statement, att.auth_data, result.client_data.hash)
            expected = AttestationType.BASIC if attestation == "packed-x5c" else AttestationType.SELF
            check(res.attestation_type == expected, f"attestation type {res.attestation_type}")
        creds.append(auth_data.credential_data)
        users.append(user)

    # The excludeList python-fido2 sends is honoured.
    options, state = server.register_begin(users[0], credentials=creds, resident_key=True,
                                           user_verification="required")
    try:
        client.make_credential(options["publicKey"])
        check(False, "excluded credential must be refused")
    except Exception as e:  # ClientError(DEVICE_INELIGIBLE) wrapping CREDENTIAL_EXCLUDED
        check("DEVICE_INELIGIBLE" in repr(e), f"excludeList refusal: {e!r}")

    # Sign in with an allowList, twice (device-bound counters increase).
    last_count = -1
    for _ in range(2):
        options, state = server.authenticate_begin(creds[:1], user_verification="required")
        selection = client.get_assertion(options["publicKey"])
        response = selection.get_response(0)
        cred = server.authenticate_complete(state, creds, response.credential_id, response.client_data,
                                            response.authenticator_data, response.signature)
        check(cred.credential_id == creds[0].credential_id, "the asked-for credential signed")
        count = response.authenticator_data.counter
        if kind == "synced":
            check(count == 0, "synced passkeys keep counter 0")
        else:
            check(count > last_count, "device-bound counter increases")
        last_count = count

    # Discoverable sign-in: two accounts, python-fido2 fetches the second with getNextAssertion.
    options, state = server.authenticate_begin(user_verification="required")
    selection = client.get_assertion(options["publicKey"])
    assertions = selection.get_assertions()
    check(len(assertions) == 2, f"two discoverable accounts, got {len(assertions)}")
    check(0x08 in [r[0] for r in device.requests], "getNextAssertion was used")
    handles = set()
    for i in range(2):
        response = selection.get_response(i)
        server.authenticate_complete(state, creds, response.credential_id, response.client_data,
                                     response.authenticator_data, response.signature)
        handles.add(response.user_handle)
    check(handles == {u["id"] for u in users}, "user handles name both accounts")

    # Raw CTAP with python-encoded requests: errors and the PRF extension.
    ctap = Ctap2(device)
    try:
        ctap.get_assertion("unknown.example", os.urandom(32))
        check(False, "no credentials for an unknown RP")
    except CtapError as e:
        check(e.code == CtapError.ERR.NO_CREDENTIALS, f"NO_CREDENTIALS, got {e.code}")
    try:
        ctap.make_credential(os.urandom(32), RP, {"id": b"x"}, [{"type": "public-key", "alg": -257}])
        check(False, "RS256-only must be refused")
    except CtapError as e:
        check(e.code == CtapError.ERR.UNSUPPORTED_ALGORITHM, f"UNSUPPORTED_ALGORITHM, got {e.code}")
    salt = sha256(b"WebAuthn PRF\x00" + b"interop")
    prf_request = {1: RP["id"], 2: os.urandom(32),
                   3: [{"type": "public-key", "id": creds[0].credential_id}],
                   4: {"prf": {"eval": {"first": salt}}}, 5: {"uv": True}}
    outputs = []
    for _ in range(2):
        raw = ctap.send_cbor(Ctap2.CMD.GET_ASSERTION, prf_request)  # strict canonical check inside
        outputs.append(raw[8]["prf"]["results"]["first"])
    check(len(outputs[0]) == 32 and outputs[0] == outputs[1], "PRF results are 32 bytes and deterministic")

    if attestation == "packed-x5c":
        # fido2 checked the chain to our per-install root; an unrelated root must fail.
        # (Last, because the phone does keep this passkey.)
        bad = Fido2Server(RP, attestation="direct", verify_attestation=RootVerifier(other_root_der()))
        options, state = bad.register_begin({"id": b"carol-id", "name": "carol", "displayName": "Carol"},
                                            user_verification="required")
        result = client.make_credential(options["publicKey"])
        try:
            bad.register_complete(state, result.client_data, result.attestation_object)
            check(False, "an unrelated root must not verify our attestation")
        except UntrustedAttestation:
            check(True, "untrusted root refused")

    return creds, users


# --- 2. our WebAuthn client's requests and JSON, checked by python-fido2 --------------

def our_client_with_fido2_server(helper):
    check(helper.ask(op="new", kind="device-bound", attestation="packed-x5c")["ok"], "new authenticator")
    server = Fido2Server(RP, attestation=None)
    user = {"id": os.urandom(16), "name": "dana", "displayName": "Dana"}
    options, state = server.register_begin(user, resident_key=True, user_verification="required")
    answer = helper.ask(op="client_register", options=to_json_options(options), origin=ORIGIN)
    check(answer.get("ok"), f"our client registered: {answer}")
    request = bytes.fromhex(answer["ctap_request"])
    check(request[0] == 0x01, "makeCredential command byte")
    decoded = cbor.decode(request[1:])
    check(cbor.encode(decoded) == request[1:], "our makeCredential request is canonical for python-fido2")
    check(decoded[2]["id"] == "example.com" and decoded[3]["id"] == user["id"], "rp and user in the request")
    check(decoded[7] == {"rk": True, "uv": True}, f"options {decoded[7]}")
    cred_json = answer["credential"]
    check(cred_json["type"] == "public-key" and cred_json["authenticatorAttachment"] == "cross-platform",
          "PublicKeyCredential JSON shape")
    check(cred_json["response"]["transports"] == ["hybrid"], "transports [hybrid]")
    client_data = ClientData(websafe_decode(cred_json["response"]["clientDataJSON"]))
    check(client_data.get("crossOrigin") is False, "crossOrigin false")
    att = AttestationObject(websafe_decode(cred_json["response"]["attestationObject"]))
    check(att.fmt == "none", "conveyance none strips attestation")
    auth_data = server.register_complete(state, client_data, att)
    spki = websafe_decode(cred_json["response"]["publicKey"])
    pub = serialization.load_der_public_key(spki, default_backend())
    check(ES256.from_cryptography_key(pub) == auth_data.credential_data.public_key, "publicKey is the SPKI of the COSE key")

    options, state = server.authenticate_begin([auth_data.credential_data], user_verification="required")
    answer = helper.ask(op="client_authenticate", options=to_json_options(options), origin=ORIGIN)
    check(answer.get("ok"), f"our client signed in: {answer}")
    request = bytes.fromhex(answer["ctap_request"])
    decoded = cbor.decode(request[1:])
    check(request[0] == 0x02 and cbor.encode(decoded) == request[1:], "our getAssertion request is canonical")
    r = answer["credential"]["response"]
    server.authenticate_complete(state, [auth_data.credential_data], websafe_decode(answer["credential"]["rawId"]),
                                 ClientData(websafe_decode(r["clientDataJSON"])),
                                 AuthenticatorData(websafe_decode(r["authenticatorData"])),
                                 websafe_decode(r["signature"]))
    check(websafe_decode(r["userHandle"]) == user["id"], "userHandle")


# --- 3. credentials made with python-fido2's classes, verified by our relying party -----

def python_credentials_with_our_rp(helper):
    options = helper.ask(op="rp_begin_register", user="erin")
    key = ec.generate_private_key(ec.SECP256R1(), default_backend())
    cred_id = os.urandom(24)
    aaguid = bytes.fromhex("ee882879721c491397753dfcce97072a")
    acd = AttestedCredentialData.create(aaguid, cred_id, ES256.from_cryptography_key(key.public_key()))
    auth_data = AuthenticatorData.create(sha256(b"example.com"), 0x45, 0, acd)  # UP|UV|AT
    client_data = ClientData.build(type="webauthn.create", challenge=options["challenge"], origin=ORIGIN,
                                   crossOrigin=False)
    sig = key.sign(auth_data + client_data.hash, ec.ECDSA(hashes.SHA256()))
    att = AttestationObject.create("packed", auth_data, {"alg": -7, "sig": sig})
    credential = {"id": b64(cred_id), "rawId": b64(cred_id), "type": "public-key",
                  "response": {"clientDataJSON": b64(client_data), "attestationObject": b64(att.with_string_keys())}}
    answer = helper.ask(op="rp_finish_register", user="erin", credential=credential)
    check(answer.get("ok"), f"our RP accepted a python-made registration: {answer}")
    check(answer["credential"]["attestation_type"] == "self", "python's packed self attestation verified")
    check(answer["credential"]["backup_eligible"] is False, "BE clear")

    # A replay of the same registration is refused.
    again = helper.ask(op="rp_finish_register", user="erin", credential=credential)
    check(not again["ok"] and again["rule"] == "challenge", f"replayed registration: {again}")

    def assertion(counter, tamper=False):
        opts = helper.ask(op="rp_begin_auth", user="erin")
        check(opts["allowCredentials"][0]["id"] == b64(cred_id), "allowCredentials names the credential")
        ad = AuthenticatorData.create(sha256(b"example.com"), 0x05, counter)
        cd = ClientData.build(type="webauthn.get", challenge=opts["challenge"], origin=ORIGIN, crossOrigin=False)
        signature = key.sign(ad + cd.hash, ec.ECDSA(hashes.SHA256()))
        if tamper:
            signature = key.sign(ad + sha256(b"something else"), ec.ECDSA(hashes.SHA256()))
        # userHandle null: allowed because this sign-in named the user (allowCredentials).
        resp = {"clientDataJSON": b64(cd), "authenticatorData": b64(ad), "signature": b64(signature),
                "userHandle": None}
        return {"id": b64(cred_id), "rawId": b64(cred_id), "type": "public-key", "response": resp}

    ok = helper.ask(op="rp_finish_auth", credential=assertion(5))
    check(ok.get("ok") and ok["user"] == "erin" and ok["sign_count"] == 5, f"python-made assertion accepted: {ok}")
    bad = helper.ask(op="rp_finish_auth", credential=assertion(6, tamper=True))
    check(not bad["ok"] and bad["rule"] == "signature", f"bad signature refused: {bad}")
    stale = helper.ask(op="rp_finish_auth", credential=assertion(5))
    check(not stale["ok"] and stale["rule"] == "sign_count", f"counter regression refused: {stale}")
    good = assertion(7)
    check(helper.ask(op="rp_finish_auth", credential=good).get("ok"), "counter 7 accepted")
    replay = helper.ask(op="rp_finish_auth", credential=good)
    check(not replay["ok"] and replay["rule"] == "challenge", f"replayed assertion refused: {replay}")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    helper = Helper(sys.argv[1])
    try:
        for kind, attestation in (("synced", "none"), ("device-bound", "packed-x5c"),
                                  ("device-bound", "packed-self")):
            fido2_client_and_server(helper, kind, attestation)
            print(f"fido2_interop: python-fido2 client+server with our {kind}/{attestation} authenticator: ok",
                  file=sys.stderr)
        our_client_with_fido2_server(helper)
        print("fido2_interop: our WebAuthn client's requests and JSON verified by python-fido2: ok", file=sys.stderr)
        python_credentials_with_our_rp(helper)
        print("fido2_interop: python-fido2-made credentials verified by our relying party: ok", file=sys.stderr)
    finally:
        helper.close()
    print(f"fido2_interop: all {CHECKS} checks passed", file=sys.stderr)


if __name__ == "__main__":
    main()
