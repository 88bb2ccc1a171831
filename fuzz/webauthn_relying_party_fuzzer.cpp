// The relying party's finish_registration / finish_authentication: what a browser (or the
// kiosk's WebAuthn client, for a phone) hands it. Half of the inputs are raw JSON; the
// other half are built so that they get past the checks a random input never passes — the
// issued challenge, the origin, the RP ID hash, a COSE key, a real ES256 signature with a
// key derived from the input — and the input then picks the flags, counters, formats,
// ids and where to break it. Invariants (abort() = a finding): a challenge is single-use
// (a replayed response is refused), an accepted sign-in's counter never goes backwards,
// a stored credential survives its JSON round trip.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "crypto/p256.h"
#include "crypto/primitives.h"
#include "ctap/attestation.h"
#include "ctap/auth_data.h"
#include "fuzz/invariant.h"
#include "webauthn/client_data.h"
#include "ctap/cose_key.h"
#include "ctap/make_credential.h"
#include "webauthn/verifier.h"

using namespace hybrid;
using namespace hybrid::ctap;
using namespace hybrid::webauthn;
using nlohmann::json;
using hybrid::fuzz::violated;

namespace {

constexpr std::string_view kRpId = "example.com";
constexpr std::string_view kOrigin = "https://example.com";

const PasskeyPolicy& strict_policy() {
  static const PasskeyPolicy policy = [] {
    auto p = PasskeyPolicy::parse(json::parse(R"({
      "version": 1, "default_profile": "staff",
      "groups": {"admins": ["alice"]},
      "profiles": [
        {"name": "admins", "target_groups": ["admins"], "passkey_types": ["device-bound"],
         "enforce_attestation": false, "user_verification": "required",
         "key_restrictions": {"enforcement": "block", "aaguids": ["00000000-0000-0000-0000-000000000001"]}},
        {"name": "staff", "passkey_types": ["device-bound", "synced"], "user_verification": "preferred"}
      ]})"));
    if (!p) violated("the fuzzer's own policy does not parse");
    return std::move(*p);
  }();
  return policy;
}

crypto::P256KeyPair derived_key(ByteView seed) {
  auto k = crypto::P256KeyPair::from_private_scalar(crypto::hkdf_sha256(seed, {}, as_bytes("credential key"), 32));
  if (k) return std::move(*k);
  Bytes one(32, 0);
  one[31] = 1;
  auto fallback = crypto::P256KeyPair::from_private_scalar(one);
  return std::move(*fallback);
}

Bytes small_bytes(FuzzedDataProvider& in, size_t max) {
  return in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, max));
}

// clientDataJSON: the right one, a near miss, or anything.
std::string client_data(FuzzedDataProvider& in, std::string_view type, ByteView challenge) {
  switch (in.ConsumeIntegralInRange<uint8_t>(0, 7)) {
    case 0: return in.ConsumeRandomLengthString(300);
    case 1: return client_data_json(type == kTypeGet ? kTypeCreate : kTypeGet, challenge, kOrigin);
    case 2: return client_data_json(type, small_bytes(in, 40), kOrigin);
    case 3: return client_data_json(type, challenge, in.ConsumeRandomLengthString(40));
    case 4: return client_data_json(type, challenge, kOrigin, /*cross_origin=*/true);
    default: return client_data_json(type, challenge, kOrigin);
  }
}

// Authenticator data bytes: encoded from fuzz-chosen fields, or raw/truncated bytes.
Bytes auth_data(FuzzedDataProvider& in, const crypto::P256KeyPair& key, ByteView credential_id, bool attested) {
  AuthenticatorData ad;
  ad.rp_id_hash = rp_id_hash(in.ConsumeIntegralInRange<uint8_t>(0, 9) == 0 ? "evil.example" : kRpId);
  ad.flags = in.ConsumeIntegral<uint8_t>();
  ad.sign_count = in.ConsumeIntegralInRange<uint8_t>(0, 3) == 0 ? in.ConsumeIntegral<uint32_t>()
                                                                 : in.ConsumeIntegralInRange<uint32_t>(0, 8);
  if (attested) {
    AttestedCredentialData a;
    auto aaguid = in.ConsumeBytes<uint8_t>(16);
    std::copy(aaguid.begin(), aaguid.end(), a.aaguid.begin());
    a.credential_id = in.ConsumeIntegralInRange<uint8_t>(0, 7) == 0 ? small_bytes(in, 40)
                                                                     : Bytes(credential_id.begin(), credential_id.end());
    a.public_key_cose = in.ConsumeIntegralInRange<uint8_t>(0, 7) == 0 ? small_bytes(in, 80) : encode_cose_key(key.public_key());
    ad.attested = std::move(a);
  }
  Bytes out = ad.encode();
  switch (in.ConsumeIntegralInRange<uint8_t>(0, 15)) {
    case 0: return small_bytes(in, 200);
    case 1: out.resize(in.ConsumeIntegralInRange<size_t>(0, out.size())); break;
    case 2: {
      Bytes tail = small_bytes(in, 16);
      out.insert(out.end(), tail.begin(), tail.end());
      break;
    }
    default: break;
  }
  return out;
}

json registration_response(FuzzedDataProvider& in, ByteView challenge, const crypto::P256KeyPair& key, Bytes& id) {
  if (in.ConsumeIntegralInRange<uint8_t>(0, 3) == 0) return json::parse(in.ConsumeRandomLengthString(2000), nullptr, false);
  id = small_bytes(in, 64);
  if (id.empty()) id = {1};
  const std::string cdj = client_data(in, kTypeCreate, challenge);
  MakeCredentialResponse att;
  att.auth_data = auth_data(in, key, id, /*attested=*/in.ConsumeIntegralInRange<uint8_t>(0, 9) != 0);
  const auto cdh = crypto::sha256(as_bytes(cdj));
  switch (in.ConsumeIntegralInRange<uint8_t>(0, 4)) {
    case 0:
      att.fmt = in.ConsumeRandomLengthString(12);
      break;
    case 1:
      att.fmt = "packed";
      att.att_stmt = packed_self_statement(key, att.auth_data, cdh);
      break;
    case 2:
      att.fmt = "packed";
      att.att_stmt.set("alg", in.ConsumeIntegralInRange<int>(-300, 10));
      att.att_stmt.set("sig", small_bytes(in, 80));
      if (in.ConsumeBool()) att.att_stmt.set("x5c", cbor::Array{cbor::Value(small_bytes(in, 300))});
      break;
    default:
      att.fmt = "none";
      att.att_stmt = none_statement();
      break;
  }
  Bytes obj = att.attestation_object();
  json j = {{"id", base64url_encode(id)},
            {"type", in.ConsumeIntegralInRange<uint8_t>(0, 15) == 0 ? "private-key" : "public-key"},
            {"response", {{"clientDataJSON", base64url_encode(as_bytes(cdj))},
                          {"attestationObject", base64url_encode(obj)},
                          {"transports", json::array({"hybrid", in.ConsumeRandomLengthString(8)})}}}};
  if (in.ConsumeBool()) j["rawId"] = in.ConsumeIntegralInRange<uint8_t>(0, 7) == 0 ? base64url_encode(small_bytes(in, 8)) : base64url_encode(id);
  return j;
}

json assertion_response(FuzzedDataProvider& in, ByteView challenge, const crypto::P256KeyPair& key,
                        const RegisteredCredential& stored) {
  if (in.ConsumeIntegralInRange<uint8_t>(0, 3) == 0) return json::parse(in.ConsumeRandomLengthString(2000), nullptr, false);
  const std::string cdj = client_data(in, kTypeGet, challenge);
  Bytes ad = auth_data(in, key, {}, /*attested=*/in.ConsumeIntegralInRange<uint8_t>(0, 15) == 0);
  Bytes signed_data = ad;
  auto cdh = crypto::sha256(as_bytes(cdj));
  signed_data.insert(signed_data.end(), cdh.begin(), cdh.end());
  Bytes sig = in.ConsumeIntegralInRange<uint8_t>(0, 7) == 0 ? small_bytes(in, 80) : key.sign_es256(signed_data);
  Bytes id = in.ConsumeIntegralInRange<uint8_t>(0, 7) == 0 ? small_bytes(in, 32) : stored.id;
  json r = {{"clientDataJSON", base64url_encode(as_bytes(cdj))},
            {"authenticatorData", base64url_encode(ad)},
            {"signature", base64url_encode(sig)}};
  switch (in.ConsumeIntegralInRange<uint8_t>(0, 3)) {
    case 0: break;
    case 1: r["userHandle"] = base64url_encode(small_bytes(in, 16)); break;
    case 2: r["userHandle"] = nullptr; break;
    default: r["userHandle"] = base64url_encode(stored.user_handle); break;
  }
  return json{{"id", base64url_encode(id)}, {"type", "public-key"}, {"response", r}};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Bytes seed = in.ConsumeBytes<uint8_t>(16);
  const crypto::P256KeyPair key = derived_key(seed);

  RelyingPartyConfig config;
  config.rp_id = std::string(kRpId);
  config.rp_name = "Example";
  config.origins = {std::string(kOrigin)};
  config.max_pending_challenges = 4;
  int64_t clock_ms = 1000;
  config.monotonic_ms = [&clock_ms] { return clock_ms; };
  config.unix_seconds = [] { return int64_t{1700000000}; };
  RelyingParty rp(config, in.ConsumeBool() ? PasskeyPolicy::allow_all() : strict_policy());

  UserAccount user{in.ConsumeBool() ? "alice" : "bob", "A user", Bytes(16, 0x75), {}};

  // Registration.
  json options = rp.begin_registration(user);
  auto challenge = base64url_decode(options["challenge"].get<std::string>());
  if (!challenge) violated("the RP's own challenge is not base64url");
  Bytes id;
  json reg_json = registration_response(in, *challenge, key, id);
  if (in.ConsumeIntegralInRange<uint8_t>(0, 15) == 0) clock_ms += 10 * 60 * 1000;  // past the challenge's life
  auto reg = rp.finish_registration(reg_json, user, [&](ByteView) { return in.ConsumeIntegralInRange<uint8_t>(0, 15) == 0; });
  RegisteredCredential stored;
  if (reg) {
    if (rp.finish_registration(reg_json, user)) violated("a registration response was accepted twice");
    auto again = RegisteredCredential::from_json(reg->to_json());
    if (!again || again->id != reg->id || again->public_key_cose != reg->public_key_cose ||
        again->sign_count != reg->sign_count || again->backup_eligible != reg->backup_eligible) {
      violated("a registered credential does not survive its JSON round trip");
    }
    stored = *reg;
  } else {
    // Sign-ins still get a credential to check against: the derived key, stored as the
    // fuzzer says.
    stored.id = {1, 2, 3, 4};
    stored.public_key_cose = encode_cose_key(key.public_key());
    stored.user_name = user.name;
    stored.user_handle = user.handle;
    stored.backup_eligible = in.ConsumeBool();
    stored.sign_count = in.ConsumeIntegralInRange<uint32_t>(0, 4);
    stored.profile = "staff";
  }

  // A few sign-ins with that credential.
  for (int round = 0; round < 3 && in.remaining_bytes() > 0; ++round) {
    const bool named = in.ConsumeBool();
    json request = rp.begin_authentication(named ? std::optional<UserAccount>(user) : std::nullopt, {stored});
    auto c = base64url_decode(request["challenge"].get<std::string>());
    if (!c) violated("the RP's own challenge is not base64url");
    json response = assertion_response(in, *c, key, stored);
    auto lookup = [&](ByteView cid) -> std::optional<std::pair<RegisteredCredential, UserAccount>> {
      if (Bytes(cid.begin(), cid.end()) != stored.id) return std::nullopt;
      return std::make_pair(stored, user);
    };
    auto outcome = rp.finish_authentication(response, lookup);
    if (!outcome) continue;
    const uint32_t before = stored.sign_count, after = outcome->credential.sign_count;
    if ((before != 0 || after != 0) && after <= before) violated("an accepted sign-in moved the counter backwards");
    if (rp.finish_authentication(response, lookup)) violated("a sign-in response was accepted twice");
    stored = outcome->credential;
  }
  return 0;
}
