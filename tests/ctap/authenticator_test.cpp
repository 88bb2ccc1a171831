#include <catch2/catch.hpp>

#include "cbor/codec.h"
#include "crypto/primitives.h"
#include "ctap/attestation.h"
#include "ctap/authenticator.h"
#include "ctap/cose_key.h"
#include "tests/ctap/test_util.h"
#include "webauthn/attestation_verification.h"

using namespace hybrid;
using namespace hybrid::ctap;
using namespace hybrid::webauthn;
using ctap_test::H;

namespace {

ClientDataHash cdh(std::string_view s) { return crypto::sha256(as_bytes(s)); }

MakeCredentialRequest make_request(std::string rp, Bytes user_id, std::string name, bool uv = true) {
  MakeCredentialRequest r;
  r.client_data_hash = cdh("create " + name);
  r.rp = RpEntity{std::move(rp), std::nullopt};
  r.user = UserEntity{std::move(user_id), name, name + " Display"};
  r.pub_key_cred_params = {CredentialParameter{"public-key", -7}};
  r.rk = true;
  if (uv) r.uv = true;
  return r;
}

Bytes call(SoftwareAuthenticator& a, Command cmd, const Bytes& params) {
  return a.process(concat(Bytes{static_cast<uint8_t>(cmd)}, params));
}

struct Phone {
  explicit Phone(AuthenticatorConfig c = AuthenticatorConfig::for_kind(PasskeyKind::synced))
      : store(CredentialStore::in_memory()), approver(), config(std::move(c)) {
    config.monotonic_ms = [this] { return now_ms; };
    config.unix_seconds = [this] { return now_s++; };
    authenticator = std::make_unique<SoftwareAuthenticator>(store, config, approver);
  }
  CredentialStore store;
  AutoApprover approver;
  AuthenticatorConfig config;
  std::unique_ptr<SoftwareAuthenticator> authenticator;
  int64_t now_ms = 1000;
  int64_t now_s = 1700000000;
};

crypto::P256PublicKey public_key_of(const MakeCredentialResponse& r) {
  auto ad = AuthenticatorData::parse(r.auth_data);
  REQUIRE(ad.ok());
  auto key = p256_from_cose_key_bytes(ad->attested->public_key_cose);
  REQUIRE(key.ok());
  return *key;
}

}  // namespace

TEST_CASE("ctap authenticator: getInfo is what hybrid phones send (docs/protocol.md §9.4)") {
  Phone phone;
  Bytes resp = call(*phone.authenticator, Command::get_info, {});
  REQUIRE(resp.at(0) == 0x00);
  CHECK(Bytes(resp.begin() + 1, resp.end()) == phone.authenticator->get_info_cbor());
  auto info = GetInfoResponse::decode(phone.authenticator->get_info_cbor());
  REQUIRE(info.ok());
  CHECK(info->versions == std::vector<std::string>{"FIDO_2_0", "FIDO_2_1"});
  CHECK(info->has_extension("prf"));
  CHECK(info->aaguid == kSoftwarePhoneSyncedAaguid);
  CHECK(info->option("rk"));
  CHECK(info->option("uv"));
  CHECK(info->option("up"));
  CHECK_FALSE(info->option("plat"));
  CHECK(info->transports == std::vector<std::string>{"hybrid", "internal"});
  CHECK(info->pin_uv_auth_protocols.empty());
  CHECK(call(*phone.authenticator, Command::get_info, Bytes{0xa0}) == Bytes{0x03});
}

TEST_CASE("ctap authenticator: synced passkeys are BE=BS=1 with none attestation and count 0") {
  Phone phone;
  auto& a = *phone.authenticator;
  auto req = make_request("example.com", Bytes{1, 1}, "alice");
  Bytes resp = call(a, Command::make_credential, req.encode());
  REQUIRE(resp.at(0) == 0x00);
  auto mc = MakeCredentialResponse::decode(ByteView(resp).subspan(1));
  REQUIRE(mc.ok());
  CHECK(mc->fmt == "none");
  CHECK(mc->att_stmt.empty());
  auto ad = AuthenticatorData::parse(mc->auth_data);
  REQUIRE(ad.ok());
  CHECK(ad->rp_id_hash == rp_id_hash("example.com"));
  CHECK(ad->user_present());
  CHECK(ad->user_verified());
  CHECK(ad->backup_eligible());
  CHECK(ad->backed_up());
  CHECK(ad->sign_count == 0);
  CHECK(ad->attested->aaguid == kSoftwarePhoneSyncedAaguid);
  CHECK(phone.approver.verification_requests == 1);
  REQUIRE(phone.store.credentials().size() == 1);
  CHECK(phone.store.credentials()[0].kind == PasskeyKind::synced);

  // Two sign-ins: signatures verify, the counter stays 0 (synced copies cannot share one).
  const auto key = public_key_of(*mc);
  const Bytes cred_id = ad->attested->credential_id;
  for (int i = 0; i < 2; ++i) {
    GetAssertionRequest ga;
    ga.rp_id = "example.com";
    ga.client_data_hash = cdh("get " + std::to_string(i));
    ga.allow_list = {CredentialDescriptor{"public-key", cred_id, std::nullopt}};
    Bytes r = call(a, Command::get_assertion, ga.encode());
    REQUIRE(r.at(0) == 0x00);
    auto gr = GetAssertionResponse::decode(ByteView(r).subspan(1));
    REQUIRE(gr.ok());
    auto gad = AuthenticatorData::parse(gr->auth_data);
    REQUIRE(gad.ok());
    CHECK(gad->sign_count == 0);
    CHECK(gad->user_present());
    CHECK_FALSE(gad->user_verified());  // not asked for
    CHECK(gad->backup_eligible());
    CHECK(key.verify_es256(concat(gr->auth_data, ga.client_data_hash), gr->signature));
    CHECK_FALSE(key.verify_es256(concat(gr->auth_data, cdh("other")), gr->signature));
    CHECK(gr->credential->id == cred_id);
    CHECK(gr->user->id == Bytes{1, 1});
    CHECK_FALSE(gr->user->name.has_value());  // names only after UV
  }
}

TEST_CASE("ctap authenticator: device-bound passkeys are BE=BS=0, packed x5c to a per-install CA, counting") {
  Phone phone(AuthenticatorConfig::for_kind(PasskeyKind::device_bound));
  auto& a = *phone.authenticator;
  auto req = make_request("example.com", Bytes{2}, "bob");
  Bytes resp = call(a, Command::make_credential, req.encode());
  REQUIRE(resp.at(0) == 0x00);
  auto mc = MakeCredentialResponse::decode(ByteView(resp).subspan(1));
  REQUIRE(mc.ok());
  CHECK(mc->fmt == "packed");
  auto ad = AuthenticatorData::parse(mc->auth_data);
  REQUIRE(ad.ok());
  CHECK_FALSE(ad->backup_eligible());
  CHECK_FALSE(ad->backed_up());
  CHECK(ad->attested->aaguid == kSoftwarePhoneDeviceBoundAaguid);

  auto identity = a.attestation_identity();
  REQUIRE(identity.ok());
  REQUIRE(phone.store.attestation().has_value());  // kept for the next run
  auto result = verify_attestation(*mc, *ad, req.client_data_hash, {identity->root});
  REQUIRE(result.ok());
  CHECK(result->type == AttestationType::basic);
  CHECK(result->trusted);
  CHECK(check_packed_certificate(identity->batch, kSoftwarePhoneDeviceBoundAaguid).ok());
  // Another install's root does not vouch for this one.
  auto other = AttestationIdentity::generate(kSoftwarePhoneDeviceBoundAaguid, "Other Phone");
  auto untrusted = verify_attestation(*mc, *ad, req.client_data_hash, {other.root});
  REQUIRE(untrusted.ok());
  CHECK_FALSE(untrusted->trusted);
  // A different client data hash breaks the signature.
  CHECK_FALSE(verify_attestation(*mc, *ad, cdh("tampered"), {identity->root}).ok());

  GetAssertionRequest ga;
  ga.rp_id = "example.com";
  ga.client_data_hash = cdh("get");
  ga.allow_list = {CredentialDescriptor{"public-key", ad->attested->credential_id, std::nullopt}};
  for (uint32_t expected = 1; expected <= 3; ++expected) {
    Bytes r = call(a, Command::get_assertion, ga.encode());
    REQUIRE(r.at(0) == 0x00);
    auto gr = GetAssertionResponse::decode(ByteView(r).subspan(1));
    CHECK(AuthenticatorData::parse(gr->auth_data)->sign_count == expected);
  }
  CHECK(phone.store.credentials()[0].sign_count == 3);
}

TEST_CASE("ctap authenticator: packed self attestation verifies with the credential key") {
  auto config = AuthenticatorConfig::for_kind(PasskeyKind::device_bound);
  config.attestation = AttestationMode::packed_self;
  Phone phone(config);
  auto req = make_request("example.com", Bytes{3}, "carol");
  auto mc = phone.authenticator->make_credential(req);
  REQUIRE(mc.ok());
  CHECK(mc->fmt == "packed");
  CHECK_FALSE(mc->att_stmt.find(std::string_view("x5c")));
  auto ad = AuthenticatorData::parse(mc->auth_data);
  auto result = verify_attestation(*mc, *ad, req.client_data_hash, {});
  REQUIRE(result.ok());
  CHECK(result->type == AttestationType::self);
  CHECK_FALSE(result->trusted);
}

TEST_CASE("ctap authenticator: makeCredential refusals carry the CTAP status") {
  Phone phone;
  auto& a = *phone.authenticator;
  auto first = a.make_credential(make_request("example.com", Bytes{1}, "alice"));
  REQUIRE(first.ok());
  const Bytes existing = AuthenticatorData::parse(first->auth_data)->attested->credential_id;

  SECTION("excludeList naming a passkey held here") {
    auto req = make_request("example.com", Bytes{9}, "other");
    req.exclude_list = {CredentialDescriptor{"public-key", Bytes{7, 7}, std::nullopt},
                        CredentialDescriptor{"public-key", existing, std::nullopt}};
    CHECK(call(a, Command::make_credential, req.encode()) == Bytes{0x19});
    req.exclude_list = {CredentialDescriptor{"public-key", Bytes{7, 7}, std::nullopt}};
    CHECK(call(a, Command::make_credential, req.encode()).at(0) == 0x00);
    // The same credential ID for another RP does not exclude.
    auto other_rp = make_request("other.example", Bytes{9}, "other");
    other_rp.exclude_list = {CredentialDescriptor{"public-key", existing, std::nullopt}};
    CHECK(call(a, Command::make_credential, other_rp.encode()).at(0) == 0x00);
  }
  SECTION("no ES256 in pubKeyCredParams") {
    auto req = make_request("example.com", Bytes{9}, "x");
    req.pub_key_cred_params = {CredentialParameter{"public-key", -257}, CredentialParameter{"other", -7}};
    CHECK(call(a, Command::make_credential, req.encode()) == Bytes{0x26});
  }
  SECTION("up=false") {
    auto req = make_request("example.com", Bytes{9}, "x");
    req.up = false;
    CHECK(call(a, Command::make_credential, req.encode()) == Bytes{0x2c});
  }
  SECTION("PIN/UV auth: the touch probe and unsupported protocols") {
    auto req = make_request("example.com", Bytes{9}, "x");
    req.pin_uv_auth_param = Bytes{};
    CHECK(call(a, Command::make_credential, req.encode()) == Bytes{0x35});
    req.pin_uv_auth_param = Bytes(16, 1);
    CHECK(call(a, Command::make_credential, req.encode()) == Bytes{0x14});
    req.pin_uv_auth_protocol = 2;
    CHECK(call(a, Command::make_credential, req.encode()) == Bytes{0x02});
  }
  SECTION("the user says no") {
    AutoApprover no(false, false);
    SoftwareAuthenticator refusing(phone.store, phone.config, no);
    CHECK(call(refusing, Command::make_credential, make_request("example.com", Bytes{9}, "x").encode()) == Bytes{0x27});
    CHECK(no.verification_requests == 1);
    CHECK(phone.store.credentials().size() == 1);
  }
  SECTION("one passkey per account: a new one for the same user replaces the old") {
    auto again = a.make_credential(make_request("example.com", Bytes{1}, "alice"));
    REQUIRE(again.ok());
    REQUIRE(phone.store.credentials().size() == 1);
    CHECK(phone.store.credentials()[0].id != existing);
  }
}

TEST_CASE("ctap authenticator: requests from the spec vectors are accepted") {
  Phone phone;
  auto doc = ctap_test::read_json("tests/vectors/ctap/requests.json");
  for (const auto& c : doc["cases"]) {
    if (!c["valid"].get<bool>()) continue;
    INFO(c["name"].get<std::string>());
    Bytes resp = phone.authenticator->process(H(c["bytes"]));
    REQUIRE(resp.at(0) == 0x00);
    auto mc = MakeCredentialResponse::decode(ByteView(resp).subspan(1));
    REQUIRE(mc.ok());
    CHECK(AuthenticatorData::parse(mc->auth_data)->rp_id_hash == rp_id_hash(c["rp_id"].get<std::string>()));
  }
  CHECK(phone.store.credentials().size() == 2);
}

TEST_CASE("ctap authenticator: discoverable sign-in with several accounts uses getNextAssertion") {
  Phone phone;
  auto& a = *phone.authenticator;
  for (uint8_t i = 1; i <= 3; ++i) {
    REQUIRE(a.make_credential(make_request("example.com", Bytes{i}, "user" + std::to_string(i))).ok());
  }
  REQUIRE(a.make_credential(make_request("elsewhere.example", Bytes{9}, "stranger")).ok());
  GetAssertionRequest ga;
  ga.rp_id = "example.com";
  ga.client_data_hash = cdh("discoverable");
  ga.uv = true;

  Bytes r1 = call(a, Command::get_assertion, ga.encode());
  REQUIRE(r1.at(0) == 0x00);
  auto g1 = GetAssertionResponse::decode(ByteView(r1).subspan(1));
  REQUIRE(g1.ok());
  CHECK(g1->number_of_credentials == std::optional<uint64_t>(3));
  CHECK(g1->user->id == Bytes{3});  // newest first
  CHECK(g1->user->name == std::optional<std::string>("user3"));  // UV was done
  std::vector<Bytes> seen{g1->user->id};
  for (int i = 0; i < 2; ++i) {
    Bytes rn = call(a, Command::get_next_assertion, {});
    REQUIRE(rn.at(0) == 0x00);
    auto gn = GetAssertionResponse::decode(ByteView(rn).subspan(1));
    REQUIRE(gn.ok());
    CHECK_FALSE(gn->number_of_credentials.has_value());
    CHECK(AuthenticatorData::parse(gn->auth_data)->user_verified());
    seen.push_back(gn->user->id);
  }
  CHECK(seen == std::vector<Bytes>{Bytes{3}, Bytes{2}, Bytes{1}});
  CHECK(call(a, Command::get_next_assertion, {}) == Bytes{0x30});
  CHECK(phone.approver.verification_requests == 4 + 1);  // 4 creations, 1 sign-in

  SECTION("the list expires") {
    REQUIRE(call(a, Command::get_assertion, ga.encode()).at(0) == 0x00);
    phone.now_ms += 30001;
    CHECK(call(a, Command::get_next_assertion, {}) == Bytes{0x30});
  }
  SECTION("another command in between ends it") {
    REQUIRE(call(a, Command::get_assertion, ga.encode()).at(0) == 0x00);
    REQUIRE(call(a, Command::get_info, {}).at(0) == 0x00);
    CHECK(call(a, Command::get_next_assertion, {}) == Bytes{0x30});
  }
  SECTION("an account picker that picks nobody declines the sign-in") {
    struct Declining : AutoApprover {
      AccountChoice select_account(const RpEntity&, const std::vector<UserEntity>&) override {
        return AccountChoice::decline();
      }
    } declining;
    SoftwareAuthenticator with_picker(phone.store, phone.config, declining);
    CHECK(call(with_picker, Command::get_assertion, ga.encode()) == Bytes{0x27});
  }
  SECTION("an account picker answers with one, userSelected") {
    AutoApprover picker(true, true, 1);
    SoftwareAuthenticator with_picker(phone.store, phone.config, picker);
    Bytes r = call(with_picker, Command::get_assertion, ga.encode());
    REQUIRE(r.at(0) == 0x00);
    auto g = GetAssertionResponse::decode(ByteView(r).subspan(1));
    CHECK(g->user_selected == std::optional<bool>(true));
    CHECK_FALSE(g->number_of_credentials.has_value());
    CHECK(g->user->id == Bytes{2});
    CHECK(picker.selection_requests == 1);
  }
}

TEST_CASE("ctap authenticator: getAssertion refusals") {
  Phone phone;
  auto& a = *phone.authenticator;
  REQUIRE(a.make_credential(make_request("example.com", Bytes{1}, "alice")).ok());
  GetAssertionRequest ga;
  ga.rp_id = "unknown.example";
  ga.client_data_hash = cdh("x");
  CHECK(call(a, Command::get_assertion, ga.encode()) == Bytes{0x2e});
  ga.rp_id = "example.com";
  ga.allow_list = {CredentialDescriptor{"public-key", Bytes{1, 2, 3}, std::nullopt}};
  CHECK(call(a, Command::get_assertion, ga.encode()) == Bytes{0x2e});
  ga.allow_list.clear();
  AutoApprover no(false, false);
  SoftwareAuthenticator refusing(phone.store, phone.config, no);
  CHECK(call(refusing, Command::get_assertion, ga.encode()) == Bytes{0x27});
  // Silent (up=false) assertions do not ask and are not flagged UP.
  ga.up = false;
  Bytes silent = call(refusing, Command::get_assertion, ga.encode());
  REQUIRE(silent.at(0) == 0x00);
  CHECK_FALSE(AuthenticatorData::parse(GetAssertionResponse::decode(ByteView(silent).subspan(1))->auth_data)->user_present());
}

TEST_CASE("ctap authenticator: PRF is HMAC over per-credential secrets, UV-dependent, per credential") {
  Phone phone;
  auto& a = *phone.authenticator;
  auto req = make_request("example.com", Bytes{1}, "alice");
  PrfRequest create_prf;
  create_prf.eval = PrfSalts{webauthn_prf_salt(as_bytes("one")), std::nullopt};
  req.prf = create_prf;
  auto mc = a.make_credential(req);
  REQUIRE(mc.ok());
  REQUIRE(mc->unsigned_extension_outputs);
  auto created = PrfOutput::from_cbor(*mc->unsigned_extension_outputs->find(std::string_view("prf")));
  REQUIRE(created.ok());
  CHECK(created->enabled == std::optional<bool>(true));
  REQUIRE(created->results);
  const Bytes cred_id = AuthenticatorData::parse(mc->auth_data)->attested->credential_id;

  auto evaluate = [&](const PrfRequest& prf, bool uv) {
    GetAssertionRequest ga;
    ga.rp_id = "example.com";
    ga.client_data_hash = cdh("prf");
    ga.prf = prf;
    if (uv) ga.uv = true;
    auto r = a.get_assertion(ga);
    REQUIRE(r.ok());
    REQUIRE(r->unsigned_extension_outputs);
    auto out = PrfOutput::from_cbor(*r->unsigned_extension_outputs->find(std::string_view("prf")));
    REQUIRE(out.ok());
    REQUIRE(out->results);
    CHECK_FALSE(out->enabled.has_value());
    return *out->results;
  };
  PrfRequest same;
  same.eval = PrfSalts{webauthn_prf_salt(as_bytes("one")), webauthn_prf_salt(as_bytes("two"))};
  auto with_uv = evaluate(same, true);
  CHECK(with_uv.first == created->results->first);  // deterministic, same as at creation
  REQUIRE(with_uv.second);
  CHECK(*with_uv.second != with_uv.first);
  auto without_uv = evaluate(same, false);
  CHECK(without_uv.first != with_uv.first);  // CredRandomWithoutUV
  PrfRequest by_cred;
  by_cred.eval = PrfSalts{webauthn_prf_salt(as_bytes("ignored")), std::nullopt};
  by_cred.eval_by_credential.emplace_back(cred_id, PrfSalts{webauthn_prf_salt(as_bytes("one")), std::nullopt});
  CHECK(evaluate(by_cred, true).first == with_uv.first);
}

TEST_CASE("ctap authenticator: process() answers malformed input with a status, never throws") {
  Phone phone;
  auto& a = *phone.authenticator;
  CHECK(a.process(Bytes{}) == Bytes{0x03});
  CHECK(a.process(Bytes{0x42}) == Bytes{0x01});
  CHECK(a.process(Bytes{0x06, 0xa0}) == Bytes{0x01});  // clientPin: not offered
  CHECK(a.process(Bytes{0x01}) == Bytes{0x12});
  CHECK(a.process(Bytes{0x01, 0xff}) == Bytes{0x12});
  CHECK(a.process(Bytes{0x02, 0xa0}) == Bytes{0x14});
  CHECK(a.process(Bytes{0x08, 0x00}) == Bytes{0x03});
  CHECK(a.process(Bytes{0x0b}) == Bytes{0x00});  // selection: a touch
}
