#include "bridge/test_authenticator.h"

#include <algorithm>

#include "bridge/ctap_front.h"
#include "cbor/codec.h"
#include "crypto/primitives.h"

using namespace std::string_view_literals;

namespace hybrid::bridge {
namespace {

constexpr uint8_t kFlagUp = 0x01;
constexpr uint8_t kFlagUv = 0x04;
constexpr uint8_t kFlagAttested = 0x40;

Bytes status(CtapStatus s) { return Bytes{uint8_t(s)}; }

Bytes ok_with(const cbor::Map& m) {
  Bytes out{uint8_t(CtapStatus::ok)};
  auto body = cbor::encode(cbor::Value(m));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

void append_u32(Bytes& b, uint32_t v) {
  b.push_back(uint8_t(v >> 24));
  b.push_back(uint8_t(v >> 16));
  b.push_back(uint8_t(v >> 8));
  b.push_back(uint8_t(v));
}

bool option(const cbor::Map& params, int key, std::string_view name, bool fallback) {
  const cbor::Value* o = params.find(key);
  if (!o || !o->is_map()) return fallback;
  const cbor::Value* v = o->as_map().find(name);
  return v && v->is_bool() ? v->as_bool() : fallback;
}

bool in_list(const cbor::Value* list, const Bytes& id) {
  if (!list || !list->is_array()) return false;
  for (const auto& d : list->as_array()) {
    if (!d.is_map()) continue;
    const cbor::Value* did = d.as_map().find("id"sv);
    if (did && did->is_bytes() && did->as_bytes() == id) return true;
  }
  return false;
}

}  // namespace

TestAuthenticator::TestAuthenticator() { aaguid_ = crypto::random_array<16>(); }

Bytes TestAuthenticator::process(ByteView request) {
  if (request.empty()) return status(CtapStatus::invalid_length);
  switch (static_cast<CtapCommand>(request[0])) {
    case CtapCommand::make_credential: return make_credential(request.subspan(1));
    case CtapCommand::get_assertion: return get_assertion(request.subspan(1));
    case CtapCommand::get_info: return get_info();
    default: return status(CtapStatus::invalid_command);
  }
}

Bytes TestAuthenticator::get_info() const {
  cbor::Map info;
  info.set(1, cbor::Array{"FIDO_2_0", "FIDO_2_1"});
  info.set(3, aaguid_);
  info.set(4, cbor::Map{{"rk", true}, {"uv", true}});
  info.set(9, cbor::Array{"hybrid", "internal"});
  return ok_with(info);
}

Bytes TestAuthenticator::make_credential(ByteView params_bytes) {
  auto decoded = cbor::decode(params_bytes);
  if (!decoded.ok()) return status(CtapStatus::invalid_cbor);
  if (!decoded->is_map()) return status(CtapStatus::cbor_unexpected_type);
  const cbor::Map& p = decoded->as_map();
  const cbor::Value* cdh = p.find(1);
  const cbor::Value* rp = p.find(2);
  const cbor::Value* user = p.find(3);
  const cbor::Value* algs = p.find(4);
  if (!cdh || !rp || !user || !algs) return status(CtapStatus::missing_parameter);
  if (!cdh->is_bytes() || !rp->is_map() || !user->is_map() || !algs->is_array()) {
    return status(CtapStatus::cbor_unexpected_type);
  }
  const cbor::Value* rp_id = rp->as_map().find("id"sv);
  const cbor::Value* user_id = user->as_map().find("id"sv);
  if (!rp_id || !rp_id->is_text() || !user_id || !user_id->is_bytes()) {
    return status(CtapStatus::missing_parameter);
  }
  bool es256 = std::any_of(algs->as_array().begin(), algs->as_array().end(), [](const cbor::Value& a) {
    if (!a.is_map()) return false;
    const cbor::Value* alg = a.as_map().find("alg"sv);
    return alg && alg->is_integer() && alg->fits_int64() && alg->as_int64() == -7;
  });
  if (!es256) return status(CtapStatus::unsupported_algorithm);
  const cbor::Value* exclude = p.find(5);
  for (const auto& c : credentials_) {
    if (c.rp_id == rp_id->as_text() && in_list(exclude, c.id)) return Bytes{0x19};  // CREDENTIAL_EXCLUDED
  }

  Credential cred{crypto::random_bytes(16), rp_id->as_text(), user_id->as_bytes(), "",
                  crypto::P256KeyPair::generate(), option(p, 7, "rk", false), 0};
  if (const cbor::Value* name = user->as_map().find("name"sv); name && name->is_text()) cred.user_name = name->as_text();

  auto rp_hash = crypto::sha256(as_bytes(cred.rp_id));
  Bytes auth_data(rp_hash.begin(), rp_hash.end());
  uint8_t flags = kFlagUp | kFlagAttested | (option(p, 7, "uv", false) ? kFlagUv : 0);
  auth_data.push_back(flags);
  append_u32(auth_data, cred.sign_count);
  auth_data.insert(auth_data.end(), aaguid_.begin(), aaguid_.end());
  auth_data.push_back(uint8_t(cred.id.size() >> 8));
  auth_data.push_back(uint8_t(cred.id.size()));
  auth_data.insert(auth_data.end(), cred.id.begin(), cred.id.end());
  const auto& pub = cred.key.public_key();
  cbor::Map cose;
  cose.set(1, 2);    // kty: EC2
  cose.set(3, -7);   // alg: ES256
  cose.set(-1, 1);   // crv: P-256
  cose.set(-2, pub.x());
  cose.set(-3, pub.y());
  auto cose_bytes = cbor::encode(cbor::Value(cose));
  auth_data.insert(auth_data.end(), cose_bytes.begin(), cose_bytes.end());

  credentials_.push_back(std::move(cred));
  cbor::Map response;
  response.set(1, "none");
  response.set(2, std::move(auth_data));
  response.set(3, cbor::Map{});
  return ok_with(response);
}

Bytes TestAuthenticator::get_assertion(ByteView params_bytes) {
  auto decoded = cbor::decode(params_bytes);
  if (!decoded.ok()) return status(CtapStatus::invalid_cbor);
  if (!decoded->is_map()) return status(CtapStatus::cbor_unexpected_type);
  const cbor::Map& p = decoded->as_map();
  const cbor::Value* rp_id = p.find(1);
  const cbor::Value* cdh = p.find(2);
  if (!rp_id || !cdh) return status(CtapStatus::missing_parameter);
  if (!rp_id->is_text() || !cdh->is_bytes()) return status(CtapStatus::cbor_unexpected_type);
  const cbor::Value* allow = p.find(3);
  bool has_allow = allow && allow->is_array() && !allow->as_array().empty();

  std::vector<Credential*> matches;
  for (auto& c : credentials_) {
    if (c.rp_id != rp_id->as_text()) continue;
    if (has_allow ? in_list(allow, c.id) : c.discoverable) matches.push_back(&c);
  }
  if (matches.empty()) return status(CtapStatus::no_credentials);
  Credential& c = *matches.front();
  bool up = option(p, 5, "up", true);
  bool uv = option(p, 5, "uv", false);

  auto rp_hash = crypto::sha256(as_bytes(c.rp_id));
  Bytes auth_data(rp_hash.begin(), rp_hash.end());
  auth_data.push_back(uint8_t((up ? kFlagUp : 0) | (uv ? kFlagUv : 0)));
  append_u32(auth_data, ++c.sign_count);
  Bytes signed_data = concat(auth_data, cdh->as_bytes());

  cbor::Map response;
  response.set(1, cbor::Map{{"id", c.id}, {"type", "public-key"}});
  response.set(2, auth_data);
  response.set(3, c.key.sign_es256(signed_data));
  if (!has_allow) {
    cbor::Map user{{"id", c.user_id}};
    if (!c.user_name.empty()) user.set("name", c.user_name);
    response.set(4, std::move(user));
    if (matches.size() > 1) response.set(5, uint64_t(matches.size()));
  }
  return ok_with(response);
}

}  // namespace hybrid::bridge
