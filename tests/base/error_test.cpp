// Typed error domains: a code is only ever read in the domain it was made in.
#include <catch2/catch.hpp>

#include <cerrno>

#include "base/exit_code.h"
#include "base/result.h"

namespace hybrid::test_domains {
enum class Fruit { apple = 1, pear = 2 };
HYBRID_ERROR_DOMAIN(Fruit, "fruit")
enum class Tool { hammer = 1, saw = 2 };
HYBRID_ERROR_DOMAIN(Tool, "tool")
}  // namespace hybrid::test_domains

namespace hybrid {
using test_domains::Fruit;
using test_domains::Tool;

TEST_CASE("errors: a code reads back in its own domain and in no other") {
  Error e{Fruit::pear, "no pears left"};
  CHECK(e.is(Fruit::pear));
  CHECK_FALSE(e.is(Fruit::apple));
  CHECK_FALSE(e.is(Tool::saw));  // same number, other domain
  CHECK(e.as<Fruit>() == Fruit::pear);
  CHECK_FALSE(e.as<Tool>().has_value());
  CHECK(std::string(e.code.category().name()) == "fruit");
  CHECK(e.message == "no pears left");
}

TEST_CASE("errors: context keeps the code; plain and errno errors have their own domains") {
  Error e = Error{Tool::hammer, "bent"}.with_context("workshop");
  CHECK(e.is(Tool::hammer));
  CHECK(e.message == "workshop: bent");

  Error plain = make_error("something happened");
  CHECK_FALSE(plain.code);
  CHECK_FALSE(plain.as<Tool>().has_value());

  Error missing = errno_error(ENOENT, "no such file");
  CHECK(missing.is(std::errc::no_such_file_or_directory));
  CHECK_FALSE(missing.as<Fruit>().has_value());  // ENOENT is 2, like Fruit::pear
  CHECK_FALSE(Error(Fruit::pear, "x").is(std::errc::no_such_file_or_directory));
}

TEST_CASE("exit codes: one row per code, in order, and the help text lists each") {
  auto codes = exit_codes();
  REQUIRE(codes.size() == 19);
  std::string help = exit_code_help();
  for (size_t i = 0; i < codes.size(); ++i) {
    CHECK(static_cast<size_t>(codes[i].code) == i);
    CHECK_FALSE(codes[i].meaning.empty());
    CHECK(help.find(std::string(codes[i].meaning)) != std::string::npos);
  }
}

}  // namespace hybrid
