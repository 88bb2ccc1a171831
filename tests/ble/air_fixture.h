// The virtual air on a private dbus-daemon (ble::PrivateAir) for the BlueZ tests; a test
// fails at once if it does not start.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>

#include "ble/bluez_radio.h"
#include "ble/private_air.h"

namespace hybrid::ble {

struct Air {
  std::unique_ptr<PrivateAir> running;

  explicit Air(VirtualAirOptions options = {}, PrivateBus::Options bus_options = {}) {
    auto a = PrivateAir::start(std::move(options), std::move(bus_options));
    REQUIRE(a.ok());
    running = std::move(*a);
  }
  VirtualAir& air() { return running->air(); }
  const std::string& address() const { return running->address(); }
  // Stops serving and leaves the bus, as bluetoothd exiting would.
  void stop() { running->stop(); }

  BluezRadioOptions radio_options() const {
    BluezRadioOptions o;
    o.dbus_address = address();
    o.call_timeout = std::chrono::seconds(5);
    return o;
  }
  VirtualAirStats stats() { return air().stats(); }
};

}  // namespace hybrid::ble
