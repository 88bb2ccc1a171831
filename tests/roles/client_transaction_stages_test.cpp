// ClientTransaction stage by stage, in one process: the loopback radio (ble/loopback_radio.h),
// a tunnel server on 127.0.0.1 and a scripted phone (hybrid/authenticator_session.h) that
// can stay silent, break the protocol or hang up at any point. For each stage: its failure
// (timeout or the peer's error → the right ClientFailure) and its cancellation (a stop
// requested while the stage runs → `cancelled` within a bounded time, the scan stopped and
// the tunnel closed). Then the linked-phone-then-QR policy (roles/linked_then_qr.h).
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <thread>

#include "ble/loopback_radio.h"
#include "crypto/p256.h"
#include "hybrid/authenticator_session.h"
#include "qr/payload.h"
#include "roles/client_transaction.h"
#include "roles/linked_then_qr.h"
#include "tunnel/client.h"
#include "tests/support/running_tunnel_server.h"
#include "tunnel/server.h"

using namespace hybrid;
using namespace hybrid::roles;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kPrompt = 3s;  // "promptly": a stop ends any stage well within this

struct Server : test::RunningTunnelServer {
  std::string url() const { return server->url(); }
};

// A TCP listener on 127.0.0.1 that accepts connections and never answers: a tunnel
// connection to it hangs in the WebSocket upgrade.
struct SilentListener {
  int fd = -1;
  uint16_t port = 0;
  SilentListener() {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 8) == 0);
    socklen_t len = sizeof a;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
  }
  ~SilentListener() { close(fd); }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port); }
};

// A port on 127.0.0.1 that nothing listens on.
std::string closed_port_url() {
  SilentListener l;  // bound, then closed: the port is free again
  std::string url = l.url();
  return url;
}

// What the scripted phone does once it is in the tunnel.
enum class PhoneScript {
  silent,          // joins the tunnel and advertises, then says nothing
  garbage,         // answers the client's handshake message with noise
  hang_up,         // closes the tunnel on the client's handshake message
  no_answer,       // completes the handshake, takes the CTAP request, never answers
  hang_up_on_ctap, // completes the handshake, closes the tunnel on the CTAP request
  answer,          // answers the CTAP request with status 0 and a small body
};

// The phone's side in a thread: scans the QR code the client shows, opens /cable/new on
// the tunnel server, advertises on the loopback air and follows its script. It records
// whether its tunnel ended (the client closed it) so that tests can see nothing is left.
class ScriptedPhone {
 public:
  ScriptedPhone(std::shared_ptr<ble::LoopbackAir> air, std::string tunnel_base, PhoneScript script)
      : air_(std::move(air)), tunnel_base_(std::move(tunnel_base)), script_(script) {}
  ~ScriptedPhone() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  // Call from the client's qr_shown progress.
  void scan(const std::string& qr_url) {
    thread_ = std::thread([this, qr_url] { run(qr_url); });
  }
  bool wait_tunnel_ended(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return tunnel_ended_; });
  }
  bool got_ctap_request() const { return got_ctap_request_; }

 private:
  void run(const std::string& qr_url) {
    // (No Catch2 assertions on this thread: a failure ends the phone, and the client's
    // checks on the main thread see it.)
    auto qr = qr::parse_url(qr_url);
    if (!qr) return end_tunnel();
    AuthenticatorConfig config;
    config.get_info = {0xa1, 0x01, 0x81, 0x68, 'F', 'I', 'D', 'O', '_', '2', '_', '0'};  // {1: ["FIDO_2_0"]}
    config.send_update = false;
    auto session = AuthenticatorSession::start_qr(*qr, config);
    auto conn = tunnel::TunnelConnection::connect(new_tunnel_url(TunnelBase{tunnel_base_}, session.tunnel_id()));
    if (!conn || !(*conn)->info().routing_id) return end_tunnel();
    Advert advert = session.on_tunnel_ready(*(*conn)->info().routing_id);
    air_->broadcast("PHONE", ble::ServiceUuid::fff9, advert);
    while (!stop_) {
      auto msg = (*conn)->receive(50ms);
      if (!msg) {
        if (tunnel::has_code(msg.error(), tunnel::ClientErrorCode::receive_timeout)) continue;
        break;  // the client closed the tunnel
      }
      if (script_ == PhoneScript::silent) continue;
      if (script_ == PhoneScript::garbage) {
        (void)(*conn)->send(Bytes(80, 0x5a));
        continue;
      }
      if (script_ == PhoneScript::hang_up) {
        (*conn)->close(1000);
        continue;
      }
      auto out = session.on_message(*msg);
      if (!out) break;
      for (auto& b : out->to_send) (void)(*conn)->send(b);
      for (auto& e : out->events) {
        if (!std::holds_alternative<CtapRequest>(e)) continue;
        got_ctap_request_ = true;
        if (script_ == PhoneScript::hang_up_on_ctap) (*conn)->close(1000);
        if (script_ != PhoneScript::answer) continue;
        auto answered = session.send_ctap_response(Bytes{0x00, 0xa1, 0x01, 0x02});
        if (answered) for (auto& b : answered->to_send) (void)(*conn)->send(b);
      }
    }
    air_->stop_broadcast("PHONE");
    end_tunnel();
  }
  void end_tunnel() {
    std::lock_guard lock(mu_);
    tunnel_ended_ = true;
    cv_.notify_all();
  }

  std::shared_ptr<ble::LoopbackAir> air_;
  std::string tunnel_base_;
  PhoneScript script_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> got_ctap_request_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool tunnel_ended_ = false;
};

// One client transaction (getInfo-free: makeCredential-shaped bytes the scripted phone
// never parses) with a stop source and the stages it reported.
struct Client {
  std::shared_ptr<ble::LoopbackAir> air = ble::LoopbackAir::create();
  ble::LoopbackRadio radio{air, "PC"};
  ClientTransactionOptions options;
  std::stop_source stop;
  std::mutex mu;
  std::vector<Stage> stages;
  std::optional<Stage> stop_at;  // request the stop (after a short while) once this stage is reported
  std::thread stopper;
  std::unique_ptr<ScriptedPhone> phone;
  Clock::time_point stop_requested_at{};

  Client() {
    options.timeout = 20s;
    options.advert_timeout = 20s;
    options.connect_timeout = 20s;
    options.late_update_grace = 0ms;
  }
  ~Client() {
    if (stopper.joinable()) stopper.join();
  }
  void with_phone(const std::string& tunnel_base, PhoneScript script) {
    phone = std::make_unique<ScriptedPhone>(air, tunnel_base, script);
  }
  // The phone and this client both on `server`.
  void through(const Server& server, PhoneScript script) {
    options.tunnel_override = server.url();
    with_phone(server.url(), script);
  }
  void request_stop_soon() {
    stopper = std::thread([this] {
      std::this_thread::sleep_for(300ms);  // well inside the stage
      stop_requested_at = Clock::now();
      stop.request_stop();
    });
  }
  Result<ClientTransactionResult> run() {
    options.on_progress = [this](const ClientProgress& p) {
      {
        std::lock_guard lock(mu);
        stages.push_back(p.stage);
      }
      if (p.stage == Stage::qr_shown && phone) phone->scan(p.qr_url);
      if (stop_at == p.stage) request_stop_soon();
    };
    return ClientTransaction(radio, options).run(0x01, Bytes{0xa0}, stop.get_token());
  }
  bool saw(Stage s) {
    std::lock_guard lock(mu);
    return std::find(stages.begin(), stages.end(), s) != stages.end();
  }
  // A stop requested shortly after `at` ends the run promptly, before `never`.
  void check_stop_after(Stage at, Stage never) {
    stop_at = at;
    auto r = run();
    check_cancelled_promptly(r);
    CHECK_FALSE(saw(never));
  }
  // The stop ended the run promptly and left nothing running.
  void check_cancelled_promptly(const Result<ClientTransactionResult>& r) {
    auto ended = Clock::now();
    REQUIRE_FALSE(r.ok());
    CHECK(failure_of(r.error()) == ClientFailure::cancelled);
    REQUIRE(stop_requested_at != Clock::time_point{});
    CHECK(ended - stop_requested_at < kPrompt);
    CHECK(air->active_listeners() == 0);
    if (phone) CHECK(phone->wait_tunnel_ended(kPrompt));
  }
};

ClientFailure failure_kind(const Result<ClientTransactionResult>& r) {
  REQUIRE_FALSE(r.ok());
  auto f = failure_of(r.error());
  REQUIRE(f.has_value());
  return *f;
}

LinkRecord some_link(const std::string& tunnel_base) {
  LinkRecord link;
  link.name = "test phone";
  link.contact_id = Bytes(16, 0x11);
  link.link_id = Bytes(8, 0x22);
  link.link_secret = Bytes(32, 0x33);
  auto key = crypto::P256KeyPair::generate();
  link.phone_public_key = to_bytes(key.public_key().uncompressed());
  link.tunnel_override = tunnel_base;
  return link;
}

}  // namespace

TEST_CASE("stages: a whole QR transaction reports every stage in order") {
  Server server;
  Client c;
  c.options.tunnel_override = server.url();
  c.with_phone(server.url(), PhoneScript::answer);
  auto r = c.run();
  REQUIRE(r.ok());
  CHECK(r->ctap_status == 0);
  CHECK(r->ctap_body == Bytes{0xa1, 0x01, 0x02});
  CHECK(c.stages == std::vector<Stage>{Stage::qr_shown, Stage::advert_seen, Stage::tunnel_connected,
                                       Stage::handshake_done, Stage::waiting_for_user, Stage::done});
  CHECK(c.air->active_listeners() == 0);
  CHECK(c.phone->wait_tunnel_ended(kPrompt));
}

TEST_CASE("stage choose path: a stop requested before run() ends it before anything is shown") {
  Client c;
  c.stop.request_stop();
  auto t0 = Clock::now();
  auto r = c.run();
  CHECK(failure_kind(r) == ClientFailure::cancelled);
  CHECK(Clock::now() - t0 < 1s);
  CHECK(c.stages.empty());
  CHECK(c.air->active_listeners() == 0);
}

TEST_CASE("stage advert: no phone, Bluetooth off, the overall deadline, and a stop") {
  SECTION("no advert within advert_timeout → no_advert") {
    Client c;
    c.options.advert_timeout = 300ms;
    auto t0 = Clock::now();
    CHECK(failure_kind(c.run()) == ClientFailure::no_advert);
    CHECK(Clock::now() - t0 < kPrompt);
    CHECK(c.saw(Stage::qr_shown));
    CHECK(c.air->active_listeners() == 0);
  }
  SECTION("the transaction's deadline comes first → timeout") {
    Client c;
    c.options.timeout = 300ms;
    CHECK(failure_kind(c.run()) == ClientFailure::timeout);
  }
  SECTION("the radio fails → bluetooth") {
    Client c;
    c.air->fail_next_listen(ble::radio_error(ble::RadioError::powered_off, "the adapter is off"));
    CHECK(failure_kind(c.run()) == ClientFailure::bluetooth);
  }
  SECTION("a stop while scanning → cancelled, the scan stopped") {
    Client c;
    c.check_stop_after(Stage::qr_shown, Stage::advert_seen);
  }
}

TEST_CASE("stage contact sent (linked): refused, unreachable, and a stop while connecting") {
  SECTION("the server does not know the contact id (HTTP 410) → link_gone") {
    Server server;
    Client c;
    c.options.linked_phone = some_link(server.url());
    CHECK(failure_kind(c.run()) == ClientFailure::link_gone);
    CHECK(c.saw(Stage::contacting_phone));
  }
  SECTION("nothing listens → network") {
    Client c;
    c.options.linked_phone = some_link(closed_port_url());
    CHECK(failure_kind(c.run()) == ClientFailure::network);
  }
  SECTION("the server never answers the upgrade, connect_timeout → network") {
    SilentListener silent;
    Client c;
    c.options.linked_phone = some_link(silent.url());
    c.options.connect_timeout = 300ms;
    CHECK(failure_kind(c.run()) == ClientFailure::network);
  }
  SECTION("a stop while the upgrade hangs → cancelled") {
    SilentListener silent;
    Client c;
    c.options.linked_phone = some_link(silent.url());
    c.check_stop_after(Stage::contacting_phone, Stage::tunnel_connected);
  }
}

TEST_CASE("stage tunnel joined (QR): refused, unreachable, and a stop while connecting") {
  // The phone's advert names a tunnel on `server`; the client is sent elsewhere.
  SECTION("no such tunnel on the client's server → tunnel_status") {
    Server server, other;
    Client c;
    c.options.tunnel_override = other.url();
    c.with_phone(server.url(), PhoneScript::silent);
    CHECK(failure_kind(c.run()) == ClientFailure::tunnel_status);
    CHECK(c.saw(Stage::advert_seen));
  }
  SECTION("nothing listens → network") {
    Server server;
    Client c;
    c.options.tunnel_override = closed_port_url();
    c.with_phone(server.url(), PhoneScript::silent);
    CHECK(failure_kind(c.run()) == ClientFailure::network);
  }
  SECTION("a stop while the upgrade hangs → cancelled") {
    Server server;
    SilentListener silent;
    Client c;
    c.options.tunnel_override = silent.url();
    c.with_phone(server.url(), PhoneScript::silent);
    c.stop_at = Stage::advert_seen;
    auto r = c.run();
    REQUIRE_FALSE(r.ok());
    CHECK(failure_of(r.error()) == ClientFailure::cancelled);
    CHECK(Clock::now() - c.stop_requested_at < kPrompt);
    CHECK(c.air->active_listeners() == 0);
    CHECK_FALSE(c.saw(Stage::tunnel_connected));
  }
}

TEST_CASE("stage handshake: a silent phone, a phone that breaks it or hangs up, and a stop") {
  Server server;
  SECTION("the phone never answers → timeout (the transaction's deadline)") {
    Client c;
    c.options.timeout = 1500ms;
    c.through(server, PhoneScript::silent);
    auto r = c.run();
    CHECK(failure_kind(r) == ClientFailure::timeout);
    CHECK(c.saw(Stage::tunnel_connected));
    CHECK_FALSE(c.saw(Stage::handshake_done));
    CHECK(c.phone->wait_tunnel_ended(kPrompt));
  }
  SECTION("the phone answers with noise → handshake") {
    Client c;
    c.through(server, PhoneScript::garbage);
    CHECK(failure_kind(c.run()) == ClientFailure::handshake);
    CHECK(c.phone->wait_tunnel_ended(kPrompt));
  }
  SECTION("the phone hangs up → phone_closed") {
    Client c;
    c.through(server, PhoneScript::hang_up);
    CHECK(failure_kind(c.run()) == ClientFailure::phone_closed);
  }
  SECTION("a stop while waiting for the phone's handshake → cancelled, the tunnel closed") {
    Client c;
    c.through(server, PhoneScript::silent);
    c.check_stop_after(Stage::tunnel_connected, Stage::handshake_done);
  }
}

TEST_CASE("stage CTAP: no answer, a hang-up, and a stop while the person decides") {
  Server server;
  SECTION("no answer → timeout") {
    Client c;
    c.options.timeout = 2s;
    c.through(server, PhoneScript::no_answer);
    CHECK(failure_kind(c.run()) == ClientFailure::timeout);
    CHECK(c.saw(Stage::waiting_for_user));
    CHECK(c.phone->got_ctap_request());
  }
  SECTION("the phone hangs up on the request → phone_closed") {
    Client c;
    c.through(server, PhoneScript::hang_up_on_ctap);
    CHECK(failure_kind(c.run()) == ClientFailure::phone_closed);
    CHECK(c.saw(Stage::waiting_for_user));
  }
  SECTION("a stop while waiting for the user → cancelled, the tunnel closed") {
    Client c;
    c.through(server, PhoneScript::no_answer);
    c.check_stop_after(Stage::waiting_for_user, Stage::done);
  }
}

TEST_CASE("fallback policy: each failure of the linked phone, QR code or not") {
  for (int i = 1; i <= 12; ++i) {
    auto failure = static_cast<ClientFailure>(i);
    CAPTURE(failure_name(failure));
    std::vector<bool> attempts;  // true: linked
    LinkedThenQr plan;
    plan.linked_phone = some_link("ws://127.0.0.1:1");
    plan.attempt = [&](const std::optional<LinkRecord>& phone) -> Result<ClientTransactionResult> {
      attempts.push_back(phone.has_value());
      if (phone) return Error{failure, "linked failed"};
      return ClientTransactionResult{};
    };
    std::optional<bool> told_falls_back;
    plan.on_linked_failure = [&](const LinkedAttemptFailure& f) {
      CHECK(f.failure == failure);
      CHECK(f.phone.name == "test phone");
      told_falls_back = f.falls_back;
    };
    auto r = run_linked_then_qr(plan, std::stop_token{});
    REQUIRE(told_falls_back.has_value());
    CHECK(*told_falls_back == linked_falls_back_to_qr(failure));
    if (linked_falls_back_to_qr(failure)) {
      CHECK(attempts == std::vector<bool>{true, false});
      CHECK(r.ok());
    } else {
      CHECK(attempts == std::vector<bool>{true});
      CHECK(failure_of(r.error()) == failure);
    }
  }
  // Without a linked phone, the QR code only.
  int runs = 0;
  LinkedThenQr qr_only;
  qr_only.attempt = [&](const std::optional<LinkRecord>& phone) -> Result<ClientTransactionResult> {
    CHECK_FALSE(phone.has_value());
    ++runs;
    return ClientTransactionResult{};
  };
  CHECK(run_linked_then_qr(qr_only, std::stop_token{}).ok());
  CHECK(runs == 1);
}

TEST_CASE("fallback over real transactions: an unreachable linked phone → QR code; a stop → none") {
  SECTION("the linked phone's server cannot be reached: the QR code is shown next") {
    Client c;
    c.options.advert_timeout = 200ms;
    LinkedThenQr plan;
    plan.linked_phone = some_link(closed_port_url());
    std::vector<ClientFailure> failures;
    plan.attempt = [&](const std::optional<LinkRecord>& phone) {
      ClientTransactionOptions o = c.options;
      o.linked_phone = phone;
      o.on_progress = [&](const ClientProgress& p) { c.stages.push_back(p.stage); };
      auto r = ClientTransaction(c.radio, o).run(0x01, Bytes{0xa0}, c.stop.get_token());
      if (!r) failures.push_back(failure_or_internal(r.error()));
      return r;
    };
    auto r = run_linked_then_qr(plan, c.stop.get_token());
    CHECK(failures == std::vector<ClientFailure>{ClientFailure::network, ClientFailure::no_advert});
    CHECK(c.stages == std::vector<Stage>{Stage::contacting_phone, Stage::qr_shown});
    CHECK(failure_kind(r) == ClientFailure::no_advert);
  }
  SECTION("a stop during the linked attempt: cancelled, no QR code") {
    SilentListener silent;
    Client c;
    LinkedThenQr plan;
    plan.linked_phone = some_link(silent.url());
    int attempts = 0;
    plan.attempt = [&](const std::optional<LinkRecord>& phone) {
      ++attempts;
      ClientTransactionOptions o = c.options;
      o.linked_phone = phone;
      o.on_progress = [&](const ClientProgress& p) {
        c.stages.push_back(p.stage);
        if (p.stage == Stage::contacting_phone) c.request_stop_soon();
      };
      return ClientTransaction(c.radio, o).run(0x01, Bytes{0xa0}, c.stop.get_token());
    };
    auto r = run_linked_then_qr(plan, c.stop.get_token());
    CHECK(failure_kind(r) == ClientFailure::cancelled);
    CHECK(attempts == 1);
    CHECK(c.stages == std::vector<Stage>{Stage::contacting_phone});
    CHECK(Clock::now() - c.stop_requested_at < kPrompt);
  }
}
