// printable(): peer-supplied text made safe for a terminal and for JSON (issue 15 finding 7).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "base/json_text.h"
#include "base/printable.h"
#include "base/utf8.h"

using namespace hybrid;

TEST_CASE("printable: control characters, bidi overrides and invalid UTF-8 do not reach the terminal") {
  CHECK(printable("a\x1b]0;title\x07" "b") == "a]0;titleb");  // ESC and BEL dropped
  CHECK(printable("\x1b[2J\x1b[31mred") == "[2J[31mred");
  CHECK(printable("x\xc2\x9b" "31my") == "x31my");                       // C1 CSI (U+009B) dropped
  CHECK(printable("evil\xe2\x80\xae" "gpj.exe") == "evilgpj.exe");       // U+202E RLO dropped
  CHECK(printable("\xe2\x81\xa6" "iso\xe2\x81\xa9") == "iso");           // U+2066/U+2069 isolates
  CHECK(printable("a\xff" "b") == "a\xef\xbf\xbd" "b");                  // invalid byte -> U+FFFD
  CHECK(printable("\xc3") == "\xef\xbf\xbd");                            // truncated sequence
  CHECK(printable("\xed\xa0\x80") == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // surrogate
  CHECK(printable("naïve — ok") == "naïve — ok");
  CHECK(printable("line\nbreak\ttab") == "linebreaktab");
  CHECK(printable(std::string(100, 'x'), 10) == std::string(10, 'x') + "…");
  // Never cut inside a character.
  const std::string cut = printable("aaaaaaaaa\xc3\xa9", 10);
  CHECK(is_valid_utf8(cut));
  CHECK(cut == "aaaaaaaaa…");
  for (int b = 0; b < 256; ++b) {
    std::string s = "a";
    s.push_back(static_cast<char>(b));
    CHECK(is_valid_utf8(printable(s)));
  }
}

TEST_CASE("to_json_text: text that is not UTF-8 does not throw") {
  nlohmann::json j = {{"name", std::string("a\xff\xfe")}};
  CHECK_THROWS(j.dump());
  std::string text;
  REQUIRE_NOTHROW(text = to_json_text(j));
  CHECK(nlohmann::json::parse(text)["name"] == "a\xef\xbf\xbd\xef\xbf\xbd");
}
