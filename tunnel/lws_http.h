// The plain-HTTP/1.1 side of a libwebsockets server, shared by the tunnel server and the
// kiosk's web server: whole responses that close their connection (status pages, health,
// metrics, refusals), the callback entry that finds its owner and keeps exceptions inside,
// and the listening context's common settings.
#pragma once

#include <libwebsockets.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <exception>
#include <unordered_set>

namespace hybrid::tunnel {

// "OK", "Not Found", …; "Error" for a status this project does not send.
std::string_view http_status_text(int status);

// A complete response that closes the connection: the status line, Content-Type (when
// given), Content-Length, `extra_headers` (each line ending in "\r\n"), Cache-Control:
// no-store, Connection: close, then the body.
std::string http_response(int status, std::string_view content_type, std::string_view body,
                          std::string_view extra_headers = {});

// Writes whole responses on libwebsockets HTTP connections and closes each once lws has
// flushed it. One per server, used on its service thread only.
class HttpReplies {
 public:
  // What the callback returns: -1 (close now) when lws took all of `response`, 0 while it
  // still buffers part; the close then follows in on_writeable().
  int send(lws* wsi, std::string_view response);
  // For LWS_CALLBACK_HTTP_WRITEABLE.
  int on_writeable(lws* wsi);
  // For LWS_CALLBACK_WSI_DESTROY.
  void forget(lws* wsi) { draining_.erase(wsi); }

 private:
  std::unordered_set<lws*> draining_;
};

// The object whose pointer was given as the context's `user` (nullptr before it is set).
template <class Owner>
Owner* context_owner(lws* wsi) {
  lws_context* ctx = lws_get_context(wsi);
  return ctx ? static_cast<Owner*>(lws_context_user(ctx)) : nullptr;
}

// Runs one callback's handler. No exception may leave a libwebsockets callback (it would end
// the process): one that escapes (e.g. bad_alloc) is logged under `stage` and gives nullopt,
// and the caller closes only the connection it came from.
void log_callback_exception(std::string_view stage, const char* what);  // what: nullptr if unknown
template <class Handler>
std::optional<int> run_callback_handler(std::string_view stage, Handler&& handler) {
  try {
    return handler();
  } catch (const std::exception& e) {
    log_callback_exception(stage, e.what());
  } catch (...) {
    log_callback_exception(stage, nullptr);
  }
  return std::nullopt;
}

// The settings every listening context here shares: `host` ("" or an address; IPv6 only
// when it is an IPv6 address), `port` (0: any free port), the protocols, the owner as user
// pointer, and the Server header.
lws_context_creation_info listening_context_info(const std::string& host, uint16_t port,
                                                 const lws_protocols* protocols, void* owner,
                                                 const char* server_string);

// The port the context's default vhost listens on; nullopt when it did not bind.
std::optional<uint16_t> listening_port(lws_context* context);

}  // namespace hybrid::tunnel
