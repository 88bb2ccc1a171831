// The kiosk's relying party as a normal website sees it: a browser (Chromium, over hybrid
// to a phone) runs navigator.credentials.create()/.get() with options from here and posts
// PublicKeyCredential.toJSON() back; this verifies it with ctap's RelyingParty under the
// same accounts (AccountStore) and Entra-style passkey profiles as the kiosk. The RP ID is
// "localhost" (a WebAuthn RP ID must be a domain, so the page is served as
// http://localhost:PORT, a secure context). No I/O besides the store; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "webauthn/aaguid_table.h"
#include "webauthn/verifier.h"
#include "demo/account_store.h"
#include "demo/kiosk_rp.h"

namespace hybrid::demo {

struct WebsiteConfig {
  std::string rp_id = "localhost";
  std::string rp_name = "Hybrid Kiosk website";
  webauthn::PasskeyPolicy policy;
  std::vector<ctap::Certificate> attestation_roots;
  size_t max_pending = 256;  // ceremonies begun and not finished; the oldest go first
};

// One finished ceremony as the page and the demo see it.
struct WebsiteResult {
  uint64_t seq = 0;
  CeremonyKind kind = CeremonyKind::sign_in;
  VisitOutcome outcome;
  std::string tag;  // what the page passed along (the demo's visit id), at most 64 chars
};

class WebsiteRelyingParty {
 public:
  // `store` (and `table`) must outlive this object.
  WebsiteRelyingParty(WebsiteConfig config, AccountStore& store,
                      const webauthn::AaguidTable& table = webauthn::AaguidTable::builtin());
  ~WebsiteRelyingParty();

  // The page's origin, "http://localhost:PORT", known once the server has bound its port.
  void set_origin(const std::string& origin);
  std::string origin() const;

  // {"ceremony": "<id>", "publicKey": PublicKeyCredentialCreationOptionsJSON}.
  Result<nlohmann::json> begin_registration(const std::string& user_name);
  // {"ceremony": "<id>", "publicKey": PublicKeyCredentialRequestOptionsJSON} (discoverable).
  Result<nlohmann::json> begin_sign_in();
  // `body`: {"ceremony": "<id>", "credential": PublicKeyCredential.toJSON(), "tag": "…"}.
  // Never throws, whatever the body holds.
  WebsiteResult finish(const nlohmann::json& body);

  // Results with seq > `after` (the demo watches these).
  std::vector<WebsiteResult> results_after(uint64_t after) const;
  // A page error that never reached finish() (the browser refused, the user cancelled).
  void record_client_error(CeremonyKind kind, const std::string& message, const std::string& tag);

 private:
  struct Pending {
    CeremonyKind kind;
    webauthn::UserAccount account;
    bool new_account = false;
    uint64_t order = 0;
  };
  WebsiteResult record(CeremonyKind kind, VisitOutcome outcome, const std::string& tag);
  VisitOutcome finish_registration(const Pending& p, const nlohmann::json& credential);
  VisitOutcome finish_sign_in(const nlohmann::json& credential);
  std::string remember(Pending p);

  WebsiteConfig config_;
  AccountStore& store_;
  const webauthn::AaguidTable& table_;
  mutable std::mutex mu_;
  std::string origin_;
  std::unique_ptr<webauthn::RelyingParty> rp_;
  std::map<std::string, Pending> pending_;
  uint64_t next_order_ = 0;
  std::vector<WebsiteResult> results_;
  uint64_t seq_ = 0;
};

}  // namespace hybrid::demo
