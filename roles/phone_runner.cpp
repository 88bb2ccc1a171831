#include "roles/phone_runner.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "base/log.h"
#include "hybrid/client_payload.h"
#include "hybrid/domains.h"
#include "roles/reconnect_backoff.h"
#include "tunnel/client.h"
#include "tunnel/path.h"

namespace hybrid::roles {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct PhoneRunner::Impl {
  ble::Radio& radio;
  ctap::SoftwareAuthenticator& authenticator;
  const PhoneIdentity& identity;
  PhoneOptions options;
  std::atomic<bool> cancelled{false};
  std::mutex conn_mu;
  tunnel::TunnelConnection* conn = nullptr;

  Impl(ble::Radio& r, ctap::SoftwareAuthenticator& a, const PhoneIdentity& i, PhoneOptions o)
      : radio(r), authenticator(a), identity(i), options(std::move(o)) {}

  void stage(PhoneStage st, int value = 0) {
    if (options.on_stage) options.on_stage(st, value);
  }

  void say(const std::string& what) {
    log::debug("phone", "{}", what);
    if (options.on_progress) options.on_progress(what);
  }

  Result<std::unique_ptr<tunnel::TunnelConnection>> connect(const std::string& url,
                                                            std::vector<std::pair<std::string, std::string>> headers,
                                                            milliseconds timeout) {
    tunnel::ConnectOptions co;
    co.headers = std::move(headers);
    co.ca_file = options.ca_file;
    co.timeout = timeout;
    auto c = tunnel::TunnelConnection::connect(url, co);
    if (!c) return c.error().with_context("tunnel");
    return c;
  }

  // Runs one established transaction: advert up until the handshake, one CTAP command,
  // then waits for the Shutdown (or the client hanging up).
  Result<PhoneOutcome> transact(AuthenticatorSession& session, tunnel::TunnelConnection& tunnel_conn, const Advert& advert,
                                bool linked) {
    {
      std::lock_guard<std::mutex> lock(conn_mu);
      conn = &tunnel_conn;
    }
    struct Cleanup {
      Impl& s;
      ~Cleanup() {
        s.radio.stop_advertising();
        std::lock_guard<std::mutex> lock(s.conn_mu);
        s.conn = nullptr;
      }
    } cleanup{*this};

    auto adv = radio.start_advertising(advert);
    if (!adv) return adv.error().with_context("advertising");
    say("advertising over BLE; waiting for the client's handshake");
    stage(PhoneStage::advertising);

    PhoneOutcome outcome;
    outcome.linked_flow = linked;
    auto deadline = Clock::now() + options.timeout;
    bool served = false;
    for (;;) {
      if (cancelled) return make_error("cancelled");
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return make_error("the client did not finish the transaction in time");
      auto msg = tunnel_conn.receive(std::min(left, milliseconds(200)));
      if (!msg) {
        if (tunnel::has_code(msg.error(), tunnel::ClientErrorCode::receive_timeout)) continue;
        auto st = session.on_tunnel_closed();
        if (served) return outcome;
        // Say how it closed either way (the close code and the peer's reason, made printable).
        return make_error(st ? "the tunnel closed: " + msg.error().message
                             : st.error().message + " (" + msg.error().message + ")");
      }
      auto out = session.on_message(*msg);
      if (!out) return out.error();
      for (auto& b : out->to_send) (void)tunnel_conn.send(b);
      for (auto& e : out->events) {
        if (std::holds_alternative<HandshakeComplete>(e)) {
          radio.stop_advertising();  // as microG and webauthn-rs do: the advert has done its job
          outcome.linking_sent = !linked && options.offer_linking;
          say("handshake done; sent getInfo" + std::string(linked ? "" : " and an Update"));
          stage(PhoneStage::handshake_done);
        } else if (auto* req = std::get_if<CtapRequest>(&e)) {
          say("CTAP command 0x" + hex_encode(Bytes{req->command}) + " from the client");
          stage(PhoneStage::ctap_command, req->command);
          for (auto waited = milliseconds(0); waited < options.think_time && !cancelled; waited += milliseconds(20)) {
            std::this_thread::sleep_for(milliseconds(20));
          }
          if (cancelled) return make_error("cancelled");
          Bytes request = concat(Bytes{req->command}, req->params);
          Bytes response = authenticator.process(request);
          outcome.command = req->command;
          outcome.status = response.empty() ? 0x7f : response[0];
          auto sent = session.send_ctap_response(response);
          if (!sent) return sent.error();
          for (auto& b : sent->to_send) (void)tunnel_conn.send(b);
          served = true;
          say("answered with status 0x" + hex_encode(Bytes{outcome.status}));
          stage(PhoneStage::ctap_status, outcome.status);
        } else if (std::holds_alternative<ClientShutdown>(e)) {
          say("the client ended the transaction");
          stage(PhoneStage::client_shutdown);
          tunnel_conn.close(1000);
          return outcome;
        }
      }
    }
  }
};

PhoneRunner::PhoneRunner(ble::Radio& radio, ctap::SoftwareAuthenticator& authenticator, const PhoneIdentity& identity,
                         PhoneOptions options)
    : impl_(std::make_unique<Impl>(radio, authenticator, identity, std::move(options))) {}
PhoneRunner::~PhoneRunner() = default;

void PhoneRunner::cancel() {
  impl_->cancelled = true;
  std::lock_guard<std::mutex> lock(impl_->conn_mu);
  if (impl_->conn) impl_->conn->close(1000);
}

Result<PhoneOutcome> PhoneRunner::serve_qr(const qr::QrPayload& qr) {
  Impl& s = *impl_;
  AuthenticatorConfig config;
  config.get_info = s.authenticator.get_info_cbor();
  config.domain_id = s.options.domain_id;
  std::optional<LinkingOffer> offer;
  if (s.options.offer_linking) offer = s.identity.make_linking_offer();
  auto session = AuthenticatorSession::start_qr(qr, config, std::move(offer));
  std::string url = new_tunnel_url(TunnelBase{s.options.tunnel_base}, session.tunnel_id());
  s.say("opening a tunnel at " + s.options.tunnel_base + std::string(kNewTunnelPath) + "…");
  HYBRID_TRY(auto conn, s.connect(url, {}, s.options.connect_timeout));
  s.stage(PhoneStage::tunnel_joined);
  if (!conn->info().routing_id) return make_error("the tunnel server sent no X-caBLE-Routing-ID header");
  Advert advert = session.on_tunnel_ready(*conn->info().routing_id);
  return s.transact(session, *conn, advert, false);
}

Result<PhoneOutcome> PhoneRunner::serve_push(const tunnel::PushMessage& push) {
  Impl& s = *impl_;
  HYBRID_TRY(auto payload, ClientPayload::parse(push.client_payload));
  AuthenticatorConfig config;
  config.get_info = s.authenticator.get_info_cbor();
  config.domain_id = s.options.domain_id;
  SecretBytes secret = s.identity.link_secret(payload.link_id);
  auto session = AuthenticatorSession::start_linked(s.identity.identity_key(), secret, payload, config);
  std::string url = connect_url(TunnelBase{s.options.tunnel_base}, push.routing_id, push.tunnel_id);
  s.say("a linked client is asking (" + payload.request_hint + "); joining its tunnel");
  HYBRID_TRY(auto conn, s.connect(url, {}, s.options.connect_timeout));
  Advert advert = session.on_tunnel_ready(push.routing_id);
  return s.transact(session, *conn, advert, true);
}

namespace {

// A third of the server's push idle timeout (as the issue asks), so that one lost keepalive
// still leaves time for the next before the server gives up on the phone.
milliseconds keepalive_interval_for(const PhoneOptions& o, const tunnel::OpenInfo& info) {
  if (o.keepalive_interval.count() > 0) return o.keepalive_interval;
  milliseconds idle = info.push_idle_timeout_seconds ? milliseconds(*info.push_idle_timeout_seconds * 1000)
                                                     : o.assumed_push_idle_timeout;
  return std::max(milliseconds(100), idle / 3);
}

bool refused_for_good(const Error& e) {
  int status = tunnel::http_status(e);
  return status == 400 || status == 403;
}

}  // namespace

Status PhoneRunner::listen_for_linked_clients(int max_transactions,
                                              const std::function<void(const Result<PhoneOutcome>&)>& on_done,
                                              const std::function<void()>& on_ready) {
  bool announced = false;
  Impl& s = *impl_;
  std::string url = s.options.tunnel_base + tunnel::push_path(s.identity.contact_id());
  int served = 0;
  uint64_t seed = std::random_device{}();
  ReconnectBackoff backoff(s.options.reconnect_initial, s.options.reconnect_max, seed);
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ULL);
  std::uniform_int_distribution<int> jitter(0, 1 << 20);
  auto wait_before_retry = [&](const std::string& why) {
    milliseconds delay = backoff.next_delay();
    s.say("push channel: " + why + "; reconnecting in " + std::to_string(delay.count()) + " ms");
    for (auto end = Clock::now() + delay; !s.cancelled && Clock::now() < end;) {
      std::this_thread::sleep_for(std::min(milliseconds(50), std::chrono::duration_cast<milliseconds>(end - Clock::now())));
    }
  };
  while (!s.cancelled && (max_transactions == 0 || served < max_transactions)) {
    auto conn = s.connect(url, {{"X-caBLE-Push-Secret", s.identity.push_secret()}}, s.options.connect_timeout);
    if (!conn) {
      if (refused_for_good(conn.error())) return conn.error();
      wait_before_retry(conn.error().message);
      continue;
    }
    milliseconds interval = keepalive_interval_for(s.options, (*conn)->info());
    milliseconds answer_timeout = std::min(s.options.keepalive_answer_timeout, interval);
    s.say("listening for linked clients on the push channel (keepalive every " + std::to_string(interval.count()) +
          " ms)");
    if (!announced && on_ready) on_ready();
    announced = true;
    {
      std::lock_guard<std::mutex> lock(s.conn_mu);
      s.conn = conn->get();
    }
    Bytes pushed;
    std::string ended;  // why the channel ended, when it did
    auto next_keepalive = Clock::now() + interval;
    auto renew_at = Clock::now() + s.options.push_renew_interval * (90 + jitter(rng) % 21) / 100;
    bool renew = false;
    std::optional<Clock::time_point> awaiting_answer_since;
    for (;;) {
      if (s.cancelled) break;
      auto now = Clock::now();
      if (awaiting_answer_since && now - *awaiting_answer_since >= answer_timeout) {
        ended = "no answer to a keepalive within " + std::to_string(answer_timeout.count()) +
                " ms (dead connection)";
        break;
      }
      if (now >= renew_at) {
        renew = true;
        break;
      }
      if (now >= next_keepalive) {
        if (!(*conn)->send(Bytes{})) {
          ended = "the keepalive could not be sent";
          break;
        }
        if (!awaiting_answer_since) awaiting_answer_since = now;
        next_keepalive = now + interval;
      }
      auto wait = std::min({milliseconds(250), std::chrono::duration_cast<milliseconds>(next_keepalive - now) +
                                                   milliseconds(1)});
      auto msg = (*conn)->receive(std::max(milliseconds(1), wait));
      if (msg) {
        awaiting_answer_since.reset();  // any message proves the channel is alive
        backoff.reset();
        if (msg->empty()) continue;  // the answer to a keepalive
        pushed = std::move(msg).value();
        break;
      }
      if (tunnel::has_code(msg.error(), tunnel::ClientErrorCode::receive_timeout)) continue;
      ended = msg.error().message;
      break;
    }
    {
      std::lock_guard<std::mutex> lock(s.conn_mu);
      s.conn = nullptr;
    }
    if (s.cancelled) break;
    if (pushed.empty()) {
      (*conn)->close(1000);
      if (renew) s.say("renewing the push registration");
      else wait_before_retry(ended);
      continue;
    }
    auto push = tunnel::decode_push_message(pushed);
    if (!push) {
      s.say("ignoring a malformed push: " + push.error().message);
      continue;
    }
    (*conn)->close(1000);
    auto outcome = serve_push(*push);
    if (on_done) on_done(outcome);
    ++served;
  }
  return {};
}

}  // namespace hybrid::roles
