#include "base/exit_code.h"

#include <array>
#include <cstdio>

namespace hybrid {
namespace {

constexpr std::array<ExitCodeInfo, 19> kExitCodes{{
    {kOk, "success"},
    {kInternalError, "internal error (a bug or an unexpected system failure)"},
    {kUsage, "bad command line"},
    {kInvalidInput, "invalid input (malformed QR code, file or data)"},
    {kBluetoothUnavailable, "Bluetooth unavailable (no BlueZ, no adapter, powered off, blocked, no permission)"},
    {kNoAdvert, "no matching BLE advert before the timeout"},
    {kTunnelHttpStatus, "the tunnel server refused the connection (HTTP status)"},
    {kTls, "TLS failure"},
    {kHandshakeFailed, "Noise handshake failed"},
    {kCtapError, "the phone answered with a CTAP error"},
    {kPhoneShutDown, "the phone closed the connection before answering"},
    {kCancelled, "cancelled by the user"},
    {kTimeout, "timed out"},
    {kLinkGone, "the linked phone is gone (HTTP 410); the link was forgotten"},
    {kPolicyRefused, "refused by a passkey policy"},
    {kNetwork, "network failure reaching the tunnel server"},
    {kDeviceUnavailable, "the security-key device (/dev/uhid) is missing or not writable"},
    {kDoctorWarnings, "hybrid doctor: warnings, no failure"},
    {kDoctorFailures, "hybrid doctor: at least one check failed"},
}};

// The table is indexed by code: a gap or a misplaced row is a compile error.
constexpr bool in_order() {
  for (size_t i = 0; i < kExitCodes.size(); ++i) {
    if (static_cast<size_t>(kExitCodes[i].code) != i) return false;
  }
  return true;
}
static_assert(in_order(), "kExitCodes must list every exit code once, in numeric order");

}  // namespace

std::span<const ExitCodeInfo> exit_codes() { return kExitCodes; }

std::string exit_code_help() {
  std::string out = "Exit codes:\n";
  for (const auto& e : kExitCodes) {
    char number[8];
    std::snprintf(number, sizeof number, "%3d  ", static_cast<int>(e.code));
    out += number;
    out += e.meaning;
    out += '\n';
  }
  return out;
}

}  // namespace hybrid
