// The FIDO:/ payload codec against every qr vector file, plus round trips and the rules
// of docs/protocol.md §3.3 that the vectors do not spell out.
#include <catch2/catch.hpp>

#include <random>

#include "cbor/codec.h"
#include "crypto/primitives.h"
#include "qr/digits.h"
#include "qr/payload.h"
#include "tests/support/vector_files.h"

using namespace hybrid;
using hybrid::testing::hex_field;
using hybrid::testing::load_vectors;
using nlohmann::json;

namespace {

// Compares a parsed payload with the expected fields of a vector case (each optional;
// null means the key is absent).
void check_fields(const qr::QrPayload& p, const json& c) {
  if (c.contains("public_key")) {
    CHECK(hex_encode(p.identity_key.compressed()) == c["public_key"].get<std::string>());
  }
  if (c.contains("public_key_uncompressed")) {
    CHECK(hex_encode(p.identity_key.uncompressed()) ==
          c["public_key_uncompressed"].get<std::string>());
  }
  if (c.contains("secret")) CHECK(hex_encode(p.secret) == c["secret"].get<std::string>());
  auto optional_u64 = [&](const char* field, const std::optional<uint64_t>& have) {
    if (!c.contains(field)) return;
    INFO(field);
    if (c[field].is_null()) {
      CHECK_FALSE(have.has_value());
    } else {
      REQUIRE(have.has_value());
      CHECK(*have == c[field].get<uint64_t>());
    }
  };
  optional_u64("known_domains", p.known_domains);
  optional_u64("timestamp", p.timestamp);
  if (c.contains("supports_linking")) {
    if (c["supports_linking"].is_null()) {
      CHECK_FALSE(p.supports_linking.has_value());
    } else {
      REQUIRE(p.supports_linking.has_value());
      CHECK(*p.supports_linking == c["supports_linking"].get<bool>());
    }
  }
  if (c.contains("request_hint")) {
    if (c["request_hint"].is_null()) {
      CHECK_FALSE(p.request_hint.has_value());
    } else {
      REQUIRE(p.request_hint.has_value());
      CHECK(*p.request_hint == c["request_hint"].get<std::string>());
    }
  }
  if (c.contains("request_type")) {
    CHECK(qr::request_type_hint(p.request_type()) == c["request_type"].get<std::string>());
  }
  if (c.contains("key6")) {
    if (c["key6"].is_null()) {
      CHECK_FALSE(p.key6.has_value());
    } else {
      REQUIRE(p.key6.has_value());
      CHECK(cbor::to_diagnostic(*p.key6) == c["key6"].get<std::string>());
    }
  }
  if (c.contains("unknown_keys")) {
    const auto& want = c["unknown_keys"];
    REQUIRE(p.unknown_keys.size() == want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      CHECK(cbor::to_diagnostic(p.unknown_keys[i].first) == want[i]["key"].get<std::string>());
      CHECK(cbor::to_diagnostic(p.unknown_keys[i].second) == want[i]["value"].get<std::string>());
    }
  }
}

crypto::P256PublicKey random_key() { return crypto::P256KeyPair::generate().public_key(); }

}  // namespace

TEST_CASE("qr payload: every vector in tests/vectors/qr") {
  auto cases = load_vectors("qr", "qr");
  size_t valid = 0, invalid = 0;
  for (const auto& c : cases) {
    INFO(c.file << ": " << c.name);
    const auto url = c.data.at("url").get<std::string>();
    auto parsed = qr::parse_url(url);
    if (c.data.at("valid").get<bool>()) {
      ++valid;
      if (!parsed.ok()) FAIL(parsed.error().message);
      check_fields(*parsed, c.data);
      if (c.data.contains("cbor")) {
        Bytes cbor = hex_field(c.data, "cbor");
        // Canonical in, canonical out: re-encoding gives the same bytes and URL (up to
        // the case of the prefix, which we always emit upper-case).
        CHECK(qr::encode_cbor(*parsed) == cbor);
        CHECK(qr::encode_url(*parsed) == "FIDO:/" + url.substr(6));
        auto direct = qr::parse_cbor(cbor);
        REQUIRE(direct.ok());
        CHECK(*direct == *parsed);
      }
    } else {
      ++invalid;
      REQUIRE_FALSE(parsed.ok());
      CHECK_FALSE(parsed.error().message.empty());
      if (c.data.contains("error_contains")) {
        CHECK_THAT(parsed.error().message,
                   Catch::Contains(c.data["error_contains"].get<std::string>()));
      }
      if (c.data.contains("cbor")) CHECK_FALSE(qr::parse_cbor(hex_field(c.data, "cbor")).ok());
    }
  }
  // Q1–Q8, Q14–Q15, the 13 KnownQRs and the edge cases: a floor, so that a lost file shows.
  CHECK(valid >= 30);
  CHECK(invalid >= 50);
}

TEST_CASE("qr payload: every file in tests/vectors/qr and digits has the expected kind") {
  for (auto [folder, kind] : {std::pair{"qr", "qr"}, std::pair{"digits", "digits"}}) {
    size_t files = 0;
    for (const auto& e : std::filesystem::directory_iterator(std::string("tests/vectors/") + folder)) {
      if (e.path().extension() != ".json") continue;
      ++files;
      std::ifstream in(e.path());
      auto j = json::parse(in);
      INFO(e.path());
      CHECK(j.at("kind") == kind);
      CHECK(j.at("cases").size() > 0);
    }
    CHECK(files >= 2);
  }
}

TEST_CASE("qr payload: the real-world QRs decode to what their sources assert") {
  // Q1 (Chrome, webauthn-rs decode_chrome): mc, 2 domains, ts 1666589051, linking true.
  auto q1 = qr::parse_url(
      "FIDO:/162870791865632382552704231438327900152302540348097243854039966655366469794954476199158014113179232779520163209900691930075274801398564434658077048963842109321447142660");
  REQUIRE(q1.ok());
  CHECK(q1->request_type() == qr::RequestType::make_credential);
  CHECK(q1->known_domains == 2u);
  CHECK(q1->timestamp == 1666589051u);
  CHECK(q1->supports_linking == true);
  CHECK(qr::encode_cbor(*q1).size() == 69);
}

TEST_CASE("qr payload: random payloads round-trip through CBOR and the URL") {
  std::mt19937_64 rng(7);
  auto key = random_key();
  for (int i = 0; i < 200; ++i) {
    if (i % 20 == 0) key = random_key();
    qr::QrPayload p{key, crypto::random_array<16>()};
    if (rng() & 1) p.known_domains = rng() >> (rng() % 63 + 1);
    if (rng() & 1) p.timestamp = rng() >> 1;  // within int64, as Chromium's reader needs
    if (rng() & 1) p.supports_linking = (rng() & 1) != 0;
    if (rng() & 1) p.request_hint = std::string(qr::request_type_hint(qr::RequestType(rng() % 3)));
    if (rng() % 4 == 0) p.key6 = cbor::Value(cbor::Array{0, 1});
    if (rng() % 4 == 0) p.unknown_keys.emplace_back(cbor::Value(uint64_t(7 + rng() % 1000)), cbor::Value(true));
    Bytes cbor = qr::encode_cbor(p);
    CHECK(cbor::decode(cbor).ok());  // canonical by construction
    auto back = qr::parse_cbor(cbor);
    REQUIRE(back.ok());
    CHECK(*back == p);
    std::string url = qr::encode_url(p);
    CHECK(url.rfind("FIDO:/", 0) == 0);
    CHECK(url.size() == 6 + qr::digits_length(cbor.size()));
    auto again = qr::parse_url(url);
    REQUIRE(again.ok());
    CHECK(*again == p);
  }
}

TEST_CASE("qr payload: make_client_payload emits what docs/protocol.md §3.3 recommends") {
  auto kp = crypto::P256KeyPair::generate();
  auto secret = crypto::random_array<16>();
  auto p = qr::make_client_payload(kp.public_key(), secret, qr::RequestType::get_assertion,
                                   std::nullopt, 1700000000);
  Bytes cbor = qr::encode_cbor(p);
  auto v = cbor::decode(cbor);
  REQUIRE(v.ok());
  const auto& m = v->as_map();
  std::vector<uint64_t> keys;
  for (const auto& [k, _] : m) keys.push_back(k.as_unsigned());
  CHECK(keys == std::vector<uint64_t>{0, 1, 2, 3, 5});  // no key 4, no key 6
  CHECK(m.find(2)->as_unsigned() == 2);
  CHECK(m.find(3)->as_unsigned() == 1700000000);
  CHECK(m.find(5)->as_text() == "ga");
  CHECK(m.find(0)->as_bytes().size() == 33);
  CHECK(cbor.size() == 67);  // like webauthn-rs' QRs (Q14, Q15)
  CHECK(qr::encode_url(p).size() == 6 + 163);

  auto mc = qr::make_client_payload(kp.public_key(), secret, qr::RequestType::make_credential,
                                    false, 1785912832);
  Bytes mc_cbor = qr::encode_cbor(mc);
  CHECK(mc_cbor.size() == 69);  // Chrome's usual size
  CHECK(qr::encode_url(mc).size() == 6 + 168);
  auto back = qr::parse_cbor(mc_cbor);
  REQUIRE(back.ok());
  CHECK(back->supports_linking == false);
  CHECK(back->request_type() == qr::RequestType::make_credential);
  CHECK(back->secret == secret);
  CHECK(back->identity_key == kp.public_key());

  auto dcp = qr::make_client_payload(kp.public_key(), secret,
                                     qr::RequestType::digital_credential_presentation, true, 1);
  CHECK(qr::parse_url(qr::encode_url(dcp))->request_hint == "dcp");
}

TEST_CASE("qr payload: the same map as Chromium 145's QR (Q3) re-encodes byte for byte") {
  auto q3 = qr::parse_url(
      "FIDO:/258473327900755586143665566879417871127860505704909541444130070144141296274130454836270492384743490254202060441129710420074451564345311200244582987727618109321447142404");
  REQUIRE(q3.ok());
  auto rebuilt = qr::make_client_payload(q3->identity_key, q3->secret,
                                         qr::RequestType::make_credential, false, *q3->timestamp);
  CHECK(qr::encode_url(rebuilt) == qr::encode_url(*q3));
}

TEST_CASE("qr payload: request type hints") {
  using qr::RequestType;
  CHECK(qr::request_type_hint(RequestType::get_assertion) == "ga");
  CHECK(qr::request_type_hint(RequestType::make_credential) == "mc");
  CHECK(qr::request_type_hint(RequestType::digital_credential_presentation) == "dcp");
  CHECK(qr::request_type_from_hint("mc") == RequestType::make_credential);
  CHECK(qr::request_type_from_hint("dcp") == RequestType::digital_credential_presentation);
  CHECK(qr::request_type_from_hint("ga") == RequestType::get_assertion);
  for (const char* unknown : {"nonsense", "", "XX", "MC", "mc ", "gA"}) {
    CHECK(qr::request_type_from_hint(unknown) == RequestType::get_assertion);
  }
}

TEST_CASE("qr payload: errors carry a code and never quote the secret") {
  auto kp = crypto::P256KeyPair::generate();
  ByteArray<16> secret{};
  secret.fill(0xab);
  qr::QrPayload p{kp.public_key(), secret};
  p.supports_linking = true;
  Bytes cbor = qr::encode_cbor(p);
  cbor.push_back(0x00);  // trailing byte
  auto r = qr::parse_cbor(cbor);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().is(qr::QrError::bad_cbor));
  CHECK(r.error().message.find("abab") == std::string::npos);

  cbor::Map m{{0, kp.public_key().compressed()}, {1, Bytes(12, 0xab)}};
  auto short_secret = qr::parse_cbor(cbor::encode(m));
  REQUIRE_FALSE(short_secret.ok());
  CHECK(short_secret.error().is(qr::QrError::bad_field));
  CHECK(short_secret.error().message == "key 1 (the QR secret) must be 16 bytes, got 12");

  CHECK(qr::parse_url("https://example.com").error().is(qr::QrError::not_fido_url));
  CHECK(qr::parse_url("FIDO:/1").error().is(qr::QrError::bad_digits));
}

TEST_CASE("qr payload: unknown keys with known numbers are not emitted twice") {
  auto kp = crypto::P256KeyPair::generate();
  qr::QrPayload p{kp.public_key()};
  p.unknown_keys.emplace_back(cbor::Value(1), cbor::Value("clash"));
  p.unknown_keys.emplace_back(cbor::Value("name"), cbor::Value(1));
  auto back = qr::parse_cbor(qr::encode_cbor(p));
  REQUIRE(back.ok());
  CHECK(back->secret == ByteArray<16>{});
  REQUIRE(back->unknown_keys.size() == 1);
  CHECK(back->unknown_keys[0].first == cbor::Value("name"));
}
