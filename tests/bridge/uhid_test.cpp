// The uhid edge without a /dev/uhid (none on CI): the kernel event layouts, the report-ID
// handling of output reports, and the errors a user sees.
#include <catch2/catch.hpp>

#include <linux/uhid.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "bridge/uhid_device.h"

using namespace hybrid;
using namespace hybrid::bridge;

TEST_CASE("the report descriptor declares the FIDO usage page with 64-byte input and output reports") {
  const auto& d = kFidoReportDescriptor;
  CHECK(Bytes(d.begin(), d.begin() + 5) == Bytes{0x06, 0xd0, 0xf1, 0x09, 0x01});  // page 0xF1D0, usage 1
  // Walk the short items: report size 8 × count 64 before each Input and Output item.
  int report_size = 0, report_count = 0, inputs = 0, outputs = 0;
  for (size_t i = 0; i < d.size();) {
    uint8_t prefix = d[i];
    size_t len = prefix & 0x03;
    uint32_t value = 0;
    for (size_t k = 0; k < len; ++k) value |= uint32_t(d[i + 1 + k]) << (8 * k);
    switch (prefix & 0xfc) {
      case 0x74: report_size = int(value); break;
      case 0x94: report_count = int(value); break;
      case 0x80: ++inputs; CHECK(report_size * report_count == 64 * 8); break;
      case 0x90: ++outputs; CHECK(report_size * report_count == 64 * 8); break;
      default: break;
    }
    i += 1 + len;
  }
  CHECK(inputs == 1);
  CHECK(outputs == 1);
  CHECK(d.back() == 0xc0);  // End Collection
}

TEST_CASE("UHID_CREATE2 carries the identity and the descriptor") {
  UhidIdentity id;
  auto bytes = uhid::create2_event(id);
  REQUIRE(bytes.size() == sizeof(uhid_event));
  uhid_event ev;
  std::memcpy(&ev, bytes.data(), sizeof ev);
  CHECK(ev.type == UHID_CREATE2);
  CHECK(std::string(reinterpret_cast<const char*>(ev.u.create2.name)) == id.name);
  CHECK(ev.u.create2.rd_size == kFidoReportDescriptor.size());
  CHECK(ev.u.create2.bus == 0x03);
  CHECK(ev.u.create2.vendor == id.vendor);
  CHECK(ev.u.create2.product == id.product);
  CHECK(std::memcmp(ev.u.create2.rd_data, kFidoReportDescriptor.data(), kFidoReportDescriptor.size()) == 0);
}

TEST_CASE("UHID_INPUT2 carries one 64-byte report") {
  Report r{};
  for (size_t i = 0; i < r.size(); ++i) r[i] = uint8_t(i + 1);
  auto bytes = uhid::input2_event(r);
  uhid_event ev;
  std::memcpy(&ev, bytes.data(), sizeof ev);
  CHECK(ev.type == UHID_INPUT2);
  CHECK(ev.u.input2.size == 64);
  CHECK(std::memcmp(ev.u.input2.data, r.data(), 64) == 0);
}

TEST_CASE("GET_REPORT and SET_REPORT requests are answered with EIO and their id") {
  const auto decode = [](const Bytes& bytes) {
    uhid_event ev{};
    REQUIRE(bytes.size() == sizeof ev);
    std::memcpy(&ev, bytes.data(), sizeof ev);
    return ev;
  };
  uhid_event get = decode(uhid::report_refusal_event(UHID_GET_REPORT, 7));
  CHECK(get.type == UHID_GET_REPORT_REPLY);
  CHECK((get.u.get_report_reply.id == 7 && get.u.get_report_reply.err == EIO));
  uhid_event set = decode(uhid::report_refusal_event(UHID_SET_REPORT, 9));
  CHECK(set.type == UHID_SET_REPORT_REPLY);
  CHECK((set.u.set_report_reply.id == 9 && set.u.set_report_reply.err == EIO));
}

TEST_CASE("output reports: the hidraw report-ID byte is dropped, other sizes are refused") {
  Bytes with_id(65);
  with_id[0] = 0;
  for (size_t i = 1; i < 65; ++i) with_id[i] = uint8_t(i);
  auto r = uhid::report_from_output(with_id);
  REQUIRE(r.has_value());
  CHECK((*r)[0] == 1);
  CHECK((*r)[63] == 64);
  Bytes plain(64, 7);
  REQUIRE(uhid::report_from_output(plain).has_value());
  CHECK((*uhid::report_from_output(plain))[0] == 7);
  CHECK_FALSE(uhid::report_from_output(Bytes(63, 0)).has_value());
  CHECK_FALSE(uhid::report_from_output(Bytes(66, 0)).has_value());
  CHECK_FALSE(uhid::report_from_output(Bytes{}).has_value());
}

TEST_CASE("errors name the fix: module missing, permission (udev rule), wrong node") {
  auto missing = uhid::open_error_message("/dev/uhid", ENOENT);
  CHECK(missing.find("modprobe uhid") != std::string::npos);
  auto denied = uhid::open_error_message("/dev/uhid", EACCES);
  CHECK(denied.find("deploy/bridge/70-hybrid-bridge-uhid.rules") != std::string::npos);
  CHECK(denied.find("udevadm") != std::string::npos);
  CHECK(uhid::open_error_message("/dev/uhid", EPERM).find("udev rule") != std::string::npos);
  CHECK(uhid::open_error_message("/tmp/x", ENOENT).find("/dev/uhid") != std::string::npos);

  UhidDevice nowhere("/nonexistent/dir/uhid");
  auto st = nowhere.open();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message.find("does not exist") != std::string::npos);

  char tmpl[] = "/tmp/bridge-uhid-test-XXXXXX";
  int fd = mkstemp(tmpl);
  REQUIRE(fd >= 0);
  ::close(fd);
  UhidDevice regular(tmpl);
  st = regular.open();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message.find("not a character device") != std::string::npos);
  ::unlink(tmpl);

  // A character device that is not uhid is refused before anything is written to it.
  UhidDevice null_device("/dev/null");
  st = null_device.open();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message.find("not uhid") != std::string::npos);
}
