#include "ctap/make_credential.h"

#include <fmt/format.h>

#include "ctap/cbor_util.h"
#include "ctap/member_keys.h"

namespace hybrid::ctap {

namespace key = keys::make_credential;
namespace rkey = keys::make_credential_response;
namespace {

Result<ClientDataHash> client_data_hash_from(const cbor::Value& v) {
  HYBRID_TRY(Bytes b, as_bytes(v, "clientDataHash"));
  if (b.size() != 32) {
    return ctap_error(StatusCode::invalid_length, fmt::format("clientDataHash must be 32 bytes, got {}", b.size()));
  }
  ClientDataHash h{};
  std::copy(b.begin(), b.end(), h.begin());
  return h;
}

}  // namespace

Bytes MakeCredentialRequest::encode() const {
  cbor::Map m;
  m.set(key::client_data_hash, client_data_hash);
  m.set(key::rp, rp.to_cbor());
  m.set(key::user, user.to_cbor());
  cbor::Array params;
  for (const auto& p : pub_key_cred_params) params.push_back(p.to_cbor());
  m.set(key::pub_key_cred_params, std::move(params));
  if (!exclude_list.empty()) m.set(key::exclude_list, descriptors_to_cbor(exclude_list));
  cbor::Map ext = other_extensions;
  if (prf) ext.set(kExtPrf, prf->to_cbor());
  if (hmac_secret) ext.set(kExtHmacSecret, true);
  if (cred_protect) ext.set(kExtCredProtect, *cred_protect);
  if (!ext.empty()) m.set(key::extensions, std::move(ext));
  cbor::Map opts;
  if (rk) opts.set("rk", *rk);
  if (up) opts.set("up", *up);
  if (uv) opts.set("uv", *uv);
  if (!opts.empty()) m.set(key::options, std::move(opts));
  if (pin_uv_auth_param) m.set(key::pin_uv_auth_param, *pin_uv_auth_param);
  if (pin_uv_auth_protocol) m.set(key::pin_uv_auth_protocol, *pin_uv_auth_protocol);
  if (enterprise_attestation) m.set(key::enterprise_attestation, *enterprise_attestation);
  if (!attestation_formats_preference.empty()) m.set(key::attestation_formats_preference, text_array(attestation_formats_preference));
  return cbor::encode(cbor::Value(std::move(m)));
}

Result<MakeCredentialRequest> MakeCredentialRequest::decode(ByteView data) {
  HYBRID_TRY(cbor::Value v, decode_strict(data, "makeCredential request"));
  HYBRID_TRY(const cbor::Map* m, as_map(v, "makeCredential request"));
  MakeCredentialRequest r;
  HYBRID_TRY(const cbor::Value* cdh, required(*m, key::client_data_hash, "makeCredential clientDataHash (1)"));
  HYBRID_TRY(r.client_data_hash, client_data_hash_from(*cdh));
  HYBRID_TRY(const cbor::Value* rp, required(*m, key::rp, "makeCredential rp (2)"));
  HYBRID_TRY(r.rp, RpEntity::from_cbor(*rp));
  HYBRID_TRY(const cbor::Value* user, required(*m, key::user, "makeCredential user (3)"));
  HYBRID_TRY(r.user, UserEntity::from_cbor(*user));
  HYBRID_TRY(const cbor::Value* params, required(*m, key::pub_key_cred_params, "makeCredential pubKeyCredParams (4)"));
  HYBRID_TRY(const cbor::Array* pa, as_array(*params, "makeCredential pubKeyCredParams (4)"));
  for (const auto& item : *pa) {
    HYBRID_TRY(CredentialParameter p, CredentialParameter::from_cbor(item));
    r.pub_key_cred_params.push_back(std::move(p));
  }
  if (const cbor::Value* ex = m->find(key::exclude_list)) {
    HYBRID_TRY(r.exclude_list, descriptors_from_cbor(*ex, "makeCredential excludeList (5)"));
  }
  if (const cbor::Value* ext = m->find(key::extensions)) {
    HYBRID_TRY(const cbor::Map* em, as_map(*ext, "makeCredential extensions (6)"));
    for (const auto& [key, value] : *em) {
      HYBRID_TRY(std::string name, as_text(key, "extension identifier"));
      if (name == kExtPrf) {
        HYBRID_TRY(PrfRequest prf, PrfRequest::from_cbor(value, /*allow_by_credential=*/false));
        r.prf = std::move(prf);
      } else if (name == kExtHmacSecret) {
        HYBRID_TRY(r.hmac_secret, as_bool(value, "hmac-secret extension input"));
      } else if (name == kExtCredProtect) {
        HYBRID_TRY(uint64_t level, as_unsigned(value, "credProtect extension input"));
        if (level < 1 || level > 3) {
          return ctap_error(StatusCode::invalid_parameter, fmt::format("credProtect level must be 1 to 3, got {}", level));
        }
        r.cred_protect = level;
      } else {
        r.other_extensions.append_unchecked(key, value);
      }
    }
  }
  if (const cbor::Value* opts = m->find(key::options)) {
    HYBRID_TRY(const cbor::Map* om, as_map(*opts, "makeCredential options (7)"));
    HYBRID_TRY(r.rk, optional_bool(*om, "rk", "makeCredential option rk"));
    HYBRID_TRY(r.up, optional_bool(*om, "up", "makeCredential option up"));
    HYBRID_TRY(r.uv, optional_bool(*om, "uv", "makeCredential option uv"));
  }
  HYBRID_TRY(r.pin_uv_auth_param, optional_bytes(*m, key::pin_uv_auth_param, "makeCredential pinUvAuthParam (8)"));
  HYBRID_TRY(r.pin_uv_auth_protocol, optional_unsigned(*m, key::pin_uv_auth_protocol, "makeCredential pinUvAuthProtocol (9)"));
  HYBRID_TRY(r.enterprise_attestation, optional_unsigned(*m, key::enterprise_attestation, "makeCredential enterpriseAttestation (10)"));
  if (const cbor::Value* fmts = m->find(key::attestation_formats_preference)) {
    HYBRID_TRY(r.attestation_formats_preference, as_text_array(*fmts, "makeCredential attestationFormatsPreference (11)"));
  }
  return r;
}

Bytes MakeCredentialResponse::encode() const {
  cbor::Map m;
  m.set(rkey::fmt, fmt);
  m.set(rkey::auth_data, auth_data);
  m.set(rkey::att_stmt, att_stmt);
  if (ep_att) m.set(rkey::ep_att, *ep_att);
  if (large_blob_key) m.set(rkey::large_blob_key, *large_blob_key);
  if (unsigned_extension_outputs) m.set(rkey::unsigned_extension_outputs, *unsigned_extension_outputs);
  return cbor::encode(cbor::Value(std::move(m)));
}

Result<MakeCredentialResponse> MakeCredentialResponse::decode(ByteView data) {
  HYBRID_TRY(cbor::Value v, decode_strict(data, "makeCredential response"));
  HYBRID_TRY(const cbor::Map* m, as_map(v, "makeCredential response"));
  MakeCredentialResponse r;
  HYBRID_TRY(const cbor::Value* f, required(*m, rkey::fmt, "makeCredential response fmt (1)"));
  HYBRID_TRY(r.fmt, as_text(*f, "makeCredential response fmt (1)"));
  HYBRID_TRY(const cbor::Value* ad, required(*m, rkey::auth_data, "makeCredential response authData (2)"));
  HYBRID_TRY(r.auth_data, as_bytes(*ad, "makeCredential response authData (2)"));
  HYBRID_TRY(const cbor::Value* st, required(*m, rkey::att_stmt, "makeCredential response attStmt (3)"));
  HYBRID_TRY(const cbor::Map* sm, as_map(*st, "makeCredential response attStmt (3)"));
  r.att_stmt = *sm;
  HYBRID_TRY(r.ep_att, optional_bool(*m, rkey::ep_att, "makeCredential response epAtt (4)"));
  HYBRID_TRY(r.large_blob_key, optional_bytes(*m, rkey::large_blob_key, "makeCredential response largeBlobKey (5)"));
  if (const cbor::Value* u = m->find(rkey::unsigned_extension_outputs)) {
    HYBRID_TRY(const cbor::Map* um, as_map(*u, "makeCredential response unsignedExtensionOutputs (6)"));
    r.unsigned_extension_outputs = *um;
  }
  return r;
}

Bytes MakeCredentialResponse::attestation_object() const {
  cbor::Map m;
  m.set("fmt", fmt);
  m.set("attStmt", att_stmt);
  m.set("authData", auth_data);
  return cbor::encode(cbor::Value(std::move(m)));
}

Result<MakeCredentialResponse> MakeCredentialResponse::from_attestation_object(ByteView data) {
  // Browsers and other clients build this object; its signed part (authData) is a byte
  // string, so key order does not matter here: accept any order, but nothing malformed.
  cbor::DecodeOptions options;
  options.max_depth = kMaxCborDepth;
  options.require_canonical = false;
  auto decoded = cbor::decode(data, options);
  if (!decoded.ok()) return ctap_error(StatusCode::invalid_cbor, "attestation object: " + decoded.error().message);
  const cbor::Value& v = *decoded;
  HYBRID_TRY(const cbor::Map* m, as_map(v, "attestation object"));
  MakeCredentialResponse r;
  HYBRID_TRY(const cbor::Value* f, required(*m, "fmt", "attestation object fmt"));
  HYBRID_TRY(r.fmt, as_text(*f, "attestation object fmt"));
  HYBRID_TRY(const cbor::Value* ad, required(*m, "authData", "attestation object authData"));
  HYBRID_TRY(r.auth_data, as_bytes(*ad, "attestation object authData"));
  HYBRID_TRY(const cbor::Value* st, required(*m, "attStmt", "attestation object attStmt"));
  HYBRID_TRY(const cbor::Map* sm, as_map(*st, "attestation object attStmt"));
  r.att_stmt = *sm;
  return r;
}

}  // namespace hybrid::ctap
