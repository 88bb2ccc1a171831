// The kiosk's relying party: one WebAuthn ceremony per visitor, built with ctap's WebAuthn
// client (what a browser would do) and checked with ctap's verifier and the passkey
// profiles, with accounts and passkeys in the AccountStore. No I/O besides the store: the
// CTAP request goes to the phone through whatever carries it (a hybrid transaction in the
// kiosk, a SoftwareAuthenticator in tests) and the answer comes back to finish().
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "webauthn/aaguid_table.h"
#include "webauthn/verifier.h"
#include "webauthn/webauthn_client.h"
#include "demo/account_store.h"
#include "qr/payload.h"

namespace hybrid::demo {

enum class CeremonyKind { sign_in, registration };
std::string_view ceremony_kind_name(CeremonyKind kind);  // "sign_in", "register"

// What the page shows about the passkey that was used (or offered and refused).
struct PasskeyView {
  std::string kind;             // "synced" / "device-bound" (from the BE flag)
  std::string provider;         // from the AAGUID table
  bool provider_verified = false;  // the AAGUID is backed by a trusted attestation
  bool attested = false;        // attestation verified to a trusted root
  std::string attestation;      // "none", "self", "basic", "unsupported"
  std::string aaguid;
  nlohmann::json to_json() const;
};

enum class OutcomeKind { signed_in, registered, refused, failed };
std::string_view outcome_kind_name(OutcomeKind kind);  // "signed_in", "registered", "refused", "failed"

struct VisitOutcome {
  OutcomeKind kind = OutcomeKind::failed;
  std::string user_name;
  std::string display_name;
  std::string profile;          // the profile that admitted or refused the passkey
  std::optional<PasskeyView> passkey;
  std::string rule;             // refused: the rule's stable name ("passkey_types", …)
  std::string reason;           // refused / failed: a sentence for the visitor
  nlohmann::json to_json() const;
};

// One ceremony in flight: the CTAP request to send, and what finish() needs.
struct Ceremony {
  CeremonyKind kind = CeremonyKind::sign_in;
  qr::RequestType request_type = qr::RequestType::get_assertion;
  Bytes ctap_request;  // command byte ‖ CBOR parameters
  webauthn::UserAccount account;     // registration: the account (new or existing)
  bool new_account = false;
  std::optional<webauthn::PreparedRegistration> registration;
  std::optional<webauthn::PreparedAuthentication> authentication;
};

struct KioskRpConfig {
  webauthn::RelyingPartyConfig rp;   // rp_id, rp_name, origins (the first is the one used)
  webauthn::PasskeyPolicy policy;
};

class KioskRelyingParty {
 public:
  // `store` and `table` must outlive this object.
  KioskRelyingParty(KioskRpConfig config, AccountStore& store,
                    const webauthn::AaguidTable& table = webauthn::AaguidTable::builtin());

  // A discoverable ("usernameless") sign-in: the phone offers its passkey for this site.
  Result<Ceremony> begin_sign_in();
  // A new passkey for `user_name` (the account is created when the passkey is accepted).
  Result<Ceremony> begin_registration(const std::string& user_name, const std::string& display_name = "");

  // The phone's answer: CTAP status and body. Verifies, applies the profile, stores.
  VisitOutcome finish(const Ceremony& ceremony, uint8_t ctap_status, ByteView ctap_body);

  // For the page: each directory user with their profile, and each profile's rules.
  nlohmann::json directory_json() const;
  nlohmann::json profiles_json() const;
  const webauthn::PasskeyPolicy& policy() const { return rp_.policy(); }
  const std::string& origin() const { return origin_; }

 private:
  VisitOutcome finish_registration(const Ceremony& c, ByteView response);
  VisitOutcome finish_sign_in(const Ceremony& c, ByteView response);
  const webauthn::PasskeyProfile& profile_of(const webauthn::UserAccount& account) const;

  AccountStore& store_;
  const webauthn::AaguidTable& table_;
  std::string origin_;
  mutable std::mutex mu_;  // RelyingParty (its challenges) is not thread-safe
  webauthn::RelyingParty rp_;
};

// "Alice" from "alice", "Mary-Ann" from "mary-ann".
std::string display_name_for(std::string_view user_name);

}  // namespace hybrid::demo
