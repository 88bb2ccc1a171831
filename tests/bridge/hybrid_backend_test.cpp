// HybridPhoneBackend without a phone: an in-memory radio (ble::LoopbackRadio) on which no
// phone ever advertises. Covers what the process-level test cannot reach cheaply: start()
// returning at once, `done` exactly once on every path (cancel while scanning, no advert,
// no Bluetooth, cancel before the worker ran, destruction mid-transaction, a start right
// after a cancel), the QR code shown in a PNG and announced through the notifier and removed
// afterwards, the linked phone falling back to a QR code, and the failure → PhoneError map.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "ble/loopback_radio.h"
#include "bridge/hybrid_phone_backend.h"
#include "crypto/p256.h"

using namespace hybrid;
using namespace hybrid::bridge;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

// makeCredential 0x01 with an (unused) body: nothing ever reaches a phone here.
const Bytes kMakeCredential{0x01, 0xa0};
const Bytes kGetAssertion{0x02, 0xa0};

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/hybrid-backend-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Collects `done` calls.
struct Answers {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<PhoneResponse> got;

  PhoneDone callback() {
    return [this](PhoneResponse r) {
      std::lock_guard lock(mu);
      got.push_back(std::move(r));
      cv.notify_all();
    };
  }
  bool wait_for(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] { return got.size() >= n; });
  }
  size_t count() {
    std::lock_guard lock(mu);
    return got.size();
  }
  PhoneError error_at(size_t i) {
    std::lock_guard lock(mu);
    REQUIRE(i < got.size());
    REQUIRE_FALSE(got[i].ok());
    return got[i].error().as<PhoneError>().value_or(PhoneError::other);
  }
};

template <class F>
bool eventually(F condition, std::chrono::milliseconds timeout = 5000ms) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

struct Fixture {
  TempDir dir;
  std::shared_ptr<ble::LoopbackAir> air = ble::LoopbackAir::create();
  fs::path png = dir.path / "qr.png";
  fs::path notify_log = dir.path / "notify.log";
  fs::path notifier = dir.path / "fake-notify-send";

  Fixture() {
    std::ofstream(notifier) << "#!/bin/sh\nprintf '%s\\n' \"$@\" >> '" << notify_log.string() << "'\n";
    fs::permissions(notifier, fs::perms::owner_all);
  }

  HybridPhoneBackendOptions options() {
    HybridPhoneBackendOptions o;
    o.make_radio = [air = air] { return std::make_unique<ble::LoopbackRadio>(air, "AA:AA:AA:AA:AA:01"); };
    o.link_store_path = (dir.path / "links.json").string();
    o.qr_on_terminal = false;
    o.qr_png_path = png.string();
    o.notify_program = notifier.string();
    o.timeout = 20s;
    o.advert_timeout = 20s;
    return o;
  }
  std::unique_ptr<HybridPhoneBackend> make(HybridPhoneBackendOptions o) {
    auto b = HybridPhoneBackend::create(std::move(o));
    REQUIRE(b.ok());
    return std::move(*b);
  }
  std::string notifications() {
    std::ifstream f(notify_log);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
};

}  // namespace

TEST_CASE("client failures map to the bridge's phone errors") {
  using F = roles::ClientFailure;
  CHECK(phone_error_for(F::timeout) == PhoneError::timeout);
  CHECK(phone_error_for(F::no_advert) == PhoneError::timeout);
  CHECK(phone_error_for(F::cancelled) == PhoneError::cancelled);
  CHECK(phone_error_for(F::phone_closed) == PhoneError::cancelled);
  for (auto f : {F::bluetooth, F::tunnel_status, F::tls, F::network, F::link_gone}) {
    CHECK(phone_error_for(f) == PhoneError::unavailable);
  }
  for (auto f : {F::handshake, F::protocol, F::internal}) CHECK(phone_error_for(f) == PhoneError::other);
}

TEST_CASE("stderr is the journal only when JOURNAL_STREAM names it") {
  struct stat st {};
  REQUIRE(fstat(STDERR_FILENO, &st) == 0);
  const char* saved = std::getenv("JOURNAL_STREAM");
  std::string keep = saved ? saved : "";
  setenv("JOURNAL_STREAM", (std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino)).c_str(), 1);
  CHECK(stderr_is_journal());
  setenv("JOURNAL_STREAM", (std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1)).c_str(), 1);
  CHECK_FALSE(stderr_is_journal());
  unsetenv("JOURNAL_STREAM");
  CHECK_FALSE(stderr_is_journal());
  if (saved) setenv("JOURNAL_STREAM", keep.c_str(), 1);
}

TEST_CASE("start returns at once; the QR code is shown; cancel ends the scan with one 'cancelled'") {
  Fixture fx;
  auto backend = fx.make(fx.options());
  Answers answers;
  auto t0 = Clock::now();
  backend->start(kMakeCredential, answers.callback());
  CHECK(Clock::now() - t0 < 1s);  // the advert timeout is 20 s: start() did not wait for it
  CHECK(answers.count() == 0);

  // The QR code appears as a PNG and through the notifier while the backend scans.
  REQUIRE(eventually([&] { return fs::exists(fx.png) && fx.air->active_listeners() == 1; }));
  CHECK((fs::status(fx.png).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
  std::ifstream png(fx.png, std::ios::binary);
  char magic[8] = {};
  png.read(magic, 8);
  CHECK(std::string(magic + 1, 3) == "PNG");
  REQUIRE(eventually([&] { return fx.notifications().find("Scan the QR code") != std::string::npos; }));
  auto note = fx.notifications();
  CHECK(note.find("create a passkey") != std::string::npos);
  CHECK(note.find("--icon=" + fx.png.string()) != std::string::npos);
  CHECK(note.find("FIDO:/") == std::string::npos);  // the secret never goes to the notifier

  t0 = Clock::now();
  backend->cancel();
  REQUIRE(answers.wait_for(1, 3s));
  CHECK(Clock::now() - t0 < 2s);
  CHECK(answers.error_at(0) == PhoneError::cancelled);
  CHECK(eventually([&] { return !fs::exists(fx.png); }));  // a stale QR code is not left behind
  CHECK(fx.air->active_listeners() == 0);
  std::this_thread::sleep_for(200ms);
  CHECK(answers.count() == 1);  // exactly once
}

TEST_CASE("no advert before the advert timeout: 'timeout' (the user did not scan)") {
  Fixture fx;
  auto o = fx.options();
  o.advert_timeout = 300ms;
  auto backend = fx.make(o);
  Answers answers;
  backend->start(kGetAssertion, answers.callback());
  REQUIRE(answers.wait_for(1, 5s));
  CHECK(answers.error_at(0) == PhoneError::timeout);
  CHECK(eventually([&] { return fx.notifications().find("sign in with a passkey") != std::string::npos; }));
  CHECK_FALSE(fs::exists(fx.png));
  std::this_thread::sleep_for(100ms);
  CHECK(answers.count() == 1);
}

TEST_CASE("no Bluetooth: 'unavailable'") {
  Fixture fx;
  auto backend = fx.make(fx.options());
  fx.air->fail_next_listen(ble::radio_error(ble::RadioError::powered_off, "the adapter is off"));
  Answers answers;
  backend->start(kGetAssertion, answers.callback());
  REQUIRE(answers.wait_for(1, 5s));
  CHECK(answers.error_at(0) == PhoneError::unavailable);
}

TEST_CASE("a missing notifier and no PNG never fail a transaction") {
  Fixture fx;
  auto o = fx.options();
  o.notify_program = "hybrid-no-such-notify-send";
  o.qr_png_path.clear();
  o.advert_timeout = 200ms;
  auto backend = fx.make(o);
  Answers answers;
  backend->start(kGetAssertion, answers.callback());
  REQUIRE(answers.wait_for(1, 5s));
  CHECK(answers.error_at(0) == PhoneError::timeout);  // it scanned, and nobody came
}

TEST_CASE("cancel right after start, a start right after a cancel, and destruction mid-scan") {
  Fixture fx;
  Answers answers;
  {
    auto backend = fx.make(fx.options());
    backend->start(kGetAssertion, answers.callback());
    backend->cancel();  // possibly before the worker even began
    backend->start(kGetAssertion, answers.callback());
    REQUIRE(answers.wait_for(1, 3s));
    CHECK(answers.error_at(0) == PhoneError::cancelled);
    // The second one scans (after the first wound down) until the backend goes away.
    REQUIRE(eventually([&] { return fx.air->active_listeners() == 1; }));
    CHECK(answers.count() == 1);
  }
  REQUIRE(answers.count() == 2);  // the destructor cancelled and waited
  CHECK(answers.error_at(1) == PhoneError::cancelled);
  CHECK(fx.air->active_listeners() == 0);
}

TEST_CASE("a linked phone that cannot be reached falls back to a QR code") {
  Fixture fx;
  // A linked phone whose tunnel server refuses connections (port 1 on loopback).
  auto key = crypto::P256KeyPair::generate().public_key().uncompressed();
  std::string links = std::string("{\"version\":1,\"phones\":[{\"name\":\"Pixel\",\"contact_id\":\"") +
                      std::string(32, 'a') + "\",\"link_id\":\"" + std::string(16, 'b') + "\",\"link_secret\":\"" +
                      std::string(64, 'c') + "\",\"phone_public_key\":\"" + hex_encode(key) +
                      "\",\"domain_id\":0,\"tunnel_override\":\"ws://127.0.0.1:1\",\"linked_at\":0}]}";
  std::ofstream(fx.dir.path / "links.json") << links;

  auto o = fx.options();
  o.phone = "Nobody";
  auto missing = HybridPhoneBackend::create(o);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("no linked phone is called \"Nobody\"") != std::string::npos);

  o.phone = "Pixel";
  auto backend = fx.make(o);
  Answers answers;
  backend->start(kGetAssertion, answers.callback());
  // The contact attempt fails (network), then the QR code shows and the scan starts.
  REQUIRE(eventually([&] { return fs::exists(fx.png) && fx.air->active_listeners() == 1; }, 10s));
  CHECK(answers.count() == 0);
  backend->cancel();
  REQUIRE(answers.wait_for(1, 3s));
  CHECK(answers.error_at(0) == PhoneError::cancelled);
  // A network failure does not forget the link (410 Gone would).
  std::ifstream f(fx.dir.path / "links.json");
  std::string after(std::istreambuf_iterator<char>(f), {});
  CHECK(after.find("Pixel") != std::string::npos);
}
