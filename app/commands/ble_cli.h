// Shared by every command that uses the BLE radio (ble, sign-in, phone, …): the same
// options, the same exit codes and the same JSON error line for radio failures.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <string>

#include "app/exit_codes.h"
#include "ble/bluez_radio.h"
#include "ble/radio.h"

namespace hybrid::app {

// --dbus-address, --adapter, --power-on on `cmd`, filling `options`.
inline void add_bluez_options(CLI::App* cmd, ble::BluezRadioOptions& options) {
  cmd->add_option("--dbus-address", options.dbus_address,
                  "D-Bus address of the bus BlueZ is on, e.g. the one `hybrid virtual-air` prints "
                  "(default: $HYBRID_DBUS_ADDRESS, else the system bus)");
  cmd->add_option("--adapter", options.adapter, "Bluetooth adapter to use, e.g. hci0 (default: the first one)");
  cmd->add_flag("--power-on", options.power_on, "turn the adapter on if it is powered off");
}

// The CLI exit code for a radio error (see app/exit_codes.h).
inline int exit_code_for_radio_error(const Error& e) {
  auto re = ble::radio_error_of(e);
  if (!re) return kInternalError;
  switch (*re) {
    case ble::RadioError::no_advert_timeout: return kNoAdvert;
    case ble::RadioError::cancelled: return kCancelled;
    default: return kBluetoothUnavailable;
  }
}

// {"ok":false,"error":"powered_off","message":"…"}
inline std::string radio_error_json(const Error& e) {
  auto re = ble::radio_error_of(e);
  nlohmann::json j = {{"ok", false},
                      {"error", re ? std::string(ble::radio_error_name(*re)) : std::string("internal")},
                      {"message", e.message}};
  return j.dump();
}

}  // namespace hybrid::app
