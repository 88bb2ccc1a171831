#include "ble/bluez_errors.h"

namespace hybrid::ble {

std::string adapter_name(std::string_view adapter_path) {
  auto slash = adapter_path.rfind('/');
  return std::string(slash == std::string_view::npos ? adapter_path : adapter_path.substr(slash + 1));
}

Error bluez_not_running_error(std::string_view bus) {
  std::string b(bus);
  bool system = b == "the system D-Bus";
  return radio_error(RadioError::bluez_not_running,
                     "BlueZ (the org.bluez service) is not running on " + b +
                         (system ? ": start it with `sudo systemctl start bluetooth` (package bluez), or use "
                                   "`hybrid virtual-air` and pass its address with --dbus-address"
                                 : ": start `hybrid virtual-air` on that bus, or drop --dbus-address to use the "
                                   "system's BlueZ"));
}

Error powered_off_error(std::string_view adapter) {
  return radio_error(RadioError::powered_off, "Bluetooth adapter " + std::string(adapter) +
                                                  " is powered off: turn Bluetooth on, or run again with --power-on");
}

Error rfkill_blocked_error(std::string_view adapter) {
  return radio_error(RadioError::rfkill_blocked,
                     "Bluetooth adapter " + std::string(adapter) +
                         " is blocked by rfkill (airplane mode or a Bluetooth kill switch): unblock it with "
                         "`rfkill unblock bluetooth` or the Bluetooth switch, then try again");
}

Error no_adapter_error(std::string_view wanted, std::string_view available) {
  if (available.empty()) {
    return radio_error(RadioError::no_adapter,
                       "no Bluetooth adapter found (BlueZ lists none): plug in a Bluetooth LE adapter and check "
                       "`bluetoothctl list`");
  }
  return radio_error(RadioError::no_adapter, "Bluetooth adapter " + std::string(wanted) +
                                                 " not found (BlueZ has: " + std::string(available) +
                                                 "): pick one of those with --adapter");
}

Error map_bluez_error(const BluezCall& call, std::string_view name, std::string_view message) {
  std::string method(call.method);
  std::string adapter(call.adapter);
  std::string detail = std::string(name) + (message.empty() ? "" : " \"" + std::string(message) + "\"");
  bool advertising = method.find("Advertisement") != std::string::npos;

  if (name == "org.freedesktop.DBus.Error.ServiceUnknown" || name == "org.freedesktop.DBus.Error.NameHasNoOwner") {
    return bluez_not_running_error(call.bus);
  }
  if (name == "org.freedesktop.DBus.Error.AccessDenied" || name == "org.bluez.Error.NotAuthorized" ||
      name == "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired" ||
      (name == "org.bluez.Error.NotPermitted" && !advertising)) {
    return radio_error(RadioError::permission_denied,
                       "not allowed to call BlueZ's " + method + " on " + std::string(call.bus) + " (" + detail +
                           "): the D-Bus policy for org.bluez (bluetooth.conf in /usr/share/dbus-1/system.d or "
                           "/etc/dbus-1/system.d) must allow your user, e.g. add it to the `bluetooth` group; "
                           "in a container or sandbox (Flatpak, Snap), give it the host's system bus and "
                           "org.bluez");
  }
  if (name == "org.bluez.Error.Blocked") return rfkill_blocked_error(adapter);
  if (name == "org.bluez.Error.NotReady") return powered_off_error(adapter);
  if (name == "org.bluez.Error.InProgress" || name == "org.bluez.Error.Busy") {
    return radio_error(RadioError::discovery_busy,
                       "Bluetooth adapter " + adapter + " refused " + method + " because another operation is in "
                           "progress (" + detail + "): stop other Bluetooth scanners (`bluetoothctl scan`, "
                           "`btmgmt find`, `hcitool lescan`) and try again");
  }
  if (name == "org.freedesktop.DBus.Error.UnknownObject" || name == "org.freedesktop.DBus.Error.UnknownInterface" ||
      name == "org.freedesktop.DBus.Error.UnknownMethod" || name == "org.bluez.Error.NotSupported") {
    return radio_error(RadioError::no_adapter, "Bluetooth adapter " + adapter + " does not offer " + method + " (" +
                                                   detail + "): it was removed, or it does not support "
                                                   "Bluetooth LE; check `bluetoothctl list`");
  }
  if (advertising && (name == "org.bluez.Error.InvalidArguments" || name == "org.bluez.Error.InvalidLength" ||
                      name == "org.bluez.Error.AlreadyExists" || name == "org.bluez.Error.NotPermitted" ||
                      name == "org.bluez.Error.Failed")) {
    std::string hint = name == "org.bluez.Error.NotPermitted"
                           ? "the adapter has no free advertising slot: stop other advertisers and try again"
                           : "the advert must fit the 31-byte legacy advertising budget (20 bytes of 0xFFF9 "
                             "service data, no name, no TX power)";
    return radio_error(RadioError::advertising_rejected,
                       "BlueZ refused the advertisement on adapter " + adapter + " (" + detail + "): " + hint);
  }
  if (name == "org.freedesktop.DBus.Error.NoReply" || name == "org.freedesktop.DBus.Error.Timeout" ||
      name == "org.freedesktop.DBus.Error.TimedOut") {
    return radio_error(RadioError::dbus_failure, "BlueZ did not answer " + method + " on " + std::string(call.bus) +
                                                     " in time (" + detail + "): is bluetoothd stuck? Try "
                                                     "`sudo systemctl restart bluetooth`");
  }
  return radio_error(RadioError::dbus_failure, "BlueZ's " + method + " on adapter " + adapter + " failed (" +
                                                   detail + "); see `journalctl -u bluetooth` for details");
}

}  // namespace hybrid::ble
