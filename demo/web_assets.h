// The kiosk page's files (demo/web/), compiled into the binary by demo/embed_assets.cmake.
#pragma once

#include <span>
#include <string_view>

namespace hybrid::demo {

struct WebAsset {
  std::string_view path;          // "/index.html", "/kiosk.css", "/kiosk.js"
  std::string_view content_type;  // with charset for text
  std::string_view body;
};

std::span<const WebAsset> web_assets();
// "/" means "/index.html"; nullptr for anything else that is not an asset.
const WebAsset* find_web_asset(std::string_view path);

}  // namespace hybrid::demo
