// The relying party: issues single-use challenges, verifies registrations (clientDataJSON
// type/challenge/origin, rpIdHash, flags, attestation "none", "packed" self and "packed"
// x5c to trusted roots with FIDO's certificate requirements) and assertions (signature over
// authData ‖ SHA-256(clientDataJSON), known credential, UP/UV, sign-count regression, BE/BS
// consistency), and enforces the user's passkey profile at registration and at every
// sign-in. Input and output are WebAuthn JSON (PublicKeyCredential.toJSON()).
// Every refusal is an Error whose code is a Rule and whose message names the rule (and,
// for policy refusals, the profile).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "webauthn/aaguid_table.h"
#include "webauthn/attestation_verification.h"
#include "webauthn/passkey_policy.h"

namespace hybrid::webauthn {

struct RelyingPartyConfig {
  std::string rp_id;                  // "example.com"
  std::string rp_name;                // shown by the phone
  std::vector<std::string> origins;   // accepted clientData origins, e.g. "https://example.com"
  std::vector<ctap::Certificate> attestation_roots;  // in addition to the policy's
  int64_t challenge_lifetime_ms = 5 * 60 * 1000;
  size_t max_pending_challenges = 10000;  // oldest are dropped beyond this
  InjectedClock monotonic_ms;  // tests inject clocks
  InjectedClock unix_seconds;
};

struct UserAccount {
  std::string name;          // unique login name
  std::string display_name;
  Bytes handle;              // WebAuthn user handle, 1…64 random bytes
  std::vector<std::string> groups;
};

// What the relying party stores per registered passkey.
struct RegisteredCredential {
  Bytes id;
  Bytes public_key_cose;
  std::string user_name;
  Bytes user_handle;
  ctap::Aaguid aaguid{};
  bool backup_eligible = false;  // fixed for the credential's life
  bool backed_up = false;
  uint32_t sign_count = 0;
  std::string attestation_format;
  AttestationType attestation_type = AttestationType::none;
  bool attestation_trusted = false;
  std::string provider;  // from the AAGUID table ("unverified" unless attested)
  std::string profile;   // profile that admitted it
  std::vector<std::string> transports;
  int64_t created_at = 0;
  int64_t last_used_at = 0;

  ctap::PasskeyKind kind() const { return backup_eligible ? ctap::PasskeyKind::synced : ctap::PasskeyKind::device_bound; }
  PasskeyFacts facts() const;
  nlohmann::json to_json() const;
  static Result<RegisteredCredential> from_json(const nlohmann::json& j);
};

struct AssertionOutcome {
  RegisteredCredential credential;  // updated: sign_count, backed_up, last_used_at
  UserAccount user;
  std::string profile;
  bool user_verified = false;
};

class RelyingParty {
 public:
  RelyingParty(RelyingPartyConfig config, PasskeyPolicy policy, const AaguidTable& table = AaguidTable::builtin());

  // PublicKeyCredentialCreationOptionsJSON for `user` (its profile decides UV and
  // attestation conveyance); `existing` become excludeCredentials. The challenge is
  // remembered for one use.
  nlohmann::json begin_registration(const UserAccount& user, const std::vector<RegisteredCredential>& existing = {});
  // `credential` is PublicKeyCredential.toJSON() of the registration; `user` the same
  // account given to begin_registration. `id_taken` (optional) says whether a
  // credential ID is already registered (to anyone).
  Result<RegisteredCredential> finish_registration(const nlohmann::json& credential, const UserAccount& user,
                                                   const std::function<bool(ByteView)>& id_taken = {});

  // PublicKeyCredentialRequestOptionsJSON; with a user, their credentials become
  // allowCredentials; without, the sign-in is discoverable ("usernameless").
  nlohmann::json begin_authentication(const std::optional<UserAccount>& user = std::nullopt,
                                      const std::vector<RegisteredCredential>& credentials = {});
  using CredentialLookup =
      std::function<std::optional<std::pair<RegisteredCredential, UserAccount>>(ByteView credential_id)>;
  Result<AssertionOutcome> finish_authentication(const nlohmann::json& credential, const CredentialLookup& lookup);

  const PasskeyPolicy& policy() const { return policy_; }
  const PasskeyProfile& profile_for(const UserAccount& user) const;
  const RelyingPartyConfig& config() const { return config_; }
  size_t pending_challenges() const { return challenges_.size(); }

 private:
  struct Pending {
    bool registration = false;
    std::string user_name;           // registration, or authentication for a named user
    std::vector<Bytes> allowed_ids;  // authentication with a named user
    int64_t expires_at_ms = 0;
  };
  Bytes issue_challenge(Pending pending);
  Result<Pending> consume_challenge(ByteView challenge, bool registration);
  int64_t now_ms() const;
  int64_t now_s() const;
  std::vector<ctap::Certificate> roots() const;

  RelyingPartyConfig config_;
  PasskeyPolicy policy_;
  const AaguidTable* table_;
  std::map<Bytes, Pending> challenges_;
};

}  // namespace hybrid::webauthn
