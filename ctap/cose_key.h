// COSE_Key (RFC 9052/9053) for the one algorithm this project makes: ES256 on P-256,
// as an EC2 key {1: 2, 3: -7, -1: 1, -2: x, -3: y}.
#pragma once

#include <optional>

#include "base/bytes.h"
#include "cbor/value.h"
#include "crypto/p256.h"

namespace hybrid::ctap {

cbor::Value cose_key_from_p256(const crypto::P256PublicKey& key);
Bytes encode_cose_key(const crypto::P256PublicKey& key);

// Accepts only an EC2 P-256 key for ES256 (kty 2, alg -7, crv 1, 32-byte x and y on the
// curve); other keys are refused with a message naming what is unsupported.
Result<crypto::P256PublicKey> p256_from_cose_key(const cbor::Value& cose);
// The same from its encoding (map keys in any order; nothing may trail).
Result<crypto::P256PublicKey> p256_from_cose_key_bytes(ByteView cose);
// The COSE "alg" of a key, when it has one.
std::optional<int64_t> cose_key_algorithm(const cbor::Value& cose);

// SubjectPublicKeyInfo DER, as WebAuthn's getPublicKey() returns.
Bytes p256_spki_der(const crypto::P256PublicKey& key);

}  // namespace hybrid::ctap
