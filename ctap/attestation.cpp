#include "ctap/attestation.h"

#include <fmt/format.h>

#include "ctap/cbor_util.h"
#include "ctap/cose_key.h"

namespace hybrid::ctap {
namespace {

// The COSE key as it sits in authenticator data (any key order).
Result<cbor::Value> decode_strict_lenient_cose(ByteView cose) {
  cbor::DecodeOptions options;
  options.max_depth = kMaxCborDepth;
  options.require_canonical = false;
  auto v = cbor::decode(cose, options);
  if (!v.ok()) return make_error("the credential public key: " + v.error().message);
  return std::move(v).value();
}

}  // namespace

std::string_view attestation_mode_name(AttestationMode mode) {
  switch (mode) {
    case AttestationMode::none: return "none";
    case AttestationMode::packed_self: return "packed-self";
    case AttestationMode::packed_x5c: return "packed-x5c";
  }
  return "none";
}

Result<AttestationMode> attestation_mode_from_name(std::string_view name) {
  if (name == "none") return AttestationMode::none;
  if (name == "packed-self" || name == "self") return AttestationMode::packed_self;
  if (name == "packed-x5c" || name == "packed" || name == "x5c") return AttestationMode::packed_x5c;
  return make_error(fmt::format("unknown attestation mode '{}' (use none, packed-self or packed-x5c)", name));
}

std::string_view attestation_type_name(AttestationType type) {
  switch (type) {
    case AttestationType::none: return "none";
    case AttestationType::self: return "self";
    case AttestationType::basic: return "basic";
    case AttestationType::unsupported: return "unsupported";
  }
  return "none";
}

cbor::Map none_statement() { return cbor::Map{}; }

cbor::Map packed_self_statement(const crypto::P256KeyPair& credential_key, ByteView auth_data,
                                const ClientDataHash& client_data_hash) {
  cbor::Map m;
  m.set("alg", kAlgEs256);
  m.set("sig", credential_key.sign_es256(concat(auth_data, client_data_hash)));
  return m;
}

cbor::Map packed_x5c_statement(const AttestationIdentity& identity, ByteView auth_data,
                               const ClientDataHash& client_data_hash) {
  cbor::Map m;
  m.set("alg", kAlgEs256);
  m.set("sig", identity.batch_key.sign_es256(concat(auth_data, client_data_hash)));
  m.set("x5c", cbor::Array{cbor::Value(identity.batch.der())});
  return m;
}

Result<AttestationResult> verify_attestation(const MakeCredentialResponse& attestation, const AuthenticatorData& auth_data,
                                             const ClientDataHash& client_data_hash,
                                             const std::vector<Certificate>& trusted_roots) {
  AttestationResult result;
  result.fmt = attestation.fmt;
  if (!auth_data.attested) return make_error("the authenticator data has no attested credential data");
  const cbor::Map& stmt = attestation.att_stmt;
  if (attestation.fmt == kFmtNone) {
    if (!stmt.empty()) return make_error("a \"none\" attestation statement must be empty");
    result.type = AttestationType::none;
    return result;
  }
  if (attestation.fmt != kFmtPacked) {
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
  if (alg != kAlgEs256) {
    return make_error(fmt::format("packed attestation algorithm {} is not supported (only ES256, -7)", alg));
  }
  const Bytes signed_data = concat(attestation.auth_data, client_data_hash);
  const Bytes& sig = sig_v->as_bytes();
  const cbor::Value* x5c_v = stmt.find(std::string_view("x5c"));
  if (!x5c_v) {
    // Self attestation: the credential key signs, and its algorithm must match.
    HYBRID_TRY(cbor::Value cose, decode_strict_lenient_cose(auth_data.attested->public_key_cose));
    auto cose_alg = cose_key_algorithm(cose);
    if (!cose_alg || *cose_alg != alg) {
      return make_error("self attestation: the statement's algorithm does not match the credential key's");
    }
    HYBRID_TRY(auto key, p256_from_cose_key(cose));
    if (!key.verify_es256(signed_data, sig)) return make_error("self attestation: the signature does not verify");
    result.type = AttestationType::self;
    return result;
  }
  if (!x5c_v->is_array() || x5c_v->as_array().empty()) {
    return make_error("the packed attestation statement's x5c must be a non-empty array");
  }
  for (const auto& item : x5c_v->as_array()) {
    if (!item.is_bytes()) return make_error("x5c entries must be DER certificates (byte strings)");
    auto cert = Certificate::from_der(item.as_bytes());
    if (!cert.ok()) return make_error("x5c: " + cert.error().message);
    result.x5c.push_back(std::move(cert).value());
  }
  const Certificate& leaf = result.x5c.front();
  HYBRID_TRY_STATUS(check_packed_certificate(leaf, auth_data.attested->aaguid));
  auto leaf_key = leaf.p256_public_key();
  if (!leaf_key.ok()) return make_error("packed attestation: " + leaf_key.error().message);
  if (!leaf_key->verify_es256(signed_data, sig)) {
    return make_error("packed attestation: the signature does not verify with the attestation certificate");
  }
  result.type = AttestationType::basic;
  std::vector<Certificate> intermediates(result.x5c.begin() + 1, result.x5c.end());
  auto chain = verify_certificate_chain(leaf, intermediates, trusted_roots);
  result.trusted = chain.ok();
  if (!chain.ok()) result.untrusted_reason = chain.error().message;
  return result;
}

}  // namespace hybrid::ctap
