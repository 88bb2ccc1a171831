#include "ble/private_air.h"

#include <signal.h>

#include "base/log.h"

namespace hybrid::ble {

namespace {
constexpr const char* kStage = "ble";
}

Result<std::unique_ptr<PrivateAir>> PrivateAir::start(VirtualAirOptions options, PrivateBus::Options bus_options) {
  std::unique_ptr<PrivateAir> self(new PrivateAir());
  struct sigaction ignore {}, previous {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGINT, &ignore, &previous);
  auto bus = PrivateBus::start(std::move(bus_options));
  sigaction(SIGINT, &previous, nullptr);
  if (!bus.ok()) {
    return Error(PrivateAirError::no_dbus_daemon,
                 "could not start a private dbus-daemon (install the Debian package dbus): " + bus.error().message);
  }
  self->bus_ = std::move(*bus);
  auto air = VirtualAir::create(self->bus_->address(), std::move(options));
  if (!air.ok()) return Error(PrivateAirError::air_failed, "could not start the virtual air: " + air.error().message);
  self->air_ = std::move(*air);
  self->thread_ = std::thread([air = self->air_.get()] {
    if (auto st = air->run(); !st.ok()) log::error(kStage, "the virtual air stopped: {}", st.error().message);
  });
  return self;
}

void PrivateAir::stop() {
  if (air_) air_->stop();
  if (thread_.joinable()) thread_.join();
  air_.reset();
}

PrivateAir::~PrivateAir() {
  stop();
  bus_.reset();
}

}  // namespace hybrid::ble
