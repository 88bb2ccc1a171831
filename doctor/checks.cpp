#include "doctor/checks.h"

#include <fmt/format.h>

#include <cstdlib>
#include <optional>
#include <string>

namespace hybrid::doctor {
namespace {

CheckResult ok(std::string name, std::string detail) { return {std::move(name), CheckStatus::ok, std::move(detail), ""}; }
CheckResult warn(std::string name, std::string detail, std::string fix) {
  return {std::move(name), CheckStatus::warn, std::move(detail), std::move(fix)};
}
CheckResult fail(std::string name, std::string detail, std::string fix) {
  return {std::move(name), CheckStatus::fail, std::move(detail), std::move(fix)};
}
CheckResult skipped(std::string name, std::string because) {
  return {std::move(name), CheckStatus::skipped, "not checked: " + because, ""};
}

const std::string kPolicyFix =
    "the D-Bus policy for org.bluez (bluetooth.conf in /usr/share/dbus-1/system.d or /etc/dbus-1/system.d) must "
    "allow your user: add it to the `bluetooth` group (`sudo usermod -aG bluetooth $USER`, then log in again); in a "
    "container or sandbox (Flatpak, Snap), give it the host's system bus and talk-name org.bluez";

bool is_denied(const std::optional<ble::ProbeError>& e) {
  return e && (e->name == "org.freedesktop.DBus.Error.AccessDenied" || e->name == "org.bluez.Error.NotAuthorized" ||
               e->name == "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired");
}

std::string text(const ble::ProbeError& e) { return e.message.empty() ? e.name : e.name + " \"" + e.message + "\""; }

const ble::ProbedAdapter* chosen(const ble::BluezProbe& p) { return p.chosen ? &p.adapters[*p.chosen] : nullptr; }

bool blocked_by_power_state(const ble::ProbedAdapter& a) {
  return a.power_state == "off-blocked" || a.rfkill_blocked_sysfs;
}

// Bluetooth switches in sysfs (only meaningful on the machine's own bus).
const RfkillSwitch* blocked_switch(const ble::BluezProbe& p, const RfkillFacts& r) {
  if (!p.system_bus) return nullptr;
  for (const auto& s : r.switches) {
    if (s.type == "bluetooth" && (s.soft || s.hard)) return &s;
  }
  return nullptr;
}

CheckResult check_dbus(const ble::BluezProbe& p) {
  if (!p.bus_error) return ok("dbus", "connected to " + p.bus_text);
  std::string fix = p.system_bus || p.bus_text == "the system D-Bus"
                        ? "start the D-Bus system service (`sudo systemctl start dbus`); in a container, mount the "
                          "host's /run/dbus/system_bus_socket; without Bluetooth hardware, run `hybrid virtual-air` "
                          "and pass the address it prints with --dbus-address"
                        : "start `hybrid virtual-air` (or the bus at that address) again and pass the address it "
                          "prints with --dbus-address, or drop --dbus-address and $HYBRID_DBUS_ADDRESS to use the "
                          "system bus";
  return fail("dbus", *p.bus_error, fix);
}

CheckResult check_bluez(const ble::BluezProbe& p) {
  if (p.bus_error) return skipped("bluez", "no D-Bus");
  if (!p.bluez_running) {
    return fail("bluez", "nothing owns the name org.bluez on " + p.bus_text + ": BlueZ (bluetoothd) is not running",
                p.system_bus ? "install and start BlueZ: `sudo apt install bluez && sudo systemctl enable --now "
                               "bluetooth`; without Bluetooth hardware, use `hybrid virtual-air` and --dbus-address"
                             : "start `hybrid virtual-air` on that bus, or drop --dbus-address to use the system's "
                               "BlueZ");
  }
  if (p.objects_error) {
    if (is_denied(p.objects_error)) {
      return fail("bluez", "BlueZ runs, but the bus refused to let us list its objects (" + text(*p.objects_error) + ")",
                  kPolicyFix);
    }
    return fail("bluez", "BlueZ runs, but did not list its objects (" + text(*p.objects_error) + ")",
                "see `journalctl -u bluetooth`; try `sudo systemctl restart bluetooth`");
  }
  return ok("bluez", "org.bluez is running on " + p.bus_text);
}

CheckResult check_adapter(const ble::BluezProbe& p) {
  if (p.bus_error || !p.bluez_running || p.objects_error) return skipped("adapter", "BlueZ is not reachable");
  std::string available;
  for (const auto& a : p.adapters) available += (available.empty() ? "" : ", ") + a.name;
  if (p.adapters.empty()) {
    return fail("adapter", "BlueZ lists no Bluetooth adapter",
                "plug in a Bluetooth LE adapter (in a virtual machine, pass the USB adapter through); check "
                "`bluetoothctl list` and `sudo dmesg | grep -i bluetooth`");
  }
  const auto* a = chosen(p);
  if (!a) {
    return fail("adapter", "Bluetooth adapter " + p.wanted_adapter + " not found (BlueZ has: " + available + ")",
                "pick one of those with --adapter");
  }
  if (!a->can_advertise) {
    return warn("adapter",
                "adapter " + a->name + " found, but it offers no LEAdvertisingManager1: it cannot advertise, so "
                "`hybrid phone` cannot use it (sign-in and register can)",
                "use a Bluetooth LE adapter for the phone role (pick it with --adapter)");
  }
  return ok("adapter", "adapter " + a->name + " (BlueZ has: " + available + ")");
}

CheckResult check_powered(const ble::BluezProbe& p, const RfkillFacts& r, bool power_on) {
  const auto* a = chosen(p);
  if (!a) return skipped("powered", "no adapter");
  if (a->powered) return ok("powered", "adapter " + a->name + " is powered");
  if (blocked_by_power_state(*a) || blocked_switch(p, r)) {
    return fail("powered", "adapter " + a->name + " is off and blocked by rfkill (airplane mode or a kill switch)",
                "unblock it with `rfkill unblock bluetooth` (or the Bluetooth switch / airplane mode), then "
                "`bluetoothctl power on`");
  }
  if (power_on) return ok("powered", "adapter " + a->name + " is off; --power-on will turn it on");
  return fail("powered", "adapter " + a->name + " is powered off",
              "turn Bluetooth on (`bluetoothctl power on`, or the desktop's Bluetooth switch), or pass --power-on to "
              "sign-in, register and phone");
}

CheckResult check_rfkill(const ble::BluezProbe& p, const RfkillFacts& r) {
  if (const auto* s = blocked_switch(p, r)) {
    if (s->hard) {
      return fail("rfkill", "Bluetooth switch " + s->name + " is hard-blocked (a hardware switch or the firmware)",
                  "flip the laptop's wireless switch or key (Fn+F-key), or enable Bluetooth in the firmware setup");
    }
    return fail("rfkill", "Bluetooth switch " + s->name + " is soft-blocked (airplane mode)",
                r.dev_present ? "`rfkill unblock bluetooth`, or leave airplane mode"
                              : "leave airplane mode; /dev/rfkill is missing, so the `rfkill` command cannot help "
                                "here: check the kernel's rfkill module");
  }
  if (const auto* a = chosen(p); a && a->power_state == "off-blocked") {
    return fail("rfkill", "BlueZ reports adapter " + a->name + " as off-blocked (rfkill)",
                "`rfkill unblock bluetooth`, or leave airplane mode");
  }
  if (!p.system_bus) return ok("rfkill", "not blocked (" + p.bus_text + " is not this machine's own Bluetooth)");
  if (!r.sysfs_present) return ok("rfkill", "no rfkill switches on this machine (/sys/class/rfkill absent)");
  int bt = 0;
  for (const auto& s : r.switches) bt += s.type == "bluetooth";
  return ok("rfkill", fmt::format("{} Bluetooth rfkill switch(es), none blocked{}", bt,
                                  r.dev_present ? "" : " (/dev/rfkill absent)"));
}

// The shared part of the two policy checks.
std::optional<CheckResult> denied(const char* name, const char* what, const ble::ProbedCall& c) {
  if (is_denied(c.error)) {
    return fail(name, std::string("the bus refused ") + what + " (" + text(*c.error) + ")", kPolicyFix);
  }
  return std::nullopt;
}

CheckResult check_discovery(const ble::BluezProbe& p) {
  const auto* a = chosen(p);
  if (!a || !p.discovery_filter.tried) return skipped("discovery-policy", a ? "not tried" : "no adapter");
  if (auto d = denied("discovery-policy", "Adapter1.SetDiscoveryFilter", p.discovery_filter)) return *d;
  if (auto d = denied("discovery-policy", "Adapter1.StartDiscovery", p.start_discovery)) return *d;
  const auto& e = p.start_discovery.error;
  if (!e) return ok("discovery-policy", "discovery starts and stops on " + a->name);
  if (e->name == "org.bluez.Error.NotReady") {
    return ok("discovery-policy", "the bus allows discovery (BlueZ answered NotReady: the adapter is off)");
  }
  if (e->name == "org.bluez.Error.InProgress" || e->name == "org.bluez.Error.Busy") {
    return warn("discovery-policy", "discovery is allowed but " + a->name + " is busy (" + text(*e) + ")",
                "stop other scanners (`bluetoothctl scan off`, `btmgmt find`, `hcitool lescan`)");
  }
  return warn("discovery-policy", "the bus allows discovery, but StartDiscovery failed (" + text(*e) + ")",
              "see `journalctl -u bluetooth`; try `sudo systemctl restart bluetooth`");
}

CheckResult check_advertising(const ble::BluezProbe& p) {
  const auto* a = chosen(p);
  if (!a || !p.register_advertisement.tried) return skipped("advertising-policy", a ? "not tried" : "no adapter");
  if (auto d = denied("advertising-policy", "LEAdvertisingManager1.RegisterAdvertisement", p.register_advertisement)) {
    return *d;
  }
  const auto& e = p.register_advertisement.error;
  // The probe registers an object it does not export: BlueZ cannot read it and answers Failed.
  if (!e || e->name == "org.bluez.Error.Failed" || e->name == "org.bluez.Error.InvalidArguments" ||
      e->name == "org.bluez.Error.NotReady") {
    return ok("advertising-policy", "the bus lets this user register advertisements on " + a->name);
  }
  if (e->name == "org.bluez.Error.NotPermitted") {
    return warn("advertising-policy", "advertising is allowed, but " + a->name + " has no free slot (" + text(*e) + ")",
                "stop other advertisers (`bluetoothctl advertise off`) and try again");
  }
  if (e->name.rfind("org.freedesktop.DBus.Error.Unknown", 0) == 0 || e->name == "org.bluez.Error.NotSupported") {
    return warn("advertising-policy", a->name + " cannot advertise (" + text(*e) + "): only `hybrid phone` needs that",
                "use a Bluetooth LE adapter for the phone role");
  }
  return warn("advertising-policy", "RegisterAdvertisement answered " + text(*e),
              "see `journalctl -u bluetooth`");
}

std::string mode_text(mode_t m) { return fmt::format("{:04o}", static_cast<unsigned>(m & 07777)); }

}  // namespace

std::string_view status_name(CheckStatus s) {
  switch (s) {
    case CheckStatus::ok: return "ok";
    case CheckStatus::warn: return "warn";
    case CheckStatus::fail: return "fail";
    case CheckStatus::skipped: return "skipped";
  }
  return "?";
}

std::vector<CheckResult> check_bluetooth(const ble::BluezProbe& p, const RfkillFacts& r) {
  return {check_dbus(p),     check_bluez(p),        check_adapter(p),    check_powered(p, r, false),
          check_rfkill(p, r), check_discovery(p), check_advertising(p)};
}

std::vector<CheckResult> check_bluetooth_fast(const ble::BluezProbe& p, const RfkillFacts& r, bool power_on) {
  std::vector<CheckResult> out{check_dbus(p), check_bluez(p), check_adapter(p), check_powered(p, r, power_on)};
  // The adapter check only warns about advertising; the PC's side does not advertise.
  if (out[2].status == CheckStatus::warn) out[2].status = CheckStatus::ok;
  return out;
}

CheckResult check_uhid(const UhidFacts& u) {
  const char* who = "only `hybrid bridge` needs it";
  if (!u.exists) {
    return warn("uhid", u.path + " does not exist" + (u.module_loaded ? "" : " (the uhid module is not loaded)") +
                            "; " + who,
                "`sudo modprobe uhid` and `echo uhid | sudo tee /etc/modules-load.d/hybrid-bridge-uhid.conf` "
                "(docs/bridge.md)");
  }
  if (!u.read_write) {
    return warn("uhid", u.path + " exists but this user cannot open it read-write; " + who,
                "install deploy/bridge/70-hybrid-bridge-uhid.rules in /etc/udev/rules.d, run `sudo udevadm "
                "control --reload && sudo udevadm trigger --name-match=uhid`, then log in again (docs/bridge.md)");
  }
  return ok("uhid", u.path + " is readable and writable");
}

CheckResult check_tunnel(const TunnelFacts& t) {
  const auto& r = t.probe;
  std::string ca = t.ca_file.empty() ? "the system CA store" : "CA file " + t.ca_file;
  using F = tunnel::ProbeFailure;
  switch (r.failure) {
    case F::none: break;
    case F::invalid_url:
      return fail("tunnel", t.url + " is not a tunnel URL: " + r.error, "pass --tunnel wss://HOST[:PORT]");
    case F::dns:
      return fail("tunnel", r.error, "check the name and this machine's DNS (`resolvectl query HOST`), or the network");
    case F::connect:
      return fail("tunnel", r.error,
                  "is the tunnel service running and listening there? check the address, the port and firewalls "
                  "between here and it");
    case F::timeout:
      return fail("tunnel", r.error + " (" + t.url + ")",
                  "a firewall or proxy may drop the connection: check that outgoing HTTPS to that host is allowed");
    case F::tls:
      return fail("tunnel", r.error + " (checked against " + ca + ")",
                  t.ca_file.empty()
                      ? "if the service uses a private CA, pass it with --ca-file (sign-in and register take the same "
                        "option); a TLS-intercepting proxy or a wrong clock also break this"
                      : "pass the CA that signed the service's certificate with --ca-file, or drop --ca-file for a "
                        "publicly trusted certificate");
    case F::protocol:
      return fail("tunnel", r.error, "is that the tunnel service's address and port (not another program)?");
  }
  std::string how = r.tls ? "over " + r.tls_version + ", certificate verified against " + ca : "without TLS (ws://)";
  std::string detail = fmt::format("{} answered HTTP {} {}", r.address, r.status, how);
  if (r.status >= 500) {
    return warn("tunnel", detail, "the service reports a server error: see its logs (journalctl -u hybrid-tunnel@…)");
  }
  if (!r.tls) {
    return warn("tunnel", detail, "plain ws:// is for tests on one machine; real phones only use wss://");
  }
  return ok("tunnel", detail);
}

CheckResult check_clock(const TunnelFacts& t) {
  if (t.probe.failure != tunnel::ProbeFailure::none) return skipped("clock", "the tunnel service was not reached");
  if (!t.probe.date) return skipped("clock", "the tunnel service sent no Date header");
  long skew = static_cast<long>(t.local_time - *t.probe.date);
  std::string detail = skew == 0 ? "this clock agrees with the tunnel service's Date header (to the second)"
                                 : fmt::format("this clock is {} s {} the tunnel service's", std::labs(skew),
                                               skew > 0 ? "ahead of" : "behind");
  const char* fix = "turn on time synchronisation: `sudo timedatectl set-ntp true` (systemd-timesyncd or chrony)";
  if (std::labs(skew) > kClockFailSeconds) return fail("clock", detail + ": certificates will not verify", fix);
  if (std::labs(skew) > kClockWarnSeconds) return warn("clock", detail, fix);
  return ok("clock", detail);
}

CheckResult check_store(const PathFacts& f) {
  std::string name = "store:" + f.role;
  if (!f.exists) {
    if (f.writable) return ok(name, f.path + " does not exist yet; it will be created on first use");
    return fail(name, f.path + " does not exist and cannot be created (" + f.nearest_existing + " is not writable)",
                "create it yourself (`mkdir -p " + (f.is_directory_role ? f.path : f.nearest_existing) +
                    "`), or point XDG_DATA_HOME at a writable directory");
  }
  if (f.is_directory_role != f.is_directory) {
    return fail(name, f.path + (f.is_directory ? " is a directory" : " is not a directory"),
                "move it away: this program keeps its " + f.role + " there");
  }
  if (!f.writable) {
    return fail(name, f.path + " is not writable by this user (mode " + mode_text(f.mode) + ", owner uid " +
                          std::to_string(f.owner) + ")",
                "`sudo chown $USER " + f.path + "` (and `chmod u+w`)");
  }
  if (f.owner != f.me) {
    return warn(name, f.path + " belongs to uid " + std::to_string(f.owner) + ", not to this user (uid " +
                          std::to_string(f.me) + ")",
                "`sudo chown $USER " + f.path + "`");
  }
  if (f.is_directory && (f.mode & 022)) {
    return warn(name, f.path + " is writable by other users (mode " + mode_text(f.mode) + ")",
                "`chmod go-w " + f.path + "`");
  }
  if (!f.is_directory && (f.mode & 077)) {
    return warn(name, f.path + " is readable by other users (mode " + mode_text(f.mode) + "); it holds secrets",
                "`chmod 600 " + f.path + "`");
  }
  return ok(name, f.path + " (mode " + mode_text(f.mode) + ")");
}

}  // namespace hybrid::doctor
