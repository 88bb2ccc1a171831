// P-256 (secp256r1) public keys and key pairs: point encodings, validation, ECDH and
// ES256 signatures, on OpenSSL 3 EVP_PKEY (no deprecated EC_KEY).
#pragma once

#include <memory>

#include "base/bytes.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace hybrid::crypto {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const;
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

using UncompressedPoint = ByteArray<65>;  // 04 ‖ X ‖ Y
using CompressedPoint = ByteArray<33>;    // 02/03 ‖ X
using EcdhSecret = ByteArray<32>;         // the shared point's X coordinate

// A validated point on P-256.
class P256PublicKey {
 public:
  // Accepts the 33-byte compressed or 65-byte uncompressed X9.62 form; rejects other sizes
  // and points that are not on the curve.
  static Result<P256PublicKey> parse(ByteView encoded);
  // Accepts an X ‖ Y pair (COSE keys carry the coordinates separately).
  static Result<P256PublicKey> from_coordinates(ByteView x, ByteView y);

  const UncompressedPoint& uncompressed() const { return uncompressed_; }
  const CompressedPoint& compressed() const { return compressed_; }
  ByteView x() const { return ByteView(uncompressed_).subspan(1, 32); }
  ByteView y() const { return ByteView(uncompressed_).subspan(33, 32); }

  // Verifies an ES256 (ECDSA P-256 SHA-256) signature in DER form over `message`.
  bool verify_es256(ByteView message, ByteView der_signature) const;

  EVP_PKEY* pkey() const { return pkey_.get(); }
  bool operator==(const P256PublicKey& o) const { return uncompressed_ == o.uncompressed_; }

 private:
  P256PublicKey() = default;
  UncompressedPoint uncompressed_{};
  CompressedPoint compressed_{};
  std::shared_ptr<EVP_PKEY> pkey_;
};

// A private scalar with its public key. The scalar is wiped with the object.
class P256KeyPair {
 public:
  static P256KeyPair generate();
  // From a 32-byte big-endian scalar in [1, n-1] (test vectors, stored keys).
  static Result<P256KeyPair> from_private_scalar(ByteView scalar);

  const P256PublicKey& public_key() const { return public_; }
  // The 32-byte big-endian private scalar. Handle as a secret.
  SecretBytes private_scalar() const;

  // ECDH: the X coordinate of (our scalar × their point), as Noise and linking use it.
  EcdhSecret ecdh(const P256PublicKey& peer) const;
  // ES256 signature in DER form over `message` (SHA-256 is applied here).
  Bytes sign_es256(ByteView message) const;

  EVP_PKEY* pkey() const { return pkey_.get(); }

 private:
  P256KeyPair(PkeyPtr pkey, P256PublicKey pub) : pkey_(std::move(pkey)), public_(std::move(pub)) {}
  std::shared_ptr<EVP_PKEY> pkey_;
  P256PublicKey public_;
};

}  // namespace hybrid::crypto
