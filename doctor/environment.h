// Where `hybrid doctor` gets its facts (facts.h). The checks never touch the machine; an
// Environment does. SystemEnvironment reads this machine (D-Bus, sysfs, /dev, the network,
// the file system); tests substitute their own.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "doctor/facts.h"

namespace hybrid::doctor {

class Environment {
 public:
  virtual ~Environment() = default;
  // `try_methods`: also ask BlueZ to start discovery and to register an advertisement.
  virtual ble::BluezProbe bluetooth(bool try_methods) = 0;
  virtual RfkillFacts rfkill() = 0;
  virtual UhidFacts uhid() = 0;
  virtual TunnelFacts tunnel() = 0;
  virtual std::vector<PathFacts> stores() = 0;
};

// A path the doctor should look at: its role, the path, and whether it is a directory.
struct StorePath {
  std::string role;
  std::string path;
  bool directory = false;
};

struct SystemOptions {
  std::string dbus_address;  // as --dbus-address (empty: $HYBRID_DBUS_ADDRESS, then the system bus)
  std::string adapter;
  std::string tunnel_url = "wss://cable.ua5v.com";  // Google's tunnel service, which Android phones use
  std::string ca_file;
  std::chrono::milliseconds timeout{5000};  // per D-Bus call, and for the whole tunnel probe
  std::vector<StorePath> stores;
  std::string sysfs_rfkill = "/sys/class/rfkill";
  std::string dev_rfkill = "/dev/rfkill";
  std::string dev_uhid = "/dev/uhid";
};

class SystemEnvironment : public Environment {
 public:
  explicit SystemEnvironment(SystemOptions options) : o_(std::move(options)) {}
  ble::BluezProbe bluetooth(bool try_methods) override;
  RfkillFacts rfkill() override;
  UhidFacts uhid() override;
  TunnelFacts tunnel() override;
  std::vector<PathFacts> stores() override;

 private:
  SystemOptions o_;
};

// The facts about one path (exists, type, mode, owner, writable or creatable).
PathFacts read_path_facts(const StorePath& p);

}  // namespace hybrid::doctor
