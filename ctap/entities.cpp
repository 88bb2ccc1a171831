#include "ctap/entities.h"

#include <fmt/format.h>

#include "ctap/cbor_util.h"

namespace hybrid::ctap {

cbor::Value RpEntity::to_cbor() const {
  cbor::Map m;
  m.set("id", id);
  if (name) m.set("name", *name);
  return cbor::Value(std::move(m));
}

Result<RpEntity> RpEntity::from_cbor(const cbor::Value& v) {
  HYBRID_TRY(const cbor::Map* m, as_map(v, "rp"));
  RpEntity rp;
  HYBRID_TRY(const cbor::Value* id, required(*m, "id", "rp.id"));
  HYBRID_TRY(rp.id, as_text(*id, "rp.id"));
  HYBRID_TRY(rp.name, optional_text(*m, "name", "rp.name"));
  // "icon" (CTAP 2.0) and unknown members are ignored, as the spec asks.
  return rp;
}

cbor::Value UserEntity::to_cbor() const {
  cbor::Map m;
  m.set("id", id);
  if (name) m.set("name", *name);
  if (display_name) m.set("displayName", *display_name);
  return cbor::Value(std::move(m));
}

Result<UserEntity> UserEntity::from_cbor(const cbor::Value& v) {
  HYBRID_TRY(const cbor::Map* m, as_map(v, "user"));
  UserEntity user;
  HYBRID_TRY(const cbor::Value* id, required(*m, "id", "user.id"));
  HYBRID_TRY(user.id, as_bytes(*id, "user.id"));
  if (user.id.empty() || user.id.size() > kMaxUserIdLength) {
    return ctap_error(StatusCode::invalid_length,
                      fmt::format("user.id must be 1 to {} bytes, got {}", kMaxUserIdLength, user.id.size()));
  }
  HYBRID_TRY(user.name, optional_text(*m, "name", "user.name"));
  HYBRID_TRY(user.display_name, optional_text(*m, "displayName", "user.displayName"));
  return user;
}

cbor::Value CredentialDescriptor::to_cbor() const {
  cbor::Map m;
  m.set("type", type);
  m.set("id", id);
  if (transports) m.set("transports", text_array(*transports));
  return cbor::Value(std::move(m));
}

Result<CredentialDescriptor> CredentialDescriptor::from_cbor(const cbor::Value& v) {
  HYBRID_TRY(const cbor::Map* m, as_map(v, "credential descriptor"));
  CredentialDescriptor d;
  HYBRID_TRY(const cbor::Value* type, required(*m, "type", "credential descriptor type"));
  HYBRID_TRY(d.type, as_text(*type, "credential descriptor type"));
  HYBRID_TRY(const cbor::Value* id, required(*m, "id", "credential descriptor id"));
  HYBRID_TRY(d.id, as_bytes(*id, "credential descriptor id"));
  if (const cbor::Value* t = m->find(std::string_view("transports"))) {
    HYBRID_TRY(auto transports, as_text_array(*t, "credential descriptor transports"));
    d.transports = std::move(transports);
  }
  return d;
}

cbor::Value CredentialParameter::to_cbor() const {
  cbor::Map m;
  m.set("alg", alg);
  m.set("type", type);
  return cbor::Value(std::move(m));
}

Result<CredentialParameter> CredentialParameter::from_cbor(const cbor::Value& v) {
  HYBRID_TRY(const cbor::Map* m, as_map(v, "pubKeyCredParams entry"));
  CredentialParameter p;
  HYBRID_TRY(const cbor::Value* alg, required(*m, "alg", "pubKeyCredParams alg"));
  HYBRID_TRY(p.alg, as_int(*alg, "pubKeyCredParams alg"));
  HYBRID_TRY(const cbor::Value* type, required(*m, "type", "pubKeyCredParams type"));
  HYBRID_TRY(p.type, as_text(*type, "pubKeyCredParams type"));
  return p;
}

Result<std::vector<CredentialDescriptor>> descriptors_from_cbor(const cbor::Value& v, std::string_view what) {
  HYBRID_TRY(const cbor::Array* a, as_array(v, what));
  std::vector<CredentialDescriptor> out;
  out.reserve(a->size());
  for (size_t i = 0; i < a->size(); ++i) {
    auto d = CredentialDescriptor::from_cbor((*a)[i]);
    if (!d.ok()) return d.error().with_context(fmt::format("{}[{}]", what, i));
    out.push_back(std::move(d).value());
  }
  return out;
}

cbor::Value descriptors_to_cbor(const std::vector<CredentialDescriptor>& list) {
  cbor::Array a;
  a.reserve(list.size());
  for (const auto& d : list) a.push_back(d.to_cbor());
  return cbor::Value(std::move(a));
}

}  // namespace hybrid::ctap
