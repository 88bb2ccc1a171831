// The real HID edge: a virtual FIDO security key created through /dev/uhid. The kernel
// gives it a /dev/hidrawN node with the FIDO usage page, which Firefox, Chromium,
// libfido2 (ssh, pam-u2f) and python-fido2 find like any USB key.
//
// Needs read-write access to /dev/uhid: root, or the udev rule in
// deploy/bridge/70-hybrid-bridge-uhid.rules (uaccess for the logged-in user).
#pragma once

#include <array>
#include <optional>
#include <string>

#include "bridge/hid_device.h"
#include "bridge/wakeable_poll.h"

namespace hybrid::bridge {

// The HID report descriptor (usage tables: FIDO Alliance page 0xF1D0, usage 0x01
// "CTAPHID"): one 64-byte input report (usage 0x20) and one 64-byte output report
// (usage 0x21), no report IDs.
extern const std::array<uint8_t, 34> kFidoReportDescriptor;

struct UhidIdentity {
  std::string name = "Hybrid phone bridge (FIDO)";
  std::string phys = "hybrid-bridge";
  uint16_t bus = 0x03;         // BUS_USB: what clients expect of a security key
  uint32_t vendor = 0x1209;    // pid.codes (open-source hardware)
  uint32_t product = 0x0001;   // pid.codes' test PID: no registered product ID yet
  uint32_t version = 0x0100;
};

// The uhid wire format, exposed for tests (no device needed).
namespace uhid {
// A complete `struct uhid_event` of type UHID_CREATE2 for the FIDO descriptor.
Bytes create2_event(const UhidIdentity& identity);
// A complete `struct uhid_event` of type UHID_INPUT2 carrying one report.
Bytes input2_event(const Report& report);
// A complete `struct uhid_event` answering the kernel's UHID_GET_REPORT or UHID_SET_REPORT
// request (`request_type`, with its `id`) with EIO: the device has no feature reports, and
// an answer keeps the caller from waiting.
Bytes report_refusal_event(uint32_t request_type, uint32_t id);
// The report inside an UHID_OUTPUT payload: hidraw writes carry a leading report-ID
// byte (0 for a descriptor without report IDs), so 65 bytes → the last 64; 64 → as is;
// anything else is not a CTAPHID report.
std::optional<Report> report_from_output(ByteView data);
// What to tell the user when opening the uhid node failed with `error_number` (errno).
std::string open_error_message(const std::string& path, int error_number);
}  // namespace uhid

class UhidDevice : public HidDevice {
 public:
  explicit UhidDevice(std::string path = "/dev/uhid", UhidIdentity identity = {});
  ~UhidDevice() override;

  Status open() override;
  Result<HidRead> read_report(Millis timeout) override;
  Status write_report(const Report& report) override;
  void close() override;
  void wake() override;
  std::string describe() const override { return "uhid:" + path_; }

 private:
  Status write_event(ByteView event);

  std::string path_;
  UhidIdentity identity_;
  int fd_ = -1;
  WakeablePoll waiter_;
};

}  // namespace hybrid::bridge
