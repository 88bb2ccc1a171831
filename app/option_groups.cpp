#include "app/option_groups.h"

#include "roles/link_store.h"

namespace hybrid::app {
namespace {

std::string help(HelpPrefix prefix, std::string_view text) { return std::string(prefix.text) + std::string(text); }

}  // namespace

ble::BluezRadioOptions BluetoothOptions::radio_options() const {
  ble::BluezRadioOptions o;
  o.dbus_address = dbus_address;
  o.adapter = adapter;
  o.power_on = power_on;
  return o;
}

void add_bluetooth_options(CLI::App& cmd, BluetoothOptions& o, PowerOnFlag power_on, HelpPrefix prefix) {
  cmd.add_option("--dbus-address", o.dbus_address,
                 help(prefix, "D-Bus address of BlueZ (default: $HYBRID_DBUS_ADDRESS or the system bus; "
                              "`hybrid virtual-air` prints one)"));
  cmd.add_option("--adapter", o.adapter, help(prefix, "Bluetooth adapter, e.g. hci0 (default: the first)"));
  if (power_on == PowerOnFlag::kOffered) {
    cmd.add_flag("--power-on", o.power_on, help(prefix, "turn the Bluetooth adapter on if it is off"));
  }
}

void add_ca_file_option(CLI::App& cmd, std::string& ca_file, HelpPrefix prefix) {
  cmd.add_option("--ca-file", ca_file,
                 help(prefix, "trust the CA certificates in this PEM file for a wss:// tunnel server "
                              "(default: the system CAs)"));
}

void add_tunnel_choice_options(CLI::App& cmd, TunnelChoiceOptions& o, HelpPrefix prefix) {
  cmd.add_option("--tunnel-override", o.tunnel_override,
                 help(prefix, "use this tunnel server (ws://127.0.0.1:PORT or wss://host) instead of the one "
                              "the phone names"));
  add_ca_file_option(cmd, o.ca_file, prefix);
}

void add_linking_options(CLI::App& cmd, LinkingOptions& o, HelpPrefix prefix) {
  cmd.add_option("--phone", o.phone,
                 help(prefix, "reach this linked phone without a QR code (see `hybrid phones list`); a QR "
                              "code is shown if it cannot be reached"));
  cmd.add_option("--link-store", o.link_store,
                 help(prefix, "linked phones file (default: " + roles::LinkStore::default_path() + ")"));
  cmd.add_flag("--no-linking", o.no_linking,
               help(prefix, "do not offer the phone to remember this computer (QR key 4 = false)"));
}

void add_advert_timeout_option(CLI::App& cmd, int& seconds, HelpPrefix prefix) {
  cmd.add_option("--advert-timeout", seconds,
                 help(prefix, "seconds to wait for the phone's BLE advert after showing a QR code"))
      ->capture_default_str();
}

void add_service_timeout_option(CLI::App& cmd, double& seconds) {
  cmd.add_option("--timeout", seconds, "stop after this many seconds (default: run until signalled)");
}

void add_qr_timeout_option(CLI::App& cmd, double& seconds) {
  cmd.add_option("--qr-timeout", seconds, "seconds before an unanswered QR code is replaced (default 60)");
}

void add_no_qr_flag(CLI::App& cmd, bool& no_qr) {
  cmd.add_flag("--no-qr", no_qr, "do not draw the QR code in the terminal");
}

}  // namespace hybrid::app
