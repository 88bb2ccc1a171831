// Opening and closing tabs through Chromium's DevTools HTTP endpoint (PUT /json/new?URL,
// GET /json/close/ID) on 127.0.0.1, with a deadline: how the demo sends Chromium to the
// website page without a WebSocket CDP client.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "base/result.h"

namespace hybrid::demo {

// Returns the new tab's target id.
Result<std::string> open_devtools_tab(uint16_t port, const std::string& url, std::chrono::milliseconds timeout);
Status close_devtools_tab(uint16_t port, const std::string& target_id, std::chrono::milliseconds timeout);

}  // namespace hybrid::demo
