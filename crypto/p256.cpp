#include "crypto/p256.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include <stdexcept>

namespace hybrid::crypto {

void PkeyFree::operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }

namespace {

[[noreturn]] void fatal(const char* what) {
  throw std::runtime_error(std::string("OpenSSL failure in ") + what);
}

struct GroupFree { void operator()(EC_GROUP* g) const { EC_GROUP_free(g); } };
struct PointFree { void operator()(EC_POINT* p) const { EC_POINT_free(p); } };
struct BnFree { void operator()(BIGNUM* b) const { BN_clear_free(b); } };
struct BnCtxFree { void operator()(BN_CTX* c) const { BN_CTX_free(c); } };
struct ParamBldFree { void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); } };
struct ParamFree { void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); } };
struct PkeyCtxFree { void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); } };
struct MdCtxFree { void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); } };

const EC_GROUP* p256_group() {
  static EC_GROUP* g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  if (!g) fatal("EC_GROUP_new_by_curve_name");
  return g;
}

// Builds an EVP_PKEY from an uncompressed point and, optionally, the private scalar.
PkeyPtr pkey_from(const UncompressedPoint& pub, const BIGNUM* priv) {
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld) fatal("OSSL_PARAM_BLD_new");
  if (!OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size()))
    fatal("OSSL_PARAM_BLD_push");
  if (priv && !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv))
    fatal("OSSL_PARAM_BLD_push_BN");
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) fatal("OSSL_PARAM_BLD_to_param");
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) fatal("EVP_PKEY_fromdata_init");
  EVP_PKEY* pkey = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params.get()) != 1)
    fatal("EVP_PKEY_fromdata");
  return PkeyPtr(pkey);
}

UncompressedPoint encode_uncompressed(const EC_POINT* point) {
  UncompressedPoint out{};
  if (EC_POINT_point2oct(p256_group(), point, POINT_CONVERSION_UNCOMPRESSED, out.data(), out.size(),
                         nullptr) != out.size())
    fatal("EC_POINT_point2oct");
  return out;
}

}  // namespace

Result<P256PublicKey> P256PublicKey::parse(ByteView encoded) {
  if (encoded.size() != 33 && encoded.size() != 65) {
    return make_error("a P-256 public key is 33 (compressed) or 65 (uncompressed) bytes, got " +
                      std::to_string(encoded.size()));
  }
  std::unique_ptr<EC_POINT, PointFree> point(EC_POINT_new(p256_group()));
  if (!point) fatal("EC_POINT_new");
  // oct2point rejects encodings whose prefix does not match the length and points that
  // are not on the curve; the point at infinity is rejected below.
  if (EC_POINT_oct2point(p256_group(), point.get(), encoded.data(), encoded.size(), nullptr) != 1 ||
      EC_POINT_is_at_infinity(p256_group(), point.get()) ||
      EC_POINT_is_on_curve(p256_group(), point.get(), nullptr) != 1) {
    return make_error("the public key is not a valid point on the P-256 curve");
  }
  P256PublicKey key;
  key.uncompressed_ = encode_uncompressed(point.get());
  key.compressed_[0] = (key.uncompressed_[64] & 1) ? 0x03 : 0x02;
  std::copy(key.uncompressed_.begin() + 1, key.uncompressed_.begin() + 33, key.compressed_.begin() + 1);
  key.pkey_ = std::shared_ptr<EVP_PKEY>(pkey_from(key.uncompressed_, nullptr).release(), EVP_PKEY_free);
  return key;
}

Result<P256PublicKey> P256PublicKey::from_coordinates(ByteView x, ByteView y) {
  if (x.size() != 32 || y.size() != 32) return make_error("P-256 coordinates must be 32 bytes each");
  Bytes enc;
  enc.push_back(0x04);
  enc.insert(enc.end(), x.begin(), x.end());
  enc.insert(enc.end(), y.begin(), y.end());
  return parse(enc);
}

bool P256PublicKey::verify_es256(ByteView message, ByteView der_signature) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) fatal("EVP_MD_CTX_new");
  if (EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, pkey_.get(), nullptr) != 1)
    fatal("EVP_DigestVerifyInit_ex");
  return EVP_DigestVerify(ctx.get(), der_signature.data(), der_signature.size(), message.data(),
                          message.size()) == 1;
}

P256KeyPair P256KeyPair::generate() {
  EVP_PKEY* raw = EVP_EC_gen("prime256v1");
  if (!raw) fatal("EVP_EC_gen");
  PkeyPtr pkey(raw);
  UncompressedPoint pub{};
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(raw, OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size(), &len) != 1 ||
      len != 65) {
    // Some builds default to compressed output; ask for uncompressed explicitly.
    EVP_PKEY_set_utf8_string_param(raw, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "uncompressed");
    if (EVP_PKEY_get_octet_string_param(raw, OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size(), &len) != 1 ||
        len != 65)
      fatal("EVP_PKEY_get_octet_string_param(pub)");
  }
  auto parsed = P256PublicKey::parse(pub);
  if (!parsed) fatal("generated key did not parse");
  return P256KeyPair(std::move(pkey), std::move(parsed).value());
}

Result<P256KeyPair> P256KeyPair::from_private_scalar(ByteView scalar) {
  if (scalar.size() != 32) {
    return make_error("a P-256 private key is 32 bytes, got " + std::to_string(scalar.size()));
  }
  std::unique_ptr<BIGNUM, BnFree> d(BN_bin2bn(scalar.data(), 32, nullptr));
  std::unique_ptr<BIGNUM, BnFree> order(BN_new());
  std::unique_ptr<BN_CTX, BnCtxFree> bnctx(BN_CTX_new());
  if (!d || !order || !bnctx) fatal("BN_new");
  if (EC_GROUP_get_order(p256_group(), order.get(), bnctx.get()) != 1) fatal("EC_GROUP_get_order");
  if (BN_is_zero(d.get()) || BN_cmp(d.get(), order.get()) >= 0) {
    return make_error("the P-256 private key is out of range (zero or not below the group order)");
  }
  std::unique_ptr<EC_POINT, PointFree> q(EC_POINT_new(p256_group()));
  if (!q || EC_POINT_mul(p256_group(), q.get(), d.get(), nullptr, nullptr, bnctx.get()) != 1)
    fatal("EC_POINT_mul");
  auto pub = encode_uncompressed(q.get());
  auto pkey = pkey_from(pub, d.get());
  auto parsed = P256PublicKey::parse(pub);
  if (!parsed) fatal("derived key did not parse");
  return P256KeyPair(std::move(pkey), std::move(parsed).value());
}

SecretBytes P256KeyPair::private_scalar() const {
  BIGNUM* d = nullptr;
  if (EVP_PKEY_get_bn_param(pkey_.get(), OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1) fatal("get priv");
  Bytes out(32);
  int rc = BN_bn2binpad(d, out.data(), 32);
  BN_clear_free(d);
  if (rc != 32) fatal("BN_bn2binpad");
  return SecretBytes(std::move(out));
}

EcdhSecret P256KeyPair::ecdh(const P256PublicKey& peer) const {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) fatal("EVP_PKEY_derive_init");
  if (EVP_PKEY_derive_set_peer(ctx.get(), peer.pkey()) != 1) fatal("EVP_PKEY_derive_set_peer");
  EcdhSecret out{};
  size_t len = out.size();
  if (EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1 || len != 32) fatal("EVP_PKEY_derive");
  return out;
}

Bytes P256KeyPair::sign_es256(ByteView message) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) fatal("EVP_MD_CTX_new");
  if (EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, pkey_.get(), nullptr) != 1)
    fatal("EVP_DigestSignInit_ex");
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()) != 1) fatal("EVP_DigestSign");
  Bytes sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1) fatal("EVP_DigestSign");
  sig.resize(len);
  return sig;
}

}  // namespace hybrid::crypto
