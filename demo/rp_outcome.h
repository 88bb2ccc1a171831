// What the demo's relying parties (demo/kiosk_rp and demo/website_rp) make of a finished
// ceremony for the page: the VisitOutcome of a registration or sign-in that
// webauthn::RelyingParty verified or refused, with the account store updates that go
// with it. Written once here so the kiosk and the website cannot drift apart.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/result.h"
#include "demo/account_store.h"
#include "demo/kiosk_rp.h"
#include "webauthn/aaguid_table.h"
#include "webauthn/verifier.h"

namespace hybrid::demo {

// A ceremony that failed outside the relying party's rules; `reason` is for the visitor.
VisitOutcome failed_outcome(std::string reason);

// What the page shows about a registered passkey.
PasskeyView passkey_view(const webauthn::RegisteredCredential& credential, const webauthn::AaguidTable& table);

// `out` (user and profile filled in) refused by the relying party with `error`: "refused"
// when the error names a rule, else "failed"; the profile stays only for policy refusals.
VisitOutcome refused_outcome(VisitOutcome out, const Error& error);

// A verified registration: stores the account (when `new_account`, unless the same account
// was stored meanwhile) and the credential, and returns `out` as "registered".
VisitOutcome registered_outcome(AccountStore& store, const webauthn::UserAccount& account, bool new_account,
                                const webauthn::RegisteredCredential& credential, VisitOutcome out,
                                const webauthn::AaguidTable& table);

// The credential a sign-in named, and its account, as the lookup found them.
using SeenCredential = std::pair<webauthn::RegisteredCredential, webauthn::UserAccount>;

// RelyingParty::finish_authentication's lookup over `store`; what it finds is kept in `seen`.
webauthn::RelyingParty::CredentialLookup credential_lookup(const AccountStore& store,
                                                           std::optional<SeenCredential>& seen);

// The outcome of RelyingParty::finish_authentication: refused (naming the seen user and
// passkey, and `seen_profile` for policy refusals) or signed in (the updated credential
// stored; a failure to store is logged under `stage`, the sign-in stands).
VisitOutcome sign_in_outcome(AccountStore& store, const Result<webauthn::AssertionOutcome>& result,
                             const std::optional<SeenCredential>& seen, const std::string& seen_profile,
                             const webauthn::AaguidTable& table, std::string_view stage);

}  // namespace hybrid::demo
