#include "webauthn/verifier.h"

#include <algorithm>
#include <fmt/format.h>

#include "base/json_number.h"
#include "base/log.h"
#include "crypto/primitives.h"
#include "ctap/auth_data.h"
#include "ctap/cose_key.h"
#include "ctap/make_credential.h"
#include "webauthn/client_data.h"

namespace hybrid::webauthn {
namespace {

using json = nlohmann::json;

Error refuse(Rule rule, std::string message) { return Error{rule, std::move(message)}; }

// What registration and sign-in both require of the authenticator data: made for this RP
// ID, user present, and user verified when the user's profile requires it. `what` names
// the thing the authenticator made ("passkey", "assertion").
Status check_auth_data(const ctap::AuthenticatorData& ad, const std::string& rp_id, const PasskeyProfile& profile,
                       std::string_view what) {
  if (ad.rp_id_hash != ctap::rp_id_hash(rp_id)) {
    return refuse(Rule::rp_id, fmt::format("the {} was made for another RP ID than \"{}\"", what, rp_id));
  }
  if (!ad.user_present()) return refuse(Rule::user_presence, "the authenticator did not confirm user presence");
  if (profile.user_verification == "required" && !ad.user_verified()) {
    return refuse(Rule::user_verification,
                  fmt::format("profile '{}' requires user verification and the authenticator did not verify the user",
                              profile.name));
  }
  return {};
}

Result<Bytes> b64(const json& j, const char* name, std::string_view where) {
  if (!j.is_object() || !j.contains(name) || !j[name].is_string()) {
    return refuse(Rule::malformed, fmt::format("{} has no base64url \"{}\"", where, name));
  }
  auto b = base64url_decode(j[name].get<std::string>());
  if (!b.ok()) return refuse(Rule::malformed, fmt::format("{} \"{}\": {}", where, name, b.error().message));
  return std::move(b).value();
}

struct CommonChecks {
  CollectedClientData client_data;
  ctap::ClientDataHash client_data_hash{};
};

bool contains(const std::vector<Bytes>& list, ByteView id) {
  return std::any_of(list.begin(), list.end(),
                     [&](const Bytes& b) { return b.size() == id.size() && std::equal(b.begin(), b.end(), id.begin()); });
}

json descriptor_json(const RegisteredCredential& c) {
  json d = {{"type", "public-key"}, {"id", base64url_encode(c.id)}};
  if (!c.transports.empty()) d["transports"] = c.transports;
  return d;
}

}  // namespace

PasskeyFacts RegisteredCredential::facts() const {
  PasskeyFacts f;
  f.kind = kind();
  f.aaguid = aaguid;
  f.attestation = attestation_type;
  f.attestation_trusted = attestation_trusted;
  return f;
}

json RegisteredCredential::to_json() const {
  return json{{"id", base64url_encode(id)},
              {"public_key_cose", base64url_encode(public_key_cose)},
              {"user_name", user_name},
              {"user_handle", base64url_encode(user_handle)},
              {"aaguid", ctap::aaguid_to_string(aaguid)},
              {"backup_eligible", backup_eligible},
              {"backed_up", backed_up},
              {"sign_count", sign_count},
              {"attestation_format", attestation_format},
              {"attestation_type", std::string(attestation_type_name(attestation_type))},
              {"attestation_trusted", attestation_trusted},
              {"provider", provider},
              {"profile", profile},
              {"transports", transports},
              {"created_at", created_at},
              {"last_used_at", last_used_at}};
}

Result<RegisteredCredential> RegisteredCredential::from_json(const json& j) {
  if (!j.is_object()) return make_error("a registered credential must be a JSON object");
  RegisteredCredential c;
  HYBRID_TRY(c.id, b64(j, "id", "registered credential"));
  HYBRID_TRY(c.public_key_cose, b64(j, "public_key_cose", "registered credential"));
  HYBRID_TRY(c.user_handle, b64(j, "user_handle", "registered credential"));
  try {
    c.user_name = j.at("user_name").get<std::string>();
    HYBRID_TRY(c.aaguid, ctap::aaguid_from_string(j.at("aaguid").get<std::string>()));
    c.backup_eligible = j.at("backup_eligible").get<bool>();
    c.backed_up = j.value("backed_up", false);
    c.attestation_format = j.value("attestation_format", std::string("none"));
    const std::string type = j.value("attestation_type", std::string("none"));
    c.attestation_type = type == "self"          ? AttestationType::self
                         : type == "basic"       ? AttestationType::basic
                         : type == "unsupported" ? AttestationType::unsupported
                                                 : AttestationType::none;
    c.attestation_trusted = j.value("attestation_trusted", false);
    c.provider = j.value("provider", std::string());
    c.profile = j.value("profile", std::string());
    c.transports = j.value("transports", std::vector<std::string>{});
  } catch (const json::exception& e) {
    return make_error(std::string("a registered credential is malformed: ") + e.what());
  }
  HYBRID_TRY(c.sign_count, json_whole_number_field<uint32_t>(j, "sign_count", 0, "a registered credential"));
  HYBRID_TRY(c.created_at, json_whole_number_field<int64_t>(j, "created_at", 0, "a registered credential"));
  HYBRID_TRY(c.last_used_at, json_whole_number_field<int64_t>(j, "last_used_at", 0, "a registered credential"));
  HYBRID_TRY(auto key, ctap::p256_from_cose_key_bytes(c.public_key_cose));
  (void)key;
  return c;
}

RelyingParty::RelyingParty(RelyingPartyConfig config, PasskeyPolicy policy, const AaguidTable& table)
    : config_(std::move(config)), policy_(std::move(policy)), table_(&table) {
  if (policy_.profiles.empty()) policy_ = PasskeyPolicy::allow_all();
}

int64_t RelyingParty::now_ms() const { return now_monotonic_ms(config_.monotonic_ms); }

int64_t RelyingParty::now_s() const { return now_unix_seconds(config_.unix_seconds); }

std::vector<ctap::Certificate> RelyingParty::roots() const {
  std::vector<ctap::Certificate> all = policy_.attestation_roots;
  all.insert(all.end(), config_.attestation_roots.begin(), config_.attestation_roots.end());
  return all;
}

const PasskeyProfile& RelyingParty::profile_for(const UserAccount& user) const {
  return policy_.profile_for(user.name, user.groups);
}

Bytes RelyingParty::issue_challenge(Pending pending) {
  const int64_t now = now_ms();
  std::erase_if(challenges_, [&](const auto& e) { return e.second.expires_at_ms < now; });
  while (challenges_.size() >= config_.max_pending_challenges) {
    auto oldest = std::min_element(challenges_.begin(), challenges_.end(), [](const auto& a, const auto& b) {
      return a.second.expires_at_ms < b.second.expires_at_ms;
    });
    challenges_.erase(oldest);
  }
  Bytes challenge = crypto::random_bytes(32);
  pending.expires_at_ms = now + config_.challenge_lifetime_ms;
  challenges_[challenge] = std::move(pending);
  return challenge;
}

Result<RelyingParty::Pending> RelyingParty::consume_challenge(ByteView challenge, bool registration) {
  auto it = challenges_.find(Bytes(challenge.begin(), challenge.end()));
  if (it == challenges_.end()) {
    return refuse(Rule::challenge, "the challenge is unknown or was already used (a replayed or forged response)");
  }
  Pending p = std::move(it->second);
  challenges_.erase(it);  // single use, whatever the outcome
  if (p.expires_at_ms < now_ms()) return refuse(Rule::challenge, "the challenge expired; start again");
  if (p.registration != registration) {
    return refuse(Rule::challenge, registration ? "the challenge was issued for a sign-in, not a registration"
                                                : "the challenge was issued for a registration, not a sign-in");
  }
  return p;
}

json RelyingParty::begin_registration(const UserAccount& user, const std::vector<RegisteredCredential>& existing) {
  const PasskeyProfile& profile = profile_for(user);
  Pending pending;
  pending.registration = true;
  pending.user_name = user.name;
  Bytes challenge = issue_challenge(std::move(pending));
  json exclude = json::array();
  for (const auto& c : existing) exclude.push_back(descriptor_json(c));
  json options;
  options["rp"] = {{"id", config_.rp_id}, {"name", config_.rp_name.empty() ? config_.rp_id : config_.rp_name}};
  options["user"] = {{"id", base64url_encode(user.handle)},
                     {"name", user.name},
                     {"displayName", user.display_name.empty() ? user.name : user.display_name}};
  options["challenge"] = base64url_encode(challenge);
  options["pubKeyCredParams"] = json::array({{{"type", "public-key"}, {"alg", ctap::kAlgEs256}}});
  options["timeout"] = config_.challenge_lifetime_ms;
  options["excludeCredentials"] = exclude;
  options["authenticatorSelection"] = {{"residentKey", "required"},
                                       {"requireResidentKey", true},
                                       {"userVerification", profile.user_verification}};
  // Ask for attestation only where the profile needs it (it costs privacy elsewhere).
  options["attestation"] = profile.enforce_attestation ? "direct" : "none";
  options["extensions"] = {{"credProps", true}};
  options["hints"] = json::array({"hybrid"});
  return options;
}

json RelyingParty::begin_authentication(const std::optional<UserAccount>& user,
                                        const std::vector<RegisteredCredential>& credentials) {
  Pending pending;
  pending.registration = false;
  std::string uv = "required";
  if (user) {
    pending.user_name = user->name;
    for (const auto& c : credentials) pending.allowed_ids.push_back(c.id);
    uv = profile_for(*user).user_verification;
  } else {
    // Usernameless: the strictest requirement any profile has.
    bool any_required = false;
    for (const auto& p : policy_.profiles) any_required = any_required || p.user_verification == "required";
    uv = any_required ? "required" : "preferred";
  }
  Bytes challenge = issue_challenge(pending);
  json allow = json::array();
  for (const auto& c : credentials) allow.push_back(descriptor_json(c));
  json options;
  options["challenge"] = base64url_encode(challenge);
  options["rpId"] = config_.rp_id;
  options["timeout"] = config_.challenge_lifetime_ms;
  options["allowCredentials"] = allow;
  options["userVerification"] = uv;
  options["hints"] = json::array({"hybrid"});
  return options;
}

Result<RegisteredCredential> RelyingParty::finish_registration(const json& credential, const UserAccount& user,
                                                               const std::function<bool(ByteView)>& id_taken) {
  if (!credential.is_object()) return refuse(Rule::malformed, "the registration response is not a JSON object");
  HYBRID_TRY(Bytes id, b64(credential, "id", "the registration response"));
  if (credential.contains("rawId")) {
    HYBRID_TRY(Bytes raw, b64(credential, "rawId", "the registration response"));
    if (raw != id) return refuse(Rule::malformed, "the registration response's id and rawId differ");
  }
  if (credential.value("type", std::string("public-key")) != "public-key") {
    return refuse(Rule::malformed, "the registration response is not of type public-key");
  }
  if (!credential.contains("response") || !credential["response"].is_object()) {
    return refuse(Rule::malformed, "the registration response has no \"response\"");
  }
  const json& r = credential["response"];
  HYBRID_TRY(Bytes cdj, b64(r, "clientDataJSON", "the registration response"));
  HYBRID_TRY(Bytes att_obj, b64(r, "attestationObject", "the registration response"));

  auto cd = parse_client_data(to_string(cdj));
  if (!cd.ok()) return refuse(Rule::malformed, cd.error().message);
  if (cd->type != kTypeCreate) {
    return refuse(Rule::ceremony_type, fmt::format("clientData type is \"{}\", not \"webauthn.create\"", cd->type));
  }
  HYBRID_TRY(Pending pending, consume_challenge(cd->challenge, /*registration=*/true));
  if (pending.user_name != user.name) {
    return refuse(Rule::challenge, "the challenge was issued to register another user");
  }
  if (std::find(config_.origins.begin(), config_.origins.end(), cd->origin) == config_.origins.end()) {
    return refuse(Rule::origin, fmt::format("the origin \"{}\" is not this site's", cd->origin));
  }
  if (cd->cross_origin || cd->top_origin) return refuse(Rule::cross_origin, "cross-origin (embedded) registrations are not accepted");

  auto att = ctap::MakeCredentialResponse::from_attestation_object(att_obj);
  if (!att.ok()) return refuse(Rule::malformed, "attestation object: " + att.error().message);
  auto ad = ctap::AuthenticatorData::parse(att->auth_data);
  if (!ad.ok()) return refuse(Rule::malformed, ad.error().message);
  if (!ad->attested) return refuse(Rule::malformed, "the authenticator data has no attested credential data");
  const PasskeyProfile& profile = profile_for(user);
  HYBRID_TRY_STATUS(check_auth_data(*ad, config_.rp_id, profile, "passkey"));
  if (ad->backed_up() && !ad->backup_eligible()) {
    return refuse(Rule::backup_flags, "the authenticator data says backed up (BS) but not backup eligible (BE)");
  }
  if (ad->attested->credential_id != id) {
    return refuse(Rule::malformed, "the credential ID in the authenticator data is not the response's id");
  }
  if (id_taken && id_taken(id)) return refuse(Rule::credential_exists, "this credential ID is already registered");
  auto key = ctap::p256_from_cose_key_bytes(ad->attested->public_key_cose);
  if (!key.ok()) return refuse(Rule::algorithm, "the credential key is not usable: " + key.error().message);

  const ctap::ClientDataHash cdh = crypto::sha256(cdj);
  auto result = verify_attestation(*att, *ad, cdh, roots());
  if (!result.ok()) return refuse(Rule::attestation, "attestation: " + result.error().message);

  PasskeyFacts facts;
  facts.kind = ad->backup_eligible() ? ctap::PasskeyKind::synced : ctap::PasskeyKind::device_bound;
  facts.aaguid = ad->attested->aaguid;
  facts.attestation = result->type;
  facts.attestation_trusted = result->type == AttestationType::basic && result->trusted;
  HYBRID_TRY_STATUS(check_registration(profile, facts, *table_));

  RegisteredCredential c;
  c.id = id;
  c.public_key_cose = ad->attested->public_key_cose;
  c.user_name = user.name;
  c.user_handle = user.handle;
  c.aaguid = ad->attested->aaguid;
  c.backup_eligible = ad->backup_eligible();
  c.backed_up = ad->backed_up();
  c.sign_count = ad->sign_count;
  c.attestation_format = att->fmt;
  c.attestation_type = result->type;
  c.attestation_trusted = facts.attestation_trusted;
  c.provider = table_->describe(c.aaguid) + (c.attestation_trusted ? "" : " (unverified)");
  c.profile = profile.name;
  if (r.contains("transports") && r["transports"].is_array()) {
    for (const auto& t : r["transports"])
      if (t.is_string()) c.transports.push_back(t.get<std::string>());
  }
  c.created_at = now_s();
  log::info("rp", "registered a {} passkey ({} attestation{}) under profile '{}'", passkey_kind_name(c.kind()),
            attestation_type_name(c.attestation_type), c.attestation_trusted ? ", trusted" : "", profile.name);
  return c;
}

Result<AssertionOutcome> RelyingParty::finish_authentication(const json& credential, const CredentialLookup& lookup) {
  if (!credential.is_object()) return refuse(Rule::malformed, "the sign-in response is not a JSON object");
  HYBRID_TRY(Bytes id, b64(credential, "id", "the sign-in response"));
  if (credential.contains("rawId")) {
    HYBRID_TRY(Bytes raw, b64(credential, "rawId", "the sign-in response"));
    if (raw != id) return refuse(Rule::malformed, "the sign-in response's id and rawId differ");
  }
  if (!credential.contains("response") || !credential["response"].is_object()) {
    return refuse(Rule::malformed, "the sign-in response has no \"response\"");
  }
  const json& r = credential["response"];
  HYBRID_TRY(Bytes cdj, b64(r, "clientDataJSON", "the sign-in response"));
  HYBRID_TRY(Bytes auth_data, b64(r, "authenticatorData", "the sign-in response"));
  HYBRID_TRY(Bytes signature, b64(r, "signature", "the sign-in response"));
  std::optional<Bytes> user_handle;
  if (r.contains("userHandle") && !r["userHandle"].is_null()) {
    HYBRID_TRY(Bytes h, b64(r, "userHandle", "the sign-in response"));
    if (!h.empty()) user_handle = std::move(h);
  }

  auto cd = parse_client_data(to_string(cdj));
  if (!cd.ok()) return refuse(Rule::malformed, cd.error().message);
  if (cd->type != kTypeGet) {
    return refuse(Rule::ceremony_type, fmt::format("clientData type is \"{}\", not \"webauthn.get\"", cd->type));
  }
  HYBRID_TRY(Pending pending, consume_challenge(cd->challenge, /*registration=*/false));
  if (std::find(config_.origins.begin(), config_.origins.end(), cd->origin) == config_.origins.end()) {
    return refuse(Rule::origin, fmt::format("the origin \"{}\" is not this site's", cd->origin));
  }
  if (cd->cross_origin || cd->top_origin) return refuse(Rule::cross_origin, "cross-origin (embedded) sign-ins are not accepted");
  if (!pending.allowed_ids.empty() && !contains(pending.allowed_ids, id)) {
    return refuse(Rule::credential_unknown, "the passkey used is not one this sign-in asked for");
  }
  auto found = lookup ? lookup(id) : std::nullopt;
  if (!found) return refuse(Rule::credential_unknown, "this passkey is not registered here");
  RegisteredCredential stored = std::move(found->first);
  UserAccount user = std::move(found->second);
  if (user_handle && *user_handle != stored.user_handle) {
    return refuse(Rule::user_handle, "the passkey's user handle does not belong to the registered user");
  }
  if (!user_handle && pending.user_name.empty()) {
    return refuse(Rule::user_handle, "a sign-in without a user name needs the passkey's user handle, and none came");
  }
  if (!pending.user_name.empty() && pending.user_name != stored.user_name) {
    return refuse(Rule::user_handle, "the passkey belongs to another user than the one signing in");
  }

  auto ad = ctap::AuthenticatorData::parse(auth_data);
  if (!ad.ok()) return refuse(Rule::malformed, ad.error().message);
  const PasskeyProfile& profile = profile_for(user);
  HYBRID_TRY_STATUS(check_auth_data(*ad, config_.rp_id, profile, "assertion"));
  auto key = ctap::p256_from_cose_key_bytes(stored.public_key_cose);
  if (!key.ok()) return refuse(Rule::algorithm, "the stored credential key is not usable");
  if (!key->verify_es256(concat(auth_data, crypto::sha256(cdj)), signature)) {
    return refuse(Rule::signature, "the assertion signature does not verify with the registered key");
  }
  if (ad->backup_eligible() != stored.backup_eligible) {
    return refuse(Rule::backup_flags, fmt::format("the passkey was registered as {} but now claims to be {}",
                                                  passkey_kind_name(stored.kind()),
                                                  ad->backup_eligible() ? "synced" : "device-bound"));
  }
  if (ad->backed_up() && !ad->backup_eligible()) {
    return refuse(Rule::backup_flags, "the authenticator data says backed up (BS) but not backup eligible (BE)");
  }
  if ((ad->sign_count != 0 || stored.sign_count != 0) && ad->sign_count <= stored.sign_count) {
    return refuse(Rule::sign_count,
                  fmt::format("the signature counter went from {} to {}: the passkey may have been cloned",
                              stored.sign_count, ad->sign_count));
  }
  HYBRID_TRY_STATUS(check_sign_in(profile, stored.facts(), *table_));

  AssertionOutcome out;
  stored.sign_count = ad->sign_count;
  stored.backed_up = ad->backed_up();
  stored.last_used_at = now_s();
  out.credential = std::move(stored);
  out.user = std::move(user);
  out.profile = profile.name;
  out.user_verified = ad->user_verified();
  log::info("rp", "sign-in with a {} passkey under profile '{}'", passkey_kind_name(out.credential.kind()), profile.name);
  return out;
}

}  // namespace hybrid::webauthn
