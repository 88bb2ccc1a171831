// libhybrid's C API as a program links it (the shared library, through its public header
// only): option checking, errors as values with messages, stage events with the QR code's
// text and PNG, cancel, and a tunnel node that really serves.
#include <catch2/catch.hpp>

#include <sys/select.h>
#include <sys/wait.h>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "hybrid/hybrid.h"
#include "hybrid/hybrid.hpp"
#include "tests/support/loopback_http.h"

namespace {

const char* kRequest = R"({"rpId": "example.com", "challenge": "Y2hhbGxlbmdlLWNoYWxsZW5nZQ"})";

struct Events {
  std::vector<hybrid_stage> stages;
  std::string qr_url;
  std::vector<unsigned char> png;
};

void record(const hybrid_stage_event* e, void* user) {
  auto* ev = static_cast<Events*>(user);
  ev->stages.push_back(e->stage);
  if (e->stage == HYBRID_STAGE_QR_READY) {
    ev->qr_url = e->qr_url;
    if (e->qr_png) ev->png.assign(e->qr_png, e->qr_png + e->qr_png_len);
  }
}

std::string http_get(uint16_t port, const std::string& path) {
  auto reply = hybrid::test::http_exchange(port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  REQUIRE(reply);
  return *reply;
}

}  // namespace

TEST_CASE("version is semantic and matches the C++ API") {
  std::string v = hybrid_version();
  CHECK(v == hybrid::api::version());
  CHECK(std::count(v.begin(), v.end(), '.') == 2);
  CHECK(std::string(hybrid_git_revision()).size() >= 7);
}

TEST_CASE("options are checked by name and value") {
  hybrid_options* o = hybrid_options_new();
  CHECK(hybrid_options_set(o, "origin", "https://example.com") == HYBRID_OK);
  CHECK(hybrid_options_set(o, "no-such-option", "x") == HYBRID_ERR_INVALID_INPUT);
  CHECK(std::string(hybrid_options_error(o)).find("no-such-option") != std::string::npos);
  CHECK(hybrid_options_set(o, "timeout", "12x") == HYBRID_ERR_INVALID_INPUT);
  CHECK(hybrid_options_set(o, "timeout", "-1") == HYBRID_ERR_INVALID_INPUT);
  CHECK(hybrid_options_set(o, "no-linking", "yes") == HYBRID_ERR_INVALID_INPUT);
  CHECK(hybrid_options_set(o, "no-linking", "1") == HYBRID_OK);
  CHECK(hybrid_options_set(nullptr, "origin", "x") == HYBRID_ERR_INVALID_INPUT);
  hybrid_options_free(o);
}

TEST_CASE("bad WebAuthn options are invalid input with a message, before any QR code") {
  hybrid_options* o = hybrid_options_new();
  hybrid_options_set(o, "origin", "https://example.com");
  Events ev;
  hybrid_options_set_stage_callback(o, record, &ev);
  hybrid_ceremony* c = hybrid_sign_in_new("{not json", o);
  CHECK(hybrid_ceremony_run(c) == HYBRID_ERR_INVALID_INPUT);
  CHECK(std::string(hybrid_ceremony_error(c)).find("JSON") != std::string::npos);
  hybrid_ceremony_free(c);
  c = hybrid_register_new(R"({"rp": {"id": "other.org"}})", o);
  CHECK(hybrid_ceremony_run(c) == HYBRID_ERR_INVALID_INPUT);
  CHECK(std::string(hybrid_ceremony_error(c)) != "");
  hybrid_ceremony_free(c);
  CHECK(ev.stages.empty());
  hybrid_options_free(o);

  hybrid_options* no_origin = hybrid_options_new();
  c = hybrid_sign_in_new(kRequest, no_origin);
  CHECK(hybrid_ceremony_run(c) == HYBRID_ERR_INVALID_INPUT);
  CHECK(std::string(hybrid_ceremony_error(c)).find("origin") != std::string::npos);
  hybrid_ceremony_free(c);
  hybrid_options_free(no_origin);
}

TEST_CASE("cancel before run ends the ceremony as cancelled") {
  hybrid_options* o = hybrid_options_new();
  hybrid_options_set(o, "origin", "https://example.com");
  hybrid_ceremony* c = hybrid_sign_in_new(kRequest, o);
  hybrid_ceremony_cancel(c);
  CHECK(hybrid_ceremony_run(c) == HYBRID_ERR_CANCELLED);
  hybrid_ceremony_free(c);
  hybrid_options_free(o);
}

TEST_CASE("the QR code arrives as text and PNG; no Bluetooth is a Bluetooth failure") {
  hybrid_options* o = hybrid_options_new();
  hybrid_options_set(o, "origin", "https://example.com");
  hybrid_options_set(o, "dbus-address", "unix:path=/nonexistent/hybrid-test-bus");
  hybrid_options_set(o, "tunnel-override", "ws://127.0.0.1:9");
  hybrid_options_set(o, "timeout", "20");
  Events ev;
  hybrid_options_set_stage_callback(o, record, &ev);
  hybrid_ceremony* c = hybrid_sign_in_new(kRequest, o);
  auto t0 = std::chrono::steady_clock::now();
  int rc = hybrid_ceremony_run(c);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20));
  CHECK(rc == HYBRID_ERR_BLUETOOTH);
  CHECK(std::string(hybrid_ceremony_error(c)) != "");
  CHECK(std::string(hybrid_ceremony_credential_json(c)).empty());
  hybrid_ceremony_free(c);
  hybrid_options_free(o);
  if (!ev.stages.empty()) {  // when the QR code comes before the radio is checked
    CHECK(ev.stages.front() == HYBRID_STAGE_QR_READY);
    CHECK(ev.qr_url.rfind("FIDO:/", 0) == 0);
    REQUIRE(ev.png.size() > 8);
    CHECK(std::string(ev.png.begin() + 1, ev.png.begin() + 4) == "PNG");
  }
}

TEST_CASE("a tunnel node serves until freed") {
  hybrid_options* o = hybrid_options_new();
  hybrid_options_set(o, "listen", "127.0.0.1:0");
  hybrid_options_set(o, "routing-id", "2A00AB");
  char* error = nullptr;
  hybrid_tunnel* t = hybrid_tunnel_start(o, &error);
  REQUIRE(t != nullptr);
  uint16_t port = hybrid_tunnel_port(t);
  CHECK(port != 0);
  CHECK(std::string(hybrid_tunnel_url(t)) == "ws://127.0.0.1:" + std::to_string(port));
  CHECK(http_get(port, "/healthz").rfind("HTTP/1.1 200", 0) == 0);
  hybrid_tunnel_free(t);
  hybrid_options_free(o);

  hybrid_options* bad = hybrid_options_new();
  hybrid_options_set(bad, "routing-id", "nothex");
  CHECK(hybrid_tunnel_start(bad, &error) == nullptr);
  REQUIRE(error != nullptr);
  CHECK(std::string(error).find("routing") != std::string::npos);
  hybrid_free(error);
  hybrid_options_free(bad);
}

TEST_CASE("an authenticator needs a tunnel and a store") {
  hybrid_options* o = hybrid_options_new();
  char* error = nullptr;
  CHECK(hybrid_authenticator_new(o, &error) == nullptr);
  REQUIRE(error != nullptr);
  CHECK(std::string(error).find("store") != std::string::npos);
  hybrid_free(error);
  hybrid_options_free(o);
}

TEST_CASE("linked phones: none in a missing file, an error naming a broken one") {
  // A directory of our own that does not exist (forget_linked_phone may create it, as the
  // link store creates its directory; it is removed at the end).
  const std::string missing_dir = "/tmp/hybrid-lib-api-absent-" + std::to_string(::getpid());
  const std::string missing = missing_dir + "/linked-phones.json";
  char* error = nullptr;
  char* json = hybrid_linked_phones_json(missing.c_str(), &error);
  REQUIRE(json != nullptr);
  CHECK(std::string(json) == "[]");
  hybrid_free(json);

  std::string broken = "/tmp/hybrid-lib-api-test-" + std::to_string(::getpid()) + ".json";
  std::ofstream(broken) << "{ not json";
  json = hybrid_linked_phones_json(broken.c_str(), &error);
  ::unlink(broken.c_str());
  CHECK(json == nullptr);
  REQUIRE(error != nullptr);
  CHECK(std::string(error).find(broken) != std::string::npos);
  hybrid_free(error);

  std::vector<hybrid::api::LinkedPhone> phones{{"x", "y", "z", 1}};
  CHECK(hybrid::api::linked_phones(missing, phones));
  CHECK(phones.empty());
  auto st = hybrid::api::forget_linked_phone(missing, "nobody");
  CHECK(st.failure == hybrid::api::kInvalidInput);
  CHECK(st.message.find("nobody") != std::string::npos);
  std::filesystem::remove_all(missing_dir);
}

// The three parts of the C++ API together, in one process: a TunnelNode, a Ceremony and an
// Authenticator that answers the Ceremony's QR code, over the virtual air (a separate
// `hybrid virtual-air` process, as BlueZ would be).
TEST_CASE("C++ API: a registration and a sign-in answered by the library's own authenticator") {
  const char* bin = std::getenv("HYBRID_BINARY");
  REQUIRE(bin != nullptr);
  int out[2];
  REQUIRE(::pipe(out) == 0);
  pid_t air = ::fork();
  REQUIRE(air >= 0);
  if (air == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::execl(bin, bin, "virtual-air", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string line;
  char c;
  timeval tv{20, 0};
  fd_set fds;
  FD_ZERO(&fds);
  FD_SET(out[0], &fds);
  REQUIRE(::select(out[0] + 1, &fds, nullptr, nullptr, &tv) == 1);
  while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
  // Stops the air on every way out of this test, failed REQUIREs included.
  struct AirGuard {
    pid_t pid;
    int fd;
    ~AirGuard() {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
      ::close(fd);
    }
  } air_guard{air, out[0]};
  auto key = line.find("\"dbus_address\":\"");
  REQUIRE(key != std::string::npos);
  std::string dbus = line.substr(key + 16, line.find('"', key + 16) - key - 16);

  hybrid::api::Status st;
  auto node = hybrid::api::TunnelNode::start({}, st);
  REQUIRE(st);
  std::string dir = "/tmp/hybrid-lib-api-" + std::to_string(::getpid());
  hybrid::api::AuthenticatorOptions ao;
  ao.tunnel = node.url();
  ao.store = dir + "-phone.json";
  ao.dbus_address = dbus;
  ao.timeout = std::chrono::seconds(30);
  auto phone = hybrid::api::Authenticator::open(ao, st);
  REQUIRE(st);

  auto ceremony_with_phone = [&](bool registration, const std::string& json) {
    hybrid::api::ClientOptions co;
    co.origin = "https://example.com";
    co.tunnel_override = node.url();
    co.dbus_address = dbus;
    co.timeout = std::chrono::seconds(30);
    co.link_store = dir + "-links.json";
    std::vector<hybrid::api::Stage> stages;
    std::thread answering;
    hybrid::api::AuthenticatorResult answered;
    size_t png_size = 0;
    co.on_stage = [&](const hybrid::api::StageEvent& e) {
      stages.push_back(e.stage);
      if (e.stage == hybrid::api::Stage::qr_ready) {
        png_size = e.qr_png.size();
        answering = std::thread([&phone, &answered, url = e.qr_url] { answered = phone.serve_qr(url); });
      }
    };
    auto cer = registration ? hybrid::api::Ceremony::registration(json, co) : hybrid::api::Ceremony::sign_in(json, co);
    auto result = cer.run();
    if (answering.joinable()) answering.join();
    CHECK(result.status.message == "");
    CHECK(answered.status.message == "");
    CHECK(answered.ctap_status == 0);
    CHECK(png_size > 100);
    REQUIRE(!stages.empty());
    CHECK(stages.front() == hybrid::api::Stage::qr_ready);
    CHECK(stages.back() == hybrid::api::Stage::done);
    CHECK(std::find(stages.begin(), stages.end(), hybrid::api::Stage::phone_nearby) != stages.end());
    return result.credential_json;
  };
  std::string created = ceremony_with_phone(true,
      R"({"rp": {"id": "example.com", "name": "Example"}, "user": {"id": "dXNlcg", "name": "u", "displayName": "U"},
          "challenge": "Y2hhbGxlbmdlLWNoYWxsZW5nZQ", "authenticatorSelection": {"residentKey": "required"}})");
  std::string asserted = ceremony_with_phone(false, kRequest);
  std::remove((dir + "-phone.json").c_str());
  std::remove((dir + "-phone.json.identity.json").c_str());
  std::remove((dir + "-links.json").c_str());
  CHECK(created.find("\"attestationObject\"") != std::string::npos);
  CHECK(asserted.find("\"signature\"") != std::string::npos);
}
