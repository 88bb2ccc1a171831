// The kiosk's relying party against software phones in memory, under the demo policy:
// each profile shape admits or refuses what it should, and the outcome tells the page
// which passkey was used and which rule refused it.
#include <catch2/catch.hpp>

#include "ctap/authenticator.h"
#include "demo/kiosk_rp.h"
#include "tests/demo/test_support.h"

using namespace hybrid;
using namespace hybrid::demo;
using demo_test::Phone;

namespace {

struct Site {
  explicit Site(std::vector<ctap::Certificate> roots = {}) {
    auto s = AccountStore::open(":memory:");
    REQUIRE(s.ok());
    store = std::move(*s);
    KioskRpConfig c;
    c.rp.rp_id = "kiosk.hybrid.example";
    c.rp.rp_name = "Hybrid Kiosk";
    c.rp.origins = {"https://kiosk.hybrid.example"};
    c.rp.attestation_roots = std::move(roots);
    c.policy = demo_test::demo_policy();
    rp = std::make_unique<KioskRelyingParty>(std::move(c), *store);
  }
  VisitOutcome run(Result<Ceremony> ceremony, Phone& phone) {
    REQUIRE(ceremony.ok());
    Bytes answer = phone.answer(ceremony->ctap_request);
    REQUIRE_FALSE(answer.empty());
    return rp->finish(*ceremony, answer[0], ByteView(answer).subspan(1));
  }
  VisitOutcome register_user(const std::string& user, Phone& phone) { return run(rp->begin_registration(user), phone); }
  VisitOutcome sign_in(Phone& phone) { return run(rp->begin_sign_in(), phone); }

  std::unique_ptr<AccountStore> store;
  std::unique_ptr<KioskRelyingParty> rp;
};

}  // namespace

TEST_CASE("staff register a synced passkey and sign in with it", "[demo][rp]") {
  Site site;
  Phone phone(ctap::PasskeyKind::synced);
  auto reg = site.register_user("dave", phone);
  INFO(reg.reason);
  REQUIRE(reg.kind == OutcomeKind::registered);
  CHECK(reg.user_name == "dave");
  CHECK(reg.display_name == "Dave");
  CHECK(reg.profile == "staff");
  REQUIRE(reg.passkey);
  CHECK(reg.passkey->kind == "synced");
  CHECK(reg.passkey->provider == "Hybrid Software Phone (synced)");
  CHECK_FALSE(reg.passkey->attested);
  CHECK_FALSE(reg.passkey->provider_verified);
  CHECK(reg.passkey->attestation == "none");
  CHECK(*site.store->credential_count() == 1);

  auto in = site.sign_in(phone);
  INFO(in.reason);
  REQUIRE(in.kind == OutcomeKind::signed_in);
  CHECK(in.user_name == "dave");
  CHECK(in.profile == "staff");
  REQUIRE(in.passkey);
  CHECK(in.passkey->kind == "synced");
  auto stored = site.store->credentials_of("dave");
  REQUIRE(stored.ok());
  REQUIRE(stored->size() == 1);
  CHECK(stored->front().last_used_at > 0);

  // The JSON the page reads.
  auto j = in.to_json();
  CHECK(j["kind"] == "signed_in");
  CHECK(j["passkey"]["kind"] == "synced");
}

TEST_CASE("admins need an attested device-bound passkey from the allow list", "[demo][rp]") {
  Phone phone(ctap::PasskeyKind::device_bound);
  SECTION("with the phone's attestation root trusted") {
    Site site({phone.attestation_root()});
    auto reg = site.register_user("alice", phone);
    INFO(reg.reason);
    REQUIRE(reg.kind == OutcomeKind::registered);
    CHECK(reg.profile == "admins");
    REQUIRE(reg.passkey);
    CHECK(reg.passkey->kind == "device-bound");
    CHECK(reg.passkey->attested);
    CHECK(reg.passkey->provider_verified);
    CHECK(reg.passkey->attestation == "basic");
    CHECK(reg.passkey->provider == "Hybrid Software Phone (device-bound)");
    auto in = site.sign_in(phone);
    INFO(in.reason);
    CHECK(in.kind == OutcomeKind::signed_in);
    CHECK(in.user_name == "alice");
  }
  SECTION("without it, the registration is refused by the attestation rule") {
    Site site;
    auto reg = site.register_user("alice", phone);
    CHECK(reg.kind == OutcomeKind::refused);
    CHECK(reg.rule == "enforce_attestation");
    CHECK(reg.profile == "admins");
    CHECK_THAT(reg.reason, Catch::Contains("admins"));
    REQUIRE(reg.passkey);  // what was offered is still shown
    CHECK(reg.passkey->kind == "device-bound");
    CHECK_FALSE(reg.passkey->attested);
    CHECK(*site.store->credential_count() == 0);
    CHECK_FALSE(site.store->find_account("alice")->has_value());
  }
  SECTION("a synced passkey is refused by the passkey-type rule") {
    Site site({phone.attestation_root()});
    Phone synced(ctap::PasskeyKind::synced);
    auto reg = site.register_user("alice", synced);
    CHECK(reg.kind == OutcomeKind::refused);
    CHECK(reg.rule == "passkey_types");
  }
}

TEST_CASE("engineers are refused a synced passkey, with the profile and the rule named", "[demo][rp]") {
  Site site;
  Phone synced(ctap::PasskeyKind::synced);
  auto reg = site.register_user("bob", synced);
  REQUIRE(reg.kind == OutcomeKind::refused);
  CHECK(reg.rule == "passkey_types");
  CHECK(reg.profile == "engineers");
  CHECK(reg.user_name == "bob");
  CHECK_THAT(reg.reason, Catch::Contains("synced") && Catch::Contains("engineers"));
  REQUIRE(reg.passkey);
  CHECK(reg.passkey->kind == "synced");
  CHECK(*site.store->credential_count() == 0);

  Phone device(ctap::PasskeyKind::device_bound);
  auto ok = site.register_user("bob", device);
  INFO(ok.reason);
  CHECK(ok.kind == OutcomeKind::registered);
  CHECK(ok.profile == "engineers");
}

TEST_CASE("contractors are refused a blocked provider", "[demo][rp]") {
  Site site;
  Phone synced(ctap::PasskeyKind::synced);
  auto reg = site.register_user("carol", synced);
  REQUIRE(reg.kind == OutcomeKind::refused);
  CHECK(reg.rule == "key_restrictions.block");
  CHECK(reg.profile == "contractors");
}

TEST_CASE("sign-in failures say what happened", "[demo][rp]") {
  Site site;
  SECTION("a passkey the kiosk never registered") {
    Phone stranger(ctap::PasskeyKind::synced);
    // The phone holds a passkey for this site that the kiosk refused (so never stored).
    auto refused = site.register_user("bob", stranger);
    REQUIRE(refused.kind == OutcomeKind::refused);
    auto in = site.sign_in(stranger);
    CHECK(in.kind == OutcomeKind::refused);
    CHECK(in.rule == "credential_unknown");
  }
  SECTION("a phone with no passkey for the site") {
    Phone empty(ctap::PasskeyKind::synced);
    auto in = site.sign_in(empty);
    CHECK(in.kind == OutcomeKind::failed);
    CHECK_THAT(in.reason, Catch::Contains("no passkey"));
  }
  SECTION("the visitor declines on the phone") {
    Phone declining(ctap::PasskeyKind::synced, /*approve=*/false);
    auto reg = site.register_user("dave", declining);
    CHECK(reg.kind == OutcomeKind::failed);
    CHECK_THAT(reg.reason, Catch::Contains("declined"));
  }
  SECTION("an answer that is not CBOR") {
    auto c = site.rp->begin_sign_in();
    REQUIRE(c.ok());
    const Bytes junk = {0xff, 0x00, 0x13};
    auto out = site.rp->finish(*c, 0, junk);
    CHECK(out.kind == OutcomeKind::failed);
    CHECK_FALSE(out.reason.empty());
  }
}

TEST_CASE("a second passkey for an account and a bad user name", "[demo][rp]") {
  Site site;
  Phone one(ctap::PasskeyKind::synced), two(ctap::PasskeyKind::device_bound);
  REQUIRE(site.register_user("dave", one).kind == OutcomeKind::registered);
  auto second = site.register_user("dave", two);
  INFO(second.reason);
  CHECK(second.kind == OutcomeKind::registered);
  CHECK(site.store->credentials_of("dave")->size() == 2);
  // The first phone already holds a passkey for dave: it is excluded.
  auto again = site.register_user("dave", one);
  CHECK(again.kind == OutcomeKind::failed);
  CHECK_FALSE(site.rp->begin_registration("Dave Smith").ok());
}

TEST_CASE("the page's directory and profiles come from the policy and the store", "[demo][rp]") {
  Site site;
  auto profiles = site.rp->profiles_json();
  REQUIRE(profiles.size() == 4);
  CHECK(profiles[0]["name"] == "admins");
  CHECK(profiles[0]["enforce_attestation"] == true);
  CHECK(profiles[0]["key_restrictions"] == "allow");
  CHECK(profiles[3]["default"] == true);
  Phone phone(ctap::PasskeyKind::synced);
  REQUIRE(site.register_user("erin", phone).kind == OutcomeKind::registered);
  auto dir = site.rp->directory_json();
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& u : dir) by_name[u["name"]] = u;
  REQUIRE(by_name.count("alice"));
  CHECK(by_name["alice"]["profile"] == "admins");
  CHECK(by_name["bob"]["profile"] == "engineers");
  CHECK(by_name["dave"]["profile"] == "staff");
  REQUIRE(by_name.count("erin"));  // in no group: the default profile
  CHECK(by_name["erin"]["profile"] == "staff");
  CHECK(by_name["erin"]["passkeys"] == 1);
}
