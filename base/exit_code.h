// The exit codes of every `hybrid` process: 0 only on success, one distinct code per
// failure class. This table is the only place they are defined: `hybrid --help` prints it
// (exit_code_help()), roles map their failures onto it (roles/client_failure.h), and a test
// checks the README's list against it. Keep the numbers stable: scripts use them.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace hybrid {

enum ExitCode : int {
  kOk = 0,
  kInternalError = 1,     // a bug or an unexpected system failure
  kUsage = 2,             // bad command line (CLI11 also uses this)
  kInvalidInput = 3,      // malformed QR code, file, vector, policy…
  kBluetoothUnavailable = 4,  // no BlueZ, no adapter, adapter off or blocked, no permission
  kNoAdvert = 5,          // no matching BLE advert before the timeout
  kTunnelHttpStatus = 6,  // the tunnel server refused the WebSocket upgrade
  kTls = 7,               // TLS failure talking to the tunnel server
  kHandshakeFailed = 8,   // Noise handshake failed (wrong QR, wrong PSK, tampering)
  kCtapError = 9,         // the phone answered with a CTAP error
  kPhoneShutDown = 10,    // the phone closed the connection before answering
  kCancelled = 11,        // the user cancelled (Ctrl-C)
  kTimeout = 12,          // the overall timeout expired
  kLinkGone = 13,         // the linked phone's contact ID is gone (HTTP 410); link forgotten
  kPolicyRefused = 14,    // a relying-party policy refused the passkey
  kNetwork = 15,          // could not reach the tunnel server (DNS, refused, reset)
  kDeviceUnavailable = 16,  // the bridge's HID device (/dev/uhid) is missing or not writable
  kDoctorWarnings = 17,   // `hybrid doctor`: no check failed, at least one warned
  kDoctorFailures = 18,   // `hybrid doctor`: at least one check failed
};

struct ExitCodeInfo {
  ExitCode code;
  std::string_view meaning;  // one line for a person, as --help and the README show it
};

// Every exit code, in numeric order.
std::span<const ExitCodeInfo> exit_codes();

// The "Exit codes:" block of `hybrid --help`, generated from exit_codes().
std::string exit_code_help();

}  // namespace hybrid
