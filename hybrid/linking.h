// §10: linking ("state-assisted" transactions): the linking map a phone sends so that
// the client can reach it later without a QR code, its handshake signature, and the
// Update message (§9.6) that carries it.
#pragma once

#include <optional>
#include <string>

#include "cbor/value.h"
#include "crypto/p256.h"
#include "hybrid/ids.h"

namespace hybrid {

struct LinkingInfo {
  Bytes contact_id;                              // key 1: opaque, goes in /cable/contact/<b64url>
  Bytes link_id;                                 // key 2: 8 bytes from Chromium phones
  SecretBytes link_secret;                       // key 3: 32 bytes from Chromium phones
  std::optional<crypto::P256PublicKey> authenticator_public_key;  // key 4 (65 bytes on the wire)
  std::string name;                              // key 5
  ByteArray<32> signature{};                     // key 6
  bool play_services_tag = false;                // key 999
};

cbor::Map encode_linking_map(const LinkingInfo& info);
// Chromium's Pairing::Parse rules (without the signature check): keys 1, 2, 3, 4, 6 byte
// strings, key 5 text, key 4 exactly 65 bytes and on the curve, key 6 32 bytes.
Result<LinkingInfo> parse_linking_map(const cbor::Value& value);

// §10.2: HMAC-SHA256(key = ECDH(own private, peer public), message = handshake hash).
ByteArray<32> linking_signature(const crypto::P256KeyPair& own, const crypto::P256PublicKey& peer,
                                const HandshakeHash& handshake_hash);
// The client checks the phone's signature with its QR identity key (constant time).
bool verify_linking_signature(const LinkingInfo& info, const crypto::P256KeyPair& client_identity,
                              const HandshakeHash& handshake_hash);

// §9.6: 0x02 ‖ CBOR {0: zeros, 1: linking map?}, padded so that the plaintext is at most
// 511 bytes and its ciphertext is always 528 bytes, whether or not it links.
Bytes encode_update_message(const std::optional<LinkingInfo>& info);

// An Update payload (after the type byte): must be a CBOR map; key 1 if present must be a
// map and is returned for parse_linking_map.
Result<std::optional<cbor::Value>> parse_update_payload(ByteView payload);

}  // namespace hybrid
