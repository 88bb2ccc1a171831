#include "ctap/extensions.h"

#include <fmt/format.h>

#include "crypto/primitives.h"
#include "ctap/cbor_util.h"

namespace hybrid::ctap {
namespace {

Result<PrfSalt> salt_from(const cbor::Value& v, std::string_view what) {
  HYBRID_TRY(Bytes b, as_bytes(v, what));
  if (b.size() != 32) {
    return ctap_error(StatusCode::invalid_length, fmt::format("{} must be 32 bytes, got {}", what, b.size()));
  }
  PrfSalt s{};
  std::copy(b.begin(), b.end(), s.begin());
  return s;
}

Result<PrfValue> value_from(const cbor::Value& v, std::string_view what) { return salt_from(v, what); }

}  // namespace

cbor::Value PrfSalts::to_cbor() const {
  cbor::Map m;
  m.set("first", first);
  if (second) m.set("second", *second);
  return cbor::Value(std::move(m));
}

Result<PrfSalts> PrfSalts::from_cbor(const cbor::Value& v, std::string_view what) {
  HYBRID_TRY(const cbor::Map* m, as_map(v, what));
  PrfSalts s;
  const std::string first_name = fmt::format("{}.first", what);
  HYBRID_TRY(const cbor::Value* first, required(*m, "first", first_name));
  HYBRID_TRY(s.first, salt_from(*first, first_name));
  if (const cbor::Value* second = m->find(std::string_view("second"))) {
    HYBRID_TRY(PrfSalt s2, salt_from(*second, fmt::format("{}.second", what)));
    s.second = s2;
  }
  return s;
}

const PrfSalts* PrfRequest::salts_for(ByteView credential_id) const {
  for (const auto& [id, salts] : eval_by_credential) {
    if (id.size() == credential_id.size() && std::equal(id.begin(), id.end(), credential_id.begin())) return &salts;
  }
  return eval ? &*eval : nullptr;
}

cbor::Value PrfRequest::to_cbor() const {
  cbor::Map m;
  if (eval) m.set("eval", eval->to_cbor());
  if (!eval_by_credential.empty()) {
    cbor::Map by;
    for (const auto& [id, salts] : eval_by_credential) by.set(id, salts.to_cbor());
    m.set("evalByCredential", std::move(by));
  }
  return cbor::Value(std::move(m));
}

Result<PrfRequest> PrfRequest::from_cbor(const cbor::Value& v, bool allow_by_credential) {
  HYBRID_TRY(const cbor::Map* m, as_map(v, "prf extension input"));
  PrfRequest r;
  if (const cbor::Value* eval = m->find(std::string_view("eval"))) {
    HYBRID_TRY(PrfSalts s, PrfSalts::from_cbor(*eval, "prf.eval"));
    r.eval = s;
  }
  if (const cbor::Value* by = m->find(std::string_view("evalByCredential"))) {
    if (!allow_by_credential) {
      return ctap_error(StatusCode::invalid_parameter, "prf.evalByCredential is not allowed when creating a credential");
    }
    HYBRID_TRY(const cbor::Map* bm, as_map(*by, "prf.evalByCredential"));
    for (const auto& [key, value] : *bm) {
      HYBRID_TRY(Bytes id, as_bytes(key, "prf.evalByCredential key (a credential ID)"));
      if (id.empty()) return ctap_error(StatusCode::invalid_parameter, "prf.evalByCredential has an empty credential ID");
      HYBRID_TRY(PrfSalts s, PrfSalts::from_cbor(value, "prf.evalByCredential entry"));
      r.eval_by_credential.emplace_back(std::move(id), s);
    }
  }
  return r;
}

cbor::Value PrfOutput::to_cbor() const {
  cbor::Map m;
  if (enabled) m.set("enabled", *enabled);
  if (results) {
    cbor::Map res;
    res.set("first", results->first);
    if (results->second) res.set("second", *results->second);
    m.set("results", std::move(res));
  }
  return cbor::Value(std::move(m));
}

Result<PrfOutput> PrfOutput::from_cbor(const cbor::Value& v) {
  HYBRID_TRY(const cbor::Map* m, as_map(v, "prf extension output"));
  PrfOutput out;
  HYBRID_TRY(out.enabled, optional_bool(*m, "enabled", "prf.enabled"));
  if (const cbor::Value* res = m->find(std::string_view("results"))) {
    HYBRID_TRY(const cbor::Map* rm, as_map(*res, "prf.results"));
    PrfResults r;
    HYBRID_TRY(const cbor::Value* first, required(*rm, "first", "prf.results.first"));
    HYBRID_TRY(r.first, value_from(*first, "prf.results.first"));
    if (const cbor::Value* second = rm->find(std::string_view("second"))) {
      HYBRID_TRY(PrfValue s, value_from(*second, "prf.results.second"));
      r.second = s;
    }
    out.results = r;
  }
  return out;
}

PrfResults evaluate_prf(ByteView cred_random, const PrfSalts& salts) {
  PrfResults r;
  r.first = crypto::hmac_sha256(cred_random, salts.first);
  if (salts.second) r.second = crypto::hmac_sha256(cred_random, *salts.second);
  return r;
}

PrfSalt webauthn_prf_salt(ByteView input) {
  static constexpr std::string_view kPrefix{"WebAuthn PRF\0", 13};
  return crypto::sha256(concat(hybrid::as_bytes(kPrefix), input));
}

}  // namespace hybrid::ctap
