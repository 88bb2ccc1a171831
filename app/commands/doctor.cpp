// `hybrid doctor`: checks what this machine needs (BlueZ, an adapter that is on and not
// blocked, the D-Bus policy for discovery and advertising, /dev/uhid for the bridge, a
// tunnel service reachable over TLS, the clock, the store directories) and says how to fix
// each problem. The checks live in doctor/; this file only parses options and prints.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "app/command_registry.h"
#include "app/exit_codes.h"
#include "app/option_groups.h"
#include "doctor/report.h"
#include "roles/data_dir.h"
#include "roles/link_store.h"

namespace hybrid::app {
namespace {

struct DoctorArgs {
  BluetoothOptions bluetooth;  // --power-on is not offered: the doctor only looks
  std::string tunnel = "wss://cable.ua5v.com", ca_file, link_store, phone_store;
  int timeout_s = 5;
  bool json = false;
  bool no_tunnel = false;
};

int run_doctor(const DoctorArgs& a) {
  doctor::SystemOptions o;
  o.dbus_address = a.bluetooth.dbus_address;
  o.adapter = a.bluetooth.adapter;
  o.tunnel_url = a.tunnel;
  o.ca_file = a.ca_file;
  o.timeout = std::chrono::seconds(a.timeout_s);
  o.stores = {{"data directory", roles::data_dir(), true},
              {"linked phones", a.link_store.empty() ? roles::LinkStore::default_path() : a.link_store, false},
              {"phone credentials", a.phone_store.empty() ? roles::data_dir() + "/phone-credentials.json" : a.phone_store,
               false}};
  doctor::SystemEnvironment env(o);
  doctor::Selection what;
  what.tunnel = !a.no_tunnel;
  auto results = doctor::run_checks(env, what);
  if (a.json) {
    std::cout << doctor::to_json(results).dump(2) << std::endl;
  } else {
    std::cout << doctor::to_text(results) << std::flush;
  }
  switch (doctor::worst(results)) {
    case doctor::CheckStatus::fail: return kDoctorFailures;
    case doctor::CheckStatus::warn: return kDoctorWarnings;
    default: return kOk;
  }
}

void install(CLI::App& root) {
  auto args = std::make_shared<DoctorArgs>();
  auto* cmd = root.add_subcommand(
      "doctor",
      "Check what this machine needs and say how to fix each problem: D-Bus, BlueZ, the adapter\n"
      "(present, powered, rfkill), the D-Bus policy for discovery and advertising, /dev/uhid for the\n"
      "bridge, the tunnel service over TLS, clock skew, and the store files. Exit 0 when every check\n"
      "is ok, 17 when some only warn, 18 when one fails.");
  add_bluetooth_options(*cmd, args->bluetooth, PowerOnFlag::kNotOffered);
  cmd->add_option("--tunnel", args->tunnel, "tunnel service to reach (wss://HOST[:PORT])")->capture_default_str();
  add_ca_file_option(*cmd, args->ca_file);
  cmd->add_flag("--no-tunnel", args->no_tunnel, "skip the tunnel and clock checks (no network)");
  cmd->add_option("--timeout", args->timeout_s, "seconds for each D-Bus call and for the tunnel (default 5)");
  cmd->add_option("--link-store", args->link_store, "linked phones file to check (default: the usual one)");
  cmd->add_option("--phone-store", args->phone_store, "software phone's credential file to check");
  cmd->add_flag("--json", args->json, "print {\"status\":…,\"checks\":[{name,status,detail,fix}…]}");
  cmd->callback([args] { set_exit_code(run_doctor(*args)); });
}

const CommandRegistration kRegistration("doctor", 90, install);

}  // namespace
}  // namespace hybrid::app
