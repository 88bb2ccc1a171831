// CTAP2 command bytes and status codes (CTAP 2.1/2.2 §6 and §8.2), and the error values
// the ctap layer returns: every Error from ctap/ carries a CTAP status code in Error::code.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace hybrid::ctap {

// The first byte of a CTAP2 request (inside a hybrid CTAP frame, after the 0x01 type byte).
enum class Command : uint8_t {
  make_credential = 0x01,
  get_assertion = 0x02,
  get_info = 0x04,
  client_pin = 0x06,
  reset = 0x07,
  get_next_assertion = 0x08,
  credential_management = 0x0A,
  selection = 0x0B,
};

// The first byte of a CTAP2 response.
enum class StatusCode : uint8_t {
  ok = 0x00,
  invalid_command = 0x01,
  invalid_parameter = 0x02,
  invalid_length = 0x03,
  invalid_seq = 0x04,
  timeout = 0x05,
  channel_busy = 0x06,
  cbor_unexpected_type = 0x11,
  invalid_cbor = 0x12,
  missing_parameter = 0x14,
  limit_exceeded = 0x15,
  unsupported_extension = 0x16,
  credential_excluded = 0x19,
  processing = 0x21,
  invalid_credential = 0x22,
  user_action_pending = 0x23,
  operation_pending = 0x24,
  no_operations = 0x25,
  unsupported_algorithm = 0x26,
  operation_denied = 0x27,
  key_store_full = 0x28,
  no_operation_pending = 0x2A,
  unsupported_option = 0x2B,
  invalid_option = 0x2C,
  keepalive_cancel = 0x2D,
  no_credentials = 0x2E,
  user_action_timeout = 0x2F,
  not_allowed = 0x30,
  pin_invalid = 0x31,
  pin_blocked = 0x32,
  pin_auth_invalid = 0x33,
  pin_auth_blocked = 0x34,
  pin_not_set = 0x35,
  pin_required = 0x36,
  pin_policy_violation = 0x37,
  request_too_large = 0x39,
  action_timeout = 0x3A,
  up_required = 0x3B,
  uv_blocked = 0x3C,
  integrity_failure = 0x3D,
  invalid_subcommand = 0x3E,
  uv_invalid = 0x3F,
  unauthorized_permission = 0x40,
  other = 0x7F,
};

// "CTAP2_ERR_NO_CREDENTIALS" style names; unknown codes give "CTAP status 0x??".
std::string_view status_name(uint8_t status);
std::string status_description(uint8_t status);  // name and hex: "CTAP2_ERR_NO_CREDENTIALS (0x2e)"
std::string_view command_name(uint8_t command);  // "authenticatorGetInfo", … or "unknown"

HYBRID_ERROR_DOMAIN(StatusCode, "ctap status")
inline Error ctap_error(StatusCode status, std::string message) { return Error{status, std::move(message)}; }
// The CTAP status of an error from this layer; errors without one count as CTAP1_ERR_OTHER.
inline uint8_t status_of(const Error& e) {
  return static_cast<uint8_t>(e.as<StatusCode>().value_or(StatusCode::other));
}

}  // namespace hybrid::ctap
