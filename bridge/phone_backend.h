// The bridge's view of "the phone": something that takes one CTAP request and, some time
// later, answers it. The real implementation runs a hybrid transaction (QR code or linked
// phone → tunnel → Noise → CTAP); tests use FakePhoneBackend (fake_phone_backend.h).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace hybrid::bridge {

// Error codes a backend puts in Error::code; the bridge maps them to CTAP status bytes.
enum class PhoneError : int {
  other = 0,      // → CTAP1_ERR_OTHER
  timeout = 1,    // the user did not scan / approve in time → CTAP2_ERR_USER_ACTION_TIMEOUT
  cancelled = 2,  // the user or the phone cancelled → CTAP2_ERR_KEEPALIVE_CANCEL
  unavailable = 3,  // no way to reach a phone (no Bluetooth, no network) → CTAP1_ERR_OTHER
};
HYBRID_ERROR_DOMAIN(PhoneError, "phone backend")

using PhoneResponse = Result<Bytes>;  // status byte ‖ CBOR, exactly as the phone sent it
using PhoneDone = std::function<void(PhoneResponse)>;

class PhoneBackend {
 public:
  virtual ~PhoneBackend() = default;

  // Starts one transaction with the phone. `ctap_request` is the CTAP command byte ‖ its
  // CBOR parameters (makeCredential 0x01 or getAssertion 0x02; already cleaned up by the
  // bridge's CtapFront). `done` is called at most once, from any thread (the bridge hands
  // the result to its own loop), possibly before start() returns. The bridge never starts
  // a second transaction before the first one's `done` ran or cancel() was called.
  virtual void start(Bytes ctap_request, PhoneDone done) = 0;

  // Ends the transaction in progress, if any: stop showing the QR code, close the tunnel.
  // Must return quickly and may be called when nothing is in progress. After cancel() the
  // bridge ignores the transaction's `done` (the backend may still call it, or not).
  virtual void cancel() = 0;
};

// Backends the `hybrid bridge` command can select with --backend NAME. A backend that
// lives in another part of the tree registers itself with a static PhoneBackendRegistration
// in a file compiled into the binary (app/commands/…), so that adding one edits no file of
// the bridge. The hybrid transaction backend is expected to register as "hybrid".
struct PhoneBackendConfig {
  // How long one transaction may take before the backend gives up (the bridge also
  // enforces it and answers CTAP2_ERR_USER_ACTION_TIMEOUT).
  int timeout_seconds = 120;
  // Where to write the QR code as a PNG, if wanted (empty: terminal only).
  std::string qr_png_path;
};
using PhoneBackendFactory =
    std::function<Result<std::unique_ptr<PhoneBackend>>(const PhoneBackendConfig&)>;

struct PhoneBackendRegistration {
  PhoneBackendRegistration(std::string name, std::string description, PhoneBackendFactory factory);
};

struct RegisteredPhoneBackend {
  std::string name;
  std::string description;
  PhoneBackendFactory factory;
};
// Every registered backend, sorted by name.
std::vector<RegisteredPhoneBackend> registered_phone_backends();
const RegisteredPhoneBackend* find_phone_backend(const std::string& name);

}  // namespace hybrid::bridge
