// Every transcript in tests/vectors/transcripts replays cleanly; altered ones fail at the
// step that was altered.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "hybrid/replay.h"

using namespace hybrid;
using json = nlohmann::json;

static std::vector<std::filesystem::path> transcript_files() {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator("tests/vectors/transcripts"))
    if (e.path().extension() == ".json") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

static json load(const std::filesystem::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

TEST_CASE("every stored transcript replays with all expectations met") {
  auto files = transcript_files();
  REQUIRE(files.size() >= 2);
  for (const auto& f : files) {
    INFO(f.string());
    auto t = parse_transcript(load(f));
    REQUIRE(t.ok());
    auto report = replay_transcript(*t);
    if (const auto* step = report.failed_step()) FAIL(step->name << ": " << step->detail);
    CHECK(report.ok);
    bool checked_expectation = false;
    for (const auto& s : report.steps) checked_expectation |= s.name.rfind("expected ", 0) == 0;
    CHECK(checked_expectation);
  }
}

static std::string flip_hex(const std::string& hex, size_t byte) {
  std::string out = hex;
  char& c = out[2 * byte + 1];
  c = c == '0' ? '1' : '0';
  return out;
}

TEST_CASE("altered transcripts fail at the altered step") {
  auto j = load("tests/vectors/transcripts/simulated-qr-with-linking.json");

  auto advert = j;
  advert["advert"] = flip_hex(j["advert"], 2);
  auto r1 = replay_transcript(*parse_transcript(advert));
  REQUIRE(r1.failed_step());
  CHECK(r1.failed_step()->name == "advert");

  auto key = j;
  key["client_ephemeral_private"] = flip_hex(j["client_ephemeral_private"], 31);
  auto r2 = replay_transcript(*parse_transcript(key));
  REQUIRE(r2.failed_step());
  CHECK(r2.failed_step()->name == "handshake message 1");

  auto reply = j;
  reply["messages"][1]["bytes"] = flip_hex(j["messages"][1]["bytes"], 70);
  auto r3 = replay_transcript(*parse_transcript(reply));
  REQUIRE(r3.failed_step());
  CHECK(r3.failed_step()->name == "handshake message 2");

  auto later = j;
  later["messages"][2]["bytes"] = flip_hex(j["messages"][2]["bytes"], 5);
  auto r4 = replay_transcript(*parse_transcript(later));
  REQUIRE(r4.failed_step());
  CHECK(r4.failed_step()->name.rfind("phone message 1", 0) == 0);

  auto wrong_expect = j;
  wrong_expect["expect"]["tunnel_id"] = "00000000000000000000000000000000";
  auto r5 = replay_transcript(*parse_transcript(wrong_expect));
  REQUIRE(r5.failed_step());
  CHECK(r5.failed_step()->name == "expected tunnel_id");

  auto other_qr = j;
  other_qr["client_static_private"] = std::string(63, '1') + "2";
  auto r6 = replay_transcript(*parse_transcript(other_qr));
  REQUIRE(r6.failed_step());
  CHECK(r6.failed_step()->name == "client static key");
}

TEST_CASE("malformed transcripts are refused with a reason") {
  CHECK_FALSE(parse_transcript(json::array()).ok());
  CHECK(parse_transcript(json{{"flow", "qr"}}).error().message.find("qr_url") != std::string::npos);
  CHECK_FALSE(parse_transcript(json{{"flow", "sideways"}}).ok());
  auto j = load("tests/vectors/transcripts/spec-12-linked.json");
  j["messages"][1].erase("bytes");
  CHECK(parse_transcript(j).error().message.find("phone message") != std::string::npos);
}
