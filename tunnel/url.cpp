#include "tunnel/url.h"

#include <cctype>
#include <charconv>

namespace hybrid::tunnel {
namespace {

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

bool has_bad_chars(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) return true;
  }
  return false;
}

}  // namespace

std::string WsUrl::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (tls ? 443 : 80)) h += ":" + std::to_string(port);
  return h;
}

std::string WsUrl::to_string() const {
  return std::string(tls ? "wss://" : "ws://") + host_header() + path;
}

Result<WsUrl> parse_ws_url(std::string_view text) {
  WsUrl url;
  std::string_view rest;
  if (iequals_prefix(text, "wss://")) {
    url.tls = true, rest = text.substr(6);
  } else if (iequals_prefix(text, "ws://")) {
    url.tls = false, rest = text.substr(5);
  } else if (iequals_prefix(text, "https://")) {
    url.tls = true, rest = text.substr(8);
  } else if (iequals_prefix(text, "http://")) {
    url.tls = false, rest = text.substr(7);
  } else {
    return make_error("tunnel URL must start with ws:// or wss://, got \"" +
                      std::string(text.substr(0, 32)) + "\"");
  }
  if (has_bad_chars(text)) return make_error("tunnel URL contains spaces or control characters");
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  url.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (auto hash = url.path.find('#'); hash != std::string::npos) url.path.resize(hash);
  if (authority.find('@') != std::string_view::npos) {
    return make_error("tunnel URL must not carry user information");
  }
  url.port = url.tls ? 443 : 80;
  std::string_view port_text;
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return make_error("tunnel URL has an unclosed '[' in its host");
    url.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return make_error("tunnel URL has junk after its IPv6 host");
      port_text = after.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) return make_error("tunnel URL has no host");
  bool bracketed = !authority.empty() && authority[0] == '[';
  for (char ch : url.host) {
    bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    bool ok = bracketed ? (alnum || ch == ':' || ch == '.' || ch == '%') : (alnum || ch == '.' || ch == '-' || ch == '_');
    if (!ok) return make_error("tunnel URL has an invalid character in its host");
  }
  if (bracketed && url.host.find(':') == std::string::npos) {
    return make_error("tunnel URL has a bracketed host that is not an IPv6 address");
  }
  if (authority.back() == ':') return make_error("tunnel URL has an empty port");
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || value == 0 || value > 65535) {
      return make_error("tunnel URL has an invalid port \"" + std::string(port_text) + "\"");
    }
    url.port = static_cast<uint16_t>(value);
  }
  return url;
}

Result<WsUrl> resolve_redirect(const WsUrl& base, std::string_view location) {
  if (location.empty()) return make_error("redirect without a Location header");
  if (has_bad_chars(location)) return make_error("redirect Location contains spaces or control characters");
  if (location.find("://") != std::string_view::npos) {
    HYBRID_TRY(auto out, parse_ws_url(location));
    if (base.tls && !out.tls) {
      return make_error("refused a redirect from wss:// to ws:// (" + out.host_header() +
                        "): the tunnel would lose its TLS protection");
    }
    return out;
  }
  if (location.substr(0, 2) == "//") {
    return parse_ws_url(std::string(base.tls ? "wss:" : "ws:") + std::string(location));
  }
  WsUrl out = base;
  if (location[0] == '/') {
    out.path = std::string(location);
  } else {
    std::string dir = base.path.substr(0, base.path.find('?'));
    dir.resize(dir.rfind('/') + 1);
    out.path = dir + std::string(location);
  }
  if (auto hash = out.path.find('#'); hash != std::string::npos) out.path.resize(hash);
  return out;
}

bool same_origin(const WsUrl& a, const WsUrl& b) {
  if (a.tls != b.tls || a.port != b.port || a.host.size() != b.host.size()) return false;
  for (size_t i = 0; i < a.host.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a.host[i])) != std::tolower(static_cast<unsigned char>(b.host[i])))
      return false;
  }
  return true;
}

}  // namespace hybrid::tunnel
