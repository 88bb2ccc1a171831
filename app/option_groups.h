// Command-line options that several `hybrid` commands share, each group declared once: the
// option names, their help text and where the values go. A command holds the group's struct
// among its own arguments and adds the group to its CLI::App.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>

#include "ble/bluez_radio.h"

namespace hybrid::app {

// What a help text starts with where one command mixes options for several parts (the
// bridge's "hybrid backend: "); empty elsewhere.
struct HelpPrefix {
  std::string_view text;
};

// --dbus-address, --adapter and, where the command may switch the adapter on, --power-on.
struct BluetoothOptions {
  std::string dbus_address;
  std::string adapter;
  bool power_on = false;

  ble::BluezRadioOptions radio_options() const;
};
enum class PowerOnFlag { kOffered, kNotOffered };
void add_bluetooth_options(CLI::App& cmd, BluetoothOptions& o, PowerOnFlag power_on = PowerOnFlag::kOffered,
                           HelpPrefix prefix = {});

// --ca-file: the CAs to trust for a wss:// tunnel server.
void add_ca_file_option(CLI::App& cmd, std::string& ca_file, HelpPrefix prefix = {});

// The PC's side of the tunnel: --tunnel-override (instead of the one the phone names) and
// --ca-file.
struct TunnelChoiceOptions {
  std::string tunnel_override;
  std::string ca_file;
};
void add_tunnel_choice_options(CLI::App& cmd, TunnelChoiceOptions& o, HelpPrefix prefix = {});

// Linked phones: --phone (reach one without a QR code), --link-store, --no-linking.
struct LinkingOptions {
  std::string phone;
  std::string link_store;
  bool no_linking = false;
};
void add_linking_options(CLI::App& cmd, LinkingOptions& o, HelpPrefix prefix = {});

// --advert-timeout: seconds to wait for the phone's BLE advert after a QR code is shown.
void add_advert_timeout_option(CLI::App& cmd, int& seconds, HelpPrefix prefix = {});

// --timeout of a long-running service: stop after this many seconds (0: until signalled).
void add_service_timeout_option(CLI::App& cmd, double& seconds);

// --qr-timeout: seconds before an unanswered QR code is replaced.
void add_qr_timeout_option(CLI::App& cmd, double& seconds);

// --no-qr: do not draw the QR code in the terminal.
void add_no_qr_flag(CLI::App& cmd, bool& no_qr);

}  // namespace hybrid::app
