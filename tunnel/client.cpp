#include "tunnel/client.h"

#include <libwebsockets.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <unordered_set>

#include "base/log.h"
#include "base/printable.h"
#include "hybrid/constants.h"
#include "tunnel/lws_headers.h"
#include "tunnel/lws_http.h"
#include "tunnel/lws_log.h"
#include "tunnel/url.h"

namespace hybrid::tunnel {
namespace {

constexpr std::string_view kStage = "tunnel-client";
using Clock = std::chrono::steady_clock;

Error client_error(ClientErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

bool contains_any(std::string_view text, std::initializer_list<std::string_view> words) {
  std::string lower(text);
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (auto w : words) {
    if (lower.find(w) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

int http_status(const Error& error) {
  auto status = error.as<HttpStatus>();
  return status ? static_cast<int>(*status) : 0;
}
bool is_gone(const Error& error) { return http_status(error) == 410; }
bool has_code(const Error& error, ClientErrorCode code) { return error.is(code); }

std::string printable_close_reason(std::string_view raw) {
  std::string out;
  for (char ch : raw.substr(0, 123)) {
    auto b = static_cast<unsigned char>(ch);
    out.push_back(b >= 0x20 && b < 0x7f ? ch : '?');
  }
  return out;
}

struct ClientConnection::State {
  ClientContext::Impl* ctx = nullptr;
  // Guarded by ctx->mu (written by any thread).
  std::deque<Bytes> pending_out;
  std::optional<uint16_t> close_request;
  // Service thread only.
  std::string url_text;
  WsUrl url;
  WsUrl first_url;  // the origin the caller chose: only it gets options.headers (secrets)
  ConnectOptions options;
  ClientEvents events;
  lws* wsi = nullptr;
  Clock::time_point deadline{};
  bool established = false;
  bool finished = false;
  bool closing_locally = false;
  uint16_t local_close_code = 1000;
  std::deque<Bytes> out;
  Bytes rx;
  bool rx_binary = true;
  std::optional<Error> failure;  // decided inside a callback, reported when the socket goes
  uint16_t peer_close_code = 0;
  std::string peer_close_reason;
  OpenInfo info;
  std::string address_storage, path_storage, host_storage;
};

struct ClientContext::Impl {
  using State = ClientConnection::State;
  lws_context* context = nullptr;
  std::thread thread;
  std::atomic<bool> stopping{false};
  bool stopped = false;
  std::mutex mu;
  std::vector<std::shared_ptr<State>> to_open;           // guarded by mu
  std::unordered_set<std::shared_ptr<State>> dirty;      // guarded by mu
  std::unordered_set<std::shared_ptr<State>> live;       // service thread
  // The sul comes first so that the timer callback can find its owner without offsetof.
  struct TickSul {
    lws_sorted_usec_list_t sul;
    Impl* self;
  } tick_sul{{}, this};
  lws_protocols protocols[2]{};

  static int callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len);
  int handle(lws* wsi, lws_callback_reasons reason, void* in, size_t len);

  static void on_tick(lws_sorted_usec_list_t* sul) {
    Impl* self = reinterpret_cast<TickSul*>(sul)->self;
    self->tick();
  }
  void schedule_tick() { lws_sul_schedule(context, 0, &tick_sul.sul, on_tick, 100 * LWS_US_PER_MS); }

  void tick() {
    auto now = Clock::now();
    std::vector<std::shared_ptr<State>> expired;
    for (const auto& s : live) {
      if (!s->established && now >= s->deadline) expired.push_back(s);
    }
    for (auto& s : expired) {
      finish(s.get(), client_error(ClientErrorCode::timeout,
                                   "no answer from the tunnel server at " + s->url.host_header() + " within " +
                                       std::to_string(s->options.timeout.count()) + " ms"),
             true);
    }
    schedule_tick();
  }

  void wake() {
    if (context) lws_cancel_service(context);
  }

  std::shared_ptr<State> find_live(State* raw) {
    for (const auto& s : live) {
      if (s.get() == raw) return s;
    }
    return nullptr;
  }

  // Reports the end exactly once and forgets the connection. kill: also drop the socket.
  void finish(State* s, const Error& error, bool kill) {
    if (!s || s->finished) return;
    s->finished = true;
    if (s->wsi) {
      lws_set_opaque_user_data(s->wsi, nullptr);
      if (kill) lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
      s->wsi = nullptr;
    }
    std::shared_ptr<State> keep;
    for (auto it = live.begin(); it != live.end(); ++it) {
      if (it->get() == s) {
        keep = *it;
        live.erase(it);
        break;
      }
    }
    if (s->events.on_close) s->events.on_close(error);
  }

  void start_connect(const std::shared_ptr<State>& s) {
    if (s->finished) return;
    live.insert(s);
    s->established = false;
    s->wsi = nullptr;
    s->address_storage = s->url.host;
    s->path_storage = s->url.path;
    s->host_storage = s->url.host_header();
    lws_client_connect_info ci;
    std::memset(&ci, 0, sizeof ci);
    ci.context = context;
    ci.address = s->address_storage.c_str();
    ci.port = s->url.port;
    ci.ssl_connection = LCCSCF_HTTP_NO_FOLLOW_REDIRECT | (s->url.tls ? LCCSCF_USE_SSL : 0);
    ci.path = s->path_storage.c_str();
    ci.host = s->host_storage.c_str();
    ci.origin = nullptr;
    ci.protocol = "fido.cable";
    ci.local_protocol_name = protocols[0].name;
    ci.ietf_version_or_minus_one = -1;
    ci.opaque_user_data = s.get();
    ci.pwsi = &s->wsi;
    lws* wsi = lws_client_connect_via_info(&ci);
    if (!wsi && !s->finished) {
      finish(s.get(), s->failure ? *s->failure
                                 : client_error(ClientErrorCode::network,
                                                "could not start a connection to " + s->url.host_header()),
             false);
    }
  }

  void process_commands() {
    std::vector<std::shared_ptr<State>> opens;
    std::unordered_set<std::shared_ptr<State>> touched;
    {
      std::lock_guard<std::mutex> lock(mu);
      opens.swap(to_open);
      touched.swap(dirty);
      for (const auto& s : touched) {
        for (auto& m : s->pending_out) s->out.push_back(std::move(m));
        s->pending_out.clear();
        if (s->close_request) {
          s->closing_locally = true;
          s->local_close_code = *s->close_request;
          s->close_request.reset();
        }
      }
    }
    if (stopping) {
      for (auto& s : opens) {
        if (s->events.on_close) s->events.on_close(client_error(ClientErrorCode::closed_locally, "the client context is shutting down"));
      }
      std::vector<std::shared_ptr<State>> all(live.begin(), live.end());
      for (auto& s : all) finish(s.get(), client_error(ClientErrorCode::closed_locally, "the client context is shutting down"), true);
      stopped = true;
      return;
    }
    for (auto& s : opens) start_connect(s);
    for (const auto& s : touched) {
      if (s->finished) continue;
      if (s->established) {
        if (s->wsi) lws_callback_on_writable(s->wsi);
      } else if (s->closing_locally) {
        finish(s.get(), client_error(ClientErrorCode::closed_locally, "closed before the connection opened"), true);
      }
    }
  }

  int on_connection_error(State* s, lws* wsi, const char* in) {
    std::string why = in ? in : "";
    int status = lws_http_client_http_response(wsi);
    if (s->failure) {
      Error e = *s->failure;
      s->wsi = nullptr;
      finish(s, e, false);
      return 0;
    }
    if (status >= 300 && status < 400) {
      std::string location = read_header(wsi, WSI_TOKEN_HTTP_LOCATION);
      s->wsi = nullptr;
      lws_set_opaque_user_data(wsi, nullptr);
      if (s->info.redirects >= s->options.max_redirects) {
        finish(s, client_error(ClientErrorCode::too_many_redirects,
                               "the tunnel server redirected more than " + std::to_string(s->options.max_redirects) +
                                   " times"),
               false);
        return 0;
      }
      auto next = resolve_redirect(s->url, location);
      if (!next) {
        finish(s, client_error(ClientErrorCode::invalid_url, "bad redirect: " + next.error().message), false);
        return 0;
      }
      s->info.redirects++;
      log::debug(kStage, "redirect {} ({}) to {}{}", s->info.redirects, status, next->host_header(),
                 same_origin(*next, s->first_url) ? "" : " (another origin: request headers withheld)");
      s->url = *next;
      auto keep = find_live(s);
      live.erase(keep);
      {
        std::lock_guard<std::mutex> lock(mu);
        to_open.push_back(keep);
      }
      wake();
      return 0;
    }
    s->wsi = nullptr;
    if (status > 0 && status != 101) {
      std::string msg = "the tunnel server refused the WebSocket upgrade with HTTP " + std::to_string(status);
      if (status == 410) msg += " (Gone: this tunnel or contact id is permanently invalid)";
      finish(s, Error{static_cast<HttpStatus>(status), msg}, false);
      return 0;
    }
    if (contains_any(why, {"ssl", "tls", "certificate", "x509", "verify"})) {
      finish(s, client_error(ClientErrorCode::tls, "TLS with " + s->url.host_header() + " failed: " + why), false);
    } else if (contains_any(why, {"timed out", "timeout"})) {
      finish(s, client_error(ClientErrorCode::timeout, "connecting to " + s->url.host_header() + " timed out: " + why),
             false);
    } else {
      finish(s, client_error(ClientErrorCode::network,
                             "could not reach the tunnel server " + s->url.host_header() + (why.empty() ? "" : ": " + why)),
             false);
    }
    return 0;
  }

  int on_pre_establish(State* s, lws* wsi) {
    std::string proto = read_header(wsi, WSI_TOKEN_PROTOCOL);
    if (proto != kWebSocketProtocol) {
      s->failure = client_error(ClientErrorCode::protocol,
                                "the tunnel server did not select the fido.cable subprotocol");
      return -1;
    }
    if (auto routing = read_custom_header(wsi, "x-cable-routing-id:")) {
      auto id = RoutingId::from_hex(*routing, "X-caBLE-Routing-ID");
      if (!id) {
        s->failure = client_error(ClientErrorCode::protocol,
                                  "the tunnel server sent a malformed X-caBLE-Routing-ID (must be 6 hex digits)");
        return -1;
      }
      s->info.routing_id = *id;
    }
    if (auto signal = read_custom_header(wsi, "x-cable-signal-connection:")) s->info.signal_connection = true;
    if (auto idle = read_custom_header(wsi, "x-cable-push-idle-timeout:")) {
      char* end = nullptr;
      long long v = std::strtoll(idle->c_str(), &end, 10);
      if (end && *end == '\0' && v > 0 && v <= 86400) s->info.push_idle_timeout_seconds = v;
    }
    return 0;
  }

  int on_receive(State* s, lws* wsi, const uint8_t* data, size_t len) {
    if (lws_is_first_fragment(wsi)) {
      s->rx.clear();
      s->rx_binary = lws_frame_is_binary(wsi) != 0;
    }
    if (!s->rx_binary) {
      s->failure = client_error(ClientErrorCode::protocol, "the tunnel server sent a text frame");
      lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, nullptr, 0);
      return -1;
    }
    size_t remaining = lws_remaining_packet_payload(wsi);
    if (s->rx.size() + len + remaining > s->options.max_message_size) {
      s->failure = client_error(ClientErrorCode::protocol,
                                "the tunnel sent a message larger than " + std::to_string(s->options.max_message_size) +
                                    " bytes");
      lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, nullptr, 0);
      return -1;
    }
    s->rx.insert(s->rx.end(), data, data + len);
    if (lws_is_final_fragment(wsi) && remaining == 0) {
      Bytes m = std::move(s->rx);
      s->rx.clear();
      if (s->events.on_message) s->events.on_message(std::move(m));
    }
    return 0;
  }

  int on_writeable(State* s, lws* wsi) {
    if (!s->out.empty()) {
      Bytes& m = s->out.front();
      std::vector<uint8_t> buf(LWS_PRE + m.size());
      if (!m.empty()) std::memcpy(buf.data() + LWS_PRE, m.data(), m.size());
      int n = lws_write(wsi, buf.data() + LWS_PRE, m.size(), LWS_WRITE_BINARY);
      s->out.pop_front();
      if (n < 0) return -1;
      if (!s->out.empty() || s->closing_locally) lws_callback_on_writable(wsi);
      return 0;
    }
    if (s->closing_locally) {
      lws_close_reason(wsi, static_cast<lws_close_status>(s->local_close_code), nullptr, 0);
      return -1;
    }
    return 0;
  }
};

int ClientContext::Impl::callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len) {
  auto* self = context_owner<Impl>(wsi);
  if (!self) return lws_callback_http_dummy(wsi, reason, user, in, len);
  return run_callback_handler(kStage, [&] { return self->handle(wsi, reason, in, len); }).value_or(-1);
}

int ClientContext::Impl::handle(lws* wsi, lws_callback_reasons reason, void* in, size_t len) {
  if (reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED) {
    process_commands();
    return 0;
  }
  auto* s = wsi ? static_cast<State*>(lws_get_opaque_user_data(wsi)) : nullptr;
  switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
      if (!s) return 0;
      auto** p = reinterpret_cast<unsigned char**>(in);
      unsigned char* end = *p + len;
      // The headers carry secrets (the push secret, the client payload): a redirect to
      // another origin gets the request without them.
      if (!same_origin(s->url, s->first_url)) return 0;
      for (const auto& [name, value] : s->options.headers) {
        std::string n = name + ":";
        if (lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>(n.c_str()),
                                        reinterpret_cast<const unsigned char*>(value.data()),
                                        static_cast<int>(value.size()), p, end))
          return -1;
      }
      return 0;
    }
    case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
      return s ? on_pre_establish(s, wsi) : -1;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
      if (!s) return -1;
      s->established = true;
      s->info.url = s->url.to_string();
      if (s->events.on_open) s->events.on_open(s->info);
      if (!s->out.empty() || s->closing_locally) lws_callback_on_writable(wsi);
      return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
      if (!s) return 0;
      return on_connection_error(s, wsi, static_cast<const char*>(in));
    case LWS_CALLBACK_CLIENT_RECEIVE:
      return s ? on_receive(s, wsi, static_cast<const uint8_t*>(in), len) : -1;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
      return s ? on_writeable(s, wsi) : -1;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
      if (s && len >= 2) {
        auto* b = static_cast<const uint8_t*>(in);
        s->peer_close_code = static_cast<uint16_t>(b[0] << 8 | b[1]);
        // Peer-supplied bytes: never printed or serialized raw (invalid UTF-8 breaks JSON).
        s->peer_close_reason =
            printable_close_reason(std::string_view(reinterpret_cast<const char*>(b + 2), len - 2));
      }
      return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY: {
      if (!s) return 0;
      s->wsi = nullptr;
      if (s->failure) {
        finish(s, *s->failure, false);
      } else if (s->closing_locally) {
        finish(s, client_error(ClientErrorCode::closed_locally, "closed by this side"), false);
      } else if (!s->established) {
        finish(s, client_error(ClientErrorCode::network, "the connection to " + s->url.host_header() +
                                                              " closed before the WebSocket upgrade"),
               false);
      } else {
        std::string msg = "the tunnel closed";
        if (s->peer_close_code) {
          msg += " (code " + std::to_string(s->peer_close_code);
          if (!s->peer_close_reason.empty()) msg += ": " + s->peer_close_reason;
          msg += ")";
        } else {
          msg += " without a close frame: the connection to the tunnel server was lost (the server or a "
                 "proxy in front of it stopped, or the network failed)";
        }
        finish(s, client_error(ClientErrorCode::peer_closed, msg), false);
      }
      return 0;
    }
    default:
      return 0;
  }
}

ClientContext::ClientContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ClientContext::~ClientContext() {
  impl_->stopping = true;
  impl_->wake();
  if (impl_->thread.joinable()) impl_->thread.join();
  if (impl_->context) lws_context_destroy(impl_->context);
}

Result<std::shared_ptr<ClientContext>> ClientContext::create(const ClientContextOptions& options) {
  install_lws_logging();
  auto impl = std::make_unique<Impl>();
  Impl* raw = impl.get();
  raw->protocols[0] = {"fido.cable-client", &Impl::callback, 0, 4096, 0, nullptr, 0};
  raw->protocols[1] = {nullptr, nullptr, 0, 0, 0, nullptr, 0};
  lws_context_creation_info info;
  std::memset(&info, 0, sizeof info);
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = raw->protocols;
  info.user = raw;
  info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
  info.fd_limit_per_thread = 1024;
  if (!options.ca_file.empty()) info.client_ssl_ca_filepath = options.ca_file.c_str();
  info.timeout_secs = 30;
  info.connect_timeout_secs = 30;
  raw->context = lws_create_context(&info);
  if (!raw->context) {
    return client_error(ClientErrorCode::tls,
                        "could not create the WebSocket client context" +
                            (options.ca_file.empty() ? std::string() : " (is the CA file " + options.ca_file + " readable PEM?)"));
  }
  raw->schedule_tick();
  raw->thread = std::thread([raw] {
    while (!raw->stopped) {
      if (lws_service(raw->context, 0) < 0) break;
    }
  });
  return std::shared_ptr<ClientContext>(new ClientContext(std::move(impl)));
}

std::shared_ptr<ClientConnection> ClientContext::open(std::string url, ConnectOptions options, ClientEvents events) {
  auto state = std::make_shared<ClientConnection::State>();
  state->ctx = impl_.get();
  state->url_text = url;
  state->deadline = Clock::now() + options.timeout;
  state->options = std::move(options);
  state->events = std::move(events);
  auto parsed = parse_ws_url(url);
  auto handle = std::make_shared<ClientConnection>(state);
  if (!parsed) {
    if (state->events.on_close) {
      state->events.on_close(client_error(ClientErrorCode::invalid_url, parsed.error().message));
    }
    state->finished = true;
    return handle;
  }
  state->url = *parsed;
  state->first_url = *parsed;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->to_open.push_back(state);
  }
  impl_->wake();
  return handle;
}

void ClientConnection::send(Bytes message) {
  auto* ctx = state_->ctx;
  {
    std::lock_guard<std::mutex> lock(ctx->mu);
    state_->pending_out.push_back(std::move(message));
    ctx->dirty.insert(state_);
  }
  ctx->wake();
}

void ClientConnection::close(uint16_t code) {
  auto* ctx = state_->ctx;
  {
    std::lock_guard<std::mutex> lock(ctx->mu);
    state_->close_request = code;
    ctx->dirty.insert(state_);
  }
  ctx->wake();
}

// ---- TunnelConnection ------------------------------------------------------------------

Result<std::unique_ptr<TunnelConnection>> TunnelConnection::connect(const std::string& url,
                                                                    const ConnectOptions& options,
                                                                    std::stop_token stop) {
  std::unique_ptr<TunnelConnection> tc(new TunnelConnection());
  HYBRID_TRY(tc->context_, ClientContext::create(ClientContextOptions{options.ca_file}));
  auto inbox = tc->inbox_;
  ClientEvents events;
  events.on_open = [inbox](const OpenInfo& info) {
    std::lock_guard<std::mutex> lock(inbox->mu);
    inbox->opened = info;
    inbox->cv.notify_all();
  };
  events.on_message = [inbox](Bytes m) {
    std::lock_guard<std::mutex> lock(inbox->mu);
    inbox->messages.push_back(std::move(m));
    inbox->cv.notify_all();
  };
  events.on_close = [inbox](const Error& e) {
    std::lock_guard<std::mutex> lock(inbox->mu);
    inbox->ended = e;
    inbox->cv.notify_all();
  };
  tc->conn_ = tc->context_->open(url, options, events);
  std::stop_callback wake_on_stop(stop, [inbox] {
    { std::lock_guard<std::mutex> lock(inbox->mu); }  // orders the stop before the wait's check
    inbox->cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(inbox->mu);
  // The context enforces options.timeout itself; the margin only guards against a bug.
  bool woke = inbox->cv.wait_for(lock, options.timeout + std::chrono::seconds(2),
                                 [&] { return inbox->opened || inbox->ended || stop.stop_requested(); });
  if (!woke) return client_error(ClientErrorCode::timeout, "connecting to " + url + " timed out");
  if (stop.stop_requested() && !inbox->opened && !inbox->ended) {
    return client_error(ClientErrorCode::closed_locally, "connecting to " + url + " was stopped");
  }
  if (!inbox->opened) return *inbox->ended;
  tc->info_ = *inbox->opened;
  return tc;
}

TunnelConnection::~TunnelConnection() {
  conn_.reset();
  context_.reset();  // joins the service thread
}

Status TunnelConnection::send(ByteView message) {
  {
    std::lock_guard<std::mutex> lock(inbox_->mu);
    if (inbox_->ended) return *inbox_->ended;
  }
  conn_->send(Bytes(message.begin(), message.end()));
  return {};
}

Result<Bytes> TunnelConnection::receive(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(inbox_->mu);
  inbox_->cv.wait_for(lock, timeout, [&] { return !inbox_->messages.empty() || inbox_->ended; });
  if (!inbox_->messages.empty()) {
    Bytes m = std::move(inbox_->messages.front());
    inbox_->messages.pop_front();
    return m;
  }
  if (inbox_->ended) return *inbox_->ended;
  return client_error(ClientErrorCode::receive_timeout,
                      "no message from the tunnel within " + std::to_string(timeout.count()) + " ms");
}

void TunnelConnection::close(uint16_t code) { conn_->close(code); }

bool TunnelConnection::finished() {
  std::lock_guard<std::mutex> lock(inbox_->mu);
  return inbox_->ended && inbox_->messages.empty();
}

}  // namespace hybrid::tunnel
