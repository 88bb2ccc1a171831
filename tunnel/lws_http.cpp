#include "tunnel/lws_http.h"

#include <cstring>

#include "base/log.h"
#include "base/printable.h"

namespace hybrid::tunnel {

std::string_view http_status_text(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

std::string http_response(int status, std::string_view content_type, std::string_view body,
                          std::string_view extra_headers) {
  std::string r = "HTTP/1.1 " + std::to_string(status) + " " + std::string(http_status_text(status)) + "\r\n";
  if (!content_type.empty()) r += "Content-Type: " + std::string(content_type) + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += extra_headers;
  r += "Cache-Control: no-store\r\nConnection: close\r\n\r\n";
  r += body;
  return r;
}

int HttpReplies::send(lws* wsi, std::string_view response) {
  std::string buf(LWS_PRE, '\0');
  buf += response;
  int n = lws_write(wsi, reinterpret_cast<unsigned char*>(buf.data()) + LWS_PRE, response.size(),
                    LWS_WRITE_HTTP_HEADERS);
  if (n < 0) return -1;
  if (lws_partial_buffered(wsi)) {  // close once lws has flushed the rest
    draining_.insert(wsi);
    lws_callback_on_writable(wsi);
    return 0;
  }
  return -1;  // sent: close the connection
}

int HttpReplies::on_writeable(lws* wsi) {
  if (draining_.count(wsi) && !lws_partial_buffered(wsi)) return -1;
  return 0;
}

void log_callback_exception(std::string_view stage, const char* what) {
  if (what) {
    log::warn(stage, "closed a connection after an internal error: {}", printable(what, 200));
  } else {
    log::warn(stage, "closed a connection after an internal error");
  }
}

lws_context_creation_info listening_context_info(const std::string& host, uint16_t port,
                                                 const lws_protocols* protocols, void* owner,
                                                 const char* server_string) {
  lws_context_creation_info info;
  std::memset(&info, 0, sizeof info);
  info.port = port;
  info.iface = host.c_str();
  info.protocols = protocols;
  info.user = owner;
  info.keepalive_timeout = 5;
  info.server_string = server_string;
  info.options = LWS_SERVER_OPTION_DISABLE_IPV6 * (host.find(':') == std::string::npos);
  return info;
}

std::optional<uint16_t> listening_port(lws_context* context) {
  lws_vhost* vhost = lws_get_vhost_by_name(context, "default");
  int port = vhost ? lws_get_vhost_listen_port(vhost) : -1;
  if (port <= 0) return std::nullopt;
  return static_cast<uint16_t>(port);
}

}  // namespace hybrid::tunnel
