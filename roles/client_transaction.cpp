#include "roles/client_transaction.h"

#include <ctime>
#include <mutex>

#include "base/log.h"
#include "hybrid/domains.h"
#include "tunnel/client.h"

namespace hybrid::roles {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string_view stage_name(Stage stage) {
  switch (stage) {
    case Stage::qr_shown: return "QR code shown";
    case Stage::contacting_phone: return "contacting the linked phone";
    case Stage::advert_seen: return "phone nearby (advert seen)";
    case Stage::tunnel_connected: return "tunnel connected";
    case Stage::handshake_done: return "handshake done";
    case Stage::waiting_for_user: return "waiting for the user on the phone";
    case Stage::done: return "done";
  }
  return "?";
}

namespace {
Error failure(ClientFailure f, std::string message) { return Error{f, std::move(message)}; }
}  // namespace

struct ClientTransaction::Impl {
  ble::Radio& radio;
  ClientTransactionOptions options;
  std::atomic<bool> cancelled{false};
  std::mutex conn_mu;
  tunnel::TunnelConnection* conn = nullptr;  // the open tunnel, for cancel()
  Clock::time_point start = Clock::now();
  Clock::time_point deadline;

  Impl(ble::Radio& r, ClientTransactionOptions o) : radio(r), options(std::move(o)) {}

  void progress(Stage stage, std::string detail, std::string qr_url = "") {
    log::debug("client", "{}{}{}", stage_name(stage), detail.empty() ? "" : ": ", detail);
    if (options.on_progress) {
      options.on_progress(ClientProgress{stage, std::chrono::duration_cast<milliseconds>(Clock::now() - start),
                                         std::move(detail), std::move(qr_url)});
    }
  }
  milliseconds remaining() const {
    auto r = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    return r.count() > 0 ? r : milliseconds(0);
  }
  Error expired(const char* where) {
    return failure(ClientFailure::timeout, std::string("the transaction took longer than its ") +
                                               std::to_string(options.timeout.count() / 1000) + " s limit " + where);
  }

  std::string tunnel_base(uint16_t domain_id, const std::string& link_override) const {
    if (!options.tunnel_override.empty()) return options.tunnel_override;
    if (!link_override.empty()) return link_override;
    return TunnelBase::for_domain(tunnel_domain(domain_id).value_or("invalid")).base;
  }

  Result<std::unique_ptr<tunnel::TunnelConnection>> connect(const std::string& url,
                                                            std::vector<std::pair<std::string, std::string>> headers,
                                                            bool contact) {
    if (cancelled) return failure(ClientFailure::cancelled, "cancelled");
    tunnel::ConnectOptions co;
    co.headers = std::move(headers);
    co.ca_file = options.ca_file;
    co.timeout = std::min(options.connect_timeout, remaining());
    if (co.timeout.count() <= 0) return expired("before the tunnel connection");
    auto c = tunnel::TunnelConnection::connect(url, co);
    if (c) return c;
    const Error& e = c.error();
    int status = tunnel::http_status(e);
    if (contact && tunnel::is_gone(e)) {
      return failure(ClientFailure::link_gone, "the tunnel server says this linked phone is gone (HTTP 410): it "
                                               "was unlinked or reset; the link is forgotten, scan a QR code instead");
    }
    if (status) {
      return failure(ClientFailure::tunnel_status,
                     "the tunnel server refused the connection with HTTP " + std::to_string(status) + ": " + e.message);
    }
    if (tunnel::has_code(e, tunnel::ClientErrorCode::tls)) return failure(ClientFailure::tls, e.message);
    if (tunnel::has_code(e, tunnel::ClientErrorCode::timeout)) {
      return failure(ClientFailure::network, "the tunnel server did not answer in time: " + e.message);
    }
    return failure(ClientFailure::network, "could not reach the tunnel server: " + e.message);
  }
};

ClientTransaction::ClientTransaction(ble::Radio& radio, ClientTransactionOptions options)
    : impl_(std::make_unique<Impl>(radio, std::move(options))) {}
ClientTransaction::~ClientTransaction() = default;

void ClientTransaction::cancel() {
  impl_->cancelled = true;
  impl_->radio.cancel();
  std::lock_guard<std::mutex> lock(impl_->conn_mu);
  if (impl_->conn) impl_->conn->close(1000);
}

Result<ClientTransactionResult> ClientTransaction::run(uint8_t ctap_command, ByteView ctap_params) {
  Impl& s = *impl_;
  s.start = Clock::now();
  s.deadline = s.start + s.options.timeout;
  const bool linked = s.options.linked_phone.has_value();
  ClientTransactionResult result;

  std::optional<ClientSession> session_storage;
  if (linked) {
    auto hint = s.options.request_type == qr::RequestType::make_credential ? "mc" : "ga";
    session_storage.emplace(ClientSession::start_linked(s.options.linked_phone->to_stored_link(), {.request_hint = hint}));
    result.phone_name = s.options.linked_phone->name;
  } else {
    session_storage.emplace(ClientSession::start_qr({.request_type = s.options.request_type,
                                                     .offer_linking = s.options.offer_linking,
                                                     .now_unix = static_cast<uint64_t>(std::time(nullptr))}));
  }
  ClientSession& session = *session_storage;

  std::unique_ptr<tunnel::TunnelConnection> conn;
  auto set_conn = [&](std::unique_ptr<tunnel::TunnelConnection> c) {
    std::lock_guard<std::mutex> lock(s.conn_mu);
    conn = std::move(c);
    s.conn = conn.get();
  };
  struct ConnGuard {  // forget the raw pointer before the connection dies
    Impl& s;
    ~ConnGuard() {
      std::lock_guard<std::mutex> lock(s.conn_mu);
      s.conn = nullptr;
    }
  } conn_guard{s};
  std::vector<Bytes> pending;

  if (linked) {
    const auto& link = *s.options.linked_phone;
    std::string url = contact_url(TunnelBase{s.tunnel_base(link.domain_id, link.tunnel_override)}, link.contact_id);
    s.progress(Stage::contacting_phone, "asking the tunnel server to wake \"" + link.name + "\"");
    HYBRID_TRY(auto c, s.connect(url,
                                 {{std::string(kClientPayloadHeader), session.client_payload_header()},
                                  {std::string(kSignalConnectionHeader), "true"}},
                                 true));
    set_conn(std::move(c));
    auto opened = session.on_tunnel_open();
    if (!opened) return failure(ClientFailure::internal, opened.error().message);
    s.progress(Stage::tunnel_connected, "waiting for the phone to join and advertise");
  } else {
    s.progress(Stage::qr_shown, "scan the QR code with the phone's camera", session.qr_url());
  }

  // BLE: every caBLE payload goes to the session until one matches.
  std::optional<AdvertMatched> matched;
  auto listen_timeout = std::min(s.options.advert_timeout, s.remaining());
  auto listened = s.radio.listen(
      [&](const ble::ServiceDataEvent& ev) {
        auto out = session.on_advert(ev.data);
        if (const auto* m = out.find<AdvertMatched>()) {
          matched = *m;
          for (auto& b : out.to_send) pending.push_back(std::move(b));
          return true;
        }
        return s.cancelled.load();
      },
      listen_timeout);
  if (s.cancelled) return failure(ClientFailure::cancelled, "cancelled by the user");
  if (!listened) {
    const Error& e = listened.error();
    if (ble::is_radio_error(e, ble::RadioError::no_advert_timeout)) {
      if (s.remaining().count() == 0) return s.expired("while waiting for the phone's advert");
      return failure(ClientFailure::no_advert, e.message);
    }
    if (ble::is_radio_error(e, ble::RadioError::cancelled)) return failure(ClientFailure::cancelled, "cancelled by the user");
    return failure(ClientFailure::bluetooth, e.message);
  }
  result.domain_id = matched->domain_id;
  s.progress(Stage::advert_seen,
             linked ? "the linked phone is near" : "the phone is near; its tunnel server is " +
                                                       tunnel_domain(matched->domain_id).value_or("?"));

  if (!linked) {
    std::string url = connect_url(TunnelBase{s.tunnel_base(matched->domain_id, "")}, matched->routing_id, session.tunnel_id());
    HYBRID_TRY(auto c, s.connect(url, {}, false));
    set_conn(std::move(c));
    auto opened = session.on_tunnel_open();
    if (!opened) return failure(ClientFailure::internal, opened.error().message);
    for (auto& b : opened->to_send) pending.push_back(std::move(b));
    s.progress(Stage::tunnel_connected, "");
  }
  if (s.options.on_keylog) {
    if (auto line = session.keylog_line()) s.options.on_keylog(*line);
  }
  for (auto& b : pending) {
    if (!conn->send(b)) return failure(ClientFailure::phone_closed, "the tunnel closed before the handshake");
  }
  pending.clear();

  bool answered = false;
  std::optional<Clock::time_point> linger_until;
  for (;;) {
    if (s.cancelled) {
      (void)session.shutdown();
      conn->close(1000);
      return failure(ClientFailure::cancelled, "cancelled by the user");
    }
    auto slice = std::min(milliseconds(200), s.remaining());
    if (linger_until) {
      auto left = std::chrono::duration_cast<milliseconds>(*linger_until - Clock::now());
      if (left.count() <= 0) break;
      slice = std::min(slice, left);
    }
    if (slice.count() <= 0) {
      if (answered) break;
      conn->close(1000);
      return s.expired(std::string("while ").append(client_state_name(session.state())).c_str());
    }
    auto msg = conn->receive(slice);
    if (!msg) {
      if (tunnel::has_code(msg.error(), tunnel::ClientErrorCode::receive_timeout)) continue;
      if (answered) break;  // the phone hung up after answering: normal
      auto closed = session.on_tunnel_closed();
      if (s.cancelled) return failure(ClientFailure::cancelled, "cancelled by the user");
      // Keep the tunnel's own account (close code and reason, or a lost connection to the
      // tunnel server) next to the session's: they point at different culprits.
      return failure(ClientFailure::phone_closed, closed ? "the tunnel closed: " + msg.error().message
                                                         : closed.error().message + " (" + msg.error().message + ")");
    }
    auto out = session.on_message(*msg);
    if (!out) {
      conn->close(1000);
      return failure(out.error().is(SessionError::handshake_failed) ? ClientFailure::handshake : ClientFailure::protocol,
                     out.error().message);
    }
    for (auto& b : out->to_send) (void)conn->send(b);
    for (auto& e : out->events) {
      if (std::holds_alternative<HandshakeComplete>(e)) {
        s.progress(Stage::handshake_done, "encrypted channel established");
      } else if (auto* p = std::get_if<PostHandshakeReceived>(&e)) {
        result.post_handshake = p->message;
        auto sent = session.send_ctap(ctap_command, ctap_params);
        if (!sent) return failure(ClientFailure::internal, sent.error().message);
        for (auto& b : sent->to_send) (void)conn->send(b);
        for (auto& ev : sent->events) {  // a getInfo answered locally
          if (auto* r = std::get_if<CtapResponse>(&ev)) {
            result.ctap_status = r->status;
            result.ctap_body = r->body;
            answered = true;
          }
        }
        if (!answered) s.progress(Stage::waiting_for_user, "confirm on the phone");
      } else if (auto* l = std::get_if<LinkingReceived>(&e)) {
        result.linking = std::move(l->info);
        log::info("client", "the phone sent linking information");
      } else if (auto* ig = std::get_if<LinkingIgnored>(&e)) {
        log::warn("client", "linking information ignored: {}", ig->reason);
      } else if (auto* r = std::get_if<CtapResponse>(&e)) {
        result.ctap_status = r->status;
        result.ctap_body = r->body;
        answered = true;
      }
    }
    if (answered && !linger_until) {
      auto bye = session.shutdown();
      if (bye) for (auto& b : bye->to_send) (void)conn->send(b);
      bool want_update = !linked && s.options.offer_linking && !result.linking;
      linger_until = Clock::now() + (want_update ? s.options.late_update_grace : milliseconds(0));
    }
    if (answered && linger_until && result.linking) break;
  }
  conn->close(1000);
  s.progress(Stage::done, "");
  return result;
}

}  // namespace hybrid::roles
