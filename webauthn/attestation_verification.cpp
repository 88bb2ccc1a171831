#include "webauthn/attestation_verification.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

#include <memory>
#include <stdexcept>

#include "base/printable.h"
#include "ctap/cbor_util.h"
#include "ctap/cose_key.h"

namespace hybrid::webauthn {
namespace {

struct StoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
};
struct BasicConstraintsFree {
  void operator()(BASIC_CONSTRAINTS* b) const { BASIC_CONSTRAINTS_free(b); }
};

[[noreturn]] void openssl_failure(const char* what) {
  ERR_clear_error();
  throw std::runtime_error(std::string("OpenSSL failure: ") + what);
}

// The COSE key as it sits in authenticator data (any key order).
Result<cbor::Value> decode_strict_lenient_cose(ByteView cose) {
  cbor::DecodeOptions options;
  options.max_depth = ctap::kMaxCborDepth;
  options.require_canonical = false;
  auto v = cbor::decode(cose, options);
  if (!v.ok()) return make_error("the credential public key: " + v.error().message);
  return std::move(v).value();
}

}  // namespace

std::string_view attestation_type_name(AttestationType type) {
  switch (type) {
    case AttestationType::none: return "none";
    case AttestationType::self: return "self";
    case AttestationType::basic: return "basic";
    case AttestationType::unsupported: return "unsupported";
  }
  return "none";
}

Result<AttestationResult> verify_attestation(const ctap::MakeCredentialResponse& attestation, const ctap::AuthenticatorData& auth_data,
                                             const ctap::ClientDataHash& client_data_hash,
                                             const std::vector<ctap::Certificate>& trusted_roots) {
  AttestationResult result;
  result.fmt = attestation.fmt;
  if (!auth_data.attested) return make_error("the authenticator data has no attested credential data");
  const cbor::Map& stmt = attestation.att_stmt;
  if (attestation.fmt == ctap::kFmtNone) {
    if (!stmt.empty()) return make_error("a \"none\" attestation statement must be empty");
    result.type = AttestationType::none;
    return result;
  }
  if (attestation.fmt != ctap::kFmtPacked) {
    result.type = AttestationType::unsupported;
    result.untrusted_reason = fmt::format("attestation format \"{}\" is not verified here", attestation.fmt);
    return result;
  }
  // packed (WebAuthn §8.2).
  const cbor::Value* alg_v = stmt.find(std::string_view("alg"));
  const cbor::Value* sig_v = stmt.find(std::string_view("sig"));
  if (!alg_v || !alg_v->is_integer() || !alg_v->fits_int64()) {
    return make_error("the packed attestation statement has no integer \"alg\"");
  }
  if (!sig_v || !sig_v->is_bytes()) return make_error("the packed attestation statement has no byte-string \"sig\"");
  if (stmt.find(std::string_view("ecdaaKeyId"))) return make_error("ECDAA attestation is not supported");
  const int64_t alg = alg_v->as_int64();
  if (alg != ctap::kAlgEs256) {
    return make_error(fmt::format("packed attestation algorithm {} is not supported (only ES256, -7)", alg));
  }
  const Bytes signed_data = concat(attestation.auth_data, client_data_hash);
  const Bytes& sig = sig_v->as_bytes();
  const cbor::Value* x5c_v = stmt.find(std::string_view("x5c"));
  if (!x5c_v) {
    // Self attestation: the credential key signs, and its algorithm must match.
    HYBRID_TRY(cbor::Value cose, decode_strict_lenient_cose(auth_data.attested->public_key_cose));
    auto cose_alg = ctap::cose_key_algorithm(cose);
    if (!cose_alg || *cose_alg != alg) {
      return make_error("self attestation: the statement's algorithm does not match the credential key's");
    }
    HYBRID_TRY(auto key, ctap::p256_from_cose_key(cose));
    if (!key.verify_es256(signed_data, sig)) return make_error("self attestation: the signature does not verify");
    result.type = AttestationType::self;
    return result;
  }
  if (!x5c_v->is_array() || x5c_v->as_array().empty()) {
    return make_error("the packed attestation statement's x5c must be a non-empty array");
  }
  for (const auto& item : x5c_v->as_array()) {
    if (!item.is_bytes()) return make_error("x5c entries must be DER certificates (byte strings)");
    auto cert = ctap::Certificate::from_der(item.as_bytes());
    if (!cert.ok()) return make_error("x5c: " + cert.error().message);
    result.x5c.push_back(std::move(cert).value());
  }
  const ctap::Certificate& leaf = result.x5c.front();
  HYBRID_TRY_STATUS(check_packed_certificate(leaf, auth_data.attested->aaguid));
  auto leaf_key = leaf.p256_public_key();
  if (!leaf_key.ok()) return make_error("packed attestation: " + leaf_key.error().message);
  if (!leaf_key->verify_es256(signed_data, sig)) {
    return make_error("packed attestation: the signature does not verify with the attestation certificate");
  }
  result.type = AttestationType::basic;
  std::vector<ctap::Certificate> intermediates(result.x5c.begin() + 1, result.x5c.end());
  auto chain = verify_certificate_chain(leaf, intermediates, trusted_roots);
  result.trusted = chain.ok();
  if (!chain.ok()) result.untrusted_reason = chain.error().message;
  return result;
}

Status check_packed_certificate(const ctap::Certificate& cert, const ctap::Aaguid& aaguid) {
  X509* x = cert.get();
  const std::string prefix = "the attestation certificate (" + cert.subject() + ")";
  if (X509_get_version(x) != X509_VERSION_3) return make_error(prefix + " is not X.509 version 3");
  X509_NAME* subject = X509_get_subject_name(x);
  auto has = [&](int nid) { return X509_NAME_get_index_by_NID(subject, nid, -1) >= 0; };
  if (!has(NID_countryName)) return make_error(prefix + " has no country (C) in its subject");
  if (!has(NID_organizationName)) return make_error(prefix + " has no organization (O) in its subject");
  if (!has(NID_commonName)) return make_error(prefix + " has no common name (CN) in its subject");
  int ou = X509_NAME_get_index_by_NID(subject, NID_organizationalUnitName, -1);
  if (ou < 0) return make_error(prefix + " has no OU; it must be \"Authenticator Attestation\"");
  ASN1_STRING* ou_value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, ou));
  const std::string ou_text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ou_value)),
                            static_cast<size_t>(ASN1_STRING_length(ou_value)));
  if (ou_text != ctap::kAttestationOu) {
    return make_error(prefix + " has OU \"" + printable(ou_text, 64) + "\"; it must be \"Authenticator Attestation\"");
  }
  int crit = 0;
  std::unique_ptr<BASIC_CONSTRAINTS, BasicConstraintsFree> bc(
      static_cast<BASIC_CONSTRAINTS*>(X509_get_ext_d2i(x, NID_basic_constraints, &crit, nullptr)));
  if (!bc) return make_error(prefix + " has no Basic Constraints extension");
  if (bc->ca) return make_error(prefix + " is a CA certificate (Basic Constraints CA must be false)");
  HYBRID_TRY(auto ext_aaguid, cert.aaguid_extension());
  if (ext_aaguid && *ext_aaguid != aaguid) {
    return make_error(prefix + " names AAGUID " + ctap::aaguid_to_string(*ext_aaguid) +
                      " but the authenticator data says " + ctap::aaguid_to_string(aaguid));
  }
  return {};
}

Status verify_certificate_chain(const ctap::Certificate& leaf, const std::vector<ctap::Certificate>& intermediates,
                                const std::vector<ctap::Certificate>& roots) {
  if (roots.empty()) return make_error("no trusted attestation roots are configured");
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  if (!store) openssl_failure("X509_STORE_new");
  for (const auto& r : roots) {
    if (X509_STORE_add_cert(store.get(), r.get()) != 1) ERR_clear_error();  // duplicates are harmless
  }
  std::unique_ptr<STACK_OF(X509), StackFree> chain(sk_X509_new_null());
  if (!chain) openssl_failure("sk_X509_new_null");
  for (const auto& c : intermediates) {
    if (!sk_X509_push(chain.get(), c.get())) openssl_failure("sk_X509_push");
  }
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), chain.get()) != 1) {
    openssl_failure("X509_STORE_CTX_init");
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return make_error(fmt::format("the attestation certificate chain does not verify to a trusted root: {}",
                                  X509_verify_cert_error_string(err)));
  }
  return {};
}

}  // namespace hybrid::webauthn
