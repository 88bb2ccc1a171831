#include "ble/virtual_air_model.h"

#include <algorithm>
#include <cstdio>
#include <iterator>

#include "base/log.h"

namespace hybrid::ble {

namespace {

// "0000fff9-0000-1000-8000-00805f9b34fb" → 2; any other 128-bit UUID → 16 (bytes on air).
size_t uuid_air_size(const std::string& uuid) {
  static const std::string base = "-0000-1000-8000-00805f9b34fb";
  if (uuid.size() == 36 && uuid.compare(0, 4, "0000") == 0 && uuid.compare(8, std::string::npos, base) == 0) return 2;
  if (uuid.size() <= 6) return 2;  // "fff9", "0xfff9"
  return 16;
}

// The advert as the adapter receives it now (with this RSSI).
ReceivedAdvert received(const AirAdvert& a, int16_t rssi) {
  ReceivedAdvert r;
  r.address = a.address;
  r.rssi = rssi;
  for (const auto& u : a.uuids) {
    if (auto n = normalize_uuid(u)) r.uuids.push_back(*n);
  }
  for (const auto& [u, d] : a.service_data) {
    if (auto n = normalize_uuid(u)) r.uuids.push_back(*n);
  }
  return r;
}

DbusError failed_to_parse() { return {"org.bluez.Error.Failed", "Failed to parse advertisement."}; }

}  // namespace

VirtualAirModel::VirtualAirModel(VirtualAirOptions options, AirClock::time_point now, uint32_t seed)
    : opt_(std::move(options)), adapter_path_("/org/bluez/" + opt_.adapter), rng_(seed), next_reception_(now) {
  if (opt_.rfkill_blocked) opt_.powered = false;
  powered_ = opt_.powered;
}

VirtualAirStats VirtualAirModel::stats() const {
  VirtualAirStats s = counters_;
  s.powered = powered_;
  s.discovering = discovering();
  s.discovery_sessions = 0;
  for (const auto& [name, c] : clients_) s.discovery_sessions += c.discovering ? 1 : 0;
  s.advertisements = 0;
  for (const auto& [id, a] : adverts_) s.advertisements += a.active ? 1 : 0;
  s.devices = static_cast<int>(devices_.size());
  return s;
}

std::vector<AirSignal> VirtualAirModel::take_signals() {
  std::vector<AirSignal> out;
  out.swap(signals_);
  return out;
}

void VirtualAirModel::signal(AirSignal::Kind kind, std::vector<const char*> properties, uint64_t device) {
  signals_.push_back(AirSignal{kind, device, std::move(properties)});
}

// --- the adapter -----------------------------------------------------------------------

const char* VirtualAirModel::power_state() const {
  return powered_ ? "on" : (opt_.rfkill_blocked ? "off-blocked" : "off");
}

bool VirtualAirModel::discovering() const {
  for (const auto& [name, c] : clients_) {
    if (c.discovering) return true;
  }
  return false;
}

AirReply VirtualAirModel::require_powered() const {
  if (!powered_) return DbusError{"org.bluez.Error.NotReady", "Resource Not Ready"};
  return std::nullopt;
}

AirReply VirtualAirModel::write_powered(bool on) {
  if (on && opt_.rfkill_blocked) return DbusError{"org.bluez.Error.Blocked", "Blocked through rfkill"};
  set_powered(on);
  return std::nullopt;
}

void VirtualAirModel::set_powered(bool on) {
  if (on == powered_) return;
  powered_ = on;
  signal(AirSignal::Kind::adapter_changed, {"Powered", "PowerState"});
  if (!on) end_all_discovery();
  sync_devices();
  log::info("virtual-air", "adapter {} powered {}", opt_.adapter, on ? "on" : "off");
}

// --- discovery -------------------------------------------------------------------------

DiscoverySessions VirtualAirModel::sessions() const {
  DiscoverySessions out;
  for (const auto& [name, c] : clients_) {
    if (c.discovering) out.push_back(c.filter);
  }
  return out;
}

AirReply VirtualAirModel::start_discovery(const std::string& client, AirClock::time_point now) {
  if (auto e = require_powered()) return e;
  auto& c = clients_[client];
  if (c.discovering) return DbusError{"org.bluez.Error.InProgress", "Operation already in progress"};
  bool first = !discovering();
  c.discovering = true;
  ++counters_.start_discovery_calls;
  // BlueZ answers first, then announces Discovering, then reports devices.
  if (first) signal(AirSignal::Kind::adapter_changed, {"Discovering"});
  sync_devices();
  next_reception_ = now + opt_.advert_interval;
  return std::nullopt;
}

AirReply VirtualAirModel::stop_discovery(const std::string& client) {
  if (auto e = require_powered()) return e;
  auto it = clients_.find(client);
  if (it == clients_.end() || !it->second.discovering) {
    return DbusError{"org.bluez.Error.Failed", "No discovery started"};
  }
  it->second.discovering = false;
  if (!it->second.filter) clients_.erase(it);
  ++counters_.stop_discovery_calls;
  if (!discovering()) {
    sync_devices();
    signal(AirSignal::Kind::adapter_changed, {"Discovering"});
  }
  return std::nullopt;
}

void VirtualAirModel::set_discovery_filter(const std::string& client, std::optional<DiscoveryFilter> filter) {
  auto& c = clients_[client];
  bool clear = !filter;
  c.filter = std::move(filter);
  bool discovering = c.discovering;
  if (clear && !discovering) clients_.erase(client);
  if (discovering) sync_devices();  // a wider filter may report devices now
}

void VirtualAirModel::end_all_discovery() {
  bool was = discovering();
  for (auto& [name, c] : clients_) c.discovering = false;
  sync_devices();
  if (was) signal(AirSignal::Kind::adapter_changed, {"Discovering"});
}

void VirtualAirModel::client_gone(const std::string& client, AirClock::time_point now) {
  auto c = clients_.find(client);
  if (c != clients_.end()) {
    bool was_discovering = c->second.discovering;
    clients_.erase(c);
    if (was_discovering) {
      ++counters_.sessions_ended_by_disconnect;
      log::debug("virtual-air", "{} left while discovering; its discovery session ends", client);
      if (!discovering()) {
        sync_devices();
        signal(AirSignal::Kind::adapter_changed, {"Discovering"});
      }
    }
  }
  std::vector<uint64_t> gone;
  for (const auto& [id, a] : adverts_) {
    if (a.active && a.owner == client) gone.push_back(id);
  }
  for (auto id : gone) {
    log::debug("virtual-air", "{} left; its advertisement is removed", client);
    ++counters_.adverts_removed_by_disconnect;
    retire_advert(id, now);
  }
  for (auto it = pending_.begin(); it != pending_.end();) {
    it = it->second.owner == client ? pending_.erase(it) : std::next(it);
  }
}

void VirtualAirModel::advance(AirClock::time_point now) {
  if (now < next_reception_) return;
  receive(now);
  next_reception_ = now + opt_.advert_interval;
}

// Every advertiser in range is "received" once per interval, as a controller scanning
// without duplicate filtering would. BlueZ then signals, in one PropertiesChanged on the
// Device1: ServiceData on every report when a client asked for DuplicateData (its default),
// otherwise only when it changed (broadcast() signals changes); RSSI when it changed by the
// threshold. Devices whose advertiser stopped are removed after the temporary timeout.
void VirtualAirModel::receive(AirClock::time_point now) {
  if (!powered_ || !discovering()) return;
  auto s = sessions();
  auto merged = merge(s);
  std::vector<uint64_t> expired;
  for (auto& [id, dev] : devices_) {
    auto a = adverts_.find(id);
    if (a == adverts_.end()) continue;
    if (!a->second.active) {
      if (now - a->second.stopped_at >= opt_.temporary_timeout) expired.push_back(id);
      continue;
    }
    int16_t rssi = jittered_rssi();
    if (!advert_reported(s, received(a->second, rssi))) continue;
    std::vector<const char*> names;
    if (rssi_change_signalled(merged.filtered, dev.rssi, rssi)) {
      dev.rssi = rssi;
      names.push_back("RSSI");
    }
    if (merged.duplicate_data) names.push_back("ServiceData");
    if (names.empty()) continue;
    signal(AirSignal::Kind::device_changed, std::move(names), id);
    ++counters_.device_reports;
  }
  for (auto id : expired) {
    log::debug("virtual-air", "device {} not seen for the temporary timeout; removed", devices_[id].path);
    remove_device(id);
    adverts_.erase(id);
  }
}

// --- devices ---------------------------------------------------------------------------

int16_t VirtualAirModel::jittered_rssi() {
  std::uniform_int_distribution<int> d(-3, 3);
  return static_cast<int16_t>(opt_.rssi + d(rng_));
}

void VirtualAirModel::add_device(uint64_t id) {
  const std::string& address = adverts_.at(id).address;
  std::string tail = address;
  std::replace(tail.begin(), tail.end(), ':', '_');
  devices_[id] = AirDevice{adapter_path_ + "/dev_" + tail, address, jittered_rssi()};
  signal(AirSignal::Kind::device_added, {}, id);
}

void VirtualAirModel::remove_device(uint64_t id) {
  if (!devices_.erase(id)) return;
  signal(AirSignal::Kind::device_removed, {}, id);
}

// Devices exist while the adapter is on and someone discovers; BlueZ drops temporary
// (non-connectable) devices when the last discovery session ends.
void VirtualAirModel::sync_devices() {
  bool visible = powered_ && discovering();
  if (!visible) {
    while (!devices_.empty()) remove_device(devices_.begin()->first);
    return;
  }
  auto s = sessions();
  for (const auto& [id, a] : adverts_) {
    if (a.active && !devices_.count(id) && advert_reported(s, received(a, opt_.rssi))) add_device(id);
  }
  // Adverts whose advertiser stopped and whose device is gone are forgotten.
  for (auto it = adverts_.begin(); it != adverts_.end();) {
    it = !it->second.active && !devices_.count(it->first) ? adverts_.erase(it) : std::next(it);
  }
}

// --- advertising -----------------------------------------------------------------------

const AirAdvert* VirtualAirModel::advert(uint64_t id) const {
  auto it = adverts_.find(id);
  return it == adverts_.end() ? nullptr : &it->second;
}

int VirtualAirModel::registered_count() const {
  int n = 0;
  for (const auto& [id, a] : adverts_) n += a.active && !a.owner.empty() ? 1 : 0;
  return n;
}

int VirtualAirModel::supported_instances() const { return std::max(0, opt_.max_advertisements - registered_count()); }

std::optional<uint64_t> VirtualAirModel::find_registered(const std::string& owner, const std::string& path) const {
  for (const auto& [id, a] : adverts_) {
    if (a.active && a.owner == owner && a.path == path) return id;
  }
  return std::nullopt;
}

AirReply VirtualAirModel::begin_registration(const std::string& owner, const std::string& path, uint64_t& pending_id) {
  DbusError exists{"org.bluez.Error.AlreadyExists", "Already Exists"};
  if (find_registered(owner, path)) return exists;
  for (const auto& [id, p] : pending_) {
    if (p.owner == owner && p.path == path) return exists;
  }
  if (registered_count() + static_cast<int>(pending_.size()) >= opt_.max_advertisements) {
    return DbusError{"org.bluez.Error.NotPermitted", "Maximum advertisements reached"};
  }
  pending_id = next_pending_id_++;
  pending_[pending_id] = PendingAdvertisement{owner, path};
  return std::nullopt;
}

std::optional<PendingAdvertisement> VirtualAirModel::take_pending(uint64_t pending_id) {
  auto node = pending_.extract(pending_id);
  if (node.empty()) return std::nullopt;
  return std::move(node.mapped());
}

AirReply VirtualAirModel::register_advertisement(const PendingAdvertisement& from,
                                                 const AdvertisementProperties& props) {
  if (props.type != "broadcast" && props.type != "peripheral") return failed_to_parse();
  if (props.type == "broadcast" && props.discoverable) return failed_to_parse();
  AirAdvert a;
  a.owner = from.owner;
  a.path = from.path;
  a.uuids = props.uuids;
  a.service_data = props.service_data;
  // The legacy advertising budget (BlueZ's refresh_legacy_adv / calc_max_adv_len).
  size_t len = props.manufacturer_bytes + (props.discoverable ? 3 : 0);
  size_t n16 = 0, n128 = 0;
  for (const auto& u : a.uuids) (uuid_air_size(u) == 2 ? n16 : n128)++;
  if (n16) len += 2 + 2 * n16;
  if (n128) len += 2 + 16 * n128;
  for (const auto& [u, d] : a.service_data) len += 2 + uuid_air_size(u) + d.size();
  size_t max = 31 - (props.includes_tx_power ? 3 : 0) - (props.includes_appearance ? 4 : 0);
  if (len > max) {
    log::info("virtual-air", "advertisement {} from {} is {} bytes, over the {}-byte budget", a.path, a.owner, len,
              max);
    return failed_to_parse();
  }
  a.address = random_address();
  uint64_t id = next_advert_id_++;
  log::info("virtual-air", "{} registered advertisement {} ({} service data entries, {} bytes on air) as {}",
            a.owner, a.path, a.service_data.size(), len, a.address);
  adverts_[id] = std::move(a);
  signal(AirSignal::Kind::advertising_changed, {"SupportedInstances", "ActiveInstances"});
  sync_devices();
  return std::nullopt;
}

// The advertiser stopped (unregistered or left). Like bluetoothd, the Device1 of a
// broadcaster that is no longer heard stays until the temporary timeout (or until discovery
// ends); it is no longer reported.
void VirtualAirModel::retire_advert(uint64_t id, AirClock::time_point now) {
  auto it = adverts_.find(id);
  if (it == adverts_.end()) return;
  if (devices_.count(id) && opt_.temporary_timeout.count() > 0) {
    it->second.active = false;
    it->second.stopped_at = now;
  } else {
    remove_device(id);
    adverts_.erase(it);
  }
  signal(AirSignal::Kind::advertising_changed, {"SupportedInstances", "ActiveInstances"});
}

AirReply VirtualAirModel::unregister_advertisement(const std::string& owner, const std::string& path,
                                                   AirClock::time_point now) {
  auto id = find_registered(owner, path);
  if (!id) return DbusError{"org.bluez.Error.DoesNotExist", "Does Not Exist"};
  // BlueZ does not call Release on an explicit unregister.
  retire_advert(*id, now);
  ++counters_.unregister_calls;
  log::info("virtual-air", "{} unregistered advertisement {}", owner, path);
  return std::nullopt;
}

void VirtualAirModel::broadcast(const std::string& address, AirServiceData service_data) {
  for (auto& [id, a] : adverts_) {
    if (a.active && a.owner.empty() && a.address == address) {
      a.service_data = std::move(service_data);
      if (devices_.count(id)) signal(AirSignal::Kind::device_changed, {"ServiceData"}, id);
      return;
    }
  }
  AirAdvert a;
  a.address = address;
  a.service_data = std::move(service_data);
  adverts_[next_advert_id_++] = std::move(a);
  sync_devices();
}

std::string VirtualAirModel::random_address() {
  std::uniform_int_distribution<int> byte(0, 255);
  char buf[18];
  int b0 = (byte(rng_) & 0x3f) | 0x40;  // 0b01…: a resolvable private address, as phones use
  std::snprintf(buf, sizeof buf, "%02X:%02X:%02X:%02X:%02X:%02X", b0, byte(rng_), byte(rng_), byte(rng_), byte(rng_),
                byte(rng_));
  return buf;
}

}  // namespace hybrid::ble
