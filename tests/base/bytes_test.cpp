#include <catch2/catch.hpp>

#include "base/bytes.h"

using namespace hybrid;

TEST_CASE("hex round-trips and rejects bad text") {
  Bytes b{0x00, 0xab, 0xff};
  CHECK(hex_encode(b) == "00abff");
  CHECK(hex_encode_upper(b) == "00ABFF");
  CHECK(*hex_decode("00AbfF") == b);
  CHECK_FALSE(hex_decode("0").ok());
  CHECK_FALSE(hex_decode("0g").ok());
  CHECK(hex_decode("zz").error().message.find("non-hex") != std::string::npos);
}

TEST_CASE("base64url matches RFC 4648 test vectors without padding") {
  const char* plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char* enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
  for (int i = 0; i < 7; ++i) {
    CHECK(base64url_encode(as_bytes(plain[i])) == enc[i]);
    CHECK(to_string(*base64url_decode(enc[i])) == plain[i]);
  }
  CHECK(base64url_encode(Bytes{0xfb, 0xff}) == "-_8");
  CHECK(*base64url_decode("Zg==") == to_bytes("f"));
  CHECK_FALSE(base64url_decode("Z").ok());
  CHECK_FALSE(base64url_decode("Zm+v").ok());
  CHECK_FALSE(base64url_decode("Zh").ok());  // non-zero trailing bits
  // The contact path vector from spec/vectors.md §12.
  CHECK(base64url_encode(as_bytes("example-contact-id")) == "ZXhhbXBsZS1jb250YWN0LWlk");
}

TEST_CASE("constant_time_equal and SecretBytes") {
  CHECK(constant_time_equal(Bytes{1, 2}, Bytes{1, 2}));
  CHECK_FALSE(constant_time_equal(Bytes{1, 2}, Bytes{1, 3}));
  CHECK_FALSE(constant_time_equal(Bytes{1, 2}, Bytes{1}));
  SecretBytes s(Bytes{9, 9, 9});
  SecretBytes t = s;
  CHECK(t.size() == 3);
  s.wipe();
  CHECK(s.empty());
  CHECK(t.view()[0] == 9);
}

TEST_CASE("to_array checks the size and names the field") {
  auto ok = to_array<2>(Bytes{1, 2}, "thing");
  REQUIRE(ok.ok());
  auto bad = to_array<2>(Bytes{1}, "routing ID");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "routing ID must be 2 bytes, got 1");
}
