// Registration and sign-in round trips: our software phone ↔ our WebAuthn client ↔ our
// relying party, for each passkey profile shape, and the refusals the issue lists.
#include <catch2/catch.hpp>

#include <map>

#include "base/log.h"
#include "crypto/primitives.h"
#include "ctap/authenticator.h"
#include "tests/ctap/test_util.h"
#include "webauthn/client_data.h"
#include "webauthn/verifier.h"
#include "webauthn/webauthn_client.h"

using namespace hybrid;
using namespace hybrid::ctap;
using namespace hybrid::webauthn;
using nlohmann::json;

namespace {

const std::string kOrigin = "https://example.com";

struct Phone {
  Phone(PasskeyKind kind, std::optional<AttestationMode> mode = std::nullopt)
      : store(CredentialStore::in_memory()), config(AuthenticatorConfig::for_kind(kind)) {
    if (mode) config.attestation = *mode;
    authenticator = std::make_unique<SoftwareAuthenticator>(store, config, approver);
  }
  // A second phone holding copies of this one's passkeys (a clone).
  std::unique_ptr<Phone> clone() const {
    auto p = std::make_unique<Phone>(config.kind, config.attestation);
    auto copy = CredentialStore::parse(store.serialize());
    REQUIRE(copy.ok());
    p->store = std::move(copy).value();
    p->authenticator = std::make_unique<SoftwareAuthenticator>(p->store, p->config, p->approver);
    return p;
  }
  CredentialStore store;
  AutoApprover approver;
  AuthenticatorConfig config;
  std::unique_ptr<SoftwareAuthenticator> authenticator;
};

UserAccount account(const std::string& name, std::vector<std::string> groups = {}) {
  return UserAccount{name, name + " Example", crypto::random_bytes(16), std::move(groups)};
}

struct Site {
  explicit Site(PasskeyPolicy policy, std::vector<Certificate> roots = {})
      : rp(RelyingPartyConfig{"example.com", "Example", {kOrigin}, std::move(roots), 60000, 100, {}, {}},
           std::move(policy)) {}

  // The whole registration as a browser would run it; returns the client's JSON too.
  Result<RegisteredCredential> register_user(Phone& phone, const UserAccount& user, json* client_json = nullptr,
                                             const std::function<void(RegistrationOptions&)>& tweak = {}) {
    json options = rp.begin_registration(user);
    auto opts = RegistrationOptions::from_json(options, kOrigin);
    REQUIRE(opts.ok());
    if (tweak) tweak(*opts);
    auto prepared = prepare_registration(*opts, nullptr);
    REQUIRE(prepared.ok());
    Bytes resp = phone.authenticator->process(prepared->ctap_request());
    auto cred = finish_registration(*prepared, resp);
    REQUIRE(cred.ok());
    if (client_json) *client_json = *cred;
    auto reg = rp.finish_registration(*cred, user, [&](ByteView id) { return db.count(Bytes(id.begin(), id.end())) > 0; });
    if (reg.ok()) db[reg->id] = {*reg, user};
    return reg;
  }

  Result<AssertionOutcome> sign_in(Phone& phone, const std::optional<UserAccount>& user, json* client_json = nullptr,
                                   const std::function<void(AuthenticationOptions&)>& tweak = {}) {
    std::vector<RegisteredCredential> creds;
    if (user)
      for (const auto& [id, entry] : db)
        if (entry.second.name == user->name) creds.push_back(entry.first);
    json options = rp.begin_authentication(user, creds);
    auto opts = AuthenticationOptions::from_json(options, kOrigin);
    REQUIRE(opts.ok());
    if (tweak) tweak(*opts);
    auto prepared = prepare_authentication(*opts, nullptr);
    REQUIRE(prepared.ok());
    Bytes resp = phone.authenticator->process(prepared->ctap_request());
    auto cred = finish_authentication(*prepared, resp);
    REQUIRE(cred.ok());
    if (client_json) *client_json = *cred;
    return finish(*cred);
  }

  Result<AssertionOutcome> finish(const json& cred) {
    auto out = rp.finish_authentication(cred, [&](ByteView id) -> std::optional<std::pair<RegisteredCredential, UserAccount>> {
      auto it = db.find(Bytes(id.begin(), id.end()));
      if (it == db.end()) return std::nullopt;
      return it->second;
    });
    if (out.ok()) db[out->credential.id].first = out->credential;
    return out;
  }

  RelyingParty rp;
  std::map<Bytes, std::pair<RegisteredCredential, UserAccount>> db;
};

PasskeyPolicy example(const std::string& name) {
  auto p = PasskeyPolicy::load("docs/passkey-policy-examples/" + name);
  REQUIRE(p.ok());
  return std::move(p).value();
}

void require_refused(const Result<RegisteredCredential>& r, Rule rule, const std::string& fragment) {
  REQUIRE_FALSE(r.ok());
  INFO(r.error().message);
  CHECK(r.error().is(rule));
  CHECK_THAT(r.error().message, Catch::Contains(fragment));
}
void require_refused(const Result<AssertionOutcome>& r, Rule rule, const std::string& fragment) {
  REQUIRE_FALSE(r.ok());
  INFO(r.error().message);
  CHECK(r.error().is(rule));
  CHECK_THAT(r.error().message, Catch::Contains(fragment));
}

}  // namespace

TEST_CASE("ctap rp: shape 1 (synced allowed) admits both kinds, round trip with sign-ins") {
  log::set_threshold(log::Level::warn);
  Site site(example("synced-allowed.json"));
  Phone synced(PasskeyKind::synced), bound(PasskeyKind::device_bound);
  auto dave = account("dave");
  auto reg = site.register_user(synced, dave);
  REQUIRE(reg.ok());
  CHECK(reg->kind() == PasskeyKind::synced);
  CHECK(reg->backup_eligible);
  CHECK(reg->profile == "staff");
  CHECK(reg->attestation_type == AttestationType::none);
  CHECK(reg->provider == "Hybrid Software Phone (synced) (unverified)");
  auto erin = account("erin");
  auto reg2 = site.register_user(bound, erin);
  REQUIRE(reg2.ok());
  CHECK(reg2->kind() == PasskeyKind::device_bound);
  CHECK(reg2->attestation_type == AttestationType::none);  // conveyance "none": client strips it

  for (int i = 0; i < 2; ++i) {
    auto out = site.sign_in(synced, dave);
    REQUIRE(out.ok());
    CHECK(out->user.name == "dave");
    CHECK(out->user_verified);
    CHECK(out->credential.sign_count == 0);
  }
  // Usernameless: the phone finds the passkey, the user handle names the account.
  auto discoverable = site.sign_in(bound, std::nullopt);
  REQUIRE(discoverable.ok());
  CHECK(discoverable->user.name == "erin");
  CHECK(discoverable->credential.sign_count == 1);
  CHECK(site.sign_in(bound, erin)->credential.sign_count == 2);
}

TEST_CASE("ctap rp: shape 2 (device-bound only) refuses synced passkeys at registration and sign-in") {
  log::set_threshold(log::Level::warn);
  Site site(example("device-bound-only.json"));
  Phone synced(PasskeyKind::synced), bound(PasskeyKind::device_bound);
  require_refused(site.register_user(synced, account("sam")), Rule::policy_passkey_types,
                  "synced passkeys are not allowed by profile 'engineers'; use a security key");
  REQUIRE(site.register_user(bound, account("bob")).ok());
  REQUIRE(site.sign_in(bound, account("bob")).ok());
}

TEST_CASE("ctap rp: shape 3 (attestation enforced + allow list)") {
  log::set_threshold(log::Level::warn);
  Phone attested(PasskeyKind::device_bound);  // packed x5c from its per-install CA
  auto identity = attested.authenticator->attestation_identity();
  REQUIRE(identity.ok());

  SECTION("an attested, allowed model registers and signs in; the AAGUID is verified") {
    Site site(example("attested-allow-list.json"), {identity->root});
    auto reg = site.register_user(attested, account("alice"));
    REQUIRE(reg.ok());
    CHECK(reg->attestation_type == AttestationType::basic);
    CHECK(reg->attestation_trusted);
    CHECK(reg->provider == "Hybrid Software Phone (device-bound)");
    REQUIRE(site.sign_in(attested, account("alice")).ok());
  }
  SECTION("without the phone's root the attestation is untrusted and refused") {
    Site site(example("attested-allow-list.json"));
    require_refused(site.register_user(attested, account("alice")), Rule::policy_attestation,
                    "does not chain to a trusted root");
  }
  SECTION("an unattested AAGUID on the allow list is refused (self attestation, or none)") {
    Site site(example("attested-allow-list.json"), {identity->root});
    Phone self(PasskeyKind::device_bound, AttestationMode::packed_self);
    require_refused(site.register_user(self, account("alice")), Rule::policy_attestation,
                    "profile 'admins' requires an attested passkey: it has only self attestation");
    Phone none(PasskeyKind::device_bound, AttestationMode::none);
    require_refused(site.register_user(none, account("alice")), Rule::policy_attestation, "without attestation");
  }
  SECTION("a synced passkey is refused before attestation is even looked at") {
    Site site(example("attested-allow-list.json"), {identity->root});
    Phone synced(PasskeyKind::synced);
    require_refused(site.register_user(synced, account("alice")), Rule::policy_passkey_types,
                    "synced passkeys are not allowed by profile 'admins'");
  }
  SECTION("an attested model that is not on the allow list") {
    auto policy = example("attested-allow-list.json");
    policy.profiles[0].aaguids.pop_back();  // drop the software phone's AAGUID
    Site site(policy, {identity->root});
    require_refused(site.register_user(attested, account("alice")), Rule::policy_allowed_aaguids,
                    "Hybrid Software Phone (device-bound) (890bf8ea-f30d-4ab1-b5b4-d09ff7396647) is not on the list "
                    "of passkey providers allowed by profile 'admins'");
  }
}

TEST_CASE("ctap rp: shape 4 (block list) refuses the blocked provider, at registration and sign-in") {
  log::set_threshold(log::Level::warn);
  Site site(example("block-list.json"));
  Phone synced(PasskeyKind::synced), bound(PasskeyKind::device_bound);
  require_refused(site.register_user(synced, account("carol")), Rule::policy_blocked_aaguids,
                  "passkeys from Hybrid Software Phone (synced) (2abc2806-f6a3-44ab-b8cc-b94c8f9f4cc5, unverified) are "
                  "blocked by profile 'contractors'");
  REQUIRE(site.register_user(bound, account("carol")).ok());
  REQUIRE(site.sign_in(bound, account("carol")).ok());
}

TEST_CASE("ctap rp: the combined kiosk policy picks each user's profile and enforces it at every sign-in") {
  log::set_threshold(log::Level::warn);
  Phone synced(PasskeyKind::synced), bound(PasskeyKind::device_bound);
  auto identity = bound.authenticator->attestation_identity();
  REQUIRE(identity.ok());
  Site site(example("kiosk-policy.json"), {identity->root});
  CHECK(site.rp.profile_for(account("alice")).name == "admins");  // first match in file order
  CHECK(site.rp.profile_for(account("bob")).name == "engineers");
  CHECK(site.rp.profile_for(account("carol")).name == "contractors");
  CHECK(site.rp.profile_for(account("dave")).name == "staff");
  CHECK(site.rp.profile_for(account("zoe")).name == "staff");  // no group: default
  CHECK(site.rp.profile_for(account("zoe", {"engineers"})).name == "engineers");  // groups from the caller

  REQUIRE(site.register_user(bound, account("alice")).ok());
  require_refused(site.register_user(synced, account("bob")), Rule::policy_passkey_types, "profile 'engineers'");
  REQUIRE(site.register_user(synced, account("dave")).ok());

  // An administrator moves dave into "engineers": his synced passkey no longer signs in.
  auto dave = account("dave");
  auto it = std::find_if(site.db.begin(), site.db.end(), [](auto& e) { return e.second.second.name == "dave"; });
  REQUIRE(it != site.db.end());
  REQUIRE(site.sign_in(synced, dave).ok());
  it->second.second.groups = {"engineers"};
  require_refused(site.sign_in(synced, dave), Rule::policy_passkey_types,
                  "synced passkeys are not allowed by profile 'engineers'");
}

TEST_CASE("ctap rp: refusals for wrong origin, wrong RP ID, bad signature, replay, clones and flags") {
  log::set_threshold(log::Level::error);
  Site site(PasskeyPolicy::allow_all());
  Phone phone(PasskeyKind::device_bound);
  auto user = account("pat");

  SECTION("wrong origin (a look-alike subdomain the RP does not serve)") {
    require_refused(site.register_user(phone, user, nullptr, [](RegistrationOptions& o) { o.origin = "https://login.example.com"; }),
                    Rule::origin, "https://login.example.com");
  }
  SECTION("wrong RP ID") {
    require_refused(site.register_user(phone, user, nullptr,
                                       [](RegistrationOptions& o) {
                                         o.rp_id = "login.example.com";
                                         o.origin = "https://login.example.com";
                                       }),
                    Rule::origin, "");
    // Same origin, but the authenticator was asked for another RP ID.
    Site lax(PasskeyPolicy::allow_all());
    lax.rp = RelyingParty(RelyingPartyConfig{"example.com", "Example", {kOrigin, "https://login.example.com"}, {}, 60000, 100, {}, {}},
                          PasskeyPolicy::allow_all());
    require_refused(lax.register_user(phone, user, nullptr,
                                      [](RegistrationOptions& o) {
                                        o.rp_id = "login.example.com";
                                        o.origin = "https://login.example.com";
                                      }),
                    Rule::rp_id, "another RP ID");
  }
  SECTION("replayed registration and sign-in") {
    json reg_json;
    REQUIRE(site.register_user(phone, user, &reg_json).ok());
    require_refused(site.rp.finish_registration(reg_json, user), Rule::challenge, "already used");
    json sig_json;
    REQUIRE(site.sign_in(phone, user, &sig_json).ok());
    require_refused(site.finish(sig_json), Rule::challenge, "already used");
  }
  SECTION("a challenge expires") {
    int64_t now = 0;
    site.rp = RelyingParty(RelyingPartyConfig{"example.com", "Example", {kOrigin}, {}, 1000, 100, [&] { return now; }, {}},
                           PasskeyPolicy::allow_all());
    json options = site.rp.begin_registration(user);
    auto prepared = prepare_registration(*RegistrationOptions::from_json(options, kOrigin));
    auto cred = finish_registration(*prepared, phone.authenticator->process(prepared->ctap_request()));
    REQUIRE(cred.ok());
    now = 1001;
    require_refused(site.rp.finish_registration(*cred, user), Rule::challenge, "expired");
  }
  SECTION("bad signature, unknown credential, another user's passkey") {
    REQUIRE(site.register_user(phone, user).ok());
    json sig_json;
    auto flip = [&](json j) {
      Bytes sig = *base64url_decode(j["response"]["signature"].get<std::string>());
      sig[sig.size() - 3] ^= 0x01;
      j["response"]["signature"] = base64url_encode(sig);
      return j;
    };
    // Build a fresh assertion but tamper before the RP sees it.
    json options = site.rp.begin_authentication(std::nullopt);
    auto prepared = prepare_authentication(*AuthenticationOptions::from_json(options, kOrigin));
    auto cred = finish_authentication(*prepared, phone.authenticator->process(prepared->ctap_request()));
    REQUIRE(cred.ok());
    require_refused(site.finish(flip(*cred)), Rule::signature, "does not verify");

    json options2 = site.rp.begin_authentication(std::nullopt);
    auto prepared2 = prepare_authentication(*AuthenticationOptions::from_json(options2, kOrigin));
    auto cred2 = finish_authentication(*prepared2, phone.authenticator->process(prepared2->ctap_request()));
    site.db.clear();
    require_refused(site.finish(*cred2), Rule::credential_unknown, "not registered");
  }
  SECTION("a cloned device-bound passkey shows as a counter that does not advance") {
    REQUIRE(site.register_user(phone, user).ok());
    auto clone = phone.clone();
    REQUIRE(site.sign_in(phone, user).ok());   // count 1
    REQUIRE(site.sign_in(phone, user).ok());   // count 2
    require_refused(site.sign_in(*clone, user), Rule::sign_count, "from 2 to 1");
  }
  SECTION("BE must not change after registration") {
    Phone synced(PasskeyKind::synced);
    REQUIRE(site.register_user(synced, user).ok());
    auto clone = synced.clone();
    for (const auto& c : clone->store.credentials()) {
      StoredCredential copy = c;
      copy.kind = PasskeyKind::device_bound;
      REQUIRE(clone->store.add(std::move(copy)).ok());
    }
    require_refused(site.sign_in(*clone, user), Rule::backup_flags, "registered as synced but now claims to be device-bound");
  }
  SECTION("user verification required by the profile") {
    // The client asks the phone not to verify; the RP's profile requires it.
    auto policy = PasskeyPolicy::allow_all();
    policy.profiles[0].user_verification = "required";
    site.rp = RelyingParty(RelyingPartyConfig{"example.com", "Example", {kOrigin}, {}, 60000, 100, {}, {}}, policy);
    require_refused(site.register_user(phone, user, nullptr, [](RegistrationOptions& o) { o.user_verification = "discouraged"; }),
                    Rule::user_verification, "requires user verification");
  }
  SECTION("a registration response given to sign-in") {
    json reg_json;
    auto other = account("quinn");
    json options = site.rp.begin_registration(other);
    auto prepared = prepare_registration(*RegistrationOptions::from_json(options, kOrigin));
    auto cred = finish_registration(*prepared, phone.authenticator->process(prepared->ctap_request()));
    REQUIRE(cred.ok());
    json as_assertion = *cred;
    as_assertion["response"]["signature"] = base64url_encode(Bytes{0x30, 0});
    require_refused(site.finish(as_assertion), Rule::ceremony_type, "webauthn.create");
  }
}

TEST_CASE("ctap rp: registered credentials survive JSON storage") {
  log::set_threshold(log::Level::warn);
  Site site(PasskeyPolicy::allow_all());
  Phone phone(PasskeyKind::device_bound);
  auto reg = site.register_user(phone, account("kim"));
  REQUIRE(reg.ok());
  auto back = RegisteredCredential::from_json(reg->to_json());
  REQUIRE(back.ok());
  CHECK(back->to_json() == reg->to_json());
  CHECK(back->facts().kind == PasskeyKind::device_bound);
}

TEST_CASE("ctap rp: a stored passkey's numbers must be whole numbers in range, never cast from floats") {
  log::set_threshold(log::Level::warn);
  Site site(example("synced-allowed.json"));
  Phone phone(PasskeyKind::synced);
  auto reg = site.register_user(phone, account("frank"));
  REQUIRE(reg.ok());
  const json stored = reg->to_json();
  auto back = RegisteredCredential::from_json(stored);
  REQUIRE(back.ok());
  CHECK(back->created_at == reg->created_at);
  CHECK(back->sign_count == reg->sign_count);
  // Before: 1.8e51 went through get<int64_t>() (undefined behaviour; UBSan stopped the
  // JSON-loader fuzzer on it) and 4294967296 wrapped to a sign count of 0.
  for (const auto& [key, value] : std::vector<std::pair<std::string, json>>{{"created_at", json::parse("1.8e51")},
                                                                            {"last_used_at", json::parse("12.5")},
                                                                            {"sign_count", json::parse("4294967296")},
                                                                            {"sign_count", json::parse("-1")},
                                                                            {"created_at", json("1700000000")}}) {
    json bad = stored;
    bad[key] = value;
    auto r = RegisteredCredential::from_json(bad);
    INFO(key << " = " << value.dump());
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("\"" + key + "\" must be a whole number"));
  }
  json without = stored;
  without.erase("last_used_at");
  auto r = RegisteredCredential::from_json(without);
  REQUIRE(r.ok());
  CHECK(r->last_used_at == 0);
}
