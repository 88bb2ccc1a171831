#include "demo/kiosk_server.h"

#include <libwebsockets.h>

#include <arpa/inet.h>

#include <atomic>
#include <cctype>
#include <deque>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "base/json_text.h"
#include "base/log.h"
#include "base/printable.h"
#include "base/utf8.h"
#include "demo/web_assets.h"
#include "demo/website_http.h"
#include "tunnel/lws_headers.h"
#include "tunnel/lws_http.h"
#include "tunnel/lws_log.h"

namespace hybrid::demo {
namespace {

using nlohmann::json;
constexpr std::string_view kStage = "kiosk-http";
constexpr const char* kProtocol = "hybrid-kiosk";
constexpr size_t kMaxMessage = 4096;  // the page only ever sends small commands
constexpr size_t kMaxQueued = 16;     // error replies per connection

// The page loads nothing from elsewhere; scripts and styles only from this origin.
constexpr std::string_view kSecurityHeaders =
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "Cross-Origin-Resource-Policy: same-origin\r\n";

std::string http_response(int status, std::string_view content_type, std::string_view body) {
  std::string extra = status == 405 ? "Allow: GET\r\n" : "";
  extra += kSecurityHeaders;
  return tunnel::http_response(status, content_type, body, extra);
}

struct Conn {
  uint64_t sent_seq = 0;
  bool sent_any = false;
  std::deque<std::string> out;  // replies to this page (errors)
  std::string rx;
  bool rx_oversized = false;
};

}  // namespace

struct KioskServer::Impl {
  Kiosk& kiosk;
  KioskServerConfig config;
  lws_context* context = nullptr;
  uint16_t port = 0;
  std::atomic<bool> stop_requested{false};
  bool done = false;
  lws_protocols protocols[3]{};
  lws_retry_bo_t idle_policy{};  // ping / hang-up times of /status sockets (retry_and_idle_policy)
  std::unordered_map<lws*, Conn> conns;
  tunnel::HttpReplies http_replies;
  std::string scratch;
  std::unique_ptr<WebsiteHttp> site;  // the website's endpoints, when configured

  Impl(Kiosk& k, KioskServerConfig c) : kiosk(k), config(std::move(c)) {
    if (config.website) {
      site = std::make_unique<WebsiteHttp>(*config.website, [this](lws* wsi, int status, std::string_view type,
                                                                   std::string_view body) {
        return reply(wsi, status, type, body);
      });
    }
  }

  static int callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len);
  int handle(lws* wsi, lws_callback_reasons reason, void* in, size_t len);

  int reply(lws* wsi, int status, std::string_view type, std::string_view body) {
    return http_replies.send(wsi, http_response(status, type, body));
  }

  int on_http(lws* wsi, std::string_view path) {
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) {
      return reply(wsi, 405, "text/plain; charset=utf-8", "only GET is served here\n");
    }
    if (!host_allowed(wsi)) return reply(wsi, 403, "text/plain; charset=utf-8", "unknown host name\n");
    if (const WebAsset* a = find_web_asset(path)) return reply(wsi, 200, a->content_type, a->body);
    if (path == "/api/state") {
      if (!origin_allowed(wsi) || fetched_by_another_site(wsi)) {
        return reply(wsi, 403, "text/plain; charset=utf-8", "only the kiosk's own page may read its state\n");
      }
      return reply(wsi, 200, "application/json", to_json_text(kiosk.state_json()) + "\n");
    }
    if (path == "/healthz") return reply(wsi, 200, "text/plain; charset=utf-8", "ok\n");
    if (path == "/favicon.ico") return reply(wsi, 204, "", "");
    return reply(wsi, 404, "text/plain; charset=utf-8", "not found\n");
  }

  // DNS rebinding: a page on evil.example can re-point its name at this kiosk, and its
  // requests then carry "Host: evil.example". Only names this kiosk is known by are served:
  // IP literals (rebinding needs a name), localhost and the configured --allowed-host names.
  bool host_allowed(lws* wsi) {
    const std::string host = tunnel::read_header(wsi, WSI_TOKEN_HOST);
    return !host.empty() && kiosk_host_allowed(host, config.allowed_hosts);
  }

  // Only pages served by this kiosk may open the status socket or read the state (which
  // carries the QR secret): a browser names the page's origin, which must be this kiosk.
  bool origin_allowed(lws* wsi) {
    const std::string origin = tunnel::read_header(wsi, WSI_TOKEN_ORIGIN);
    if (origin.empty()) return true;  // not a browser (browsers always send it on WebSockets)
    const std::string host = tunnel::read_header(wsi, WSI_TOKEN_HOST);
    return origin == "http://" + host || origin == "https://" + host;
  }

  // Fetch metadata: a browser marks requests made by another site's page.
  bool fetched_by_another_site(lws* wsi) {
    const auto site = tunnel::read_custom_header(wsi, "sec-fetch-site:");
    return site && *site != "same-origin" && *site != "none";
  }

  // Refuses with an HTTP answer the browser (and the test) can see, not a dropped socket.
  // Nonzero tells libwebsockets not to upgrade.
  int refuse_upgrade(lws* wsi, int status, std::string_view body) {
    const int r = reply(wsi, status, "text/plain; charset=utf-8", body);
    return r != 0 ? r : 1;
  }

  int on_confirm_upgrade(lws* wsi) {
    if (!host_allowed(wsi)) {
      log::info(kStage, "refused a status socket for a host name this kiosk is not known by");
      return refuse_upgrade(wsi, 403, "unknown host name\n");
    }
    if (!origin_allowed(wsi)) {
      log::info(kStage, "refused a status socket from another origin");
      return refuse_upgrade(wsi, 403, "only the kiosk's own page may open this socket\n");
    }
    if (tunnel::read_header(wsi, WSI_TOKEN_GET_URI) != "/status") return refuse_upgrade(wsi, 404, "not found\n");
    return 0;
  }

  // Any message a page (or anything else that got past the upgrade check) sends becomes an
  // action or an error reply; nothing in here may throw on the service thread.
  void on_message(Conn& c, std::string_view text) {
    auto fail = [&](std::string_view msg) {
      if (c.out.size() < kMaxQueued) {
        c.out.push_back(to_json_text(json{{"type", "error"}, {"message", printable(msg, 256)}}));
      }
    };
    auto j = json::parse(text, nullptr, false);
    if (!j.is_object()) {
      fail("the kiosk did not understand that request (not a JSON object)");
      return;
    }
    auto text_field = [&](const char* name) -> const std::string* {
      auto it = j.find(name);
      if (it == j.end() || !it->is_string()) return nullptr;
      return it->get_ptr<const std::string*>();
    };
    const std::string* action = text_field("action");
    if (!action) {
      fail("the kiosk did not understand that request (\"action\" must be a string)");
      return;
    }
    if (*action == "sign_in" || *action == "cancel") {
      kiosk.request_sign_in();
    } else if (*action == "register") {
      const std::string* user = text_field("user");
      if (!user) {
        fail("\"user\" must be a string: the account name to create a passkey for");
        return;
      }
      if (j.contains("display_name") && !j["display_name"].is_string()) {
        fail("\"display_name\" must be a string");
        return;
      }
      const std::string* display = text_field("display_name");
      if (!is_valid_utf8(*user) || (display && !is_valid_utf8(*display))) {
        fail("names must be valid UTF-8");
        return;
      }
      if (auto st = kiosk.request_registration(*user, display ? *display : std::string()); !st.ok()) {
        fail(st.error().message);
      }
    } else {
      fail("unknown action \"" + printable(*action, 32) + "\"");
    }
  }

  int write_text(lws* wsi, const std::string& text) {
    scratch.assign(LWS_PRE, '\0');
    scratch += text;
    int n = lws_write(wsi, reinterpret_cast<unsigned char*>(scratch.data()) + LWS_PRE, text.size(), LWS_WRITE_TEXT);
    return n < static_cast<int>(text.size()) ? -1 : 0;
  }

  int on_writeable(lws* wsi) {
    auto it = conns.find(wsi);
    if (it == conns.end()) return -1;
    Conn& c = it->second;
    if (!c.out.empty()) {
      std::string m = std::move(c.out.front());
      c.out.pop_front();
      if (write_text(wsi, m) < 0) return -1;
      lws_callback_on_writable(wsi);
      return 0;
    }
    const uint64_t seq = kiosk.seq();
    if (!c.sent_any || seq > c.sent_seq) {
      json state = kiosk.state_json();
      c.sent_seq = state.value("seq", seq);
      c.sent_any = true;
      if (write_text(wsi, to_json_text(state)) < 0) return -1;
      if (kiosk.seq() > c.sent_seq) lws_callback_on_writable(wsi);
    }
    return 0;
  }
};

int KioskServer::Impl::callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len) {
  auto* self = tunnel::context_owner<Impl>(wsi);
  if (!self) return lws_callback_http_dummy(wsi, reason, user, in, len);
  // Nothing a peer sends may end the process: whatever escapes a handler closes only the
  // connection it came from.
  if (auto r = tunnel::run_callback_handler(kStage, [&] { return self->handle(wsi, reason, in, len); })) return *r;
  if (reason == LWS_CALLBACK_RECEIVE || reason == LWS_CALLBACK_SERVER_WRITEABLE) {
    static constexpr char kReason[] = "internal error";
    lws_close_reason(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
                     reinterpret_cast<unsigned char*>(const_cast<char*>(kReason)), sizeof kReason - 1);
  }
  return -1;
}

int KioskServer::Impl::handle(lws* wsi, lws_callback_reasons reason, void* in, size_t len) {
  switch (reason) {
    case LWS_CALLBACK_HTTP: {
      const std::string_view path = in ? std::string_view(static_cast<const char*>(in)) : std::string_view();
      if (site && WebsiteHttp::owns(path)) return site->on_request(wsi, path);
      return on_http(wsi, path);
    }
    case LWS_CALLBACK_HTTP_BODY:
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
      if (!site) break;
      bool handled = false;
      int r = reason == LWS_CALLBACK_HTTP_BODY ? site->on_body(wsi, in, len, handled) : site->on_body_complete(wsi, handled);
      if (handled) return r;
      break;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE:
      return http_replies.on_writeable(wsi);
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
      return on_confirm_upgrade(wsi);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:  // checked again: never upgrade what was refused
      return host_allowed(wsi) && origin_allowed(wsi) && tunnel::read_header(wsi, WSI_TOKEN_GET_URI) == "/status" ? 0 : 1;
    case LWS_CALLBACK_ESTABLISHED:
      conns[wsi] = Conn{};
      lws_callback_on_writable(wsi);
      return 0;
    case LWS_CALLBACK_RECEIVE: {
      auto it = conns.find(wsi);
      if (it == conns.end()) return -1;
      Conn& c = it->second;
      if (lws_is_first_fragment(wsi)) {
        c.rx.clear();
        c.rx_oversized = false;
      }
      if (c.rx.size() + len > kMaxMessage) c.rx_oversized = true;
      else c.rx.append(static_cast<const char*>(in), len);
      if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
        if (c.rx_oversized) {
          lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, nullptr, 0);
          return -1;
        }
        on_message(c, c.rx);
        c.rx.clear();
        if (!c.out.empty()) lws_callback_on_writable(wsi);
      }
      return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE:
      if (stop_requested) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY, nullptr, 0);
        return -1;
      }
      return on_writeable(wsi);
    case LWS_CALLBACK_CLOSED:
      conns.erase(wsi);
      return 0;
    case LWS_CALLBACK_WSI_DESTROY:
      if (site) site->forget(wsi);
      http_replies.forget(wsi);
      conns.erase(wsi);
      return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
      if (stop_requested) {
        done = true;
      } else {
        lws_callback_on_writable_all_protocol(context, &protocols[1]);
      }
      return 0;
    default:
      break;
  }
  if (lws_get_protocol(wsi) == &protocols[0]) return lws_callback_http_dummy(wsi, reason, nullptr, in, len);
  return 0;
}

bool kiosk_host_allowed(std::string_view host_header, const std::vector<std::string>& allowed) {
  std::string_view name = host_header;
  if (!name.empty() && name.front() == '[') {  // [v6]:port
    const auto bracket = name.find(']');
    if (bracket == std::string_view::npos) return false;
    const std::string_view rest = name.substr(bracket + 1);
    if (!rest.empty() && (rest.front() != ':' || rest.find_first_not_of("0123456789", 1) != std::string_view::npos))
      return false;
    const std::string v6(name.substr(1, bracket - 1));
    in6_addr a6{};
    return inet_pton(AF_INET6, v6.c_str(), &a6) == 1;
  }
  if (const auto colon = name.rfind(':'); colon != std::string_view::npos) {
    if (name.find_first_not_of("0123456789", colon + 1) != std::string_view::npos) return false;
    name = name.substr(0, colon);
  }
  if (name.empty()) return false;
  std::string lower(name);
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (!lower.empty() && lower.back() == '.') lower.pop_back();
  in_addr a4{};
  if (inet_pton(AF_INET, lower.c_str(), &a4) == 1) return true;
  if (lower == "localhost") return true;
  for (const auto& a : allowed) {
    std::string al = a;
    for (char& ch : al) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (al == lower) return true;
  }
  return false;
}

Result<KioskServerConfig> parse_listen(std::string_view listen) {
  const auto colon = listen.rfind(':');
  auto bad = [&] {
    return make_error("--listen must be HOST:PORT with a port 0..65535, got \"" + std::string(listen) + "\"");
  };
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == listen.size()) return bad();
  std::string host(listen.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port_text(listen.substr(colon + 1));
  if (host.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos) return bad();
  const long port = std::stol(port_text);
  if (port > 65535) return bad();
  KioskServerConfig config;
  config.host = host;
  config.port = static_cast<uint16_t>(port);
  return config;
}

KioskServer::KioskServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KioskServer::~KioskServer() {
  impl_->kiosk.set_observer(nullptr);
  if (thread_.joinable()) {
    stop();
    thread_.join();
  }
  if (impl_->context) lws_context_destroy(impl_->context);
}

Result<std::unique_ptr<KioskServer>> KioskServer::create(Kiosk& kiosk, const KioskServerConfig& config) {
  if (config.status_ping_after.count() < 1 || config.status_hangup_after <= config.status_ping_after ||
      config.status_hangup_after.count() > 65535) {
    return make_error("the /status ping time must be at least 1 s and below the hang-up time (at most 65535 s)");
  }
  tunnel::install_lws_logging();
  auto impl = std::make_unique<Impl>(kiosk, config);
  Impl* raw = impl.get();
  raw->protocols[0] = {"http", &Impl::callback, 0, 0, 0, nullptr, 0};
  raw->protocols[1] = {kProtocol, &Impl::callback, 0, kMaxMessage, 0, nullptr, 0};
  raw->protocols[2] = {nullptr, nullptr, 0, 0, 0, nullptr, 0};

  // Silent /status sockets (half-open, or a client that never answers a ping) are closed:
  // lws pings after status_ping_after without a valid pong or message, hangs up after
  // status_hangup_after (no reconnect table: this is a server).
  raw->idle_policy.secs_since_valid_ping = static_cast<uint16_t>(config.status_ping_after.count());
  raw->idle_policy.secs_since_valid_hangup = static_cast<uint16_t>(config.status_hangup_after.count());
  lws_context_creation_info info =
      tunnel::listening_context_info(config.host, config.port, raw->protocols, raw, "hybrid-kiosk");
  info.retry_and_idle_policy = &raw->idle_policy;
  info.timeout_secs = 10;
  raw->context = lws_create_context(&info);
  if (!raw->context) {
    return make_error("could not start the kiosk's web server on " + config.host + ":" + std::to_string(config.port) +
                      " (address in use or not an address of this machine)");
  }
  auto port = tunnel::listening_port(raw->context);
  if (!port) {
    lws_context_destroy(raw->context);
    raw->context = nullptr;
    return make_error("the kiosk's web server could not bind " + config.host + ":" + std::to_string(config.port));
  }
  raw->port = *port;
  kiosk.set_observer([raw] {
    if (raw->context) lws_cancel_service(raw->context);  // thread-safe wake-up
  });
  return std::unique_ptr<KioskServer>(new KioskServer(std::move(impl)));
}

uint16_t KioskServer::port() const { return impl_->port; }

std::string KioskServer::url() const {
  std::string host = impl_->config.host;
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(impl_->port) + "/";
}

void KioskServer::run() {
  log::info(kStage, "serving the kiosk page on {}", url());
  while (!impl_->done) {
    if (lws_service(impl_->context, 0) < 0) break;
  }
  log::info(kStage, "stopped");
}

void KioskServer::start() {
  thread_ = std::thread([this] { run(); });
}

void KioskServer::stop() {
  impl_->stop_requested = true;
  if (impl_->context) lws_cancel_service(impl_->context);
}

void KioskServer::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace hybrid::demo
