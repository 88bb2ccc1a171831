// The base-10 digit encoding against every digits vector file, plus round-trip properties.
#include <catch2/catch.hpp>

#include <random>

#include "qr/digits.h"
#include "tests/support/vector_files.h"

using namespace hybrid;
using hybrid::testing::hex_field;
using hybrid::testing::load_vectors;

TEST_CASE("qr digits: every vector in tests/vectors/digits") {
  auto cases = load_vectors("digits", "digits");
  CHECK(cases.size() >= 70);
  for (const auto& c : cases) {
    INFO(c.file << ": " << c.name);
    const auto digits = c.data.at("digits").get<std::string>();
    auto decoded = qr::digits_decode(digits);
    if (c.data.at("valid").get<bool>()) {
      Bytes bytes = hex_field(c.data, "bytes");
      CHECK(qr::digits_encode(bytes) == digits);
      CHECK(qr::digits_length(bytes.size()) == digits.size());
      REQUIRE(decoded.ok());
      CHECK(*decoded == bytes);
    } else {
      REQUIRE_FALSE(decoded.ok());
      if (c.data.contains("error_contains")) {
        CHECK_THAT(decoded.error().message,
                   Catch::Contains(c.data["error_contains"].get<std::string>()));
      }
    }
  }
}

TEST_CASE("qr digits: every prefix of 00 01 .. fe round-trips (webauthn-rs property)") {
  Bytes seq(255);
  for (size_t i = 0; i < seq.size(); ++i) seq[i] = static_cast<uint8_t>(i);
  for (size_t n = 0; n <= seq.size(); ++n) {
    INFO("prefix length " << n);
    ByteView prefix = ByteView(seq).first(n);
    std::string d = qr::digits_encode(prefix);
    CHECK(d.size() == qr::digits_length(n));
    auto back = qr::digits_decode(d);
    REQUIRE(back.ok());
    CHECK(*back == to_bytes(prefix));
  }
}

TEST_CASE("qr digits: random data of every prefix length 0..23 round-trips (Chromium property)") {
  std::mt19937 rng(20240601);
  for (int round = 0; round < 50; ++round) {
    Bytes data(24);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    for (size_t n = 0; n <= data.size(); ++n) {
      ByteView prefix = ByteView(data).first(n);
      auto back = qr::digits_decode(qr::digits_encode(prefix));
      REQUIRE(back.ok());
      CHECK(*back == to_bytes(prefix));
    }
  }
}

TEST_CASE("qr digits: every string of zeros of length 0..40 fails or decodes to zero bytes") {
  for (size_t n = 0; n <= 40; ++n) {
    INFO(n << " zeros");
    auto r = qr::digits_decode(std::string(n, '0'));
    size_t rest = n % 17;
    bool ok_length = rest == 0 || rest == 3 || rest == 5 || rest == 8 || rest == 10 ||
                     rest == 13 || rest == 15;
    REQUIRE(r.ok() == ok_length);
    if (r.ok()) {
      CHECK(std::all_of(r->begin(), r->end(), [](uint8_t b) { return b == 0; }));
      CHECK(qr::digits_encode(*r) == std::string(n, '0'));
    }
  }
}

TEST_CASE("qr digits: group boundaries are exact") {
  // The largest valid value of each group width decodes; one more fails.
  const std::pair<const char*, const char*> edges[] = {
      {"255", "256"},
      {"65535", "65536"},
      {"16777215", "16777216"},
      {"4294967295", "4294967296"},
      {"1099511627775", "1099511627776"},
      {"281474976710655", "281474976710656"},
      {"72057594037927935", "72057594037927936"},
  };
  for (const auto& [max, over] : edges) {
    INFO(max);
    auto ok = qr::digits_decode(max);
    REQUIRE(ok.ok());
    CHECK(std::all_of(ok->begin(), ok->end(), [](uint8_t b) { return b == 0xff; }));
    auto bad = qr::digits_decode(over);
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.error().message, Catch::Contains("out of range"));
  }
  // An out-of-range group after a valid one names its position.
  auto r = qr::digits_decode("00000000000000000" "99999999999999999");
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("character 17"));
}

TEST_CASE("qr digits: only ASCII 0-9, wherever the bad character is") {
  const std::string good = qr::digits_encode(to_bytes("hello world, 0123456789"));
  for (size_t i = 0; i < good.size(); ++i) {
    for (char bad : {'a', ' ', '+', '-', '\0', '/', ':', '\xef'}) {
      std::string s = good;
      s[i] = bad;
      auto r = qr::digits_decode(s);
      REQUIRE_FALSE(r.ok());
      CHECK_THAT(r.error().message, Catch::Contains("character " + std::to_string(i) + " "));
    }
  }
  // Unicode digits are not digits: Arabic-Indic ٣ (U+0663), full-width １, superscript ³.
  for (const char* s : {"\u0663\u0663\u0663", "\uff11\uff12\uff13", "\u00b3\u00b3\u00b3", "12\u0308"}) {
    CHECK_FALSE(qr::digits_decode(s).ok());
  }
}
