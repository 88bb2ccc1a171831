#!/usr/bin/python3
"""An independent second implementation of the hybrid client's key schedule, written from
docs/protocol.md in Python with `cryptography` and python3-fido2's CBOR
decoder (no code shared with the C++). For every transcript in tests/vectors/transcripts it
recomputes the EID key, the advert plaintext, the PSK, Noise message 1 (KNpsk0 or NKpsk0),
processes message 2, derives the traffic keys and decrypts every later message in both
directions. Any disagreement with the recorded bytes fails the test."""
import glob
import hashlib
import hmac
import json
import sys
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fido2 import cbor

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from hybrid_procs import run_main  # noqa: E402


def hkdf(ikm, salt, info, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt or None, info=info).derive(ikm)


def derive(secret, salt, purpose, length):
    return hkdf(secret, salt, purpose.to_bytes(4, "little"), length)


def digits_to_bytes(digits):
    widths = {0: 0, 3: 1, 5: 2, 8: 3, 10: 4, 13: 5, 15: 6}
    out = b""
    while len(digits) >= 17:
        out += int(digits[:17]).to_bytes(7, "little")
        digits = digits[17:]
    out += int(digits or "0").to_bytes(widths[len(digits)], "little") if digits else b""
    return out


def private_key(scalar_hex):
    return ec.derive_private_key(int(scalar_hex, 16), ec.SECP256R1())


def point(key):
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def ecdh(priv, pub_bytes):
    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), pub_bytes)
    return priv.exchange(ec.ECDH(), peer)


class Symmetric:
    def __init__(self, name):
        self.h = name.encode().ljust(32, b"\0")
        self.ck = self.h
        self.k = None

    def mix_hash(self, data):
        self.h = hashlib.sha256(self.h + data).digest()

    def mix_key(self, ikm):
        out = hkdf(ikm, self.ck, b"", 64)
        self.ck, self.k = out[:32], out[32:]

    def mix_key_and_hash(self, ikm):
        out = hkdf(ikm, self.ck, b"", 96)
        self.ck = out[:32]
        self.mix_hash(out[32:64])
        self.k = out[64:]

    def encrypt_and_hash(self, pt):
        c = AESGCM(self.k).encrypt(b"\0" * 12, pt, self.h)
        self.mix_hash(c)
        return c

    def decrypt_and_hash(self, c):
        pt = AESGCM(self.k).decrypt(b"\0" * 12, c, self.h)
        self.mix_hash(c)
        return pt

    def split(self):
        out = hkdf(b"", self.ck, b"", 64)
        return out[:32], out[32:]


def channel_decrypt(key, counter, ct):
    padded = AESGCM(key).decrypt(b"\0" * 8 + counter.to_bytes(4, "big"), ct, b"")
    z = padded[-1]
    assert z + 1 <= len(padded), "bad padding"
    return padded[: -(z + 1)]


def check(path):
    t = json.load(open(path))
    eph = private_key(t["client_ephemeral_private"])
    if t["flow"] == "qr":
        url = t["qr_url"]
        assert url.upper().startswith("FIDO:/")
        qr = cbor.decode(digits_to_bytes(url[6:]))
        secret = qr[1]
        identity = private_key(t["client_static_private"])
        assert point(identity)[1:33] == qr[0][1:], "static key does not match the QR code"
        eid = derive(secret, b"", 1, 64)
    else:
        secret = bytes.fromhex(t["link_secret"])
        eid = derive(secret, bytes.fromhex(t["client_nonce"]), 1, 64)
        phone_pub = bytes.fromhex(t["phone_public_key"])
    advert = bytes.fromhex(t["advert"])
    tag = hmac.new(eid[32:], advert[:16], hashlib.sha256).digest()[:4]
    assert hmac.compare_digest(tag, advert[16:20]), "advert tag"
    dec = Cipher(algorithms.AES(eid[:32]), modes.ECB()).decryptor()
    plaintext = dec.update(advert[:16]) + dec.finalize()
    assert plaintext[0] == 0, "reserved byte"
    psk = derive(secret, plaintext, 3, 32)

    if t["flow"] == "qr":
        s = Symmetric("Noise_KNpsk0_P256_AESGCM_SHA256")
        s.mix_hash(b"\x01")
        s.mix_hash(point(identity))
    else:
        s = Symmetric("Noise_NKpsk0_P256_AESGCM_SHA256")
        s.mix_hash(b"\x00")
        s.mix_hash(phone_pub)
    s.mix_key_and_hash(psk)
    e = point(eph)
    s.mix_hash(e)
    s.mix_key(e)
    if t["flow"] == "linked":
        s.mix_key(ecdh(eph, phone_pub))
    message1 = e + s.encrypt_and_hash(b"")

    msgs = [m for m in t["messages"]]
    first_client = msgs[0]
    assert first_client["from"] == "client"
    if "bytes" in first_client:
        assert bytes.fromhex(first_client["bytes"]) == message1, "message 1 differs from the C++ client's"
    replies = [m for m in msgs[1:] if m["from"] == "phone" and bytes.fromhex(m["bytes"]) != b"\x00"]
    m2 = bytes.fromhex(replies[0]["bytes"])
    f = m2[:65]
    s.mix_hash(f)
    s.mix_key(f)
    s.mix_key(ecdh(eph, f))
    if t["flow"] == "qr":
        s.mix_key(ecdh(identity, f))
    assert s.decrypt_and_hash(m2[65:]) == b""
    k1, k2 = s.split()
    expect = t.get("expect", {})
    for name, value in (("handshake_hash", s.h), ("k1", k1), ("k2", k2), ("psk", psk)):
        if name in expect:
            assert expect[name].lower() == value.hex(), name
    # Every later message decrypts in order, in both directions.
    index = msgs.index(replies[0]) + 1
    counters = {"phone": 0, "client": 0}
    count = 0
    for m in msgs[index:]:
        key = k2 if m["from"] == "phone" else k1
        if "bytes" not in m:
            continue
        channel_decrypt(key, counters[m["from"]], bytes.fromhex(m["bytes"]))
        counters[m["from"]] += 1
        count += 1
    return count


def main():
    files = sorted(glob.glob("tests/vectors/transcripts/*.json"))
    assert files, "no transcripts"
    for path in files:
        n = check(path)
        print(f"ok {path}: handshake and {n} channel messages agree")
    print(f"{len(files)} passed, 0 failed")


if __name__ == "__main__":
    run_main(main)
