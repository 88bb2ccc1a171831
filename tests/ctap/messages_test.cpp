#include <catch2/catch.hpp>

#include "cbor/codec.h"
#include "ctap/auth_data.h"
#include "ctap/commands.h"
#include "ctap/cose_key.h"
#include "ctap/get_assertion.h"
#include "ctap/get_info.h"
#include "ctap/make_credential.h"
#include "crypto/primitives.h"
#include "tests/ctap/test_util.h"

using namespace hybrid;
using namespace hybrid::ctap;
using ctap_test::H;

namespace {

uint8_t status_of_decode(ByteView cbor_bytes) {
  auto r = MakeCredentialRequest::decode(cbor_bytes);
  REQUIRE_FALSE(r.ok());
  return status_of(r.error());
}

MakeCredentialRequest sample_request() {
  MakeCredentialRequest r;
  r.client_data_hash = crypto::sha256(as_bytes("client data"));
  r.rp = RpEntity{"example.com", "Example"};
  r.user = UserEntity{Bytes{1, 2, 3, 4}, "alice", "Alice"};
  r.pub_key_cred_params = {CredentialParameter{"public-key", -7}, CredentialParameter{"public-key", -257}};
  r.exclude_list = {CredentialDescriptor{"public-key", Bytes{9, 9}, std::vector<std::string>{"hybrid"}}};
  r.rk = true;
  r.uv = true;
  PrfRequest prf;
  prf.eval = PrfSalts{webauthn_prf_salt(as_bytes("salt")), std::nullopt};
  r.prf = prf;
  r.hmac_secret = true;
  return r;
}

}  // namespace

TEST_CASE("ctap: the C1 and §10 vector requests decode, and re-encode byte for byte") {
  auto doc = ctap_test::read_json("tests/vectors/ctap/requests.json");
  REQUIRE(doc["kind"] == "ctap_request");
  int valid = 0, invalid = 0;
  for (const auto& c : doc["cases"]) {
    INFO(c["name"].get<std::string>());
    Bytes bytes = H(c["bytes"]);
    REQUIRE(bytes.at(0) == c["command"].get<int>());
    ByteView params = ByteView(bytes).subspan(1);
    auto req = MakeCredentialRequest::decode(params);
    if (!c["valid"].get<bool>()) {
      REQUIRE_FALSE(req.ok());
      CHECK(status_of(req.error()) == c["error_status"].get<int>());
      CHECK_THAT(req.error().message, Catch::Contains(c["error_contains"].get<std::string>()));
      ++invalid;
      continue;
    }
    REQUIRE(req.ok());
    CHECK(hex_encode(req->client_data_hash) == c["client_data_hash"]);
    CHECK(req->rp.id == c["rp_id"]);
    CHECK(req->rp.name == c["rp_name"].get<std::string>());
    CHECK(hex_encode(req->user.id) == c["user_id"]);
    CHECK(req->user.name == c["user_name"].get<std::string>());
    CHECK(req->user.display_name == c["user_display_name"].get<std::string>());
    std::vector<int64_t> algs;
    for (const auto& p : req->pub_key_cred_params) {
      CHECK(p.type == "public-key");
      algs.push_back(p.alg);
    }
    CHECK(algs == c["algorithms"].get<std::vector<int64_t>>());
    std::vector<std::string> excluded;
    for (const auto& d : req->exclude_list) excluded.push_back(hex_encode(d.id));
    CHECK(excluded == c["exclude_list"].get<std::vector<std::string>>());
    CHECK(req->uv == (c.contains("uv") ? std::optional<bool>(c["uv"].get<bool>()) : std::nullopt));
    CHECK(req->rk == (c.contains("rk") ? std::optional<bool>(c["rk"].get<bool>()) : std::nullopt));
    // Our encoder writes exactly what Chromium and the CTAP spec example wrote.
    CHECK(hex_encode(req->encode()) == hex_encode(params));
    ++valid;
  }
  CHECK(valid == 2);
  CHECK(invalid >= 1);
}

TEST_CASE("ctap: makeCredential request round-trips with extensions and options") {
  auto r = sample_request();
  Bytes enc = r.encode();
  auto back = MakeCredentialRequest::decode(enc);
  REQUIRE(back.ok());
  CHECK(back->encode() == enc);
  CHECK(back->rp == r.rp);
  CHECK(back->user == r.user);
  CHECK(back->exclude_list == r.exclude_list);
  REQUIRE(back->prf);
  CHECK(*back->prf == *r.prf);
  CHECK(back->hmac_secret);
  CHECK(back->rk == std::optional<bool>(true));
  CHECK_FALSE(back->up.has_value());
  // Canonical: "alg" before "type" in every pubKeyCredParams entry.
  auto v = cbor::decode(enc);
  REQUIRE(v.ok());
  const auto& params = v->as_map().find(4)->as_array();
  Bytes first = cbor::encode(params[0]);
  CHECK(hex_encode(first).rfind("a263616c67", 0) == 0);
}

TEST_CASE("ctap: strict decoding rejects malformed makeCredential requests with the right status") {
  auto base = cbor::decode(sample_request().encode());
  REQUIRE(base.ok());
  auto with = [&](int64_t key, cbor::Value value) {
    cbor::Map m = base->as_map();
    m.set(key, std::move(value));
    return cbor::encode(cbor::Value(m));
  };
  auto without = [&](int64_t key) {
    cbor::Map m;
    for (const auto& [k, v] : base->as_map())
      if (!(k == cbor::Value(key))) m.set(k, v);
    return cbor::encode(cbor::Value(m));
  };

  SECTION("wrong types") {
    CHECK(status_of_decode(with(1, "not bytes")) == uint8_t(StatusCode::cbor_unexpected_type));
    CHECK(status_of_decode(with(2, cbor::Array{})) == uint8_t(StatusCode::cbor_unexpected_type));
    CHECK(status_of_decode(with(3, cbor::Map{{"id", "text, not bytes"}})) == uint8_t(StatusCode::cbor_unexpected_type));
    CHECK(status_of_decode(with(4, cbor::Map{})) == uint8_t(StatusCode::cbor_unexpected_type));
    CHECK(status_of_decode(with(4, cbor::Array{cbor::Map{{"alg", "-7"}, {"type", "public-key"}}})) ==
          uint8_t(StatusCode::cbor_unexpected_type));
    CHECK(status_of_decode(with(5, cbor::Array{cbor::Value(1)})) == uint8_t(StatusCode::cbor_unexpected_type));
    CHECK(status_of_decode(with(7, cbor::Map{{"rk", 1}})) == uint8_t(StatusCode::cbor_unexpected_type));
    CHECK(status_of_decode(with(6, cbor::Map{{"hmac-secret", "yes"}})) == uint8_t(StatusCode::cbor_unexpected_type));
    CHECK(status_of_decode(with(6, cbor::Map{{"prf", cbor::Map{{"eval", cbor::Map{{"first", Bytes(31)}}}}}})) ==
          uint8_t(StatusCode::invalid_length));
    CHECK(status_of_decode(with(8, true)) == uint8_t(StatusCode::cbor_unexpected_type));
  }
  SECTION("missing required members") {
    for (int key : {1, 2, 3, 4}) {
      INFO("key " << key);
      auto r = MakeCredentialRequest::decode(without(key));
      REQUIRE_FALSE(r.ok());
      CHECK(status_of(r.error()) == uint8_t(StatusCode::missing_parameter));
    }
    CHECK(status_of_decode(with(2, cbor::Map{{"name", "no id"}})) == uint8_t(StatusCode::missing_parameter));
    CHECK(status_of_decode(with(3, cbor::Map{{"name", "no id"}})) == uint8_t(StatusCode::missing_parameter));
    CHECK(status_of_decode(with(5, cbor::Array{cbor::Map{{"type", "public-key"}}})) ==
          uint8_t(StatusCode::missing_parameter));
  }
  SECTION("bad lengths and values") {
    CHECK(status_of_decode(with(1, Bytes(31))) == uint8_t(StatusCode::invalid_length));
    CHECK(status_of_decode(with(3, cbor::Map{{"id", Bytes(65)}})) == uint8_t(StatusCode::invalid_length));
    CHECK(status_of_decode(with(3, cbor::Map{{"id", Bytes{}}})) == uint8_t(StatusCode::invalid_length));
    // Text that is not UTF-8 is malformed CBOR (RFC 8949 §3.1), refused by the decoder.
    CHECK(status_of_decode(with(2, cbor::Map{{"id", std::string("\xc3\x28")}})) ==
          uint8_t(StatusCode::invalid_cbor));
  }
  SECTION("trailing bytes, non-canonical forms, bad CBOR") {
    Bytes enc = sample_request().encode();
    Bytes trailing = enc;
    trailing.push_back(0x00);
    CHECK(status_of_decode(trailing) == uint8_t(StatusCode::invalid_cbor));
    CHECK(status_of_decode(ByteView(enc).first(enc.size() - 1)) == uint8_t(StatusCode::invalid_cbor));
    CHECK(status_of_decode(Bytes{}) == uint8_t(StatusCode::invalid_cbor));
    // The map header a5/a6… with key 1 written as 18 01 (non-shortest).
    Bytes nonshortest = enc;
    REQUIRE(nonshortest[1] == 0x01);
    nonshortest.insert(nonshortest.begin() + 1, 0x18);
    CHECK(status_of_decode(nonshortest) == uint8_t(StatusCode::invalid_cbor));
    // Keys out of order: {2: …, 1: …}.
    CHECK(status_of_decode(H("a202a0015820" + std::string(64, '0'))) == uint8_t(StatusCode::invalid_cbor));
    // Duplicate key, indefinite length, floats and tags.
    CHECK(status_of_decode(H("a201400140")) == uint8_t(StatusCode::invalid_cbor));
    CHECK(status_of_decode(H("bf01ff")) == uint8_t(StatusCode::invalid_cbor));
    CHECK(status_of_decode(H("a101f93c00")) == uint8_t(StatusCode::invalid_cbor));
    CHECK(status_of_decode(H("a101c240")) == uint8_t(StatusCode::invalid_cbor));
    // Not a map at all.
    CHECK(status_of_decode(H("80")) == uint8_t(StatusCode::cbor_unexpected_type));
  }
  SECTION("nesting deeper than the bound") {
    // extensions → {"x": [[[[…]]]]} 40 levels deep.
    std::string deep = "a106a16178";
    for (int i = 0; i < 40; ++i) deep += "81";
    deep += "00";
    CHECK(status_of_decode(H(deep)) == uint8_t(StatusCode::invalid_cbor));
    auto r = MakeCredentialRequest::decode(H(deep));
    CHECK_THAT(r.error().message, Catch::Contains("nesting"));
  }
}

TEST_CASE("ctap: getAssertion request and response round-trip; strict negatives") {
  GetAssertionRequest r;
  r.rp_id = "example.com";
  r.client_data_hash = crypto::sha256(as_bytes("x"));
  r.allow_list = {CredentialDescriptor{"public-key", Bytes{1, 2, 3}, std::nullopt}};
  PrfRequest prf;
  prf.eval_by_credential.emplace_back(Bytes{1, 2, 3}, PrfSalts{PrfSalt{}, PrfSalt{1}});
  r.prf = prf;
  r.uv = true;
  Bytes enc = r.encode();
  auto back = GetAssertionRequest::decode(enc);
  REQUIRE(back.ok());
  CHECK(back->encode() == enc);
  REQUIRE(back->prf);
  REQUIRE(back->prf->salts_for(Bytes{1, 2, 3}));
  CHECK(back->prf->salts_for(Bytes{1, 2, 3})->second == PrfSalt{1});
  CHECK(back->prf->salts_for(Bytes{4}) == nullptr);

  auto m = cbor::decode(enc)->as_map();
  m.set(1, Bytes{1});
  CHECK(status_of(GetAssertionRequest::decode(cbor::encode(cbor::Value(m))).error()) ==
        uint8_t(StatusCode::cbor_unexpected_type));
  cbor::Map no_hash;
  no_hash.set(1, "example.com");
  CHECK(status_of(GetAssertionRequest::decode(cbor::encode(cbor::Value(no_hash))).error()) ==
        uint8_t(StatusCode::missing_parameter));
  auto m2 = cbor::decode(enc)->as_map();
  m2.set(5, cbor::Map{{"rk", true}});
  CHECK(status_of(GetAssertionRequest::decode(cbor::encode(cbor::Value(m2))).error()) ==
        uint8_t(StatusCode::unsupported_option));

  GetAssertionResponse resp;
  resp.credential = CredentialDescriptor{"public-key", Bytes{7}, std::nullopt};
  resp.auth_data = Bytes(37, 1);
  resp.signature = Bytes{0x30, 0x00};
  resp.user = UserEntity{Bytes{5}, "bob", std::nullopt};
  resp.number_of_credentials = 2;
  Bytes renc = resp.encode();
  auto rback = GetAssertionResponse::decode(renc);
  REQUIRE(rback.ok());
  CHECK(rback->encode() == renc);
  CHECK(rback->number_of_credentials == std::optional<uint64_t>(2));
  CHECK(rback->user->name == std::optional<std::string>("bob"));
  renc.push_back(0);
  CHECK(status_of(GetAssertionResponse::decode(renc).error()) == uint8_t(StatusCode::invalid_cbor));
}

TEST_CASE("ctap: getInfo encodes like Chromium's phone (spec/vectors.md §15)") {
  GetInfoResponse info;
  info.versions = {"FIDO_2_0", "FIDO_2_1"};
  info.extensions = {"prf"};
  info.options = {{"rk", true}, {"uv", true}};
  info.transports = {"cable", "hybrid", "internal"};
  const std::string expected =
      "a50182684649444f5f325f30684649444f5f325f3102816370726603500000000000000000000000000000000004a262726bf56275"
      "76f50983656361626c656668796272696468696e7465726e616c";
  CHECK(hex_encode(info.encode()) == expected);
  auto back = GetInfoResponse::decode(H(expected));
  REQUIRE(back.ok());
  CHECK(back->option("rk"));
  CHECK_FALSE(back->option("plat"));
  CHECK(back->has_extension("prf"));
  CHECK(back->pin_uv_auth_protocols.empty());
  // aaguid of the wrong size, versions missing.
  CHECK(status_of(GetInfoResponse::decode(H("a201808341")).error()) == uint8_t(StatusCode::invalid_cbor));
  CHECK(status_of(GetInfoResponse::decode(H("a10341aa")).error()) == uint8_t(StatusCode::missing_parameter));
  CHECK(status_of(GetInfoResponse::decode(H("a201800341aa")).error()) == uint8_t(StatusCode::invalid_length));
}

TEST_CASE("ctap: authenticator data builds and parses") {
  auto key = crypto::P256KeyPair::generate();
  AuthenticatorData ad;
  ad.rp_id_hash = rp_id_hash("example.com");
  ad.flags = flags::kUserPresent | flags::kUserVerified | flags::kBackupEligible | flags::kBackedUp;
  ad.sign_count = 0x01020304;
  ad.attested = AttestedCredentialData{*aaguid_from_string("2abc2806-f6a3-44ab-b8cc-b94c8f9f4cc5"), Bytes(32, 0xab),
                                       encode_cose_key(key.public_key())};
  ad.extensions = cbor::Map{{"hmac-secret", true}};
  Bytes enc = ad.encode();
  CHECK(enc[32] == (0x01 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80));
  CHECK(hex_encode(ByteView(enc).subspan(33, 4)) == "01020304");
  auto back = AuthenticatorData::parse(enc);
  REQUIRE(back.ok());
  CHECK(back->user_present());
  CHECK(back->user_verified());
  CHECK(back->backup_eligible());
  CHECK(back->backed_up());
  CHECK(back->sign_count == 0x01020304);
  REQUIRE(back->attested);
  CHECK(aaguid_to_string(back->attested->aaguid) == "2abc2806-f6a3-44ab-b8cc-b94c8f9f4cc5");
  CHECK(back->attested->credential_id == Bytes(32, 0xab));
  auto pub = p256_from_cose_key_bytes(back->attested->public_key_cose);
  REQUIRE(pub.ok());
  CHECK(*pub == key.public_key());
  REQUIRE(back->extensions);
  CHECK(back->extensions->find(std::string_view("hmac-secret"))->as_bool());
  CHECK(back->encode() == enc);

  SECTION("negative cases") {
    CHECK_FALSE(AuthenticatorData::parse(ByteView(enc).first(36)).ok());
    Bytes trailing = enc;
    trailing.push_back(0);
    CHECK_FALSE(AuthenticatorData::parse(trailing).ok());
    Bytes no_ed = enc;
    no_ed[32] &= static_cast<uint8_t>(~flags::kExtensionData);  // extensions then "trail"
    CHECK_FALSE(AuthenticatorData::parse(no_ed).ok());
    Bytes no_at = enc;
    no_at[32] &= static_cast<uint8_t>(~flags::kAttestedData);
    CHECK_FALSE(AuthenticatorData::parse(no_at).ok());
    Bytes cut = enc;
    cut.resize(37 + 16 + 2 + 10);
    CHECK_FALSE(AuthenticatorData::parse(cut).ok());
    Bytes zero_id = enc;
    zero_id[37 + 16] = 0;
    zero_id[37 + 16 + 1] = 0;
    CHECK_FALSE(AuthenticatorData::parse(zero_id).ok());
    AuthenticatorData plain;
    plain.flags = flags::kUserPresent | flags::kExtensionData;  // ED claimed, nothing follows
    Bytes raw(plain.rp_id_hash.begin(), plain.rp_id_hash.end());
    raw.push_back(plain.flags);
    raw.insert(raw.end(), {0, 0, 0, 0});
    CHECK_FALSE(AuthenticatorData::parse(raw).ok());
  }
}

TEST_CASE("ctap: COSE keys are ES256 EC2 P-256 only") {
  auto key = crypto::P256KeyPair::generate();
  Bytes cose = encode_cose_key(key.public_key());
  // {1: 2, 3: -7, -1: 1, -2: x, -3: y} in canonical order.
  CHECK(hex_encode(ByteView(cose).first(7)) == "a5010203262001");
  auto v = *cbor::decode(cose);
  auto m = v.as_map();
  m.set(3, -257);
  CHECK_FALSE(p256_from_cose_key(cbor::Value(m)).ok());
  auto m2 = v.as_map();
  m2.set(-1, 2);
  CHECK_FALSE(p256_from_cose_key(cbor::Value(m2)).ok());
  auto m3 = v.as_map();
  Bytes bad_y(32, 0);
  m3.set(-3, bad_y);
  CHECK_FALSE(p256_from_cose_key(cbor::Value(m3)).ok());  // not on the curve
  CHECK(p256_spki_der(key.public_key()).size() == 91);
}

TEST_CASE("ctap: PRF salts and evaluation follow WebAuthn and hmac-secret") {
  // SHA-256("WebAuthn PRF" ‖ 0x00 ‖ "") computed independently (Python hashlib).
  CHECK(hex_encode(webauthn_prf_salt(Bytes{})) ==
        hex_encode(crypto::sha256(Bytes{'W', 'e', 'b', 'A', 'u', 't', 'h', 'n', ' ', 'P', 'R', 'F', 0})));
  Bytes key(32, 7);
  PrfSalts salts{PrfSalt{1}, PrfSalt{2}};
  auto r = evaluate_prf(key, salts);
  CHECK(r.first == crypto::hmac_sha256(key, salts.first));
  REQUIRE(r.second);
  CHECK(*r.second == crypto::hmac_sha256(key, *salts.second));
  PrfOutput out{true, r};
  auto back = PrfOutput::from_cbor(out.to_cbor());
  REQUIRE(back.ok());
  CHECK(back->enabled == std::optional<bool>(true));
  CHECK(back->results == std::optional<PrfResults>(r));
  CHECK_FALSE(PrfRequest::from_cbor(PrfRequest{std::nullopt, {{Bytes{1}, salts}}}.to_cbor(), false).ok());
}

TEST_CASE("ctap: status names") {
  CHECK(status_name(0x2e) == "CTAP2_ERR_NO_CREDENTIALS");
  CHECK(status_name(0x00) == "CTAP2_OK");
  CHECK(status_name(0x12) == "CTAP2_ERR_INVALID_CBOR");
  CHECK(status_description(0x19) == "CTAP2_ERR_CREDENTIAL_EXCLUDED (0x19)");
  CHECK(status_name(0xee) == "unknown CTAP status");
  CHECK(command_name(0x0b) == "authenticatorSelection");
}
