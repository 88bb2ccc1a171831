#include "tunnel/lws_headers.h"

#include <cstring>

namespace hybrid::tunnel {

std::string read_header(lws* wsi, lws_token_indexes token) {
  int n = lws_hdr_total_length(wsi, token);
  if (n <= 0) return {};
  std::string s(static_cast<size_t>(n) + 1, '\0');
  int got = lws_hdr_copy(wsi, s.data(), n + 1, token);
  if (got < 0) return {};
  s.resize(static_cast<size_t>(got));
  return s;
}

std::optional<std::string> read_custom_header(lws* wsi, const char* lower_name_with_colon) {
  int len = static_cast<int>(std::strlen(lower_name_with_colon));
  int n = lws_hdr_custom_length(wsi, lower_name_with_colon, len);
  if (n < 0) return std::nullopt;
  std::string s(static_cast<size_t>(n) + 1, '\0');
  int got = lws_hdr_custom_copy(wsi, s.data(), n + 1, lower_name_with_colon, len);
  if (got < 0) return std::nullopt;
  s.resize(static_cast<size_t>(got));
  return s;
}

}  // namespace hybrid::tunnel
