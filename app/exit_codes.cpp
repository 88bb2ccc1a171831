#include "app/exit_codes.h"

namespace hybrid::app {

std::string exit_code_help() {
  return "Exit codes:\n"
         "  0  success\n"
         "  1  internal error (a bug or an unexpected system failure)\n"
         "  2  bad command line\n"
         "  3  invalid input (malformed QR code, file or data)\n"
         "  4  Bluetooth unavailable (no BlueZ, no adapter, powered off, blocked, no permission)\n"
         "  5  no matching BLE advert before the timeout\n"
         "  6  the tunnel server refused the connection (HTTP status)\n"
         "  7  TLS failure\n"
         "  8  Noise handshake failed\n"
         "  9  the phone answered with a CTAP error\n"
         " 10  the phone closed the connection before answering\n"
         " 11  cancelled by the user\n"
         " 12  timed out\n"
         " 13  the linked phone is gone (HTTP 410); the link was forgotten\n"
         " 14  refused by a passkey policy\n"
         " 15  network failure reaching the tunnel server\n"
         " 16  the security-key device (/dev/uhid) is missing or not writable\n"
         " 17  hybrid doctor: warnings, no failure\n"
         " 18  hybrid doctor: at least one check failed\n";
}

}  // namespace hybrid::app
