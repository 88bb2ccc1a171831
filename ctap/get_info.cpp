#include "ctap/get_info.h"

#include <fmt/format.h>

#include "ctap/cbor_util.h"
#include "ctap/member_keys.h"

namespace hybrid::ctap {

namespace key = keys::get_info;

bool GetInfoResponse::has_extension(std::string_view name) const {
  for (const auto& e : extensions)
    if (e == name) return true;
  return false;
}

Bytes GetInfoResponse::encode() const {
  cbor::Map m;
  m.set(key::versions, text_array(versions));
  if (!extensions.empty()) m.set(key::extensions, text_array(extensions));
  m.set(key::aaguid, aaguid);
  if (!options.empty()) {
    cbor::Map o;
    for (const auto& [k, v] : options) o.set(k, v);
    m.set(key::options, std::move(o));
  }
  if (max_msg_size) m.set(key::max_msg_size, *max_msg_size);
  if (!pin_uv_auth_protocols.empty()) {
    cbor::Array a;
    for (auto p : pin_uv_auth_protocols) a.emplace_back(p);
    m.set(key::pin_uv_auth_protocols, std::move(a));
  }
  if (max_credential_count_in_list) m.set(key::max_credential_count_in_list, *max_credential_count_in_list);
  if (max_credential_id_length) m.set(key::max_credential_id_length, *max_credential_id_length);
  if (!transports.empty()) m.set(key::transports, text_array(transports));
  if (!algorithms.empty()) {
    cbor::Array a;
    for (const auto& p : algorithms) a.push_back(p.to_cbor());
    m.set(key::algorithms, std::move(a));
  }
  return cbor::encode(cbor::Value(std::move(m)));
}

Result<GetInfoResponse> GetInfoResponse::decode(ByteView data) {
  HYBRID_TRY(cbor::Value v, decode_strict(data, "getInfo response"));
  HYBRID_TRY(const cbor::Map* m, as_map(v, "getInfo response"));
  GetInfoResponse r;
  HYBRID_TRY(const cbor::Value* versions, required(*m, key::versions, "getInfo versions (1)"));
  HYBRID_TRY(r.versions, as_text_array(*versions, "getInfo versions (1)"));
  if (const cbor::Value* ext = m->find(key::extensions)) {
    HYBRID_TRY(r.extensions, as_text_array(*ext, "getInfo extensions (2)"));
  }
  HYBRID_TRY(const cbor::Value* aaguid, required(*m, key::aaguid, "getInfo aaguid (3)"));
  HYBRID_TRY(Bytes aaguid_bytes, as_bytes(*aaguid, "getInfo aaguid (3)"));
  if (aaguid_bytes.size() != 16) {
    return ctap_error(StatusCode::invalid_length,
                      fmt::format("getInfo aaguid (3) must be 16 bytes, got {}", aaguid_bytes.size()));
  }
  std::copy(aaguid_bytes.begin(), aaguid_bytes.end(), r.aaguid.begin());
  if (const cbor::Value* opts = m->find(key::options)) {
    HYBRID_TRY(const cbor::Map* om, as_map(*opts, "getInfo options (4)"));
    for (const auto& [k, val] : *om) {
      HYBRID_TRY(std::string name, as_text(k, "getInfo option name"));
      HYBRID_TRY(bool b, as_bool(val, fmt::format("getInfo option '{}'", name)));
      r.options[name] = b;
    }
  }
  HYBRID_TRY(r.max_msg_size, optional_unsigned(*m, key::max_msg_size, "getInfo maxMsgSize (5)"));
  if (const cbor::Value* p = m->find(key::pin_uv_auth_protocols)) {
    HYBRID_TRY(const cbor::Array* a, as_array(*p, "getInfo pinUvAuthProtocols (6)"));
    for (const auto& item : *a) {
      HYBRID_TRY(uint64_t u, as_unsigned(item, "getInfo pinUvAuthProtocols entry"));
      r.pin_uv_auth_protocols.push_back(u);
    }
  }
  HYBRID_TRY(r.max_credential_count_in_list, optional_unsigned(*m, key::max_credential_count_in_list, "getInfo maxCredentialCountInList (7)"));
  HYBRID_TRY(r.max_credential_id_length, optional_unsigned(*m, key::max_credential_id_length, "getInfo maxCredentialIdLength (8)"));
  if (const cbor::Value* t = m->find(key::transports)) {
    HYBRID_TRY(r.transports, as_text_array(*t, "getInfo transports (9)"));
  }
  if (const cbor::Value* algs = m->find(key::algorithms)) {
    HYBRID_TRY(const cbor::Array* a, as_array(*algs, "getInfo algorithms (10)"));
    for (const auto& item : *a) {
      HYBRID_TRY(CredentialParameter p, CredentialParameter::from_cbor(item));
      r.algorithms.push_back(std::move(p));
    }
  }
  return r;
}

}  // namespace hybrid::ctap
