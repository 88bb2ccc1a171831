// `hybrid virtual-air`: a fake org.bluez on a private (or given) D-Bus, so that the client's
// listener and the software phone's advertiser run their real BlueZ code on machines
// without Bluetooth. Prints {"ready":true,"dbus_address":"…"} once serving.
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "app/command_registry.h"
#include "app/exit_codes.h"
#include "app/option_groups.h"
#include "base/log.h"
#include "ble/private_bus.h"
#include "ble/virtual_air.h"

namespace hybrid::app {
namespace {

ble::VirtualAir* g_air = nullptr;

void on_signal(int) {
  if (g_air) g_air->stop();  // async-signal-safe
}

struct Args {
  std::string dbus_address;
  ble::VirtualAirOptions air;
  std::vector<std::string> fail;
  double timeout_s = 0;
  int advert_interval_ms = 100;
  int temporary_timeout_ms = 30000;
  bool powered_off = false;
};

void run(Args& a) {
  for (const auto& spec : a.fail) {
    if (auto st = ble::add_method_error(a.air, spec); !st) {
      std::fprintf(stderr, "hybrid virtual-air: %s\n", st.error().message.c_str());
      set_exit_code(kUsage);
      return;
    }
  }
  a.air.advert_interval = std::chrono::milliseconds(a.advert_interval_ms);
  a.air.temporary_timeout = std::chrono::milliseconds(a.temporary_timeout_ms);
  if (a.powered_off) a.air.powered = false;

  std::unique_ptr<ble::PrivateBus> private_bus;
  std::string address = a.dbus_address;
  if (address.empty()) {
    auto bus = ble::PrivateBus::start();
    if (!bus) {
      std::fprintf(stderr, "hybrid virtual-air: %s\n", bus.error().message.c_str());
      set_exit_code(kInternalError);
      return;
    }
    private_bus = std::move(*bus);
    address = private_bus->address();
  }
  auto air = ble::VirtualAir::create(address, a.air);
  if (!air) {
    std::fprintf(stderr, "hybrid virtual-air: %s\n", air.error().message.c_str());
    set_exit_code(kInternalError);
    return;
  }
  g_air = air->get();
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  sigaction(SIGALRM, &sa, nullptr);
  if (a.timeout_s > 0) alarm(static_cast<unsigned>(a.timeout_s + 0.999));

  nlohmann::json ready = {{"ready", true},
                          {"dbus_address", address},
                          {"adapter", a.air.no_adapter ? "" : a.air.adapter},
                          {"private_bus", private_bus != nullptr}};
  std::cout << ready.dump() << std::endl;
  sd_notify(0, "READY=1");
  log::info("virtual-air", "serving org.bluez on {}{}", address,
            private_bus ? " (private dbus-daemon; stop with Ctrl-C)" : "");

  Status st = (*air)->run();
  g_air = nullptr;
  sd_notify(0, "STOPPING=1");
  if (!st) {
    std::fprintf(stderr, "hybrid virtual-air: %s\n", st.error().message.c_str());
    set_exit_code(kInternalError);
    return;
  }
  set_exit_code(kOk);
}

const CommandRegistration kVirtualAir("virtual-air", 50, [](CLI::App& root) {
  auto args = std::make_shared<Args>();
  auto* cmd = root.add_subcommand(
      "virtual-air",
      "Serve a fake BlueZ (org.bluez: one adapter with Adapter1 and LEAdvertisingManager1) on a D-Bus, "
      "so that processes without Bluetooth see each other's adverts. Without --dbus-address it starts a "
      "private dbus-daemon. Prints {\"ready\":true,\"dbus_address\":\"…\"} once serving; pass that address "
      "to other commands with --dbus-address (or $HYBRID_DBUS_ADDRESS). Stops on SIGINT/SIGTERM.");
  cmd->add_option("--dbus-address", args->dbus_address, "serve on this bus instead of starting a private one");
  cmd->add_option("--adapter", args->air.adapter, "adapter name (default hci0)");
  cmd->add_flag("--no-adapter", args->air.no_adapter, "simulate a machine with BlueZ but no adapter");
  cmd->add_flag("--powered-off", args->powered_off, "start with the adapter powered off (Powered can be set true)");
  cmd->add_flag("--rfkill-blocked", args->air.rfkill_blocked,
                "simulate rfkill: adapter off, PowerState off-blocked, powering on fails with org.bluez.Error.Blocked");
  cmd->add_option("--fail", args->fail,
                  "answer a method with a D-Bus error, METHOD=ERROR[:message], e.g. "
                  "StartDiscovery=org.bluez.Error.InProgress or "
                  "RegisterAdvertisement=org.freedesktop.DBus.Error.AccessDenied (repeatable)");
  cmd->add_option("--advert-interval-ms", args->advert_interval_ms,
                  "how often each advert is received again while someone discovers; with DuplicateData "
                  "(BlueZ's default) each reception is a PropertiesChanged(ServiceData, RSSI) (100-500, default 100)")
      ->check(CLI::Range(100, 500));
  cmd->add_option("--temporary-timeout-ms", args->temporary_timeout_ms,
                  "how long the device of an advertiser that stopped stays while discovery goes on, as BlueZ's "
                  "TemporaryTimeout (default 30000; 0 removes it at once)")
      ->check(CLI::Range(0, 600000));
  cmd->add_option("--rssi", args->air.rssi, "RSSI reported for every device (default -55)");
  cmd->add_option("--max-advertisements", args->air.max_advertisements, "advertising slots (default 4)");
  add_service_timeout_option(*cmd, args->timeout_s);
  cmd->callback([args] { run(*args); });
});

}  // namespace
}  // namespace hybrid::app
