// What `hybrid doctor` looks at, as plain data. An Environment (environment.h) gathers these
// from the machine; the checks (checks.h) only read them, so tests can feed any situation.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "ble/bluez_probe.h"
#include "tunnel/http_probe.h"

namespace hybrid::doctor {

// /sys/class/rfkill and /dev/rfkill.
struct RfkillSwitch {
  std::string name;  // "rfkill0"
  std::string type;  // "bluetooth", "wlan", …
  bool soft = false;
  bool hard = false;
};
struct RfkillFacts {
  bool sysfs_present = false;  // /sys/class/rfkill exists (the rfkill module is loaded)
  bool dev_present = false;    // /dev/rfkill exists
  std::vector<RfkillSwitch> switches;
};

// /dev/uhid, which the bridge opens read-write.
struct UhidFacts {
  std::string path = "/dev/uhid";
  bool exists = false;
  bool read_write = false;  // access(R_OK | W_OK)
  bool module_loaded = false;  // /sys/module/uhid
};

struct TunnelFacts {
  std::string url;
  std::string ca_file;  // "" = the system CA store
  tunnel::HttpProbeResult probe;
  std::time_t local_time = 0;  // this machine's clock when the answer came
};

// A directory or file where this program keeps a user's data.
struct PathFacts {
  std::string role;  // "data directory", "linked phones", "phone credentials"
  std::string path;
  bool is_directory_role = false;
  bool exists = false;
  bool is_directory = false;
  mode_t mode = 0;  // permission bits when it exists
  uid_t owner = 0;
  uid_t me = 0;
  bool writable = false;         // access(W_OK) on it (or on its nearest existing parent)
  std::string nearest_existing;  // itself, or the closest parent that exists
};

}  // namespace hybrid::doctor
