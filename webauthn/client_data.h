// WebAuthn's CollectedClientData (WebAuthn §5.8.1): the client serialises it exactly as
// the spec's CCDToString does ({"type","challenge","origin","crossOrigin"} in that order,
// compact, minimal escaping); the relying party parses any JSON form of it.
#pragma once

#include <optional>
#include <string>

#include "base/bytes.h"

namespace hybrid::webauthn {

inline constexpr std::string_view kTypeCreate = "webauthn.create";
inline constexpr std::string_view kTypeGet = "webauthn.get";

struct CollectedClientData {
  std::string type;
  Bytes challenge;
  std::string origin;
  bool cross_origin = false;
  std::optional<std::string> top_origin;
};

std::string client_data_json(std::string_view type, ByteView challenge, std::string_view origin,
                             bool cross_origin = false);
// Requires type, challenge (base64url) and origin as strings; crossOrigin, when present,
// a boolean. Other members are allowed (the spec lets clients add them).
Result<CollectedClientData> parse_client_data(std::string_view json);

// "https://host[:port]" → "host"; an error for anything that is not an https origin
// (http is allowed for localhost only, as browsers do).
Result<std::string> origin_host(std::string_view origin);
// WebAuthn's RP ID rule without the public suffix list: the RP ID must equal the origin's
// host or be a dot-separated suffix of it.
bool rp_id_matches_origin(std::string_view rp_id, std::string_view origin);

}  // namespace hybrid::webauthn
