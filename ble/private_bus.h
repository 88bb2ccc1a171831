// A private dbus-daemon on a socket in a fresh temporary directory: the bus the virtual air
// and the tests use, so that nothing touches the machine's system or session bus.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>

#include "base/result.h"

namespace hybrid::ble {

class PrivateBus {
 public:
  struct Options {
    // Extra <policy> elements for the bus configuration (tests use a mandatory deny rule
    // to get a real org.freedesktop.DBus.Error.AccessDenied from the daemon).
    std::string extra_policy_xml;
    std::chrono::milliseconds start_timeout{5000};
  };

  // Starts `dbus-daemon --nofork --print-address` with a generated configuration and waits
  // until it prints its address. The daemon dies with this process (PR_SET_PDEATHSIG); the
  // directory of a bus whose process died without cleaning up is removed by a later start().
  static Result<std::unique_ptr<PrivateBus>> start(Options options);
  static Result<std::unique_ptr<PrivateBus>> start() { return start(Options{}); }

  // Stops the daemon (SIGTERM, then SIGKILL after 2 s) and removes the directory.
  ~PrivateBus();
  PrivateBus(const PrivateBus&) = delete;
  PrivateBus& operator=(const PrivateBus&) = delete;

  // "unix:path=/tmp/hybrid-bus-XXXXXX/bus,guid=…"
  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }

 private:
  PrivateBus() = default;
  std::string dir_;
  std::string address_;
  pid_t pid_ = -1;
};

}  // namespace hybrid::ble
