#include "ctap/get_assertion.h"

#include <fmt/format.h>

#include "ctap/cbor_util.h"
#include "ctap/member_keys.h"

namespace hybrid::ctap {

namespace key = keys::get_assertion;
namespace rkey = keys::get_assertion_response;

Bytes GetAssertionRequest::encode() const {
  cbor::Map m;
  m.set(key::rp_id, rp_id);
  m.set(key::client_data_hash, client_data_hash);
  if (!allow_list.empty()) m.set(key::allow_list, descriptors_to_cbor(allow_list));
  cbor::Map ext = other_extensions;
  if (prf) ext.set(kExtPrf, prf->to_cbor());
  if (!ext.empty()) m.set(key::extensions, std::move(ext));
  cbor::Map opts;
  if (up) opts.set("up", *up);
  if (uv) opts.set("uv", *uv);
  if (!opts.empty()) m.set(key::options, std::move(opts));
  if (pin_uv_auth_param) m.set(key::pin_uv_auth_param, *pin_uv_auth_param);
  if (pin_uv_auth_protocol) m.set(key::pin_uv_auth_protocol, *pin_uv_auth_protocol);
  return cbor::encode(cbor::Value(std::move(m)));
}

Result<GetAssertionRequest> GetAssertionRequest::decode(ByteView data) {
  HYBRID_TRY(cbor::Value v, decode_strict(data, "getAssertion request"));
  HYBRID_TRY(const cbor::Map* m, as_map(v, "getAssertion request"));
  GetAssertionRequest r;
  HYBRID_TRY(const cbor::Value* rp, required(*m, key::rp_id, "getAssertion rpId (1)"));
  HYBRID_TRY(r.rp_id, as_text(*rp, "getAssertion rpId (1)"));
  HYBRID_TRY(const cbor::Value* cdh, required(*m, key::client_data_hash, "getAssertion clientDataHash (2)"));
  HYBRID_TRY(Bytes h, as_bytes(*cdh, "getAssertion clientDataHash (2)"));
  if (h.size() != 32) {
    return ctap_error(StatusCode::invalid_length, fmt::format("clientDataHash must be 32 bytes, got {}", h.size()));
  }
  std::copy(h.begin(), h.end(), r.client_data_hash.begin());
  if (const cbor::Value* al = m->find(key::allow_list)) {
    HYBRID_TRY(r.allow_list, descriptors_from_cbor(*al, "getAssertion allowList (3)"));
  }
  if (const cbor::Value* ext = m->find(key::extensions)) {
    HYBRID_TRY(const cbor::Map* em, as_map(*ext, "getAssertion extensions (4)"));
    for (const auto& [key, value] : *em) {
      HYBRID_TRY(std::string name, as_text(key, "extension identifier"));
      if (name == kExtPrf) {
        HYBRID_TRY(PrfRequest prf, PrfRequest::from_cbor(value, /*allow_by_credential=*/true));
        r.prf = std::move(prf);
      } else {
        r.other_extensions.append_unchecked(key, value);
      }
    }
  }
  if (const cbor::Value* opts = m->find(key::options)) {
    HYBRID_TRY(const cbor::Map* om, as_map(*opts, "getAssertion options (5)"));
    HYBRID_TRY(r.up, optional_bool(*om, "up", "getAssertion option up"));
    HYBRID_TRY(r.uv, optional_bool(*om, "uv", "getAssertion option uv"));
    if (om->find(std::string_view("rk"))) {
      return ctap_error(StatusCode::unsupported_option, "getAssertion does not take the rk option");
    }
  }
  HYBRID_TRY(r.pin_uv_auth_param, optional_bytes(*m, key::pin_uv_auth_param, "getAssertion pinUvAuthParam (6)"));
  HYBRID_TRY(r.pin_uv_auth_protocol, optional_unsigned(*m, key::pin_uv_auth_protocol, "getAssertion pinUvAuthProtocol (7)"));
  return r;
}

Bytes GetAssertionResponse::encode() const {
  cbor::Map m;
  if (credential) m.set(rkey::credential, credential->to_cbor());
  m.set(rkey::auth_data, auth_data);
  m.set(rkey::signature, signature);
  if (user) m.set(rkey::user, user->to_cbor());
  if (number_of_credentials) m.set(rkey::number_of_credentials, *number_of_credentials);
  if (user_selected) m.set(rkey::user_selected, *user_selected);
  if (large_blob_key) m.set(rkey::large_blob_key, *large_blob_key);
  if (unsigned_extension_outputs) m.set(rkey::unsigned_extension_outputs, *unsigned_extension_outputs);
  return cbor::encode(cbor::Value(std::move(m)));
}

Result<GetAssertionResponse> GetAssertionResponse::decode(ByteView data) {
  HYBRID_TRY(cbor::Value v, decode_strict(data, "getAssertion response"));
  HYBRID_TRY(const cbor::Map* m, as_map(v, "getAssertion response"));
  GetAssertionResponse r;
  if (const cbor::Value* c = m->find(rkey::credential)) {
    HYBRID_TRY(CredentialDescriptor d, CredentialDescriptor::from_cbor(*c));
    r.credential = std::move(d);
  }
  HYBRID_TRY(const cbor::Value* ad, required(*m, rkey::auth_data, "getAssertion response authData (2)"));
  HYBRID_TRY(r.auth_data, as_bytes(*ad, "getAssertion response authData (2)"));
  HYBRID_TRY(const cbor::Value* sig, required(*m, rkey::signature, "getAssertion response signature (3)"));
  HYBRID_TRY(r.signature, as_bytes(*sig, "getAssertion response signature (3)"));
  if (const cbor::Value* u = m->find(rkey::user)) {
    HYBRID_TRY(UserEntity user, UserEntity::from_cbor(*u));
    r.user = std::move(user);
  }
  HYBRID_TRY(r.number_of_credentials, optional_unsigned(*m, rkey::number_of_credentials, "getAssertion response numberOfCredentials (5)"));
  HYBRID_TRY(r.user_selected, optional_bool(*m, rkey::user_selected, "getAssertion response userSelected (6)"));
  HYBRID_TRY(r.large_blob_key, optional_bytes(*m, rkey::large_blob_key, "getAssertion response largeBlobKey (7)"));
  if (const cbor::Value* u = m->find(rkey::unsigned_extension_outputs)) {
    HYBRID_TRY(const cbor::Map* um, as_map(*u, "getAssertion response unsignedExtensionOutputs (8)"));
    r.unsigned_extension_outputs = *um;
  }
  return r;
}

}  // namespace hybrid::ctap
