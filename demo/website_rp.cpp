#include "demo/website_rp.h"

#include <algorithm>

#include "base/log.h"
#include "crypto/primitives.h"
#include "ctap/auth_data.h"
#include "demo/rp_outcome.h"

namespace hybrid::demo {
namespace {

using nlohmann::json;
constexpr std::string_view kStage = "website";


std::string clip(std::string s, size_t n) {
  if (s.size() > n) s.resize(n);
  return s;
}

// What a refused registration offered (a claim: it was not accepted).
std::optional<PasskeyView> offered(const json& credential, const webauthn::AaguidTable& table) {
  const json* response = credential.is_object() && credential.contains("response") ? &credential["response"] : nullptr;
  if (!response || !response->is_object() || !response->contains("authenticatorData")) return std::nullopt;
  const json& ad_text = (*response)["authenticatorData"];
  if (!ad_text.is_string()) return std::nullopt;
  auto raw = base64url_decode(ad_text.get<std::string>());
  if (!raw.ok()) return std::nullopt;
  auto ad = ctap::AuthenticatorData::parse(*raw);
  if (!ad.ok() || !ad->attested) return std::nullopt;
  PasskeyView v;
  v.kind = ad->backup_eligible() ? "synced" : "device-bound";
  v.provider = table.describe(ad->attested->aaguid);
  v.aaguid = ctap::aaguid_to_string(ad->attested->aaguid);
  v.attestation = "unverified";
  return v;
}

}  // namespace

WebsiteRelyingParty::WebsiteRelyingParty(WebsiteConfig config, AccountStore& store, const webauthn::AaguidTable& table)
    : config_(std::move(config)), store_(store), table_(table) {}
WebsiteRelyingParty::~WebsiteRelyingParty() = default;

void WebsiteRelyingParty::set_origin(const std::string& origin) {
  std::lock_guard lock(mu_);
  origin_ = origin;
  webauthn::RelyingPartyConfig rc;
  rc.rp_id = config_.rp_id;
  rc.rp_name = config_.rp_name;
  rc.origins = {origin};
  rc.attestation_roots = config_.attestation_roots;
  rp_ = std::make_unique<webauthn::RelyingParty>(rc, config_.policy, table_);
  pending_.clear();
}

std::string WebsiteRelyingParty::origin() const {
  std::lock_guard lock(mu_);
  return origin_;
}

std::string WebsiteRelyingParty::remember(Pending p) {
  // Called with mu_ held.
  while (pending_.size() >= config_.max_pending) {
    auto oldest = std::min_element(pending_.begin(), pending_.end(),
                                   [](const auto& a, const auto& b) { return a.second.order < b.second.order; });
    pending_.erase(oldest);
  }
  p.order = ++next_order_;
  std::string id = hex_encode(crypto::random_bytes(16));
  pending_.emplace(id, std::move(p));
  return id;
}

Result<json> WebsiteRelyingParty::begin_registration(const std::string& user_name) {
  HYBRID_TRY_STATUS(check_account_name(user_name));
  HYBRID_TRY(auto existing, store_.find_account(user_name));
  Pending p{CeremonyKind::registration, {}, false, 0};
  std::vector<webauthn::RegisteredCredential> creds;
  if (existing) {
    p.account = *existing;
    HYBRID_TRY(creds, store_.credentials_of(user_name));
  } else {
    p.new_account = true;
    p.account.name = user_name;
    p.account.display_name = display_name_for(user_name);
    p.account.handle = crypto::random_bytes(16);
  }
  std::lock_guard lock(mu_);
  if (!rp_) return make_error("the website is not ready yet (no origin)");
  json options = rp_->begin_registration(p.account, creds);
  std::string id = remember(std::move(p));
  return json{{"ceremony", id}, {"publicKey", std::move(options)}};
}

Result<json> WebsiteRelyingParty::begin_sign_in() {
  std::lock_guard lock(mu_);
  if (!rp_) return make_error("the website is not ready yet (no origin)");
  json options = rp_->begin_authentication();
  std::string id = remember(Pending{CeremonyKind::sign_in, {}, false, 0});
  return json{{"ceremony", id}, {"publicKey", std::move(options)}};
}

WebsiteResult WebsiteRelyingParty::finish(const json& body) {
  std::string tag;
  try {
    if (!body.is_object()) return record(CeremonyKind::sign_in, failed_outcome("the page sent no JSON object"), "");
    if (body.contains("tag") && body["tag"].is_string()) tag = clip(body["tag"].get<std::string>(), 64);
    if (!body.contains("ceremony") || !body["ceremony"].is_string() || !body.contains("credential")) {
      return record(CeremonyKind::sign_in, failed_outcome("the page sent no ceremony id or no credential"), tag);
    }
    std::optional<Pending> p;
    {
      std::lock_guard lock(mu_);
      auto it = pending_.find(body["ceremony"].get<std::string>());
      if (it != pending_.end()) {
        p = std::move(it->second);
        pending_.erase(it);
      }
    }
    if (!p) return record(CeremonyKind::sign_in, failed_outcome("unknown or expired ceremony: reload the page"), tag);
    VisitOutcome out = p->kind == CeremonyKind::registration ? finish_registration(*p, body["credential"])
                                                             : finish_sign_in(body["credential"]);
    return record(p->kind, std::move(out), tag);
  } catch (const std::exception& e) {
    // Malformed JSON shapes end here, never in the server's callback.
    return record(CeremonyKind::sign_in, failed_outcome(std::string("the page sent a malformed credential: ") + e.what()), tag);
  }
}

VisitOutcome WebsiteRelyingParty::finish_registration(const Pending& p, const json& credential) {
  Result<webauthn::RegisteredCredential> reg = make_error("not verified");
  std::string profile;
  {
    std::lock_guard lock(mu_);
    if (!rp_) return failed_outcome("the website is not ready");
    profile = rp_->profile_for(p.account).name;
    reg = rp_->finish_registration(credential, p.account, [&](ByteView id) { return store_.credential_exists(id); });
  }
  VisitOutcome out;
  out.user_name = p.account.name;
  out.display_name = p.account.display_name;
  out.profile = profile;
  if (!reg.ok()) {
    out.passkey = offered(credential, table_);
    return refused_outcome(std::move(out), reg.error());
  }
  return registered_outcome(store_, p.account, p.new_account, *reg, std::move(out), table_);
}

VisitOutcome WebsiteRelyingParty::finish_sign_in(const json& credential) {
  std::optional<SeenCredential> seen;
  auto lookup = credential_lookup(store_, seen);
  Result<webauthn::AssertionOutcome> result = make_error("not verified");
  std::string seen_profile;
  {
    std::lock_guard lock(mu_);
    if (!rp_) return failed_outcome("the website is not ready");
    result = rp_->finish_authentication(credential, lookup);
    if (seen) seen_profile = rp_->profile_for(seen->second).name;
  }
  return sign_in_outcome(store_, result, seen, seen_profile, table_, kStage);
}

WebsiteResult WebsiteRelyingParty::record(CeremonyKind kind, VisitOutcome outcome, const std::string& tag) {
  std::lock_guard lock(mu_);
  WebsiteResult r{++seq_, kind, std::move(outcome), tag};
  log::info(kStage, "{} finished: {}{}", ceremony_kind_name(kind), outcome_kind_name(r.outcome.kind),
            r.outcome.rule.empty() ? "" : " (rule " + r.outcome.rule + ")");
  results_.push_back(r);
  if (results_.size() > 256) results_.erase(results_.begin());
  return r;
}

void WebsiteRelyingParty::record_client_error(CeremonyKind kind, const std::string& message, const std::string& tag) {
  (void)record(kind, failed_outcome("the browser reported: " + clip(message, 200)), clip(tag, 64));
}

std::vector<WebsiteResult> WebsiteRelyingParty::results_after(uint64_t after) const {
  std::lock_guard lock(mu_);
  std::vector<WebsiteResult> out;
  for (const auto& r : results_) {
    if (r.seq > after) out.push_back(r);
  }
  return out;
}

}  // namespace hybrid::demo
