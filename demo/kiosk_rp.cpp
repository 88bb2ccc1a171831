#include "demo/kiosk_rp.h"

#include <fmt/format.h>

#include <cctype>
#include <chrono>
#include <set>

#include "base/log.h"
#include "crypto/primitives.h"
#include "ctap/auth_data.h"
#include "ctap/commands.h"
#include "ctap/make_credential.h"
#include "demo/rp_outcome.h"

namespace hybrid::demo {
namespace {

using nlohmann::json;
constexpr std::string_view kStage = "kiosk";

std::string attestation_label(const ctap::MakeCredentialResponse& r) {
  if (r.fmt == ctap::kFmtNone) return "none";
  if (r.fmt == ctap::kFmtPacked) return r.att_stmt.find(std::string_view("x5c")) ? "basic" : "self";
  return "unsupported";
}

json profile_json(const webauthn::PasskeyProfile& p, const webauthn::AaguidTable& table) {
  json types = json::array();
  if (p.allow_device_bound) types.push_back("device-bound");
  if (p.allow_synced) types.push_back("synced");
  json aaguids = json::array();
  for (const auto& a : p.aaguids) aaguids.push_back(table.describe(a));
  const char* restriction = p.key_restriction == webauthn::KeyRestriction::allow   ? "allow"
                            : p.key_restriction == webauthn::KeyRestriction::block ? "block"
                                                                               : "off";
  return json{{"name", p.name},
              {"description", p.description},
              {"target_groups", p.target_groups},
              {"passkey_types", types},
              {"enforce_attestation", p.enforce_attestation},
              {"key_restrictions", restriction},
              {"aaguids", aaguids},
              {"user_verification", p.user_verification}};
}

}  // namespace

std::string_view ceremony_kind_name(CeremonyKind kind) {
  return kind == CeremonyKind::sign_in ? "sign_in" : "register";
}

std::string_view outcome_kind_name(OutcomeKind kind) {
  switch (kind) {
    case OutcomeKind::signed_in: return "signed_in";
    case OutcomeKind::registered: return "registered";
    case OutcomeKind::refused: return "refused";
    case OutcomeKind::failed: return "failed";
  }
  return "failed";
}

json PasskeyView::to_json() const {
  return json{{"kind", kind},
              {"provider", provider},
              {"provider_verified", provider_verified},
              {"attested", attested},
              {"attestation", attestation},
              {"aaguid", aaguid}};
}

json VisitOutcome::to_json() const {
  json j{{"kind", outcome_kind_name(kind)},
         {"user", user_name},
         {"display_name", display_name},
         {"profile", profile},
         {"rule", rule},
         {"reason", reason}};
  j["passkey"] = passkey ? passkey->to_json() : json(nullptr);
  return j;
}

std::string display_name_for(std::string_view user_name) {
  std::string out(user_name);
  bool start = true;
  for (char& c : out) {
    if (start && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    start = (c == '-' || c == '.' || c == '_');
  }
  return out;
}

KioskRelyingParty::KioskRelyingParty(KioskRpConfig config, AccountStore& store, const webauthn::AaguidTable& table)
    : store_(store),
      table_(table),
      origin_(config.rp.origins.empty() ? "https://" + config.rp.rp_id : config.rp.origins.front()),
      rp_(config.rp, std::move(config.policy), table) {}

const webauthn::PasskeyProfile& KioskRelyingParty::profile_of(const webauthn::UserAccount& account) const {
  return rp_.profile_for(account);
}

Result<Ceremony> KioskRelyingParty::begin_sign_in() {
  json options;
  {
    std::lock_guard lock(mu_);
    options = rp_.begin_authentication();
  }
  HYBRID_TRY(auto opts, webauthn::AuthenticationOptions::from_json(options, origin_));
  HYBRID_TRY(auto prepared, webauthn::prepare_authentication(opts, nullptr));
  Ceremony c;
  c.kind = CeremonyKind::sign_in;
  c.request_type = qr::RequestType::get_assertion;
  c.ctap_request = prepared.ctap_request();
  c.authentication = std::move(prepared);
  return c;
}

Result<Ceremony> KioskRelyingParty::begin_registration(const std::string& user_name, const std::string& display_name) {
  HYBRID_TRY_STATUS(check_account_name(user_name));
  HYBRID_TRY(auto existing, store_.find_account(user_name));
  Ceremony c;
  c.kind = CeremonyKind::registration;
  c.request_type = qr::RequestType::make_credential;
  std::vector<webauthn::RegisteredCredential> creds;
  if (existing) {
    c.account = *existing;
    HYBRID_TRY(creds, store_.credentials_of(user_name));
  } else {
    c.new_account = true;
    c.account.name = user_name;
    c.account.display_name = display_name.empty() ? display_name_for(user_name) : display_name;
    c.account.handle = crypto::random_bytes(16);
  }
  json options;
  {
    std::lock_guard lock(mu_);
    options = rp_.begin_registration(c.account, creds);
  }
  HYBRID_TRY(auto opts, webauthn::RegistrationOptions::from_json(options, origin_));
  HYBRID_TRY(auto prepared, webauthn::prepare_registration(opts, nullptr));
  c.ctap_request = prepared.ctap_request();
  c.registration = std::move(prepared);
  return c;
}

VisitOutcome KioskRelyingParty::finish(const Ceremony& ceremony, uint8_t ctap_status, ByteView ctap_body) {
  Bytes response;
  response.reserve(ctap_body.size() + 1);
  response.push_back(ctap_status);
  response.insert(response.end(), ctap_body.begin(), ctap_body.end());
  VisitOutcome out = ceremony.kind == CeremonyKind::registration ? finish_registration(ceremony, response)
                                                                 : finish_sign_in(ceremony, response);
  log::info(kStage, "{} finished: {}{}", ceremony_kind_name(ceremony.kind), outcome_kind_name(out.kind),
            out.rule.empty() ? "" : " (rule " + out.rule + ")");
  return out;
}

VisitOutcome KioskRelyingParty::finish_registration(const Ceremony& c, ByteView response) {
  const auto& prepared = *c.registration;
  auto client_json = webauthn::finish_registration(prepared, response);
  if (!client_json.ok()) return failed_outcome(client_json.error().message);

  const webauthn::PasskeyProfile& profile = profile_of(c.account);
  Result<webauthn::RegisteredCredential> reg = make_error("not verified");
  {
    std::lock_guard lock(mu_);
    reg = rp_.finish_registration(*client_json, c.account, [&](ByteView id) { return store_.credential_exists(id); });
  }
  VisitOutcome out;
  out.user_name = c.account.name;
  out.display_name = c.account.display_name;
  out.profile = profile.name;
  if (!reg.ok()) {
    // Show what was offered (the claim, since it was not accepted).
    if (auto mc = ctap::MakeCredentialResponse::decode(response.subspan(1)); mc.ok()) {
      if (auto ad = ctap::AuthenticatorData::parse(mc->auth_data); ad.ok() && ad->attested) {
        PasskeyView v;
        v.kind = ad->backup_eligible() ? "synced" : "device-bound";
        v.provider = table_.describe(ad->attested->aaguid);
        v.attestation = attestation_label(*mc);
        v.aaguid = ctap::aaguid_to_string(ad->attested->aaguid);
        out.passkey = v;
      }
    }
    return refused_outcome(std::move(out), reg.error());
  }
  return registered_outcome(store_, c.account, c.new_account, *reg, std::move(out), table_);
}

VisitOutcome KioskRelyingParty::finish_sign_in(const Ceremony& c, ByteView response) {
  const auto& prepared = *c.authentication;
  auto client_json = webauthn::finish_authentication(prepared, response);
  if (!client_json.ok()) return failed_outcome(client_json.error().message);

  std::optional<SeenCredential> seen;
  auto lookup = credential_lookup(store_, seen);
  Result<webauthn::AssertionOutcome> result = make_error("not verified");
  {
    std::lock_guard lock(mu_);
    result = rp_.finish_authentication(*client_json, lookup);
  }
  const std::string seen_profile = seen ? profile_of(seen->second).name : std::string();
  return sign_in_outcome(store_, result, seen, seen_profile, table_, kStage);
}

json KioskRelyingParty::directory_json() const {
  const auto& policy = rp_.policy();
  std::set<std::string> names;
  for (const auto& [group, members] : policy.groups) names.insert(members.begin(), members.end());
  if (auto accounts = store_.accounts(); accounts.ok()) {
    for (const auto& a : *accounts) names.insert(a.name);
  }
  json out = json::array();
  for (const auto& name : names) {
    webauthn::UserAccount a;
    a.name = name;
    size_t passkeys = 0;
    if (auto found = store_.find_account(name); found.ok() && *found) a = **found;
    if (auto creds = store_.credentials_of(name); creds.ok()) passkeys = creds->size();
    const auto& profile = profile_of(a);
    out.push_back(json{{"name", name},
                       {"display_name", a.display_name.empty() ? display_name_for(name) : a.display_name},
                       {"groups", policy.groups_of(name)},
                       {"profile", profile.name},
                       {"passkeys", passkeys}});
  }
  return out;
}

json KioskRelyingParty::profiles_json() const {
  json out = json::array();
  for (const auto& p : rp_.policy().profiles) {
    json j = profile_json(p, table_);
    j["default"] = p.name == rp_.policy().default_profile;
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace hybrid::demo
