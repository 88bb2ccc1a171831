#include "demo/rp_outcome.h"

#include "base/log.h"
#include "ctap/credential_store.h"

namespace hybrid::demo {

VisitOutcome failed_outcome(std::string reason) {
  VisitOutcome o;
  o.kind = OutcomeKind::failed;
  o.reason = std::move(reason);
  return o;
}

PasskeyView passkey_view(const webauthn::RegisteredCredential& c, const webauthn::AaguidTable& table) {
  PasskeyView v;
  v.kind = std::string(ctap::passkey_kind_name(c.kind()));
  v.provider = table.describe(c.aaguid);
  v.attested = c.attestation_trusted;
  v.provider_verified = c.attestation_trusted;
  v.attestation = std::string(webauthn::attestation_type_name(c.attestation_type));
  v.aaguid = ctap::aaguid_to_string(c.aaguid);
  return v;
}

VisitOutcome refused_outcome(VisitOutcome out, const Error& e) {
  out.kind = webauthn::rule_of(e) ? OutcomeKind::refused : OutcomeKind::failed;
  out.rule = webauthn::rule_text(e);
  out.reason = e.message;
  if (!webauthn::is_policy_refusal(e)) out.profile.clear();
  return out;
}

VisitOutcome registered_outcome(AccountStore& store, const webauthn::UserAccount& account, bool new_account,
                                const webauthn::RegisteredCredential& credential, VisitOutcome out,
                                const webauthn::AaguidTable& table) {
  if (new_account) {
    auto existing = store.find_account(account.name);
    if (!existing.ok()) return failed_outcome(existing.error().message);
    if (!*existing) {
      if (auto st = store.add_account(account); !st.ok()) return failed_outcome(st.error().message);
    } else if (existing->value().handle != account.handle) {
      return failed_outcome("the account '" + account.name + "' was created by another visit at the same time; try again");
    }
  }
  if (auto st = store.add_credential(credential); !st.ok()) return failed_outcome(st.error().message);
  out.kind = OutcomeKind::registered;
  if (!credential.profile.empty()) out.profile = credential.profile;
  out.passkey = passkey_view(credential, table);
  return out;
}

webauthn::RelyingParty::CredentialLookup credential_lookup(const AccountStore& store,
                                                           std::optional<SeenCredential>& seen) {
  return [&store, &seen](ByteView id) -> std::optional<SeenCredential> {
    auto cred = store.find_credential(id);
    if (!cred.ok() || !*cred) return std::nullopt;
    auto account = store.find_account(cred->value().user_name);
    if (!account.ok() || !*account) return std::nullopt;
    seen = std::make_pair(**cred, **account);
    return seen;
  };
}

VisitOutcome sign_in_outcome(AccountStore& store, const Result<webauthn::AssertionOutcome>& result,
                             const std::optional<SeenCredential>& seen, const std::string& seen_profile,
                             const webauthn::AaguidTable& table, std::string_view stage) {
  VisitOutcome out;
  if (!result.ok()) {
    const Error& e = result.error();
    out.kind = webauthn::rule_of(e) ? OutcomeKind::refused : OutcomeKind::failed;
    out.rule = webauthn::rule_text(e);
    out.reason = e.message;
    if (seen) {
      out.user_name = seen->second.name;
      out.display_name = seen->second.display_name;
      if (webauthn::is_policy_refusal(e)) out.profile = seen_profile;
      out.passkey = passkey_view(seen->first, table);
    }
    return out;
  }
  if (auto st = store.update_credential(result->credential); !st.ok()) {
    log::warn(stage, "could not record the sign-in: {}", st.error().message);
  }
  out.kind = OutcomeKind::signed_in;
  out.user_name = result->user.name;
  out.display_name = result->user.display_name;
  out.profile = result->profile;
  out.passkey = passkey_view(result->credential, table);
  return out;
}

}  // namespace hybrid::demo
