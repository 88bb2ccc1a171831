// The HID edge of the bridge: something that carries 64-byte CTAPHID reports between the
// host's FIDO clients and the bridge. UhidDevice is the real one (a virtual HID device
// made through /dev/uhid, which browsers see as a USB security key); SocketHidDevice
// carries the same reports over a Unix socket for tests and tools.
#pragma once

#include <chrono>
#include <string>

#include "base/result.h"
#include "bridge/ctaphid.h"

namespace hybrid::bridge {

struct HidRead {
  enum class Kind {
    report,       // `report` holds one report from the host
    timeout,      // nothing arrived within the timeout
    woken,        // wake() was called
    host_closed,  // every host-side user closed the device: forget channel state
  };
  Kind kind = Kind::timeout;
  Report report{};
};

class HidDevice {
 public:
  virtual ~HidDevice() = default;

  // Creates / binds the device. Errors say what to do ("load the uhid module", …).
  virtual Status open() = 0;
  // Waits up to `timeout` for the next thing to happen. An error means the device is
  // unusable (it is closed); the bridge stops.
  virtual Result<HidRead> read_report(Millis timeout) = 0;
  virtual Status write_report(const Report& report) = 0;
  virtual void close() = 0;
  // Makes a blocked read_report (or the next one) return Kind::woken. Safe to call from
  // any thread and from a signal handler.
  virtual void wake() = 0;
  // For logs and the ready line: "uhid:/dev/uhid", "socket:/run/…".
  virtual std::string describe() const = 0;
};

}  // namespace hybrid::bridge
