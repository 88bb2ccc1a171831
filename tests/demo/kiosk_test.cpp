// The kiosk's worker (codes, stages, outcomes, rotation, clearing, replacing a visit) with
// a scripted phone channel, and its web server on loopback.
#include <catch2/catch.hpp>

#include <set>
#include <thread>

#include "demo/kiosk.h"
#include "demo/kiosk_server.h"
#include "tests/demo/test_support.h"

using namespace hybrid;
using namespace hybrid::demo;
using demo_test::Phone;
using demo_test::ScriptedChannel;
using std::chrono::milliseconds;

namespace {

struct Rig {
  explicit Rig(KioskOptions options = {}, std::vector<ctap::Certificate> roots = {}) {
    auto s = AccountStore::open(":memory:");
    REQUIRE(s.ok());
    store = std::move(*s);
    KioskRpConfig c;
    c.rp.rp_id = "kiosk.hybrid.example";
    c.rp.origins = {"https://kiosk.hybrid.example"};
    c.rp.attestation_roots = std::move(roots);
    c.policy = demo_test::demo_policy();
    rp = std::make_unique<KioskRelyingParty>(std::move(c), *store);
    options.phone.program = "/usr/bin/hybrid";
    options.phone.tunnel_url = "ws://127.0.0.1:4242";
    options.phone.dbus_address = "unix:path=/tmp/bus,guid=1";
    options.phone.synced_store = "/tmp/dave phone.json";
    kiosk = std::make_unique<Kiosk>(*rp, channel, options);
  }
  KioskSnapshot wait(const std::function<bool(const KioskSnapshot&)>& pred, milliseconds timeout = milliseconds(5000)) {
    auto s = kiosk->wait_for(pred, timeout);
    if (!s) FAIL("the kiosk did not reach the expected state; it shows: " << kiosk->snapshot().message);
    return *s;
  }
  KioskSnapshot wait_code(CeremonyKind mode, const std::string& user = "", uint64_t after = 0) {
    return wait([&](const KioskSnapshot& s) {
      return s.phase == Phase::scan && s.mode == mode && s.user == user && s.qr_number > after;
    });
  }
  std::unique_ptr<AccountStore> store;
  std::unique_ptr<KioskRelyingParty> rp;
  ScriptedChannel channel;
  std::unique_ptr<Kiosk> kiosk;
};

KioskOptions fast(milliseconds qr_timeout = milliseconds(20000), milliseconds clear_after = milliseconds(300)) {
  KioskOptions o;
  o.qr_timeout = qr_timeout;
  o.clear_after = clear_after;
  return o;
}

}  // namespace

TEST_CASE("a visitor creates a passkey, the screen clears, the next one signs in", "[demo][kiosk]") {
  Rig rig(fast());
  rig.kiosk->start();
  auto first = rig.wait_code(CeremonyKind::sign_in);
  CHECK(first.message == "Scan the code with your phone to sign in");
  REQUIRE(rig.kiosk->request_registration("dave").ok());
  auto code = rig.wait_code(CeremonyKind::registration, "dave", first.qr_number);
  CHECK(code.message == "Scan the code with your phone to create a passkey for Dave");

  // The page's view while the code is up.
  auto j = rig.kiosk->state_json();
  CHECK(j["mode"] == "register");
  CHECK(j["phase"] == "scan");
  CHECK(j["qr"]["url"] == code.qr_url);
  CHECK_THAT(j["qr"]["svg"].get<std::string>(), Catch::Contains("<svg"));
  CHECK(j["qr"]["expires_in_ms"].get<int64_t>() > 10000);
  const std::string cmd = j["phone_commands"]["synced"];
  CHECK_THAT(cmd, Catch::StartsWith("/usr/bin/hybrid phone --qr '" + code.qr_url + "'"));
  CHECK_THAT(cmd, Catch::Contains("--store '/tmp/dave phone.json'"));
  CHECK_THAT(cmd, Catch::Contains("--kind synced --approve auto"));
  CHECK_THAT(cmd, Catch::Contains("--tunnel ws://127.0.0.1:4242"));
  CHECK_THAT(cmd, Catch::Contains("--dbus-address unix:path=/tmp/bus,guid=1"));
  CHECK_THAT(j["phone_commands"]["device_bound"].get<std::string>(), Catch::Contains("--kind device-bound"));
  CHECK(j["directory"].size() >= 4);
  CHECK(j["profiles"].size() == 4);

  Phone phone(ctap::PasskeyKind::synced);
  REQUIRE(rig.channel.scan(phone));
  auto done = rig.wait([](const KioskSnapshot& s) { return s.phase == Phase::done; });
  REQUIRE(done.outcome);
  CHECK(done.outcome->kind == OutcomeKind::registered);
  CHECK(done.message == "Passkey created for Dave");
  auto dj = rig.kiosk->state_json();
  CHECK(dj["qr"].is_null());
  CHECK(dj["outcome"]["passkey"]["kind"] == "synced");
  CHECK(dj["clears_in_ms"].get<int64_t>() <= 300);

  // After clear_after, a fresh sign-in code for the next visitor.
  auto next = rig.wait_code(CeremonyKind::sign_in, "", done.qr_number);
  CHECK_FALSE(next.outcome);
  REQUIRE(rig.channel.scan(phone));
  auto in = rig.wait([](const KioskSnapshot& s) { return s.phase == Phase::done; });
  REQUIRE(in.outcome);
  CHECK(in.outcome->kind == OutcomeKind::signed_in);
  CHECK(in.message == "Signed in as Dave");
  auto hj = rig.kiosk->state_json();
  REQUIRE(hj["history"].size() == 2);
  CHECK(hj["history"][0]["outcome"]["kind"] == "signed_in");
  CHECK(hj["history"][1]["outcome"]["kind"] == "registered");
  CHECK(rig.channel.types.front() == qr::RequestType::get_assertion);
  rig.kiosk->stop();
}

TEST_CASE("the stages move forward as the phone gets through", "[demo][kiosk]") {
  Rig rig(fast());
  std::vector<Phase> phases;
  std::mutex mu;
  rig.kiosk->set_observer([&] {});
  rig.kiosk->start();
  auto code = rig.wait_code(CeremonyKind::sign_in);
  std::thread watcher([&] {
    Phase last = Phase::scan;
    for (int i = 0; i < 200; ++i) {
      auto s = rig.kiosk->wait_for([&](const KioskSnapshot& s) { return s.phase != last; }, milliseconds(50));
      if (!s) continue;
      last = s->phase;
      std::lock_guard lock(mu);
      phases.push_back(last);
      if (last == Phase::done) break;
    }
  });
  Phone empty(ctap::PasskeyKind::synced);
  REQUIRE(rig.channel.scan(empty));
  watcher.join();
  std::lock_guard lock(mu);
  REQUIRE_FALSE(phases.empty());
  CHECK(phases.back() == Phase::done);
  // Never backwards.
  for (size_t i = 1; i < phases.size(); ++i) CHECK(static_cast<int>(phases[i]) > static_cast<int>(phases[i - 1]));
  auto s = rig.kiosk->snapshot();
  REQUIRE(s.outcome);
  CHECK(s.outcome->kind == OutcomeKind::failed);
  CHECK_THAT(s.message, Catch::StartsWith("That did not work: the phone has no passkey"));
  (void)code;
}

TEST_CASE("a refusal names the rule and the profile", "[demo][kiosk]") {
  Rig rig(fast());
  rig.kiosk->start();
  REQUIRE(rig.kiosk->request_registration("bob").ok());
  rig.wait_code(CeremonyKind::registration, "bob");
  Phone synced(ctap::PasskeyKind::synced);
  REQUIRE(rig.channel.scan(synced));
  auto done = rig.wait([](const KioskSnapshot& s) { return s.phase == Phase::done; });
  REQUIRE(done.outcome);
  CHECK(done.outcome->kind == OutcomeKind::refused);
  CHECK(done.outcome->rule == "passkey_types");
  CHECK(done.outcome->profile == "engineers");
  CHECK_THAT(done.message, Catch::StartsWith("Refused: ") && Catch::Contains("engineers"));
}

TEST_CASE("an unanswered code is replaced by a fresh one", "[demo][kiosk]") {
  Rig rig(fast(milliseconds(150)));
  rig.kiosk->start();
  auto s = rig.wait([](const KioskSnapshot& s) { return s.qr_number >= 4; });
  CHECK(s.mode == CeremonyKind::sign_in);
  rig.kiosk->stop();
  CHECK(rig.channel.exchanges >= 4);
  CHECK(rig.channel.cancelled <= 1);  // rotation is a timeout, not a cancel
}

TEST_CASE("a \"create a passkey\" code nobody answers falls back to sign-in", "[demo][kiosk]") {
  auto o = fast(milliseconds(150));
  o.registration_rotations = 2;
  Rig rig(o);
  rig.kiosk->start();
  REQUIRE(rig.kiosk->request_registration("erin").ok());
  auto reg = rig.wait_code(CeremonyKind::registration, "erin");
  auto back = rig.wait_code(CeremonyKind::sign_in, "", reg.qr_number);
  CHECK(back.qr_number >= reg.qr_number + 2);
}

TEST_CASE("a new choice replaces the code at once, and stop() is prompt", "[demo][kiosk]") {
  Rig rig(fast(milliseconds(30000)));
  rig.kiosk->start();
  auto first = rig.wait_code(CeremonyKind::sign_in);
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(rig.kiosk->request_registration("carol").ok());
  rig.wait_code(CeremonyKind::registration, "carol", first.qr_number);
  CHECK(std::chrono::steady_clock::now() - t0 < milliseconds(2000));
  CHECK(rig.channel.cancelled >= 1);
  CHECK_FALSE(rig.kiosk->request_registration("Not A Name").ok());
  const auto t1 = std::chrono::steady_clock::now();
  rig.kiosk->stop();
  CHECK(std::chrono::steady_clock::now() - t1 < milliseconds(2000));
}

TEST_CASE("phone command lines are quoted for a shell", "[demo][kiosk]") {
  CHECK(shell_quote("plain/path-1.json") == "plain/path-1.json");
  CHECK(shell_quote("a b") == "'a b'");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  CHECK(shell_quote("") == "''");
  CHECK(shell_quote("$(rm -rf /)") == "'$(rm -rf /)'");
  PhoneCommandHint h;
  h.program = "hybrid";
  auto cmd = phone_command_line(h, "FIDO:/123", "synced");
  CHECK(cmd == "hybrid phone --qr 'FIDO:/123' --store phone-synced.json --domain-id 0 --kind synced --approve auto");
}

TEST_CASE("the web server serves the page, the state and nothing else", "[demo][kiosk][http]") {
  Rig rig(fast());
  auto server = KioskServer::create(*rig.kiosk, KioskServerConfig{"127.0.0.1", 0});
  REQUIRE(server.ok());
  const uint16_t port = (*server)->port();
  CHECK((*server)->url() == "http://127.0.0.1:" + std::to_string(port) + "/");
  rig.kiosk->start();
  (*server)->start();
  rig.wait_code(CeremonyKind::sign_in);

  auto page = demo_test::http(port, "GET", "/");
  REQUIRE(page.status == 200);
  CHECK_THAT(page.headers, Catch::Contains("content-type: text/html; charset=utf-8"));
  CHECK_THAT(page.headers, Catch::Contains("content-security-policy: default-src 'none'; script-src 'self'"));
  CHECK_THAT(page.headers, Catch::Contains("x-content-type-options: nosniff"));
  CHECK_THAT(page.body, Catch::Contains("<html lang=\"en\">"));
  CHECK_THAT(page.body, Catch::Contains("aria-live=\"polite\""));
  // Nothing from elsewhere: every src/href is a local path.
  CHECK(page.body.find("http://") == std::string::npos);
  CHECK(page.body.find("https://") == std::string::npos);

  auto js = demo_test::http(port, "GET", "/kiosk.js");
  CHECK(js.status == 200);
  CHECK_THAT(js.headers, Catch::Contains("text/javascript"));
  CHECK_THAT(js.body, Catch::Contains("hybrid-kiosk"));
  auto css = demo_test::http(port, "GET", "/kiosk.css");
  CHECK(css.status == 200);
  CHECK(css.body.size() > 1000);

  auto state = demo_test::http(port, "GET", "/api/state");
  REQUIRE(state.status == 200);
  auto j = nlohmann::json::parse(state.body);
  CHECK(j["phase"] == "scan");
  CHECK_THAT(j["qr"]["url"].get<std::string>(), Catch::StartsWith("FIDO:/"));

  CHECK(demo_test::http(port, "GET", "/healthz").body == "ok\n");
  CHECK(demo_test::http(port, "GET", "/../etc/passwd").status == 404);
  CHECK(demo_test::http(port, "GET", "/nope").status == 404);
  CHECK(demo_test::http(port, "POST", "/api/state").status == 405);

  (*server)->stop();
  (*server)->join();
  rig.kiosk->stop();
}

TEST_CASE("listen addresses are parsed strictly", "[demo][kiosk]") {
  auto a = parse_listen("127.0.0.1:0");
  REQUIRE(a.ok());
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 0);
  auto b = parse_listen("[::1]:8080");
  REQUIRE(b.ok());
  CHECK(b->host == "::1");
  CHECK(b->port == 8080);
  CHECK_FALSE(parse_listen("127.0.0.1").ok());
  CHECK_FALSE(parse_listen("127.0.0.1:65536").ok());
  CHECK_FALSE(parse_listen(":80").ok());
  CHECK_FALSE(parse_listen("host:8x").ok());
}
