// Reading HTTP request/response headers from a libwebsockets connection, shared by the
// tunnel server, the tunnel client and the kiosk's HTTP adapter.
#pragma once

#include <libwebsockets.h>

#include <optional>
#include <string>

namespace hybrid::tunnel {

// A standard header by lws token; "" when absent.
std::string read_header(lws* wsi, lws_token_indexes token);
// A custom header, named in lower case with its colon ("x-cable-routing-id:"), as lws
// requires (see ../shared/spec/libwebsockets-notes.md); nullopt when absent.
std::optional<std::string> read_custom_header(lws* wsi, const char* lower_name_with_colon);

}  // namespace hybrid::tunnel
