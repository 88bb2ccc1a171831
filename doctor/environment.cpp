#include "doctor/environment.h"

#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>

namespace hybrid::doctor {
namespace {

std::string read_line(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::string s;
  std::getline(in, s);
  return s;
}

}  // namespace

ble::BluezProbe SystemEnvironment::bluetooth(bool try_methods) {
  ble::BluezProbeOptions bo;
  bo.dbus_address = o_.dbus_address;
  bo.adapter = o_.adapter;
  bo.call_timeout = o_.timeout;
  bo.try_methods = try_methods;
  return ble::probe_bluez(bo);
}

RfkillFacts SystemEnvironment::rfkill() {
  RfkillFacts f;
  std::error_code ec;
  f.sysfs_present = std::filesystem::is_directory(o_.sysfs_rfkill, ec);
  f.dev_present = std::filesystem::exists(o_.dev_rfkill, ec);
  for (const auto& e : std::filesystem::directory_iterator(o_.sysfs_rfkill, ec)) {
    RfkillSwitch s;
    s.name = e.path().filename().string();
    s.type = read_line(e.path() / "type");
    s.soft = read_line(e.path() / "soft") == "1";
    s.hard = read_line(e.path() / "hard") == "1";
    f.switches.push_back(std::move(s));
  }
  return f;
}

UhidFacts SystemEnvironment::uhid() {
  UhidFacts f;
  f.path = o_.dev_uhid;
  std::error_code ec;
  f.exists = std::filesystem::exists(f.path, ec);
  f.read_write = f.exists && ::access(f.path.c_str(), R_OK | W_OK) == 0;
  f.module_loaded = std::filesystem::exists("/sys/module/uhid", ec);
  return f;
}

TunnelFacts SystemEnvironment::tunnel() {
  TunnelFacts t;
  t.url = o_.tunnel_url;
  t.ca_file = o_.ca_file;
  tunnel::HttpProbeOptions po;
  po.ca_file = o_.ca_file;
  po.timeout = o_.timeout;
  t.probe = tunnel::probe_http(o_.tunnel_url, po);
  t.local_time = std::time(nullptr);
  return t;
}

PathFacts read_path_facts(const StorePath& p) {
  PathFacts f;
  f.role = p.role;
  f.path = p.path;
  f.is_directory_role = p.directory;
  f.me = ::geteuid();
  struct stat st {};
  if (::stat(p.path.c_str(), &st) == 0) {
    f.exists = true;
    f.is_directory = S_ISDIR(st.st_mode);
    f.mode = st.st_mode & 07777;
    f.owner = st.st_uid;
    f.writable = ::access(p.path.c_str(), W_OK) == 0;
    f.nearest_existing = p.path;
    return f;
  }
  std::filesystem::path parent = std::filesystem::path(p.path).parent_path();
  std::error_code ec;
  while (!parent.empty() && !std::filesystem::exists(parent, ec) && parent != parent.root_path()) {
    parent = parent.parent_path();
  }
  f.nearest_existing = parent.empty() ? "." : parent.string();
  f.writable = ::access(f.nearest_existing.c_str(), W_OK | X_OK) == 0;
  return f;
}

std::vector<PathFacts> SystemEnvironment::stores() {
  std::vector<PathFacts> out;
  for (const auto& s : o_.stores) out.push_back(read_path_facts(s));
  return out;
}

}  // namespace hybrid::doctor
