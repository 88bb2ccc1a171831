#include "ctap/commands.h"

#include <fmt/format.h>

namespace hybrid::ctap {

std::string_view status_name(uint8_t status) {
  switch (static_cast<StatusCode>(status)) {
    case StatusCode::ok: return "CTAP2_OK";
    case StatusCode::invalid_command: return "CTAP1_ERR_INVALID_COMMAND";
    case StatusCode::invalid_parameter: return "CTAP1_ERR_INVALID_PARAMETER";
    case StatusCode::invalid_length: return "CTAP1_ERR_INVALID_LENGTH";
    case StatusCode::invalid_seq: return "CTAP1_ERR_INVALID_SEQ";
    case StatusCode::timeout: return "CTAP1_ERR_TIMEOUT";
    case StatusCode::channel_busy: return "CTAP1_ERR_CHANNEL_BUSY";
    case StatusCode::cbor_unexpected_type: return "CTAP2_ERR_CBOR_UNEXPECTED_TYPE";
    case StatusCode::invalid_cbor: return "CTAP2_ERR_INVALID_CBOR";
    case StatusCode::missing_parameter: return "CTAP2_ERR_MISSING_PARAMETER";
    case StatusCode::limit_exceeded: return "CTAP2_ERR_LIMIT_EXCEEDED";
    case StatusCode::unsupported_extension: return "CTAP2_ERR_UNSUPPORTED_EXTENSION";
    case StatusCode::credential_excluded: return "CTAP2_ERR_CREDENTIAL_EXCLUDED";
    case StatusCode::processing: return "CTAP2_ERR_PROCESSING";
    case StatusCode::invalid_credential: return "CTAP2_ERR_INVALID_CREDENTIAL";
    case StatusCode::user_action_pending: return "CTAP2_ERR_USER_ACTION_PENDING";
    case StatusCode::operation_pending: return "CTAP2_ERR_OPERATION_PENDING";
    case StatusCode::no_operations: return "CTAP2_ERR_NO_OPERATIONS";
    case StatusCode::unsupported_algorithm: return "CTAP2_ERR_UNSUPPORTED_ALGORITHM";
    case StatusCode::operation_denied: return "CTAP2_ERR_OPERATION_DENIED";
    case StatusCode::key_store_full: return "CTAP2_ERR_KEY_STORE_FULL";
    case StatusCode::no_operation_pending: return "CTAP2_ERR_NO_OPERATION_PENDING";
    case StatusCode::unsupported_option: return "CTAP2_ERR_UNSUPPORTED_OPTION";
    case StatusCode::invalid_option: return "CTAP2_ERR_INVALID_OPTION";
    case StatusCode::keepalive_cancel: return "CTAP2_ERR_KEEPALIVE_CANCEL";
    case StatusCode::no_credentials: return "CTAP2_ERR_NO_CREDENTIALS";
    case StatusCode::user_action_timeout: return "CTAP2_ERR_USER_ACTION_TIMEOUT";
    case StatusCode::not_allowed: return "CTAP2_ERR_NOT_ALLOWED";
    case StatusCode::pin_invalid: return "CTAP2_ERR_PIN_INVALID";
    case StatusCode::pin_blocked: return "CTAP2_ERR_PIN_BLOCKED";
    case StatusCode::pin_auth_invalid: return "CTAP2_ERR_PIN_AUTH_INVALID";
    case StatusCode::pin_auth_blocked: return "CTAP2_ERR_PIN_AUTH_BLOCKED";
    case StatusCode::pin_not_set: return "CTAP2_ERR_PIN_NOT_SET";
    case StatusCode::pin_required: return "CTAP2_ERR_PUAT_REQUIRED";
    case StatusCode::pin_policy_violation: return "CTAP2_ERR_PIN_POLICY_VIOLATION";
    case StatusCode::request_too_large: return "CTAP2_ERR_REQUEST_TOO_LARGE";
    case StatusCode::action_timeout: return "CTAP2_ERR_ACTION_TIMEOUT";
    case StatusCode::up_required: return "CTAP2_ERR_UP_REQUIRED";
    case StatusCode::uv_blocked: return "CTAP2_ERR_UV_BLOCKED";
    case StatusCode::integrity_failure: return "CTAP2_ERR_INTEGRITY_FAILURE";
    case StatusCode::invalid_subcommand: return "CTAP2_ERR_INVALID_SUBCOMMAND";
    case StatusCode::uv_invalid: return "CTAP2_ERR_UV_INVALID";
    case StatusCode::unauthorized_permission: return "CTAP2_ERR_UNAUTHORIZED_PERMISSION";
    case StatusCode::other: return "CTAP1_ERR_OTHER";
  }
  return "unknown CTAP status";
}

std::string status_description(uint8_t status) {
  return fmt::format("{} (0x{:02x})", status_name(status), status);
}

std::string_view command_name(uint8_t command) {
  switch (static_cast<Command>(command)) {
    case Command::make_credential: return "authenticatorMakeCredential";
    case Command::get_assertion: return "authenticatorGetAssertion";
    case Command::get_info: return "authenticatorGetInfo";
    case Command::client_pin: return "authenticatorClientPIN";
    case Command::reset: return "authenticatorReset";
    case Command::get_next_assertion: return "authenticatorGetNextAssertion";
    case Command::credential_management: return "authenticatorCredentialManagement";
    case Command::selection: return "authenticatorSelection";
  }
  return "unknown";
}

}  // namespace hybrid::ctap
