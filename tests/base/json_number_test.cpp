#include <catch2/catch.hpp>

#include "base/json_number.h"

using hybrid::json_whole_number;
using hybrid::json_whole_number_field;
using nlohmann::json;

TEST_CASE("json_whole_number: integers inside the type's range, nothing else") {
  CHECK(json_whole_number<int64_t>(json(1700000000)) == 1700000000);
  CHECK(json_whole_number<int64_t>(json(-5)) == -5);
  CHECK(json_whole_number<int64_t>(json::parse("9223372036854775807")) == INT64_MAX);
  CHECK_FALSE(json_whole_number<int64_t>(json::parse("9223372036854775808")));
  CHECK(json_whole_number<uint16_t>(json(65535)) == 65535);
  CHECK(json_whole_number<uint16_t>(json::parse("65535")) == 65535);
  CHECK_FALSE(json_whole_number<uint16_t>(json::parse("65536")));
  CHECK_FALSE(json_whole_number<uint16_t>(json(65536)));
  CHECK_FALSE(json_whole_number<uint16_t>(json(70000)));  // a plain get<uint16_t>() reads 4464
  CHECK_FALSE(json_whole_number<uint32_t>(json(-1)));
  CHECK(json_whole_number<int8_t>(json(-128)) == -128);
  CHECK_FALSE(json_whole_number<int8_t>(json(-129)));
  // Floats are refused whatever their value: 1.8e51 as an int64_t is undefined behaviour
  // through get<int64_t>(), and 3.0 is not what a writer of whole numbers writes.
  CHECK_FALSE(json_whole_number<int64_t>(json::parse("1.8e51")));
  CHECK_FALSE(json_whole_number<int64_t>(json::parse("3.0")));
  CHECK_FALSE(json_whole_number<int64_t>(json("12")));
  CHECK_FALSE(json_whole_number<int64_t>(json(true)));
  CHECK_FALSE(json_whole_number<int64_t>(json(nullptr)));
}

TEST_CASE("json_whole_number_field: absent gives the fallback, a bad value names the key") {
  const json j = json::parse(R"({"a": 7, "big": 1.8e51, "neg": -1})");
  CHECK(*json_whole_number_field<int64_t>(j, "a", 0, "test") == 7);
  CHECK(*json_whole_number_field<int64_t>(j, "missing", 42, "test") == 42);
  CHECK(*json_whole_number_field<int64_t>(json::array(), "a", 9, "test") == 9);
  auto big = json_whole_number_field<int64_t>(j, "big", 0, "a registered credential");
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().message.find("a registered credential: \"big\" must be a whole number") == 0);
  auto neg = json_whole_number_field<uint32_t>(j, "neg", 0, "x");
  REQUIRE_FALSE(neg.ok());
  CHECK(neg.error().message.find("from 0 to 4294967295, not -1") != std::string::npos);
  const json long_string = {{"k", std::string(1000, 'z')}};
  auto s = json_whole_number_field<int64_t>(long_string, "k", 0, "x");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.size() < 200);
}
