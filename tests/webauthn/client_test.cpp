#include <catch2/catch.hpp>

#include "crypto/primitives.h"
#include "ctap/authenticator.h"
#include "ctap/cose_key.h"
#include "tests/ctap/test_util.h"
#include "webauthn/client_data.h"
#include "webauthn/webauthn_client.h"

using namespace hybrid;
using namespace hybrid::ctap;
using namespace hybrid::webauthn;
using nlohmann::json;

TEST_CASE("ctap client: clientDataJSON is serialised as WebAuthn's CCDToString does") {
  Bytes challenge{0xfb, 0xff, 0x00, 0x01};
  CHECK(client_data_json("webauthn.get", challenge, "https://example.com") ==
        R"({"type":"webauthn.get","challenge":"-_8AAQ","origin":"https://example.com","crossOrigin":false})");
  CHECK(client_data_json("webauthn.create", Bytes{}, "https://a\"b\\c\x01") ==
        "{\"type\":\"webauthn.create\",\"challenge\":\"\",\"origin\":\"https://a\\\"b\\\\c\\u0001\",\"crossOrigin\":false}");
  auto cd = parse_client_data(R"({"type": "webauthn.get", "challenge": "-_8AAQ", "origin": "https://x", "other": 1})");
  REQUIRE(cd.ok());
  CHECK(cd->challenge == challenge);
  CHECK_FALSE(cd->cross_origin);
  CHECK_FALSE(parse_client_data(R"({"type": "webauthn.get", "origin": "https://x"})").ok());
  CHECK_FALSE(parse_client_data(R"({"type": "webauthn.get", "challenge": "***", "origin": "https://x"})").ok());
  CHECK_FALSE(parse_client_data(R"({"type": "webauthn.get", "challenge": "", "origin": "o", "crossOrigin": "no"})").ok());
}

TEST_CASE("ctap client: RP IDs must belong to the origin") {
  CHECK(rp_id_matches_origin("example.com", "https://example.com"));
  CHECK(rp_id_matches_origin("example.com", "https://login.example.com:8443"));
  CHECK_FALSE(rp_id_matches_origin("example.com", "https://badexample.com"));
  CHECK_FALSE(rp_id_matches_origin("login.example.com", "https://example.com"));
  CHECK_FALSE(rp_id_matches_origin("example.com", "http://example.com"));
  CHECK(rp_id_matches_origin("localhost", "http://localhost:8080"));
  CHECK(rp_id_matches_origin("127.0.0.1", "http://127.0.0.1:5000"));
  CHECK_FALSE(rp_id_matches_origin("example.com", "https://example.com/path"));
}

TEST_CASE("ctap client: options JSON → CTAP request → PublicKeyCredential JSON") {
  auto store = CredentialStore::in_memory();
  AutoApprover approver;
  SoftwareAuthenticator phone(store, AuthenticatorConfig::for_kind(PasskeyKind::synced), approver);
  auto info = phone.get_info();
  const Bytes challenge = crypto::random_bytes(32);
  json options = json::parse(R"({"publicKey": {
      "rp": {"id": "example.com", "name": "Example"},
      "user": {"id": "AQID", "name": "alice", "displayName": "Alice"},
      "pubKeyCredParams": [{"type": "public-key", "alg": -8}, {"type": "public-key", "alg": -7}],
      "authenticatorSelection": {"residentKey": "preferred", "userVerification": "required"},
      "attestation": "none",
      "extensions": {"credProps": true, "prf": {"eval": {"first": "c2FsdA"}}}}})");
  options["publicKey"]["challenge"] = base64url_encode(challenge);
  auto opts = RegistrationOptions::from_json(options, "https://example.com");
  REQUIRE(opts.ok());
  auto prepared = prepare_registration(*opts, &info);
  REQUIRE(prepared.ok());
  CHECK(prepared->request.rk == std::optional<bool>(true));
  CHECK(prepared->request.uv == std::optional<bool>(true));
  CHECK(prepared->request.client_data_hash == crypto::sha256(as_bytes(prepared->client_data_json)));
  REQUIRE(prepared->request.prf);
  CHECK(prepared->request.prf->eval->first == webauthn_prf_salt(as_bytes("salt")));
  CHECK(prepared->ctap_request().front() == 0x01);

  auto reg = finish_registration(*prepared, phone.process(prepared->ctap_request()));
  REQUIRE(reg.ok());
  const json& j = *reg;
  CHECK(j["type"] == "public-key");
  CHECK(j["id"] == j["rawId"]);
  CHECK(j["authenticatorAttachment"] == "cross-platform");
  CHECK(j["response"]["transports"] == json::array({"hybrid"}));
  CHECK(j["response"]["publicKeyAlgorithm"] == -7);
  CHECK(base64url_decode(j["response"]["publicKey"].get<std::string>())->size() == 91);
  CHECK(j["clientExtensionResults"]["credProps"]["rk"] == true);
  CHECK(j["clientExtensionResults"]["prf"]["enabled"] == true);
  const std::string prf_at_create = j["clientExtensionResults"]["prf"]["results"]["first"];
  auto cdj = base64url_decode(j["response"]["clientDataJSON"].get<std::string>());
  auto cd = parse_client_data(to_string(*cdj));
  REQUIRE(cd.ok());
  CHECK(cd->type == "webauthn.create");
  CHECK(cd->challenge == challenge);
  auto att = MakeCredentialResponse::from_attestation_object(*base64url_decode(j["response"]["attestationObject"].get<std::string>()));
  REQUIRE(att.ok());
  CHECK(att->fmt == "none");
  CHECK(base64url_encode(att->auth_data) == j["response"]["authenticatorData"]);

  json get_options = json::parse(R"({"rpId": "example.com", "userVerification": "required"})");
  get_options["challenge"] = base64url_encode(crypto::random_bytes(32));
  get_options["allowCredentials"] = json::array({{{"type", "public-key"}, {"id", j["id"]}}});
  get_options["extensions"]["prf"]["evalByCredential"][j["id"].get<std::string>()]["first"] = "c2FsdA";  // "salt"
  auto gopts = AuthenticationOptions::from_json(get_options, "https://example.com");
  REQUIRE(gopts.ok());
  auto gp = prepare_authentication(*gopts, &info);
  REQUIRE(gp.ok());
  auto assertion = finish_authentication(*gp, phone.process(gp->ctap_request()));
  REQUIRE(assertion.ok());
  const json& a = *assertion;
  CHECK(a["id"] == j["id"]);
  CHECK(a["response"]["userHandle"] == base64url_encode(Bytes{1, 2, 3}));
  CHECK(a["clientExtensionResults"]["prf"]["results"]["first"] == prf_at_create);
  auto key = p256_from_cose_key_bytes(AuthenticatorData::parse(att->auth_data)->attested->public_key_cose);
  REQUIRE(key.ok());
  Bytes ad = *base64url_decode(a["response"]["authenticatorData"].get<std::string>());
  Bytes sig = *base64url_decode(a["response"]["signature"].get<std::string>());
  Bytes gcdj = *base64url_decode(a["response"]["clientDataJSON"].get<std::string>());
  CHECK(key->verify_es256(concat(ad, crypto::sha256(gcdj)), sig));
}

TEST_CASE("ctap client: refusals") {
  RegistrationOptions o;
  o.origin = "https://example.com";
  o.rp_id = "example.org";
  o.user = UserEntity{Bytes{1}, "a", "A"};
  o.challenge = Bytes(32, 1);
  CHECK_THAT(prepare_registration(o).error().message, Catch::Contains("does not belong"));
  o.rp_id = "example.com";
  o.algorithms = {-257};
  CHECK_THAT(prepare_registration(o).error().message, Catch::Contains("ES256"));
  o.algorithms = {-7};
  o.challenge = Bytes(8, 1);
  CHECK_THAT(prepare_registration(o).error().message, Catch::Contains("challenge"));
  o.challenge = Bytes(32, 1);
  GetInfoResponse no_uv;
  no_uv.options = {{"uv", false}, {"rk", true}};
  o.user_verification = "required";
  CHECK_THAT(prepare_registration(o, &no_uv).error().message, Catch::Contains("user verification"));
  o.user_verification = "preferred";
  auto p = prepare_registration(o, &no_uv);
  REQUIRE(p.ok());
  CHECK_FALSE(p->request.uv.has_value());
  // A CTAP error from the phone becomes an Error carrying the status.
  auto err = finish_registration(*p, Bytes{0x27});
  REQUIRE_FALSE(err.ok());
  CHECK(status_of(err.error()) == 0x27);
  CHECK_THAT(err.error().message, Catch::Contains("declined on the phone"));
  CHECK_FALSE(finish_registration(*p, Bytes{}).ok());
  CHECK_FALSE(finish_registration(*p, Bytes{0x00, 0xa0}).ok());
}

TEST_CASE("ctap client: an algorithm number that does not fit int64 is refused, not wrapped to ES256") {
  json options = json::parse(R"({"publicKey": {
      "rp": {"id": "example.com", "name": "Example"},
      "user": {"id": "AQID", "name": "alice", "displayName": "Alice"},
      "challenge": "AAAAAAAAAAAAAAAAAAAAAA"}})");
  options["publicKey"]["pubKeyCredParams"] = json::parse(R"([{"type": "public-key", "alg": -7}])");
  auto good = RegistrationOptions::from_json(options, "https://example.com");
  REQUIRE(good.ok());
  CHECK(good->algorithms == std::vector<int64_t>{-7});
  // 2^64 - 7 read through get<int64_t>() is -7.
  for (const char* alg : {"18446744073709551609", "-7.0", "\"-7\""}) {
    options["publicKey"]["pubKeyCredParams"] = json::array({{{"type", "public-key"}, {"alg", json::parse(alg)}}});
    INFO(alg);
    auto r = RegistrationOptions::from_json(options, "https://example.com");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("integer \"alg\""));
  }
}
