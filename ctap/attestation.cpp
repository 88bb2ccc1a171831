#include "ctap/attestation.h"

#include <fmt/format.h>

#include "ctap/cbor_util.h"

namespace hybrid::ctap {
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

}  // namespace hybrid::ctap
