#include <catch2/catch.hpp>

#include <filesystem>

#include "ctap/authenticator.h"
#include "tests/ctap/test_util.h"
#include "webauthn/aaguid_table.h"
#include "webauthn/passkey_policy.h"

using namespace hybrid;
using namespace hybrid::ctap;
using namespace hybrid::webauthn;
using nlohmann::json;

namespace {

Result<PasskeyPolicy> parse(const std::string& text) { return PasskeyPolicy::parse(json::parse(text)); }

PasskeyFacts facts(PasskeyKind kind, const Aaguid& aaguid, AttestationType type = AttestationType::none,
                   bool trusted = false) {
  return PasskeyFacts{kind, aaguid, type, trusted};
}

}  // namespace

TEST_CASE("ctap policy: every example policy file parses and names its shape") {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator("docs/passkey-policy-examples")) {
    if (entry.path().extension() != ".json") continue;
    INFO(entry.path().string());
    auto p = PasskeyPolicy::load(entry.path().string());
    REQUIRE(p.ok());
    CHECK_FALSE(p->profiles.empty());
    CHECK(p->find(p->default_profile));
    // to_json is parseable again and keeps the decisions.
    auto again = PasskeyPolicy::parse(p->to_json());
    REQUIRE(again.ok());
    CHECK(again->to_json() == p->to_json());
    ++files;
  }
  CHECK(files >= 5);
}

TEST_CASE("ctap policy: strict parsing names what is wrong") {
  auto err = [](const std::string& text) {
    auto p = parse(text);
    REQUIRE_FALSE(p.ok());
    return p.error().message;
  };
  CHECK_THAT(err(R"({"profiles": []})"), Catch::Contains("non-empty \"profiles\""));
  CHECK_THAT(err(R"({"profiles": [{"name": "a", "passkey_type": ["synced"]}]})"),
             Catch::Contains("unknown member \"passkey_type\""));
  CHECK_THAT(err(R"({"profiles": [{"name": "a", "passkey_types": ["cloud"]}]})"), Catch::Contains("\"cloud\""));
  CHECK_THAT(err(R"({"profiles": [{"name": "a", "passkey_types": []}]})"), Catch::Contains("passkey_types"));
  CHECK_THAT(err(R"({"profiles": [{"name": "a", "passkey_types": ["synced"], "enforce_attestation": true}]})"),
             Catch::Contains("nobody could register"));
  CHECK_THAT(err(R"({"profiles": [{"name": "a", "key_restrictions": {"enforcement": "allow", "aaguids": []}}]})"),
             Catch::Contains("refuse every passkey"));
  CHECK_THAT(err(R"({"profiles": [{"name": "a", "key_restrictions": {"enforcement": "allow", "aaguids": ["xyz"]}}]})"),
             Catch::Contains("not an AAGUID"));
  CHECK_THAT(err(R"({"profiles": [{"name": "a"}, {"name": "a"}]})"), Catch::Contains("two profiles"));
  CHECK_THAT(err(R"({"default_profile": "b", "profiles": [{"name": "a"}]})"), Catch::Contains("'b'"));
  CHECK_THAT(err(R"({"profiles": [{"name": "a", "user_verification": "sometimes"}]})"),
             Catch::Contains("user_verification"));
  CHECK_THAT(err(R"({"attestation_roots": ["no-such-file.pem"], "profiles": [{"name": "a"}]})"),
             Catch::Contains("no-such-file.pem"));
  CHECK_THAT(err(R"({"version": 2, "profiles": [{"name": "a"}]})"), Catch::Contains("version"));
}

TEST_CASE("ctap policy: the first targeting profile in file order wins, else the default") {
  auto p = parse(R"({
    "default_profile": "everyone",
    "groups": {"ops": ["olga"]},
    "profiles": [
      {"name": "first", "target_groups": ["ops", "dev"]},
      {"name": "second", "target_groups": ["dev"]},
      {"name": "everyone"}
    ]})");
  REQUIRE(p.ok());
  CHECK(p->profile_for("olga", {}).name == "first");       // from the policy's directory
  CHECK(p->profile_for("dan", {"dev"}).name == "first");   // file order, not specificity
  CHECK(p->profile_for("sue", {"other"}).name == "everyone");
  CHECK(p->groups_of("olga") == std::vector<std::string>{"ops"});
  // Without default_profile, the first profile is the default.
  auto q = parse(R"({"profiles": [{"name": "only", "target_groups": ["x"]}]})");
  REQUIRE(q.ok());
  CHECK(q->profile_for("anyone", {}).name == "only");
}

TEST_CASE("ctap policy: rules, in order, with the profile named in every refusal") {
  PasskeyProfile p;
  p.name = "admins";
  p.allow_synced = false;
  p.enforce_attestation = true;
  p.key_restriction = KeyRestriction::allow;
  p.aaguids = {kSoftwarePhoneDeviceBoundAaguid};
  p.advice = "use your security key";
  const Aaguid yubikey = *aaguid_from_string("cb69481e-8ff7-4039-93ec-0a2729a154a8");

  auto st = check_registration(p, facts(PasskeyKind::synced, kSoftwarePhoneSyncedAaguid));
  REQUIRE_FALSE(st.ok());
  CHECK(rule_name(rule_of(st.error()).value_or(Rule::malformed)) == "passkey_types");
  CHECK(st.error().message == "synced passkeys are not allowed by profile 'admins'; use your security key");

  st = check_registration(p, facts(PasskeyKind::device_bound, kSoftwarePhoneDeviceBoundAaguid, AttestationType::self));
  REQUIRE_FALSE(st.ok());
  CHECK(rule_name(rule_of(st.error()).value_or(Rule::malformed)) == "enforce_attestation");
  st = check_registration(p, facts(PasskeyKind::device_bound, kSoftwarePhoneDeviceBoundAaguid, AttestationType::basic, false));
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.error().message, Catch::Contains("does not chain to a trusted root"));
  st = check_sign_in(p, facts(PasskeyKind::device_bound, kSoftwarePhoneDeviceBoundAaguid, AttestationType::none));
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.error().message, Catch::Contains("registered unattested"));

  st = check_registration(p, facts(PasskeyKind::device_bound, yubikey, AttestationType::basic, true));
  REQUIRE_FALSE(st.ok());
  CHECK(rule_name(rule_of(st.error()).value_or(Rule::malformed)) == "key_restrictions.allow");
  CHECK_THAT(st.error().message, Catch::Contains("YubiKey 5 Series (cb69481e-8ff7-4039-93ec-0a2729a154a8)"));
  CHECK(check_registration(p, facts(PasskeyKind::device_bound, kSoftwarePhoneDeviceBoundAaguid, AttestationType::basic, true)).ok());

  PasskeyProfile block;
  block.name = "contractors";
  block.key_restriction = KeyRestriction::block;
  block.aaguids = {*aaguid_from_string("d548826e-79b4-db40-a3d8-11116f7e8349")};
  st = check_sign_in(block, facts(PasskeyKind::synced, block.aaguids[0]));
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message ==
        "passkeys from Bitwarden (d548826e-79b4-db40-a3d8-11116f7e8349, unverified) are blocked by profile 'contractors'");
  CHECK(check_sign_in(block, facts(PasskeyKind::synced, kSoftwarePhoneSyncedAaguid)).ok());
  // Enforcement with both types allowed still refuses synced passkeys.
  PasskeyProfile both;
  both.name = "both";
  both.enforce_attestation = true;
  st = check_registration(both, facts(PasskeyKind::synced, kSoftwarePhoneSyncedAaguid, AttestationType::basic, true));
  REQUIRE_FALSE(st.ok());
  CHECK(rule_name(rule_of(st.error()).value_or(Rule::malformed)) == "enforce_attestation");
}

TEST_CASE("ctap policy: the built-in AAGUID table") {
  const auto& t = AaguidTable::builtin();
  CHECK(t.size() >= 15);
  CHECK(t.lookup(kSoftwarePhoneSyncedAaguid)->ours);
  CHECK(t.lookup(kSoftwarePhoneDeviceBoundAaguid)->kind == "device-bound");
  CHECK(t.describe(*aaguid_from_string("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4")) == "Google Password Manager");
  CHECK(t.describe(Aaguid{}) == "an authenticator without AAGUID");
  CHECK_THAT(t.describe(Aaguid{1}), Catch::Contains("unknown authenticator (01000000-"));
  CHECK(aaguid_from_string("2ABC2806F6A344ABB8CCB94C8F9F4CC5").ok());
  CHECK_FALSE(aaguid_from_string("2abc2806-f6a344ab-b8cc-b94c8f9f4cc5").ok());
}
