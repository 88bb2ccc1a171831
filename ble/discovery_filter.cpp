#include "ble/discovery_filter.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace hybrid::ble {

namespace {

constexpr const char* kBaseUuidTail = "-0000-1000-8000-00805f9b34fb";
constexpr int kRssiDeltaThreshold = 8;  // bluetoothd's RSSI_THRESHOLD

bool all_hex(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

std::optional<std::string> normalize_uuid(const std::string& uuid) {
  std::string u = lower(uuid);
  if (starts_with(u, "0x")) u = u.substr(2);
  if ((u.size() == 4 || u.size() == 8) && all_hex(u)) {
    return std::string(8 - u.size(), '0') + u + kBaseUuidTail;
  }
  if (u.size() != 36) return std::nullopt;
  for (size_t i = 0; i < u.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? u[i] != '-' : std::isxdigit(static_cast<unsigned char>(u[i])) == 0) return std::nullopt;
  }
  return u;
}

bool filter_matches(const DiscoveryFilter& f, const ReceivedAdvert& a) {
  if (!f.uuids.empty()) {
    bool any = std::any_of(a.uuids.begin(), a.uuids.end(), [&](const std::string& u) {
      return std::find(f.uuids.begin(), f.uuids.end(), u) != f.uuids.end();
    });
    if (!any) return false;
  }
  if (f.rssi) {
    if (a.rssi < *f.rssi) return false;
  } else if (f.pathloss) {
    if (!a.tx_power) return false;  // no TX power in the advert: no pathloss to compare
    int pathloss = *a.tx_power - a.rssi;
    if (pathloss > *f.pathloss) return false;
  }
  if (!f.pattern.empty()) {
    if (!starts_with(a.address, f.pattern) && !starts_with(a.name, f.pattern)) return false;
  }
  return true;
}

MergedDiscovery merge(const DiscoverySessions& sessions) {
  MergedDiscovery m;
  m.discovering = !sessions.empty();
  m.filtered = m.discovering;
  for (const auto& s : sessions) {
    if (!s) {
      m.filtered = false;
      m.le_scan = true;
      continue;
    }
    if (s->transport != "bredr") m.le_scan = true;
    if (s->duplicate_data) m.duplicate_data = true;
  }
  return m;
}

bool advert_reported(const DiscoverySessions& sessions, const ReceivedAdvert& advert) {
  if (!merge(sessions).le_scan) return false;
  return std::any_of(sessions.begin(), sessions.end(),
                     [&](const auto& s) { return !s || filter_matches(*s, advert); });
}

bool rssi_change_signalled(bool filtered, int16_t last, int16_t now) {
  if (now == last) return false;
  if (filtered) return true;
  return std::abs(now - last) >= kRssiDeltaThreshold;
}

}  // namespace hybrid::ble
