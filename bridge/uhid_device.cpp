#include "bridge/uhid_device.h"

#include <fcntl.h>
#include <linux/uhid.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.h"

namespace hybrid::bridge {
namespace {

constexpr std::string_view kStage = "uhid";
// /dev/uhid is a misc device (major 10) with the fixed minor UHID_MINOR (239).
constexpr unsigned kMiscMajor = 10;
constexpr unsigned kUhidMinor = 239;

std::string errno_text(int e) { return std::strerror(e); }

}  // namespace

const std::array<uint8_t, 34> kFidoReportDescriptor = {
    0x06, 0xd0, 0xf1,  // Usage Page (FIDO Alliance, 0xF1D0)
    0x09, 0x01,        // Usage (CTAPHID authenticator device)
    0xa1, 0x01,        // Collection (Application)
    0x09, 0x20,        //   Usage (Input Report Data)
    0x15, 0x00,        //   Logical Minimum (0)
    0x26, 0xff, 0x00,  //   Logical Maximum (255)
    0x75, 0x08,        //   Report Size (8 bits)
    0x95, 0x40,        //   Report Count (64)
    0x81, 0x02,        //   Input (Data, Variable, Absolute)
    0x09, 0x21,        //   Usage (Output Report Data)
    0x15, 0x00,        //   Logical Minimum (0)
    0x26, 0xff, 0x00,  //   Logical Maximum (255)
    0x75, 0x08,        //   Report Size (8 bits)
    0x95, 0x40,        //   Report Count (64)
    0x91, 0x02,        //   Output (Data, Variable, Absolute)
    0xc0,              // End Collection
};

namespace uhid {

namespace {
Bytes event_bytes(const uhid_event& ev) {
  const auto* p = reinterpret_cast<const uint8_t*>(&ev);
  return Bytes(p, p + sizeof(ev));
}
}  // namespace

Bytes create2_event(const UhidIdentity& identity) {
  uhid_event ev{};
  ev.type = UHID_CREATE2;
  auto& c = ev.u.create2;
  std::strncpy(reinterpret_cast<char*>(c.name), identity.name.c_str(), sizeof(c.name) - 1);
  std::strncpy(reinterpret_cast<char*>(c.phys), identity.phys.c_str(), sizeof(c.phys) - 1);
  c.rd_size = uint16_t(kFidoReportDescriptor.size());
  c.bus = identity.bus;
  c.vendor = identity.vendor;
  c.product = identity.product;
  c.version = identity.version;
  c.country = 0;
  std::memcpy(c.rd_data, kFidoReportDescriptor.data(), kFidoReportDescriptor.size());
  return event_bytes(ev);
}

Bytes input2_event(const Report& report) {
  uhid_event ev{};
  ev.type = UHID_INPUT2;
  ev.u.input2.size = uint16_t(report.size());
  std::memcpy(ev.u.input2.data, report.data(), report.size());
  return event_bytes(ev);
}

Bytes report_refusal_event(uint32_t request_type, uint32_t id) {
  uhid_event ev{};
  if (request_type == UHID_GET_REPORT) {
    ev.type = UHID_GET_REPORT_REPLY;
    ev.u.get_report_reply.id = id;
    ev.u.get_report_reply.err = EIO;
  } else {
    ev.type = UHID_SET_REPORT_REPLY;
    ev.u.set_report_reply.id = id;
    ev.u.set_report_reply.err = EIO;
  }
  return event_bytes(ev);
}

std::optional<Report> report_from_output(ByteView data) {
  if (data.size() == kReportSize + 1) data = data.subspan(1);
  if (data.size() != kReportSize) return std::nullopt;
  Report r{};
  std::copy(data.begin(), data.end(), r.begin());
  return r;
}

std::string open_error_message(const std::string& path, int error_number) {
  if (error_number == ENOENT && path != "/dev/uhid") {
    return path + " does not exist: pass the uhid device node (normally /dev/uhid)";
  }
  if (error_number == ENOENT) {
    return path + " does not exist: the uhid kernel module is not loaded. Run `sudo modprobe uhid` "
           "(and `echo uhid | sudo tee /etc/modules-load.d/uhid.conf` to load it at every boot); "
           "see docs/bridge.md";
  }
  if (error_number == EACCES || error_number == EPERM || error_number == EROFS) {
    return "cannot open " + path + " for reading and writing (" + errno_text(error_number) +
           "): install the udev rule that gives the logged-in user access: "
           "`sudo install -m 0644 deploy/bridge/70-hybrid-bridge-uhid.rules /etc/udev/rules.d/ "
           "&& sudo udevadm control --reload && sudo udevadm trigger --name-match=uhid`, "
           "then log out and in again; see docs/bridge.md";
  }
  return "cannot open " + path + ": " + errno_text(error_number);
}

}  // namespace uhid

UhidDevice::UhidDevice(std::string path, UhidIdentity identity)
    : path_(std::move(path)), identity_(std::move(identity)) {}

UhidDevice::~UhidDevice() { close(); }

Status UhidDevice::open() {
  int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return make_error(uhid::open_error_message(path_, errno));
  struct stat st{};
  if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode)) {
    ::close(fd);
    return make_error(path_ + " is not a character device: pass the uhid device node (normally /dev/uhid)");
  }
  if (major(st.st_rdev) != kMiscMajor || minor(st.st_rdev) != kUhidMinor) {
    ::close(fd);
    return make_error(path_ + " is character device " + std::to_string(major(st.st_rdev)) + ":" +
                      std::to_string(minor(st.st_rdev)) + ", not uhid (" + std::to_string(kMiscMajor) + ":" +
                      std::to_string(kUhidMinor) + "): pass the uhid device node (normally /dev/uhid)");
  }
  fd_ = fd;
  if (auto opened = waiter_.open(); !opened.ok()) {
    close();
    return opened.error();
  }
  auto st2 = write_event(uhid::create2_event(identity_));
  if (!st2.ok()) {
    close();
    return st2.error().with_context("the kernel refused to create the virtual FIDO device");
  }
  log::info(kStage, "virtual FIDO device \"{}\" created through {}", identity_.name, path_);
  return {};
}

Status UhidDevice::write_event(ByteView event) {
  if (fd_ < 0) return make_error("the uhid device is not open");
  for (;;) {
    ssize_t n = ::write(fd_, event.data(), event.size());
    if (n == ssize_t(event.size())) return {};
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, 100);
      continue;
    }
    return make_error("writing to " + path_ + " failed: " + (n < 0 ? errno_text(errno) : "short write"));
  }
}

Result<HidRead> UhidDevice::read_report(Millis timeout) {
  if (fd_ < 0) return make_error("the uhid device is not open");
  auto deadline = Clock::now() + timeout;
  for (;;) {
    std::vector<pollfd> fds{{fd_, POLLIN, 0}};
    HYBRID_TRY(auto outcome, waiter_.wait(fds, deadline));
    if (outcome == WakeablePoll::Outcome::timeout) return HidRead{HidRead::Kind::timeout, {}};
    if (outcome == WakeablePoll::Outcome::woken) return HidRead{HidRead::Kind::woken, {}};
    if (fds[0].revents & (POLLERR | POLLHUP)) return make_error(path_ + " reported an error; the device is gone");
    if (!(fds[0].revents & POLLIN)) continue;
    uhid_event ev{};
    ssize_t n = ::read(fd_, &ev, sizeof ev);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return make_error("reading " + path_ + " failed: " + errno_text(errno));
    }
    if (n == 0) return make_error("end of file reading " + path_ + ": the uhid device is gone");
    if (n < ssize_t(sizeof ev.type)) continue;
    switch (ev.type) {
      case UHID_START:
        log::debug(kStage, "device started");
        break;
      case UHID_STOP:
        log::debug(kStage, "device stopped");
        break;
      case UHID_OPEN:
        log::debug(kStage, "a program opened the device");
        break;
      case UHID_CLOSE:
        log::debug(kStage, "the last program closed the device");
        return HidRead{HidRead::Kind::host_closed, {}};
      case UHID_OUTPUT: {
        if (ev.u.output.rtype != UHID_OUTPUT_REPORT) break;
        size_t size = std::min<size_t>(ev.u.output.size, sizeof ev.u.output.data);
        auto report = uhid::report_from_output(ByteView(ev.u.output.data, size));
        if (!report) {
          log::warn(kStage, "ignoring a {}-byte output report (CTAPHID reports are 64 bytes)", size);
          break;
        }
        return HidRead{HidRead::Kind::report, *report};
      }
      case UHID_GET_REPORT:
        HYBRID_TRY_STATUS(write_event(uhid::report_refusal_event(ev.type, ev.u.get_report.id)));
        break;
      case UHID_SET_REPORT:
        HYBRID_TRY_STATUS(write_event(uhid::report_refusal_event(ev.type, ev.u.set_report.id)));
        break;
      default:
        log::debug(kStage, "ignoring uhid event type {}", uint32_t(ev.type));
        break;
    }
  }
}

Status UhidDevice::write_report(const Report& report) { return write_event(uhid::input2_event(report)); }

void UhidDevice::close() {
  if (fd_ >= 0) {
    uhid_event ev{};
    ev.type = UHID_DESTROY;
    [[maybe_unused]] auto n = ::write(fd_, &ev, sizeof ev);
    ::close(fd_);
    fd_ = -1;
  }
  waiter_.close();
}

void UhidDevice::wake() { waiter_.wake(); }

}  // namespace hybrid::bridge
