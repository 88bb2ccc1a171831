#include "tunnel/server.h"

#include <ev.h>
#include <libwebsockets.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "base/log.h"
#include "hybrid/constants.h"
#include "tunnel/http_probe.h"
#include "tunnel/lws_headers.h"
#include "tunnel/lws_http.h"
#include "tunnel/lws_log.h"
#include "tunnel/metrics.h"
#include "tunnel/path.h"
#include "tunnel/registry.h"

namespace hybrid::tunnel {
namespace {

constexpr std::string_view kStage = "tunnel";
constexpr auto kTickInterval = std::chrono::milliseconds(500);
constexpr auto kDrainTime = std::chrono::seconds(2);
// lws allocates this receive buffer (+LWS_PRE) for every WebSocket connection, pending or
// not; messages are reassembled in ConnState::rx, so a small chunk costs a few more
// callbacks per large message and nothing else (docs/tunnel.md, "Where the memory goes").
constexpr size_t kRxChunk = 256;
// A push binding (contact id -> secret hash) unused this long is forgotten.
constexpr std::chrono::seconds kBindingLifetime{30 * 24 * 3600};

struct ConnState {
  lws* wsi = nullptr;
  ConnId id = 0;
  bool established = false;
  bool peer_closed_cleanly = false;
  bool gone = false;  // the registry has been told
  std::list<Bytes> out;  // not a deque: an empty std::deque allocates ~600 bytes
  std::optional<std::pair<CloseCode, std::string>> closing;
  Bytes rx;
  bool rx_binary = true;
  bool rx_oversized = false;
  std::optional<RoutingId> routing_header;
  bool echo_signal = false;
  // /push: X-caBLE-Push-Idle-Timeout tells the phone how often it must send a keepalive.
  std::optional<int64_t> push_idle_header;
};

// `Date` lets `hybrid doctor` read the clock skew; `Allow` goes with 405.
std::string http_response_with_date(int status, std::string_view content_type, std::string_view body, bool allow_get) {
  std::string extra = "Date: " + format_http_date(std::time(nullptr)) + "\r\n";
  if (allow_get) extra += "Allow: GET\r\n";
  return http_response(status, content_type, body, extra);
}

bool offers_fido_cable(const std::string& protocols) {
  size_t pos = 0;
  while (pos <= protocols.size()) {
    size_t comma = protocols.find(',', pos);
    if (comma == std::string::npos) comma = protocols.size();
    std::string_view item(protocols.data() + pos, comma - pos);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item == kWebSocketProtocol) return true;
    pos = comma + 1;
  }
  return false;
}

std::string peer_ip(lws* wsi, bool trust_forwarded_for) {
  if (trust_forwarded_for) {
    std::string xff = read_header(wsi, WSI_TOKEN_X_FORWARDED_FOR);
    auto comma = xff.rfind(',');
    std::string last = comma == std::string::npos ? xff : xff.substr(comma + 1);
    while (!last.empty() && last.front() == ' ') last.erase(0, 1);
    while (!last.empty() && last.back() == ' ') last.pop_back();
    if (!last.empty() && last.size() < 64) return last;
  }
  char buf[128] = {0};
  lws_get_peer_simple(wsi, buf, sizeof buf);
  std::string ip(buf);
  if (ip.rfind("::ffff:", 0) == 0) ip = ip.substr(7);
  return ip;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

struct TunnelServer::Impl {
  ServerConfig config;
  std::shared_ptr<PushBindingStore> bindings;  // before registry, which points at it
  Registry registry;
  lws_context* context = nullptr;
  // libev with epoll: lws' default poll() loop costs O(connections) per wakeup, which
  // dominates relay latency with thousands of sockets. nullptr = lws' own poll loop.
  struct ev_loop* loop = nullptr;
  uint16_t port = 0;
  std::atomic<bool> stop_requested{false};
  std::mutex limits_mu;
  std::optional<ServerLimits> pending_limits;  // from update_limits(), for the service thread
  std::atomic<bool> drain_requested{false};
  bool draining = false;
  Clock::time_point drain_until{};
  bool shutting_down = false;
  bool done = false;
  Clock::time_point drain_deadline{};
  // The sul comes first so that the timer callback can find its owner without offsetof.
  struct TickSul {
    lws_sorted_usec_list_t sul;
    Impl* self;
  } tick_sul{{}, this};
  ConnId next_conn = 1;
  std::unordered_map<lws*, ConnId> by_wsi;
  std::unordered_map<ConnId, ConnState> conns;
  HttpReplies http_replies;
  AdapterStats stats;
  Bytes scratch;
  lws_protocols protocols[3]{};

  explicit Impl(const ServerConfig& c)
      : config(c),
        bindings(c.push_bindings ? c.push_bindings
                                 : std::make_shared<InMemoryPushBindingStore>(c.limits.max_push_registrations,
                                                                              kBindingLifetime)),
        registry(c.routing_id, c.limits, bindings.get()) {}

  static int callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len);
  int handle(lws* wsi, lws_callback_reasons reason, void* in, size_t len);

  static void on_tick(lws_sorted_usec_list_t* sul) {
    Impl* self = reinterpret_cast<TickSul*>(sul)->self;
    self->tick();
  }
  void schedule_tick() {
    lws_sul_schedule(context, 0, &tick_sul.sul, on_tick,
                     std::chrono::duration_cast<std::chrono::microseconds>(kTickInterval).count());
  }
  void apply_pending_limits() {
    std::optional<ServerLimits> l;
    {
      std::lock_guard<std::mutex> lock(limits_mu);
      l.swap(pending_limits);
    }
    if (!l) return;
    l->handshake_timeout = config.limits.handshake_timeout;
    l->max_header_bytes = config.limits.max_header_bytes;
    l->max_message_size = config.limits.max_message_size;
    config.limits = *l;
    registry.set_limits(*l);
    log::info(kStage, "limits updated");
  }
  void tick() {
    apply_pending_limits();
    auto now = Clock::now();
    if (drain_requested && !draining && !shutting_down) begin_drain();
    if (draining && !shutting_down) {
      auto g = registry.gauges();
      if (g.pending_tunnels + g.paired_tunnels == 0 || now >= drain_until) {
        log::info(kStage, "drained ({} tunnels left)", g.pending_tunnels + g.paired_tunnels);
        stop_requested = true;
      }
    }
    if (stop_requested && !shutting_down) begin_shutdown();
    if (shutting_down) {
      if (conns.empty() || now >= drain_deadline) done = true;
    } else {
      registry.tick(now);
      apply_actions();
    }
    if (!done) schedule_tick();
    else lws_cancel_service(context);
  }
  void begin_drain() {
    draining = true;
    // Every tunnel ends by its TTL; one tick more for the registry to close it.
    drain_until = Clock::now() + config.limits.tunnel_ttl + 2 * kTickInterval;
    auto g = registry.gauges();
    log::info(kStage, "draining: refusing /new, /contact and /push; {} pending and {} paired tunnels may finish",
              g.pending_tunnels, g.paired_tunnels);
    registry.drain();
    apply_actions();
  }
  void begin_shutdown() {
    shutting_down = true;
    drain_deadline = Clock::now() + kDrainTime;
    log::info(kStage, "shutting down: closing {} connections", conns.size());
    registry.shut_down();
    apply_actions();
  }

  void apply_actions() {
    for (auto& a : registry.take_actions()) {
      auto it = conns.find(a.conn);
      if (it == conns.end()) continue;
      ConnState& c = it->second;
      if (a.kind == Action::Kind::send) {
        // Write at once when nothing is waiting ahead of it: one wakeup per relayed message
        // instead of two (lws appends to its own buffer if the socket takes only part).
        if (c.established && c.out.empty() && !c.closing && !lws_send_pipe_choked(c.wsi)) {
          if (write_message(c.wsi, a.message) < 0) {
            c.closing = std::make_pair(CloseCode::going_away, std::string("write failed"));
            lws_callback_on_writable(c.wsi);
          }
          continue;
        }
        c.out.push_back(std::move(a.message));
      } else {
        c.closing = std::make_pair(a.close_code, std::move(a.close_reason));
        c.gone = true;  // the registry already forgot it
        lws_rx_flow_control(c.wsi, 0);
      }
      if (c.established) lws_callback_on_writable(c.wsi);
    }
  }

  // Writes a complete plain-HTTP response; returns the callback's return value.
  int reply_http(lws* wsi, int status, std::string_view type, std::string_view body, bool allow = false) {
    stats.http_requests++;
    return http_replies.send(wsi, http_response_with_date(status, type, body, allow));
  }

  int refuse(lws* wsi, Reject reason, const std::string& ip, std::string_view message) {
    registry.refused(reason, ip, Clock::now());
    log::debug(kStage, "refused {} ({}): {}", reject_status(reason), reject_name(reason), message);
    return reply_http(wsi, reject_status(reason), "text/plain; charset=utf-8", std::string(message) + "\n",
                      reason == Reject::method);
  }

  int on_http(lws* wsi, std::string_view uri) {
    std::string ip = peer_ip(wsi, config.trust_forwarded_for);
    auto now = Clock::now();
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) {
      return refuse(wsi, Reject::method, ip, "only GET is served here");
    }
    auto path = parse_request_path(uri);
    if (!path) return refuse(wsi, Reject::unknown_path, ip, "not found");
    if (std::holds_alternative<HealthRequest>(*path)) {
      if (draining || shutting_down) {
        return reply_http(wsi, 503, "text/plain; charset=utf-8", shutting_down ? "shutting down\n" : "draining\n");
      }
      return reply_http(wsi, 200, "text/plain; charset=utf-8", "ok\n");
    }
    if (std::holds_alternative<MetricsRequest>(*path)) {
      stats.limits = config.limits;  // current after a reload
      return reply_http(wsi, 200, "text/plain; version=0.0.4; charset=utf-8",
                        render_metrics(registry.counters(), registry.gauges(), stats));
    }
    if (registry.rate_limited(ip, now)) return refuse(wsi, Reject::rate_limit, ip, "too many refused requests");
    return refuse(wsi, Reject::not_websocket, ip,
                  "this path needs a WebSocket upgrade with Sec-WebSocket-Protocol: fido.cable");
  }

  int on_confirm_upgrade(lws* wsi, const char* upgrade_to) {
    std::string ip = peer_ip(wsi, config.trust_forwarded_for);
    auto now = Clock::now();
    if (!upgrade_to || !iequals(upgrade_to, "websocket")) {
      return refuse(wsi, Reject::not_websocket, ip, "only WebSocket upgrades are served");
    }
    std::string uri = read_header(wsi, WSI_TOKEN_GET_URI);
    if (uri.empty()) return refuse(wsi, Reject::method, ip, "only GET is served here");
    if (registry.rate_limited(ip, now)) {
      registry.refused(Reject::rate_limit, ip, now);
      return reply_http(wsi, 429, "text/plain; charset=utf-8", "too many refused requests\n");
    }
    auto path = parse_request_path(uri);
    if (!path) return refuse(wsi, Reject::unknown_path, ip, "not found");
    if (!is_websocket_path(*path)) return refuse(wsi, Reject::not_websocket, ip, "this path is plain HTTP");
    if (!offers_fido_cable(read_header(wsi, WSI_TOKEN_PROTOCOL))) {
      return refuse(wsi, Reject::no_subprotocol, ip, "Sec-WebSocket-Protocol must offer fido.cable");
    }
    UpgradeRequest req;
    req.path = std::move(*path);
    req.client_ip = ip;
    req.client_payload_hex = read_custom_header(wsi, "x-cable-client-payload:");
    auto signal = read_custom_header(wsi, "x-cable-signal-connection:");
    req.signal_connection = signal && iequals(*signal, "true");
    req.push_secret = read_custom_header(wsi, "x-cable-push-secret:");
    ConnId id = next_conn++;
    // Bind before admit() so that actions addressed to this connection find it.
    ConnState& c = conns[id];
    c.wsi = wsi;
    c.id = id;
    by_wsi[wsi] = id;
    Admission a = registry.admit(id, req, now);
    if (!a.ok()) {
      conns.erase(id);
      by_wsi.erase(wsi);
      log::debug(kStage, "refused {} {} ({}): {}", path_kind(req.path), a.status,
                 a.reason ? reject_name(*a.reason) : "", a.message);
      return reply_http(wsi, a.status, "text/plain; charset=utf-8", a.message + "\n");
    }
    c.routing_header = a.routing_id_header;
    c.echo_signal = a.echo_signal_connection;
    if (std::holds_alternative<PushRequest>(req.path)) c.push_idle_header = config.limits.push_idle_timeout.count();
    log::debug(kStage, "admitted {} from {}", path_kind(req.path), ip);
    apply_actions();
    return 0;
  }

  ConnState* find(lws* wsi) {
    auto it = by_wsi.find(wsi);
    if (it == by_wsi.end()) return nullptr;
    auto c = conns.find(it->second);
    return c == conns.end() ? nullptr : &c->second;
  }

  void forget(lws* wsi, bool clean) {
    auto it = by_wsi.find(wsi);
    if (it == by_wsi.end()) return;
    ConnId id = it->second;
    by_wsi.erase(it);
    auto c = conns.find(id);
    bool tell = c != conns.end() && !c->second.gone;
    if (c != conns.end()) conns.erase(c);
    if (tell) {
      registry.on_closed(id, clean, Clock::now());
      apply_actions();
    }
  }

  int on_receive(lws* wsi, const uint8_t* data, size_t len) {
    ConnState* c = find(wsi);
    if (!c || c->gone) return 0;
    auto now = Clock::now();
    if (lws_is_first_fragment(wsi)) {
      c->rx.clear();
      c->rx_binary = lws_frame_is_binary(wsi) != 0;
      c->rx_oversized = false;
    }
    size_t limit = config.limits.max_message_size;
    size_t remaining = lws_remaining_packet_payload(wsi);
    if (c->rx.size() + len + remaining > limit) {
      registry.on_message_too_big(c->id, now);
      apply_actions();
      return 0;
    }
    c->rx.insert(c->rx.end(), data, data + len);
    if (lws_is_final_fragment(wsi) && remaining == 0) {
      Bytes message = std::move(c->rx);
      c->rx.clear();
      registry.on_message(c->id, message, c->rx_binary, now);
      apply_actions();
    }
    return 0;
  }

  int write_message(lws* wsi, const Bytes& m) {
    if (scratch.size() < LWS_PRE + m.size()) scratch.resize(LWS_PRE + m.size());
    if (!m.empty()) std::memcpy(scratch.data() + LWS_PRE, m.data(), m.size());
    return lws_write(wsi, scratch.data() + LWS_PRE, m.size(), LWS_WRITE_BINARY);
  }

  int on_writeable(lws* wsi) {
    ConnState* c = find(wsi);
    if (!c) return 0;
    if (!c->out.empty()) {
      // As many queued messages as the socket takes now; lws keeps any partial remainder
      // and reports the pipe choked until it is flushed.
      do {
        int n = write_message(wsi, c->out.front());
        c->out.pop_front();
        if (n < 0) return -1;
      } while (!c->out.empty() && !lws_send_pipe_choked(wsi));
      if (!c->out.empty() || c->closing) lws_callback_on_writable(wsi);
      return 0;
    }
    if (c->closing) {
      std::string reason = c->closing->second;
      lws_close_reason(wsi, static_cast<lws_close_status>(wire_value(c->closing->first)),
                       reinterpret_cast<unsigned char*>(reason.data()), reason.size());
      return -1;
    }
    return 0;
  }
};

int TunnelServer::Impl::callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len) {
  auto* self = context_owner<Impl>(wsi);
  if (!self) return lws_callback_http_dummy(wsi, reason, user, in, len);
  return run_callback_handler(kStage, [&] { return self->handle(wsi, reason, in, len); }).value_or(-1);
}

int TunnelServer::Impl::handle(lws* wsi, lws_callback_reasons reason, void* in, size_t len) {
  switch (reason) {
    case LWS_CALLBACK_WSI_CREATE:
      stats.sockets_open++;
      return 0;
    case LWS_CALLBACK_WSI_DESTROY:
      if (stats.sockets_open) stats.sockets_open--;
      http_replies.forget(wsi);
      forget(wsi, false);
      return 0;
    case LWS_CALLBACK_HTTP:
      return on_http(wsi, in ? std::string_view(static_cast<const char*>(in)) : std::string_view());
    case LWS_CALLBACK_HTTP_WRITEABLE:
      return http_replies.on_writeable(wsi);
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
      return on_confirm_upgrade(wsi, static_cast<const char*>(in));
    case LWS_CALLBACK_ADD_HEADERS: {
      ConnState* c = find(wsi);
      if (!c) return 0;
      auto* args = static_cast<lws_process_html_args*>(in);
      auto** p = reinterpret_cast<unsigned char**>(&args->p);
      unsigned char* start = *p;
      unsigned char* end = start + args->max_len;
      if (c->routing_header) {
        std::string v = c->routing_header->hex_upper();
        if (lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>("X-caBLE-Routing-ID:"),
                                        reinterpret_cast<const unsigned char*>(v.data()), static_cast<int>(v.size()), p, end))
          return -1;
      }
      if (c->echo_signal) {
        if (lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>("X-caBLE-Signal-Connection:"),
                                        reinterpret_cast<const unsigned char*>("true"), 4, p, end))
          return -1;
      }
      if (c->push_idle_header) {
        std::string v = std::to_string(*c->push_idle_header);
        if (lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>("X-caBLE-Push-Idle-Timeout:"),
                                        reinterpret_cast<const unsigned char*>(v.data()), static_cast<int>(v.size()), p, end))
          return -1;
      }
      args->max_len -= static_cast<int>(*p - start);
      return 0;
    }
    case LWS_CALLBACK_ESTABLISHED: {
      ConnState* c = find(wsi);
      if (!c) return -1;
      c->established = true;
      if (!c->out.empty() || c->closing) lws_callback_on_writable(wsi);
      if (c->closing) lws_rx_flow_control(wsi, 0);
      return 0;
    }
    case LWS_CALLBACK_RECEIVE:
      return on_receive(wsi, static_cast<const uint8_t*>(in), len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
      return on_writeable(wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
      if (ConnState* c = find(wsi)) c->peer_closed_cleanly = true;
      return 0;
    case LWS_CALLBACK_CLOSED: {
      ConnState* c = find(wsi);
      forget(wsi, c && c->peer_closed_cleanly);
      return 0;
    }
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
      apply_pending_limits();
      if (drain_requested && !draining && !shutting_down) begin_drain();
      if (stop_requested && !shutting_down) {
        begin_shutdown();
        schedule_tick();
      }
      return 0;
    default:
      break;
  }
  if (lws_get_protocol(wsi) == &protocols[0]) return lws_callback_http_dummy(wsi, reason, nullptr, in, len);
  return 0;
}

TunnelServer::TunnelServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TunnelServer::~TunnelServer() {
  if (thread_.joinable()) {
    stop();
    thread_.join();
  }
  if (impl_ && impl_->context) lws_context_destroy(impl_->context);
  if (impl_ && impl_->loop) ev_loop_destroy(impl_->loop);
}

Result<std::unique_ptr<TunnelServer>> TunnelServer::create(const ServerConfig& config) {
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return make_error("give both --tls-cert and --tls-key, or neither");
  }
  install_lws_logging();
  auto impl = std::make_unique<Impl>(config);
  Impl* raw = impl.get();
  raw->protocols[0] = {"http", &Impl::callback, 0, 0, 0, nullptr, 0};
  // tx_packet_size 0 would cap each send() at the receive-buffer size and split every
  // larger message over several poll rounds.
  size_t tx = std::max<size_t>(config.limits.max_message_size + 16, kRxChunk);
  raw->protocols[1] = {"fido.cable", &Impl::callback, 0, kRxChunk, 0, nullptr, tx};
  raw->protocols[2] = {nullptr, nullptr, 0, 0, 0, nullptr, 0};

  lws_context_creation_info info =
      listening_context_info(config.host, config.port, raw->protocols, raw, "hybrid-tunnel");
  info.timeout_secs = static_cast<unsigned>(config.limits.handshake_timeout.count());
  info.timeout_secs_ah_idle = static_cast<unsigned>(config.limits.handshake_timeout.count());
  info.max_http_header_data = static_cast<unsigned short>(std::min<uint32_t>(config.limits.max_header_bytes, 65535));
  if (!config.tls_cert_file.empty()) {
    info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.ssl_cert_filepath = config.tls_cert_file.c_str();
    info.ssl_private_key_filepath = config.tls_key_file.c_str();
  }
  raw->loop = ev_loop_new(EVBACKEND_EPOLL);
  void* foreign[1] = {raw->loop};
  if (raw->loop) {
    info.options |= LWS_SERVER_OPTION_LIBEV;
    info.foreign_loops = foreign;
  }
  raw->context = lws_create_context(&info);
  if (!raw->context && raw->loop) {  // no libev plugin: fall back to lws' poll loop
    ev_loop_destroy(raw->loop);
    raw->loop = nullptr;
    info.options &= ~static_cast<uint64_t>(LWS_SERVER_OPTION_LIBEV);
    info.foreign_loops = nullptr;
    raw->context = lws_create_context(&info);
  }
  if (!raw->context) {
    return make_error("could not start the tunnel server on " + config.host + ":" + std::to_string(config.port) +
                      " (address in use, bad address, or unreadable TLS certificate/key)");
  }
  auto port = listening_port(raw->context);
  if (!port) {
    lws_context_destroy(raw->context);
    raw->context = nullptr;
    return make_error("the tunnel server could not bind " + config.host + ":" + std::to_string(config.port));
  }
  raw->port = *port;
  raw->schedule_tick();
  return std::unique_ptr<TunnelServer>(new TunnelServer(std::move(impl)));
}

uint16_t TunnelServer::port() const { return impl_->port; }

std::string TunnelServer::url() const {
  std::string host = impl_->config.host;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return std::string(impl_->config.tls_cert_file.empty() ? "ws://" : "wss://") + host + ":" +
         std::to_string(impl_->port);
}

void TunnelServer::run() {
  log::info(kStage, "serving on {} (routing id {}, {} event loop)", url(), impl_->config.routing_id.hex_upper(),
            impl_->loop ? "libev/epoll" : "lws poll");
  while (!impl_->done) {
    if (impl_->loop) {
      ev_run(impl_->loop, EVRUN_ONCE);
    } else if (lws_service(impl_->context, 0) < 0) {
      break;
    }
  }
  log::info(kStage, "stopped");
}

void TunnelServer::start() {
  thread_ = std::thread([this] { run(); });
}

void TunnelServer::stop() {
  impl_->stop_requested = true;
  if (impl_->context) lws_cancel_service(impl_->context);
}

void TunnelServer::update_limits(const ServerLimits& limits) {
  {
    std::lock_guard<std::mutex> lock(impl_->limits_mu);
    impl_->pending_limits = limits;
  }
  if (impl_->context) lws_cancel_service(impl_->context);
}

void TunnelServer::drain() {
  impl_->drain_requested = true;
  if (impl_->context) lws_cancel_service(impl_->context);
}

void TunnelServer::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace hybrid::tunnel
