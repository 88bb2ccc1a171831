#include "roles/client_transaction.h"

#include <ctime>
#include <algorithm>
#include <functional>

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
Error cancelled_by_user() { return failure(ClientFailure::cancelled, "cancelled by the user"); }

// The longest the tunnel stages wait in one receive() before looking at the clock again.
constexpr milliseconds kReceiveSlice{200};

// One run of a transaction: the stages, in the order run() calls them, and what they share.
// Every stage checks the stop token first and waits no longer than its own deadline (never
// past the transaction's); the tunnel is closed by a stop callback, the scan by the radio.
class Stages {
 public:
  Stages(ble::Radio& radio, const ClientTransactionOptions& options, std::stop_token stop)
      : radio_(radio), options_(options), stop_(std::move(stop)), linked_(options.linked_phone.has_value()) {}

  Result<ClientTransactionResult> run(uint8_t ctap_command, ByteView ctap_params) {
    HYBRID_TRY_STATUS(choose_path());
    HYBRID_TRY_STATUS(linked_ ? send_contact() : show_qr());
    HYBRID_TRY_STATUS(await_advert());
    HYBRID_TRY_STATUS(join_tunnel());
    HYBRID_TRY_STATUS(handshake());
    HYBRID_TRY_STATUS(exchange_ctap(ctap_command, ctap_params));
    HYBRID_TRY_STATUS(linger());
    conn_->close(1000);
    progress(Stage::done, "");
    return std::move(result_);
  }

 private:
  // Stage 1: a linked phone (options.linked_phone) or a fresh QR code.
  Status choose_path() {
    if (stop_.stop_requested()) return cancelled_by_user();
    if (linked_) {
      auto hint = options_.request_type == qr::RequestType::make_credential ? "mc" : "ga";
      session_.emplace(ClientSession::start_linked(options_.linked_phone->to_stored_link(), {.request_hint = hint}));
      result_.phone_name = options_.linked_phone->name;
    } else {
      session_.emplace(ClientSession::start_qr({.request_type = options_.request_type,
                                                .offer_linking = options_.offer_linking,
                                                .now_unix = static_cast<uint64_t>(std::time(nullptr))}));
    }
    return {};
  }

  // Stage 2 (QR): the code is ready for the person to scan.
  Status show_qr() {
    if (stop_.stop_requested()) return cancelled_by_user();
    progress(Stage::qr_shown, "scan the QR code with the phone's camera", session_->qr_url());
    return {};
  }

  // Stage 2 (linked): /cable/contact wakes the phone; it joins this tunnel, then advertises.
  Status send_contact() {
    const auto& link = *options_.linked_phone;
    std::string url = contact_url(TunnelBase{tunnel_base(link.domain_id, link.tunnel_override)}, link.contact_id);
    progress(Stage::contacting_phone, "asking the tunnel server to wake \"" + link.name + "\"");
    HYBRID_TRY_STATUS(connect(url,
                              {{std::string(kClientPayloadHeader), session_->client_payload_header()},
                               {std::string(kSignalConnectionHeader), "true"}},
                              true));
    auto opened = session_->on_tunnel_open();
    if (!opened) return failure(ClientFailure::internal, opened.error().message);
    progress(Stage::tunnel_connected, "waiting for the phone to join and advertise");
    return {};
  }

  // Stage 3: BLE, within advert_timeout; every caBLE payload goes to the session until one
  // matches.
  Status await_advert() {
    if (stop_.stop_requested()) return cancelled_by_user();
    auto listened = radio_.listen(
        [&](const ble::ServiceDataEvent& ev) {
          auto out = session_->on_advert(ev.data);
          const auto* m = out.find<AdvertMatched>();
          if (!m) return false;
          matched_ = *m;
          for (auto& b : out.to_send) pending_.push_back(std::move(b));
          return true;
        },
        std::min(options_.advert_timeout, remaining()), stop_);
    if (stop_.stop_requested()) return cancelled_by_user();
    if (!listened) {
      const Error& e = listened.error();
      if (ble::is_radio_error(e, ble::RadioError::no_advert_timeout)) {
        if (remaining().count() == 0) return expired("while waiting for the phone's advert");
        return failure(ClientFailure::no_advert, e.message);
      }
      if (ble::is_radio_error(e, ble::RadioError::cancelled)) return cancelled_by_user();
      return failure(ClientFailure::bluetooth, e.message);
    }
    result_.domain_id = matched_->domain_id;
    progress(Stage::advert_seen, linked_ ? "the linked phone is near"
                                         : "the phone is near; its tunnel server is " +
                                               tunnel_domain(matched_->domain_id).value_or("?"));
    return {};
  }

  // Stage 4: the QR flow connects to the tunnel the advert names (the linked flow is on
  // its tunnel already); then the handshake's first message goes out.
  Status join_tunnel() {
    if (!linked_) {
      std::string url = connect_url(TunnelBase{tunnel_base(matched_->domain_id, "")}, matched_->routing_id,
                                    session_->tunnel_id());
      HYBRID_TRY_STATUS(connect(url, {}, false));
      auto opened = session_->on_tunnel_open();
      if (!opened) return failure(ClientFailure::internal, opened.error().message);
      for (auto& b : opened->to_send) pending_.push_back(std::move(b));
      progress(Stage::tunnel_connected, "");
    }
    if (options_.on_keylog) {
      if (auto line = session_->keylog_line()) options_.on_keylog(*line);
    }
    for (auto& b : pending_) {
      if (!conn_->send(b)) {
        if (stop_.stop_requested()) return cancelled_by_user();
        return failure(ClientFailure::phone_closed, "the tunnel closed before the handshake");
      }
    }
    pending_.clear();
    return {};
  }

  // Stage 5: Noise, then the phone's post-handshake message (getInfo and features).
  Status handshake() {
    return receive_until([&] { return post_handshake_seen_; });
  }

  // Stage 6: the CTAP command out, the phone's answer back.
  Status exchange_ctap(uint8_t ctap_command, ByteView ctap_params) {
    if (stop_.stop_requested()) return close_for_stop();
    auto sent = session_->send_ctap(ctap_command, ctap_params);
    if (!sent) return failure(ClientFailure::internal, sent.error().message);
    for (auto& b : sent->to_send) (void)conn_->send(b);
    handle_events(sent->events);  // a getInfo answered locally
    if (!answered_) progress(Stage::waiting_for_user, "confirm on the phone");
    return receive_until([&] { return answered_; });
  }

  // Stage 7: goodbye to the phone, and a short wait for a late linking Update (QR flow,
  // when linking was offered and none came yet).
  Status linger() {
    auto bye = session_->shutdown();
    if (bye) for (auto& b : bye->to_send) (void)conn_->send(b);
    bool want_update = !linked_ && options_.offer_linking && !result_.linking;
    auto until = Clock::now() + (want_update ? options_.late_update_grace : milliseconds(0));
    while (!result_.linking) {
      if (stop_.stop_requested()) return close_for_stop();
      auto slice = std::min({kReceiveSlice, remaining(), std::chrono::duration_cast<milliseconds>(until - Clock::now())});
      if (slice.count() <= 0) break;
      HYBRID_TRY(bool open, receive_one(slice));
      if (!open) break;  // the phone hung up after answering: normal
    }
    return {};
  }

  // ---- what the stages share ----

  // Receives and handles tunnel messages until `reached()`, the transaction's deadline, a
  // stop, or the end of the tunnel.
  Status receive_until(const std::function<bool()>& reached) {
    while (!reached()) {
      if (stop_.stop_requested()) return close_for_stop();
      auto slice = std::min(kReceiveSlice, remaining());
      if (slice.count() <= 0) {
        conn_->close(1000);
        return expired(std::string("while ").append(client_state_name(session_->state())).c_str());
      }
      HYBRID_TRY(bool open, receive_one(slice));
      if (!open) {
        auto closed = session_->on_tunnel_closed();
        if (stop_.stop_requested()) return cancelled_by_user();
        // Keep the tunnel's own account (close code and reason, or a lost connection to the
        // tunnel server) next to the session's: they point at different culprits.
        return failure(ClientFailure::phone_closed, closed ? "the tunnel closed: " + close_reason_.message
                                                           : closed.error().message + " (" + close_reason_.message + ")");
      }
    }
    return {};
  }

  // Waits up to `slice` for one message and hands it to the session. False when the tunnel
  // ended (close_reason_ says how); true when a message was handled or none came.
  Result<bool> receive_one(milliseconds slice) {
    auto msg = conn_->receive(slice);
    if (!msg) {
      if (tunnel::has_code(msg.error(), tunnel::ClientErrorCode::receive_timeout)) return true;
      close_reason_ = msg.error();
      return false;
    }
    auto out = session_->on_message(*msg);
    if (!out) {
      conn_->close(1000);
      return failure(out.error().is(SessionError::handshake_failed) ? ClientFailure::handshake : ClientFailure::protocol,
                     out.error().message);
    }
    for (auto& b : out->to_send) (void)conn_->send(b);
    handle_events(out->events);
    return true;
  }

  void handle_events(std::vector<SessionEvent>& events) {
    for (auto& e : events) {
      if (std::holds_alternative<HandshakeComplete>(e)) {
        progress(Stage::handshake_done, "encrypted channel established");
      } else if (auto* p = std::get_if<PostHandshakeReceived>(&e)) {
        result_.post_handshake = p->message;
        post_handshake_seen_ = true;
      } else if (auto* l = std::get_if<LinkingReceived>(&e)) {
        result_.linking = std::move(l->info);
        log::info("client", "the phone sent linking information");
      } else if (auto* ig = std::get_if<LinkingIgnored>(&e)) {
        log::warn("client", "linking information ignored: {}", ig->reason);
      } else if (auto* r = std::get_if<CtapResponse>(&e)) {
        result_.ctap_status = r->status;
        result_.ctap_body = r->body;
        answered_ = true;
      }
    }
  }

  // Opens the tunnel (within connect_timeout and the transaction's deadline) and arms the
  // stop callback that closes it, which wakes a stage blocked in receive().
  Status connect(const std::string& url, std::vector<std::pair<std::string, std::string>> headers, bool contact) {
    if (stop_.stop_requested()) return failure(ClientFailure::cancelled, "cancelled");
    tunnel::ConnectOptions co;
    co.headers = std::move(headers);
    co.ca_file = options_.ca_file;
    co.timeout = std::min(options_.connect_timeout, remaining());
    if (co.timeout.count() <= 0) return expired("before the tunnel connection");
    auto c = tunnel::TunnelConnection::connect(url, co, stop_);
    if (stop_.stop_requested()) return cancelled_by_user();
    if (!c) return connect_failure(c.error(), contact);
    conn_ = std::move(c).value();
    close_on_stop_.emplace(stop_, CloseTunnel{conn_.get()});
    return {};
  }

  static Error connect_failure(const Error& e, bool contact) {
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

  Error close_for_stop() {
    (void)session_->shutdown();
    conn_->close(1000);
    return cancelled_by_user();
  }

  std::string tunnel_base(uint16_t domain_id, const std::string& link_override) const {
    if (!options_.tunnel_override.empty()) return options_.tunnel_override;
    if (!link_override.empty()) return link_override;
    return TunnelBase::for_domain(tunnel_domain(domain_id).value_or("invalid")).base;
  }

  void progress(Stage stage, std::string detail, std::string qr_url = "") {
    log::debug("client", "{}{}{}", stage_name(stage), detail.empty() ? "" : ": ", detail);
    if (options_.on_progress) {
      options_.on_progress(ClientProgress{stage, std::chrono::duration_cast<milliseconds>(Clock::now() - start_),
                                          std::move(detail), std::move(qr_url)});
    }
  }
  milliseconds remaining() const {
    auto r = std::chrono::duration_cast<milliseconds>(deadline_ - Clock::now());
    return r.count() > 0 ? r : milliseconds(0);
  }
  Error expired(const char* where) const {
    return failure(ClientFailure::timeout, std::string("the transaction took longer than its ") +
                                               std::to_string(options_.timeout.count() / 1000) + " s limit " + where);
  }

  struct CloseTunnel {
    tunnel::TunnelConnection* conn;
    void operator()() const { conn->close(1000); }  // thread-safe; receive() then returns
  };

  ble::Radio& radio_;
  const ClientTransactionOptions& options_;
  const std::stop_token stop_;
  const bool linked_;
  const Clock::time_point start_ = Clock::now();
  const Clock::time_point deadline_ = start_ + options_.timeout;
  std::optional<ClientSession> session_;
  std::optional<AdvertMatched> matched_;
  std::vector<Bytes> pending_;  // for the tunnel, once it is open
  std::unique_ptr<tunnel::TunnelConnection> conn_;
  std::optional<std::stop_callback<CloseTunnel>> close_on_stop_;  // declared after conn_: goes first
  Error close_reason_;
  bool post_handshake_seen_ = false;
  bool answered_ = false;
  ClientTransactionResult result_;
};

}  // namespace

struct ClientTransaction::Impl {
  ble::Radio& radio;
  ClientTransactionOptions options;
};

ClientTransaction::ClientTransaction(ble::Radio& radio, ClientTransactionOptions options)
    : impl_(std::make_unique<Impl>(Impl{radio, std::move(options)})) {}
ClientTransaction::~ClientTransaction() = default;

Result<ClientTransactionResult> ClientTransaction::run(uint8_t ctap_command, ByteView ctap_params,
                                                       std::stop_token stop) {
  return Stages(impl_->radio, impl_->options, std::move(stop)).run(ctap_command, ctap_params);
}

}  // namespace hybrid::roles
