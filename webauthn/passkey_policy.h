// Passkey profiles as Microsoft Entra ID has them (../shared/spec/passkey-policy.md): each
// profile targets groups of users and says which passkey types may be registered and
// used (device-bound, synced), whether attestation is enforced, and an optional AAGUID
// allow or block list. A policy file (JSON, schema in docs/ctap.md) holds several; a user
// gets the first profile (in file order) that targets one of their groups, else the
// default profile. Every refusal names the profile and the rule.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctap/credential_store.h"
#include "ctap/x509.h"
#include "webauthn/aaguid_table.h"
#include "webauthn/attestation_verification.h"

namespace hybrid::webauthn {

// Error::code of every relying-party refusal (verifier and policy), in its own domain.
enum class Rule : int {
  malformed = 1,          // the response is not well-formed
  ceremony_type,          // clientData.type is not webauthn.create / webauthn.get
  challenge,              // unknown, reused or expired challenge
  origin,                 // clientData.origin is not one of ours
  cross_origin,           // crossOrigin true or a topOrigin
  rp_id,                  // rpIdHash is not SHA-256 of our RP ID
  user_presence,          // UP flag missing
  user_verification,      // UV flag missing where the profile requires it
  attestation,            // attestation statement malformed or its signature bad
  algorithm,              // credential key is not ES256
  credential_unknown,     // assertion with a credential we never registered
  credential_exists,      // registration of a credential ID that is already registered
  user_handle,            // userHandle missing (discoverable flow) or not the credential's user
  signature,              // assertion signature does not verify
  sign_count,             // signature counter did not increase: possible cloned authenticator
  backup_flags,           // BE changed since registration, or BS without BE
  policy_passkey_types,   // synced / device-bound not allowed by the profile
  policy_attestation,     // profile enforces attestation; this passkey is not attested to a trusted root
  policy_allowed_aaguids, // AAGUID not on the profile's allow list
  policy_blocked_aaguids, // AAGUID on the profile's block list
};
HYBRID_ERROR_DOMAIN(Rule, "relying party")
// Short stable names for logs and JSON: "origin", "passkey_types", "blocked_aaguids", …
std::string_view rule_name(Rule rule);
// The rule that refused, when `e` is a refusal (and not, say, a storage failure).
inline std::optional<Rule> rule_of(const Error& e) { return e.as<Rule>(); }
// Refusals by a passkey profile (as opposed to the WebAuthn checks every RP makes).
bool is_policy_rule(Rule rule);
inline bool is_policy_refusal(const Error& e) {
  auto rule = rule_of(e);
  return rule && is_policy_rule(*rule);
}
// The refusing rule's name, or "" when `e` is not a refusal.
inline std::string rule_text(const Error& e) {
  auto rule = rule_of(e);
  return rule ? std::string(rule_name(*rule)) : std::string();
}

enum class KeyRestriction { off, allow, block };

struct PasskeyProfile {
  std::string name;
  std::string description;
  std::vector<std::string> target_groups;
  bool allow_device_bound = true;
  bool allow_synced = true;
  bool enforce_attestation = false;
  KeyRestriction key_restriction = KeyRestriction::off;
  std::vector<ctap::Aaguid> aaguids;
  std::string user_verification = "required";  // required | preferred | discouraged
  std::string advice;                           // appended to refusals ("use your security key")
};

// What a relying party knows about one passkey when it decides.
struct PasskeyFacts {
  ctap::PasskeyKind kind = ctap::PasskeyKind::synced;  // from BE
  ctap::Aaguid aaguid{};
  AttestationType attestation = AttestationType::none;
  bool attestation_trusted = false;  // a packed x5c chain verified to a trusted root
};

struct PasskeyPolicy {
  int version = 1;
  std::vector<PasskeyProfile> profiles;
  std::string default_profile;
  std::map<std::string, std::vector<std::string>> groups;  // group → user names (optional directory)
  std::vector<ctap::Certificate> attestation_roots;

  // One profile, "default": both types, no attestation, no key restrictions, UV preferred.
  static PasskeyPolicy allow_all();
  // Strict: unknown members, unknown values and contradictions are errors. Relative root
  // certificate paths are resolved against `base_dir`.
  static Result<PasskeyPolicy> parse(const nlohmann::json& j, const std::string& base_dir = ".");
  static Result<PasskeyPolicy> load(const std::string& path);
  nlohmann::json to_json() const;  // roots as inline PEM

  // The groups the policy's own directory lists `user` in.
  std::vector<std::string> groups_of(std::string_view user) const;
  // First profile (file order) targeting one of `groups` (plus the directory's), else default.
  const PasskeyProfile& profile_for(std::string_view user, const std::vector<std::string>& groups) const;
  const PasskeyProfile* find(std::string_view name) const;
};

// The profile's rules at registration and at every sign-in. Errors carry a Rule code and
// a message naming the profile, e.g. "synced passkeys are not allowed by profile
// 'admins'; use your security key".
Status check_registration(const PasskeyProfile& profile, const PasskeyFacts& facts,
                          const AaguidTable& table = AaguidTable::builtin());
Status check_sign_in(const PasskeyProfile& profile, const PasskeyFacts& facts,
                     const AaguidTable& table = AaguidTable::builtin());

}  // namespace hybrid::webauthn
