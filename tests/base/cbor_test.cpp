#include <catch2/catch.hpp>

#include "cbor/codec.h"

using namespace hybrid;
using namespace hybrid::cbor;

static Bytes H(const char* s) { return *hex_decode(s); }

TEST_CASE("encoder writes CTAP2 canonical form") {
  CHECK(hex_encode(encode(Value(0))) == "00");
  CHECK(hex_encode(encode(Value(23))) == "17");
  CHECK(hex_encode(encode(Value(24))) == "1818");
  CHECK(hex_encode(encode(Value(256))) == "190100");
  CHECK(hex_encode(encode(Value(-1))) == "20");
  CHECK(hex_encode(encode(Value(-7))) == "26");
  CHECK(hex_encode(encode(Value(-257))) == "390100");
  CHECK(hex_encode(encode(Value(int64_t(INT64_MIN)))) == "3b7fffffffffffffff");
  CHECK(hex_encode(encode(Value(uint64_t(1) << 40))) == "1b0000010000000000");
  // "alg" sorts before "type" (shorter first), integer keys ascend.
  Map m{{"type", "public-key"}, {"alg", -7}};
  CHECK(hex_encode(encode(Value(m))) == "a263616c672664747970656a7075626c69632d6b6579");
  Map n{{5, "ga"}, {1, Bytes{1}}, {0, true}, {-1, Value::null()}};
  CHECK(hex_encode(encode(Value(n))) == "a400f50141010562676120f6");
  auto enc = encode(Value(n));
  CHECK(enc[1] == 0x00);   // key 0 first
  CHECK(enc.back() == 0xf6);  // key -1 (0x20) after the unsigned keys
}

TEST_CASE("strict decoder accepts canonical input and round-trips") {
  auto bytes = H("a30162686902430102030383f5f4f6");
  auto v = decode(bytes);
  REQUIRE(v.ok());
  REQUIRE(v->is_map());
  CHECK(v->as_map().find(1)->as_text() == "hi");
  CHECK(v->as_map().find(2)->as_bytes() == Bytes{1, 2, 3});
  CHECK(v->as_map().find(3)->as_array().size() == 3);
  CHECK(encode(*v) == bytes);
}

TEST_CASE("strict decoder rejects what libcbor lets through") {
  CHECK(decode(H("1801")).error().message.find("canonical") != std::string::npos);
  CHECK(decode(H("a202000100")).error().message.find("canonical") != std::string::npos);  // out of order
  CHECK(decode(H("a201000100")).error().message.find("duplicate") != std::string::npos);
  CHECK(decode(H("9f01ff")).error().message.find("indefinite") != std::string::npos);
  CHECK(decode(H("0000")).error().message.find("trailing") != std::string::npos);
  CHECK(decode(H("c101")).error().message.find("tags") != std::string::npos);
  CHECK(decode(H("f93c00")).error().message.find("floating") != std::string::npos);
  CHECK(decode(H("f7")).error().message.find("undefined") != std::string::npos);
  CHECK_FALSE(decode(H("")).ok());
  CHECK_FALSE(decode(H("430102")).ok());  // truncated bstr
  CHECK_FALSE(decode(H("9b00000000ffffffff")).ok());  // absurd array length
  // Depth bound: 17 nested arrays fail, 16 pass.
  Bytes deep16(16, 0x81);
  deep16.back() = 0x80;
  CHECK(decode(deep16).ok());
  Bytes deep17(17, 0x81);
  deep17.back() = 0x80;
  CHECK(decode(deep17).error().message.find("nesting") != std::string::npos);
  Bytes very_deep(5000, 0x81);
  CHECK_FALSE(decode(very_deep).ok());
}

TEST_CASE("lenient options: non-canonical order and trailing bytes when asked") {
  DecodeOptions lenient;
  lenient.require_canonical = false;
  CHECK(decode(H("a202000100"), lenient).ok());
  CHECK_FALSE(decode(H("a201000100"), lenient).ok());  // duplicates never
  DecodeOptions trailing;
  trailing.allow_trailing = true;
  auto d = decode_prefix(H("0102"), trailing);
  REQUIRE(d.ok());
  CHECK(d->consumed == 1);
}

TEST_CASE("diagnostic notation") {
  Map m{{1, Bytes{0xab}}, {2, "ga"}, {3, Array{true, Value::null()}}};
  CHECK(to_diagnostic(Value(m)) == "{1: h'ab', 2: \"ga\", 3: [true, null]}");
}

TEST_CASE("text strings must be valid UTF-8") {
  CHECK(decode(H("62c3a9")).ok());                                   // "é"
  CHECK(decode(H("62c328")).error().message.find("UTF-8") != std::string::npos);
  CHECK_FALSE(decode(H("62c0af")).ok());                             // overlong "/"
  CHECK_FALSE(decode(H("63eda080")).ok());                           // a surrogate
  CHECK(decode(H("64f09f9880")).ok());                               // an emoji
}
