// How the kiosk reaches a visitor's phone for one ceremony: show a QR code, wait for the
// phone, send one CTAP request and return its answer. The kiosk uses the hybrid transport
// (HybridPhoneChannel, roles::ClientTransaction over BlueZ and the tunnel); tests plug in a
// scripted channel with a software authenticator behind it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "qr/payload.h"

namespace hybrid::demo {

// What the visitor sees happen, in order.
enum class ChannelStage {
  qr_shown,          // the code is on screen (ChannelProgress::qr_url)
  phone_nearby,      // the phone's BLE advert matched this code
  connected,         // tunnel and encrypted channel up
  waiting_for_user,  // the request is on the phone; the visitor confirms there
};

struct ChannelProgress {
  ChannelStage stage = ChannelStage::qr_shown;
  std::string qr_url;  // with qr_shown
};

// Error::code of a failed exchange.
enum class ChannelFailure : int {
  no_phone = 1,   // no phone answered this QR code before the QR timeout: show a fresh one
  cancelled = 2,  // cancel() was called
  failed = 3,     // anything else; the message says what, for the visitor
};
HYBRID_ERROR_DOMAIN(ChannelFailure, "kiosk phone channel")

struct ChannelAnswer {
  uint8_t ctap_status = 0;
  Bytes ctap_body;  // CBOR (empty on CTAP errors)
};

class PhoneChannel {
 public:
  virtual ~PhoneChannel() = default;

  // Blocking. `ctap_request` = command byte ‖ CBOR. `on_progress` runs on the calling
  // thread. Fails with no_phone when nothing answered the QR code within `qr_timeout`.
  virtual Result<ChannelAnswer> exchange(qr::RequestType type, ByteView ctap_request,
                                         std::chrono::milliseconds qr_timeout,
                                         const std::function<void(const ChannelProgress&)>& on_progress) = 0;

  // Thread-safe. Ends a running exchange() with `cancelled`; when none runs, the next
  // exchange() returns `cancelled` at once (until clear_cancel()).
  virtual void cancel() = 0;
  virtual void clear_cancel() = 0;
};

inline bool is_channel_failure(const Error& e, ChannelFailure f) { return e.is(f); }

}  // namespace hybrid::demo
