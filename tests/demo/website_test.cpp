// The kiosk's website relying party: what a browser posts (PublicKeyCredential.toJSON(),
// produced here by ctap's WebAuthn client for a software phone, as Chromium would) is
// verified under the same accounts and profiles as the kiosk; refusals name the rule; and
// hostile bodies give a failed outcome, never an exception.
#include <catch2/catch.hpp>

#include "webauthn/webauthn_client.h"
#include "demo/website_rp.h"
#include "tests/demo/test_support.h"

using namespace hybrid;
using namespace hybrid::demo;
using demo_test::Phone;
using nlohmann::json;

namespace {

const std::string kOrigin = "http://localhost:8123";

struct Website {
  Website() {
    auto s = AccountStore::open(":memory:");
    REQUIRE(s.ok());
    store = std::move(*s);
    WebsiteConfig c;
    c.policy = demo_test::demo_policy();
    site = std::make_unique<WebsiteRelyingParty>(std::move(c), *store);
    site->set_origin(kOrigin);
  }
  // The browser's part: options → CTAP request → the phone → credential JSON.
  WebsiteResult register_user(const std::string& user, Phone& phone) {
    auto begin = site->begin_registration(user);
    REQUIRE(begin.ok());
    CHECK((*begin)["publicKey"]["rp"]["id"] == "localhost");
    auto opts = webauthn::RegistrationOptions::from_json((*begin)["publicKey"], kOrigin);
    REQUIRE(opts.ok());
    auto prepared = webauthn::prepare_registration(*opts);
    REQUIRE(prepared.ok());
    auto cred = webauthn::finish_registration(*prepared, phone.answer(prepared->ctap_request()));
    REQUIRE(cred.ok());
    return site->finish(json{{"ceremony", (*begin)["ceremony"]}, {"credential", *cred}, {"tag", "t1"}});
  }
  WebsiteResult sign_in(Phone& phone) {
    auto begin = site->begin_sign_in();
    REQUIRE(begin.ok());
    auto opts = webauthn::AuthenticationOptions::from_json((*begin)["publicKey"], kOrigin);
    REQUIRE(opts.ok());
    auto prepared = webauthn::prepare_authentication(*opts);
    REQUIRE(prepared.ok());
    auto cred = webauthn::finish_authentication(*prepared, phone.answer(prepared->ctap_request()));
    REQUIRE(cred.ok());
    return site->finish(json{{"ceremony", (*begin)["ceremony"]}, {"credential", *cred}});
  }
  std::unique_ptr<AccountStore> store;
  std::unique_ptr<WebsiteRelyingParty> site;
};

}  // namespace

TEST_CASE("website: a synced passkey registered and used, under the kiosk's profiles", "[demo][website]") {
  Website w;
  Phone phone(ctap::PasskeyKind::synced);
  auto reg = w.register_user("dave", phone);
  INFO(reg.outcome.reason);
  REQUIRE(reg.outcome.kind == OutcomeKind::registered);
  CHECK(reg.kind == CeremonyKind::registration);
  CHECK(reg.outcome.profile == "staff");
  CHECK(reg.outcome.passkey->kind == "synced");
  CHECK(reg.tag == "t1");
  auto in = w.sign_in(phone);
  INFO(in.outcome.reason);
  REQUIRE(in.outcome.kind == OutcomeKind::signed_in);
  CHECK(in.outcome.user_name == "dave");
  CHECK(w.site->results_after(0).size() == 2);
  CHECK(w.site->results_after(reg.seq).size() == 1);
}

TEST_CASE("website: a device-bound-only profile refuses a synced passkey, naming the rule", "[demo][website]") {
  Website w;
  Phone phone(ctap::PasskeyKind::synced);
  auto reg = w.register_user("bob", phone);
  CHECK(reg.outcome.kind == OutcomeKind::refused);
  CHECK(reg.outcome.rule == "passkey_types");
  CHECK(reg.outcome.profile == "engineers");
  CHECK_THAT(reg.outcome.reason, Catch::StartsWith("synced passkeys are not allowed by profile 'engineers'"));
  REQUIRE(reg.outcome.passkey);
  CHECK(reg.outcome.passkey->kind == "synced");
  CHECK(*w.store->credential_count() == 0);
}

TEST_CASE("website: another origin, a replayed ceremony and hostile bodies fail without throwing", "[demo][website]") {
  Website w;
  Phone phone(ctap::PasskeyKind::synced);
  // A credential made for another origin.
  auto begin = w.site->begin_registration("dave");
  REQUIRE(begin.ok());
  auto opts = webauthn::RegistrationOptions::from_json((*begin)["publicKey"], "http://localhost:9999");
  REQUIRE(opts.ok());
  auto prepared = webauthn::prepare_registration(*opts);
  REQUIRE(prepared.ok());
  auto cred = webauthn::finish_registration(*prepared, phone.answer(prepared->ctap_request()));
  REQUIRE(cred.ok());
  auto r = w.site->finish(json{{"ceremony", (*begin)["ceremony"]}, {"credential", *cred}});
  CHECK(r.outcome.kind == OutcomeKind::refused);
  CHECK(r.outcome.rule == "origin");
  // The ceremony was used up.
  r = w.site->finish(json{{"ceremony", (*begin)["ceremony"]}, {"credential", *cred}});
  CHECK(r.outcome.kind == OutcomeKind::failed);
  for (const json& hostile : {json(nullptr), json(42), json::array({1, 2}), json{{"ceremony", 7}},
                              json{{"ceremony", "x"}, {"credential", "y"}},
                              json{{"ceremony", (*w.site->begin_sign_in())["ceremony"]}, {"credential", json::array()}},
                              json{{"ceremony", (*w.site->begin_sign_in())["ceremony"]},
                                   {"credential", {{"id", 1}, {"response", {{"clientDataJSON", 5}}}}}},
                              json{{"ceremony", (*w.site->begin_registration("eve"))["ceremony"]},
                                   {"credential", {{"response", {{"authenticatorData", "!!"}}}}},
                                   {"tag", std::string(500, 'a')}}}) {
    WebsiteResult bad;
    REQUIRE_NOTHROW(bad = w.site->finish(hostile));
    CHECK((bad.outcome.kind == OutcomeKind::failed || bad.outcome.kind == OutcomeKind::refused));
    CHECK(bad.tag.size() <= 64);
  }
  CHECK_FALSE(w.site->begin_registration("Not A Name!").ok());
}
