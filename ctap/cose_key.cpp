#include "ctap/cose_key.h"

#include <openssl/x509.h>

#include <fmt/format.h>

#include "ctap/cbor_util.h"
#include "ctap/entities.h"

namespace hybrid::ctap {
namespace {
constexpr int64_t kKty = 1, kAlg = 3, kCrv = -1, kX = -2, kY = -3;
constexpr int64_t kKtyEc2 = 2, kCrvP256 = 1;
}  // namespace

cbor::Value cose_key_from_p256(const crypto::P256PublicKey& key) {
  cbor::Map m;
  m.set(kKty, kKtyEc2);
  m.set(kAlg, kAlgEs256);
  m.set(kCrv, kCrvP256);
  m.set(kX, key.x());
  m.set(kY, key.y());
  return cbor::Value(std::move(m));
}

Bytes encode_cose_key(const crypto::P256PublicKey& key) { return cbor::encode(cose_key_from_p256(key)); }

std::optional<int64_t> cose_key_algorithm(const cbor::Value& cose) {
  if (!cose.is_map()) return std::nullopt;
  const cbor::Value* alg = cose.as_map().find(kAlg);
  if (!alg || !alg->is_integer() || !alg->fits_int64()) return std::nullopt;
  return alg->as_int64();
}

Result<crypto::P256PublicKey> p256_from_cose_key(const cbor::Value& cose) {
  HYBRID_TRY(const cbor::Map* m, as_map(cose, "COSE key"));
  HYBRID_TRY(const cbor::Value* kty_v, required(*m, kKty, "COSE key type (1)"));
  HYBRID_TRY(int64_t kty, as_int(*kty_v, "COSE key type (1)"));
  if (kty != kKtyEc2) {
    return ctap_error(StatusCode::unsupported_algorithm,
                      fmt::format("COSE key type {} is not supported; only EC2 (2) P-256 keys are", kty));
  }
  HYBRID_TRY(const cbor::Value* alg_v, required(*m, kAlg, "COSE key algorithm (3)"));
  HYBRID_TRY(int64_t alg, as_int(*alg_v, "COSE key algorithm (3)"));
  if (alg != kAlgEs256) {
    return ctap_error(StatusCode::unsupported_algorithm,
                      fmt::format("COSE algorithm {} is not supported; only ES256 (-7) is", alg));
  }
  HYBRID_TRY(const cbor::Value* crv_v, required(*m, kCrv, "COSE key curve (-1)"));
  HYBRID_TRY(int64_t crv, as_int(*crv_v, "COSE key curve (-1)"));
  if (crv != kCrvP256) {
    return ctap_error(StatusCode::unsupported_algorithm,
                      fmt::format("COSE curve {} is not supported; only P-256 (1) is", crv));
  }
  HYBRID_TRY(const cbor::Value* x_v, required(*m, kX, "COSE key x (-2)"));
  HYBRID_TRY(Bytes x, as_bytes(*x_v, "COSE key x (-2)"));
  HYBRID_TRY(const cbor::Value* y_v, required(*m, kY, "COSE key y (-3)"));
  HYBRID_TRY(Bytes y, as_bytes(*y_v, "COSE key y (-3)"));
  if (x.size() != 32 || y.size() != 32) {
    return ctap_error(StatusCode::invalid_parameter,
                      fmt::format("COSE key coordinates must be 32 bytes, got {} and {}", x.size(), y.size()));
  }
  auto key = crypto::P256PublicKey::from_coordinates(x, y);
  if (!key.ok()) return ctap_error(StatusCode::invalid_parameter, "COSE key: " + key.error().message);
  return std::move(key).value();
}

Result<crypto::P256PublicKey> p256_from_cose_key_bytes(ByteView cose) {
  // Keys sit in authenticator data as their authenticator wrote them: any key order is
  // fine, anything malformed (or trailing) is not.
  cbor::DecodeOptions options;
  options.max_depth = kMaxCborDepth;
  options.require_canonical = false;
  auto v = cbor::decode(cose, options);
  if (!v.ok()) return ctap_error(StatusCode::invalid_cbor, "COSE key: " + v.error().message);
  return p256_from_cose_key(*v);
}

Bytes p256_spki_der(const crypto::P256PublicKey& key) {
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(key.pkey(), &der);
  if (n <= 0) throw std::runtime_error("i2d_PUBKEY failed");
  Bytes out(der, der + n);
  OPENSSL_free(der);
  return out;
}

}  // namespace hybrid::ctap
