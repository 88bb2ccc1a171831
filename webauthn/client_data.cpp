#include "webauthn/client_data.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace hybrid::webauthn {
namespace {

// CCDToString's string serialisation: '"' and '\' escaped, other code points below
// U+0020 as \u00XX, everything else as is.
void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
}

}  // namespace

std::string client_data_json(std::string_view type, ByteView challenge, std::string_view origin, bool cross_origin) {
  std::string out = "{\"type\":";
  append_json_string(out, type);
  out += ",\"challenge\":";
  append_json_string(out, base64url_encode(challenge));
  out += ",\"origin\":";
  append_json_string(out, origin);
  out += ",\"crossOrigin\":";
  out += cross_origin ? "true" : "false";
  out += "}";
  return out;
}

Result<CollectedClientData> parse_client_data(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return make_error("clientDataJSON is not a JSON object");
  CollectedClientData cd;
  for (const char* member : {"type", "challenge", "origin"}) {
    if (!j.contains(member) || !j[member].is_string()) {
      return make_error(fmt::format("clientDataJSON has no string \"{}\"", member));
    }
  }
  cd.type = j["type"].get<std::string>();
  auto challenge = base64url_decode(j["challenge"].get<std::string>());
  if (!challenge.ok()) return make_error("clientDataJSON challenge is not base64url: " + challenge.error().message);
  cd.challenge = std::move(challenge).value();
  cd.origin = j["origin"].get<std::string>();
  if (j.contains("crossOrigin")) {
    if (!j["crossOrigin"].is_boolean()) return make_error("clientDataJSON crossOrigin must be a boolean");
    cd.cross_origin = j["crossOrigin"].get<bool>();
  }
  if (j.contains("topOrigin")) {
    if (!j["topOrigin"].is_string()) return make_error("clientDataJSON topOrigin must be a string");
    cd.top_origin = j["topOrigin"].get<std::string>();
  }
  return cd;
}

Result<std::string> origin_host(std::string_view origin) {
  std::string_view rest;
  bool secure = true;
  if (origin.substr(0, 8) == "https://") {
    rest = origin.substr(8);
  } else if (origin.substr(0, 7) == "http://") {
    rest = origin.substr(7);
    secure = false;
  } else {
    return make_error(fmt::format("'{}' is not an https origin", origin));
  }
  if (rest.empty() || rest.find('/') != std::string_view::npos || rest.find('@') != std::string_view::npos) {
    return make_error(fmt::format("'{}' is not an origin (scheme://host[:port], no path)", origin));
  }
  std::string host;
  if (rest.front() == '[') {  // an IPv6 literal: [::1]:8443
    auto close = rest.find(']');
    if (close == std::string_view::npos) return make_error(fmt::format("'{}' has a malformed IPv6 host", origin));
    host = std::string(rest.substr(0, close + 1));
  } else {
    host = std::string(rest.substr(0, std::min(rest.find(':'), rest.size())));
  }
  if (host.empty()) return make_error(fmt::format("'{}' has no host", origin));
  for (auto& ch : host) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const bool loopback = host == "localhost" || host == "127.0.0.1" || host == "[::1]" ||
                        (host.size() > 10 && host.compare(host.size() - 10, 10, ".localhost") == 0);
  if (!secure && !loopback) {
    return make_error(fmt::format("'{}' is not secure: WebAuthn needs https (http only on localhost)", origin));
  }
  return host;
}

bool rp_id_matches_origin(std::string_view rp_id, std::string_view origin) {
  auto host = origin_host(origin);
  if (!host.ok() || rp_id.empty()) return false;
  const std::string& h = *host;
  if (h == rp_id) return true;
  return h.size() > rp_id.size() + 1 && h.compare(h.size() - rp_id.size(), rp_id.size(), rp_id) == 0 &&
         h[h.size() - rp_id.size() - 1] == '.';
}

}  // namespace hybrid::webauthn
