// The virtual air in-process: a private dbus-daemon playing the system bus and a VirtualAir
// serving org.bluez on it from its own thread. What `hybrid demo` and `hybrid browser`
// start so that every role's BlueZ code has an adapter to talk to.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "base/result.h"
#include "ble/private_bus.h"
#include "ble/virtual_air.h"

namespace hybrid::ble {

enum class PrivateAirError {
  no_dbus_daemon = 1,  // dbus-daemon could not be started (is the Debian package dbus installed?)
  air_failed,          // the bus runs but the virtual air could not serve on it
};
HYBRID_ERROR_DOMAIN(PrivateAirError, "private air")

class PrivateAir {
 public:
  // Starts the daemon with SIGINT ignored (inherited across exec): a Ctrl-C in the terminal
  // goes to the whole foreground process group, and the daemon must not die of it before
  // the caller has stopped, in order, what uses the bus. The daemon is stopped with SIGTERM.
  static Result<std::unique_ptr<PrivateAir>> start(VirtualAirOptions options = {},
                                                   PrivateBus::Options bus_options = {});

  // Stops the air, joins its thread, then stops the daemon.
  ~PrivateAir();
  // Stops serving and leaves the bus, as bluetoothd exiting would (the bus stays up).
  void stop();
  PrivateAir(const PrivateAir&) = delete;
  PrivateAir& operator=(const PrivateAir&) = delete;

  const std::string& address() const { return bus_->address(); }
  // The air itself (to broadcast, power off, read stats); valid until stop().
  VirtualAir& air() { return *air_; }

 private:
  PrivateAir() = default;
  std::unique_ptr<PrivateBus> bus_;
  std::unique_ptr<VirtualAir> air_;
  std::thread thread_;
};

}  // namespace hybrid::ble
