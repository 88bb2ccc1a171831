#include "ble/virtual_air.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <mutex>
#include <random>
#include <stdexcept>

#include "base/log.h"
#include "ble/bluez_names.h"
#include "ble/discovery_filter.h"
#include "ble/sdbus.h"
#include "ble/virtual_air_faults.h"

namespace hybrid::ble {

namespace {

using sdbus::BusPtr;
using sdbus::Clock;
using sdbus::MessagePtr;
using sdbus::ServiceDataMap;
using sdbus::SlotPtr;

// "0000fff9-0000-1000-8000-00805f9b34fb" → 2; any other 128-bit UUID → 16 (bytes on air).
size_t uuid_air_size(const std::string& uuid) {
  static const std::string base = "-0000-1000-8000-00805f9b34fb";
  if (uuid.size() == 36 && uuid.compare(0, 4, "0000") == 0 && uuid.compare(8, std::string::npos, base) == 0) return 2;
  if (uuid.size() <= 6) return 2;  // "fff9", "0xfff9"
  return 16;
}

std::string random_address(std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  char buf[18];
  int b0 = (byte(rng) & 0x3f) | 0x40;  // 0b01…: a resolvable private address, as phones use
  std::snprintf(buf, sizeof buf, "%02X:%02X:%02X:%02X:%02X:%02X", b0, byte(rng), byte(rng), byte(rng), byte(rng),
                byte(rng));
  return buf;
}

}  // namespace

struct VirtualAir::Impl {
  VirtualAirOptions opt;
  FaultTable faults{{}};
  BusPtr bus;
  std::string adapter_path;
  std::vector<SlotPtr> slots;
  std::mt19937 rng{std::random_device{}()};

  // State (guarded by mu while the loop processes; stats() reads it under mu).
  mutable std::mutex mu;
  bool powered = true;
  struct Client {
    bool discovering = false;
    std::optional<DiscoveryFilter> filter;  // set by SetDiscoveryFilter; kept across sessions
  };
  std::map<std::string, Client> clients;  // by unique bus name
  struct Advert {
    std::string owner;  // "" for remote devices
    std::string path;
    ServiceDataMap service_data;
    std::vector<std::string> uuids;
    std::string address;
    // False once its advertiser stopped; its Device1 stays until the temporary timeout.
    bool active = true;
    Clock::time_point stopped_at{};
  };
  std::map<uint64_t, Advert> adverts;
  uint64_t next_advert_id = 1;
  struct Device {
    Impl* air = nullptr;
    uint64_t advert_id = 0;
    std::string path;
    std::string address;
    int16_t rssi = 0;
    SlotPtr slot;
  };
  std::map<uint64_t, std::unique_ptr<Device>> devices;  // by advert id
  struct PendingRegistration {
    Impl* air = nullptr;
    uint64_t id = 0;
    std::string owner;
    std::string path;
    MessagePtr call;
    SlotPtr slot;
  };
  std::map<uint64_t, std::unique_ptr<PendingRegistration>> pending;
  uint64_t next_pending_id = 1;
  VirtualAirStats counters;
  Clock::time_point next_tick = Clock::now();

  // Cross-thread requests.
  std::mutex task_mu;
  std::vector<std::function<void()>> tasks;
  int wake_fd = -1;
  std::atomic<bool> stopping{false};

  ~Impl() {
    if (wake_fd >= 0) close(wake_fd);
  }

  void wake() {
    uint64_t one = 1;
    ssize_t n = write(wake_fd, &one, sizeof one);
    (void)n;
  }

  bool discovering() const {
    for (const auto& [name, c] : clients) {
      if (c.discovering) return true;
    }
    return false;
  }
  DiscoverySessions sessions() const {
    DiscoverySessions out;
    for (const auto& [name, c] : clients) {
      if (c.discovering) out.push_back(c.filter);
    }
    return out;
  }
  // The advert as the adapter receives it now (with this RSSI).
  static ReceivedAdvert received(const Advert& a, int16_t rssi) {
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
  int16_t jittered_rssi() {
    std::uniform_int_distribution<int> d(-3, 3);
    return static_cast<int16_t>(opt.rssi + d(rng));
  }

  // --- devices -------------------------------------------------------------------------

  void add_device(uint64_t id, const Advert& a) {
    auto dev = std::make_unique<Device>();
    dev->air = this;
    dev->advert_id = id;
    dev->address = a.address;
    std::string tail = a.address;
    std::replace(tail.begin(), tail.end(), ':', '_');
    dev->path = adapter_path + "/dev_" + tail;
    dev->rssi = jittered_rssi();
    sd_bus_slot* slot = nullptr;
    int r = sd_bus_add_object_vtable(bus.get(), &slot, dev->path.c_str(), kDeviceIface, kDeviceVtable, dev.get());
    if (r < 0) {
      log::warn("virtual-air", "cannot export device {}: {}", dev->path, sdbus::errno_text(r));
      return;
    }
    dev->slot.reset(slot);
    std::string path = dev->path;
    devices[id] = std::move(dev);
    sd_bus_emit_object_added(bus.get(), path.c_str());
    log::debug("virtual-air", "device {} appeared", path);
  }

  void remove_device(uint64_t id) {
    auto it = devices.find(id);
    if (it == devices.end()) return;
    sd_bus_emit_object_removed(bus.get(), it->second->path.c_str());
    devices.erase(it);
  }

  // Devices exist while the adapter is on and someone discovers; BlueZ drops temporary
  // (non-connectable) devices when the last discovery session ends.
  void sync_devices() {
    bool visible = powered && discovering();
    if (!visible) {
      while (!devices.empty()) remove_device(devices.begin()->first);
      return;
    }
    auto s = sessions();
    for (const auto& [id, a] : adverts) {
      if (a.active && !devices.count(id) && advert_reported(s, received(a, opt.rssi))) add_device(id, a);
    }
    // Adverts whose advertiser stopped and whose device is gone are forgotten.
    for (auto it = adverts.begin(); it != adverts.end();) {
      it = !it->second.active && !devices.count(it->first) ? adverts.erase(it) : std::next(it);
    }
  }

  // Every advertiser in range is "received" once per interval, as a controller scanning
  // without duplicate filtering would. BlueZ then signals, in one PropertiesChanged on the
  // Device1: ServiceData on every report when a client asked for DuplicateData (its default),
  // otherwise only when it changed (broadcast() signals changes); RSSI when it changed by the
  // threshold. Devices whose advertiser stopped are removed after the temporary timeout.
  void tick() {
    if (!powered || !discovering()) return;
    auto s = sessions();
    auto merged = merge(s);
    auto now = Clock::now();
    std::vector<uint64_t> expired;
    for (auto& [id, dev] : devices) {
      auto a = adverts.find(id);
      if (a == adverts.end()) continue;
      if (!a->second.active) {
        if (now - a->second.stopped_at >= opt.temporary_timeout) expired.push_back(id);
        continue;
      }
      int16_t rssi = jittered_rssi();
      if (!advert_reported(s, received(a->second, rssi))) continue;
      std::vector<const char*> names;
      if (rssi_change_signalled(merged.filtered, dev->rssi, rssi)) {
        dev->rssi = rssi;
        names.push_back("RSSI");
      }
      if (merged.duplicate_data) names.push_back("ServiceData");
      if (names.empty()) continue;
      names.push_back(nullptr);
      sd_bus_emit_properties_changed_strv(bus.get(), dev->path.c_str(), kDeviceIface, const_cast<char**>(names.data()));
      ++counters.device_reports;
    }
    for (auto id : expired) {
      log::debug("virtual-air", "device {} not seen for the temporary timeout; removed", devices[id]->path);
      remove_device(id);
      adverts.erase(id);
    }
  }

  void emit_adapter(const char* a, const char* b = nullptr) {
    sd_bus_emit_properties_changed(bus.get(), adapter_path.c_str(), kAdapterIface, a, b, nullptr);
  }
  void emit_instances() {
    sd_bus_emit_properties_changed(bus.get(), adapter_path.c_str(), kAdvManagerIface, "SupportedInstances",
                                   "ActiveInstances", nullptr);
  }

  void end_all_discovery() {
    bool was = discovering();
    for (auto& [name, c] : clients) c.discovering = false;
    sync_devices();
    if (was) emit_adapter("Discovering");
  }

  void apply_powered(bool on) {
    if (on == powered) return;
    powered = on;
    emit_adapter("Powered", "PowerState");
    if (!on) end_all_discovery();
    sync_devices();
    log::info("virtual-air", "adapter {} powered {}", opt.adapter, on ? "on" : "off");
  }

  // The advertiser stopped (unregistered or left). Like bluetoothd, the Device1 of a
  // broadcaster that is no longer heard stays until the temporary timeout (or until discovery
  // ends); it is no longer reported.
  void retire_advert(uint64_t id) {
    auto it = adverts.find(id);
    if (it == adverts.end()) return;
    if (devices.count(id) && opt.temporary_timeout.count() > 0) {
      it->second.active = false;
      it->second.stopped_at = Clock::now();
    } else {
      remove_device(id);
      adverts.erase(it);
    }
    emit_instances();
  }

  // A client left the bus: end its discovery, drop its adverts and pending registrations.
  void client_gone(const std::string& name) {
    auto c = clients.find(name);
    if (c != clients.end()) {
      bool was_discovering = c->second.discovering;
      clients.erase(c);
      if (was_discovering) {
        ++counters.sessions_ended_by_disconnect;
        log::debug("virtual-air", "{} left while discovering; its discovery session ends", name);
        if (!discovering()) {
          sync_devices();
          emit_adapter("Discovering");
        }
      }
    }
    std::vector<uint64_t> gone;
    for (const auto& [id, a] : adverts) {
      if (a.active && a.owner == name) gone.push_back(id);
    }
    for (auto id : gone) {
      log::debug("virtual-air", "{} left; its advertisement is removed", name);
      ++counters.adverts_removed_by_disconnect;
      retire_advert(id);
    }
    for (auto it = pending.begin(); it != pending.end();) {
      it = it->second->owner == name ? pending.erase(it) : std::next(it);
    }
  }

  // --- method handlers -----------------------------------------------------------------

  static int reply_error(sd_bus_message* m, const std::string& name, const std::string& message) {
    return sd_bus_reply_method_errorf(m, name.c_str(), "%s", message.c_str());
  }

  static int on_start_discovery(sd_bus_message* m, void* ud, sd_bus_error*) {
    auto* self = static_cast<Impl*>(ud);
    std::string sender = sd_bus_message_get_sender(m);
    if (!self->powered) return reply_error(m, "org.bluez.Error.NotReady", "Resource Not Ready");
    auto& c = self->clients[sender];
    if (c.discovering) return reply_error(m, "org.bluez.Error.InProgress", "Operation already in progress");
    bool first = !self->discovering();
    c.discovering = true;
    ++self->counters.start_discovery_calls;
    int r = sd_bus_reply_method_return(m, "");
    // BlueZ answers first, then announces Discovering, then reports devices.
    if (first) self->emit_adapter("Discovering");
    self->sync_devices();
    self->next_tick = Clock::now() + self->opt.advert_interval;
    return r;
  }

  static int on_stop_discovery(sd_bus_message* m, void* ud, sd_bus_error*) {
    auto* self = static_cast<Impl*>(ud);
    std::string sender = sd_bus_message_get_sender(m);
    if (!self->powered) return reply_error(m, "org.bluez.Error.NotReady", "Resource Not Ready");
    auto it = self->clients.find(sender);
    if (it == self->clients.end() || !it->second.discovering) {
      return reply_error(m, "org.bluez.Error.Failed", "No discovery started");
    }
    it->second.discovering = false;
    if (!it->second.filter) self->clients.erase(it);
    ++self->counters.stop_discovery_calls;
    int r = sd_bus_reply_method_return(m, "");
    if (!self->discovering()) {
      self->sync_devices();
      self->emit_adapter("Discovering");
    }
    return r;
  }

  static int on_set_discovery_filter(sd_bus_message* m, void* ud, sd_bus_error*) {
    auto* self = static_cast<Impl*>(ud);
    std::string sender = sd_bus_message_get_sender(m);
    if (!self->powered) return reply_error(m, "org.bluez.Error.NotReady", "Resource Not Ready");
    bool valid = true, empty = true, has_rssi = false, has_pathloss = false;
    DiscoveryFilter f;  // keys not given keep BlueZ's defaults (DuplicateData true)
    bool parsed = sdbus::read_dict(m, [&](std::string_view key, sd_bus_message* mm) {
      empty = false;
      if (key == "Transport") {
        auto s = sdbus::read_variant_string(mm);
        if (!s || (*s != "auto" && *s != "bredr" && *s != "le")) valid = false;
        if (s) f.transport = *s;
        return s.has_value();
      }
      if (key == "DuplicateData" || key == "Discoverable") {
        auto b = sdbus::read_variant_bool(mm);
        if (!b) valid = false;
        if (b) (key == "DuplicateData" ? f.duplicate_data : f.discoverable) = *b;
        return b.has_value();
      }
      if (key == "RSSI") {
        auto v = sdbus::read_variant_int16(mm);
        if (!v || *v < -127 || *v > 20) valid = false;
        if (v) f.rssi = *v;
        has_rssi = true;
        return v.has_value();
      }
      if (key == "Pathloss") {
        uint16_t v = 0;
        char type = 0;
        const char* contents = nullptr;
        if (sd_bus_message_peek_type(mm, &type, &contents) > 0 && contents && std::strcmp(contents, "q") == 0 &&
            sd_bus_message_read(mm, "v", "q", &v) >= 0) {
          if (v > 137) valid = false;
          f.pathloss = v;
          has_pathloss = true;
          return true;
        }
        valid = false;
        return false;
      }
      if (key == "UUIDs") {
        auto v = sdbus::read_variant_string_array(mm);
        if (!v) {
          valid = false;
          return false;
        }
        for (const auto& u : *v) {
          auto n = normalize_uuid(u);
          if (!n) valid = false;
          if (n) f.uuids.push_back(*n);
        }
        return true;
      }
      if (key == "Pattern") {
        auto s = sdbus::read_variant_string(mm);
        if (!s) valid = false;
        if (s) f.pattern = *s;
        return valid;
      }
      valid = false;  // BlueZ rejects unknown keys
      return false;
    });
    if (!parsed || !valid || (has_rssi && has_pathloss)) {
      return reply_error(m, "org.bluez.Error.InvalidArguments", "Invalid arguments in method call");
    }
    auto& c = self->clients[sender];
    // An empty dictionary clears the client's filter; the last filter a client set applies.
    if (empty) {
      c.filter.reset();
    } else {
      c.filter = std::move(f);
    }
    bool discovering = c.discovering;
    if (empty && !discovering) self->clients.erase(sender);
    int r = sd_bus_reply_method_return(m, "");
    if (discovering) self->sync_devices();  // a wider filter may report devices now
    return r;
  }

  static int on_get_discovery_filters(sd_bus_message* m, void*, sd_bus_error*) {
    return sd_bus_reply_method_return(m, "as", 7, "UUIDs", "RSSI", "Pathloss", "Transport", "DuplicateData",
                                      "Discoverable", "Pattern");
  }

  static int on_remove_device(sd_bus_message* m, void* ud, sd_bus_error*) {
    auto* self = static_cast<Impl*>(ud);
    const char* path = nullptr;
    if (sd_bus_message_read(m, "o", &path) < 0 || !path) {
      return reply_error(m, "org.bluez.Error.InvalidArguments", "Invalid arguments in method call");
    }
    for (auto& [id, dev] : self->devices) {
      if (dev->path == path) {
        int r = sd_bus_reply_method_return(m, "");
        self->remove_device(id);  // comes back with the next advert it "receives"
        return r;
      }
    }
    return reply_error(m, "org.bluez.Error.DoesNotExist", "Does Not Exist");
  }

  static int on_register_advertisement(sd_bus_message* m, void* ud, sd_bus_error*) {
    auto* self = static_cast<Impl*>(ud);
    std::string sender = sd_bus_message_get_sender(m);
    const char* path = nullptr;
    if (sd_bus_message_read(m, "o", &path) < 0 || !path) {
      return reply_error(m, "org.bluez.Error.InvalidArguments", "Invalid arguments in method call");
    }
    for (const auto& [id, a] : self->adverts) {
      if (a.active && a.owner == sender && a.path == path) {
        return reply_error(m, "org.bluez.Error.AlreadyExists", "Already Exists");
      }
    }
    for (const auto& [id, p] : self->pending) {
      if (p->owner == sender && p->path == path) return reply_error(m, "org.bluez.Error.AlreadyExists", "Already Exists");
    }
    if (self->registered_count() + static_cast<int>(self->pending.size()) >= self->opt.max_advertisements) {
      return reply_error(m, "org.bluez.Error.NotPermitted", "Maximum advertisements reached");
    }
    // Like bluetoothd: read the advertisement's properties from its owner, then answer.
    auto p = std::make_unique<PendingRegistration>();
    p->air = self;
    p->id = self->next_pending_id++;
    p->owner = sender;
    p->path = path;
    p->call.reset(sd_bus_message_ref(m));
    auto get_all = sdbus::new_method_call(self->bus.get(), sender.c_str(), path, kPropertiesIface,
                                          "GetAll");
    sd_bus_message_append(get_all.get(), "s", kAdvertisementIface);
    sd_bus_slot* slot = nullptr;
    int r = sd_bus_call_async(self->bus.get(), &slot, get_all.get(), on_advertisement_properties, p.get(),
                              10 * 1000 * 1000);
    if (r < 0) return reply_error(m, "org.bluez.Error.Failed", "Failed to register advertisement");
    p->slot.reset(slot);
    self->pending[p->id] = std::move(p);
    return 1;  // answered later
  }

  int registered_count() const {
    int n = 0;
    for (const auto& [id, a] : adverts) n += a.active && !a.owner.empty() ? 1 : 0;
    return n;
  }

  static int on_advertisement_properties(sd_bus_message* reply, void* ud, sd_bus_error*) {
    auto* p = static_cast<PendingRegistration*>(ud);
    Impl* self = p->air;
    auto node = self->pending.extract(p->id);  // keeps p alive until the end of this function
    MessagePtr call = std::move(p->call);
    if (sd_bus_message_is_method_error(reply, nullptr)) {
      const sd_bus_error* e = sd_bus_message_get_error(reply);
      log::warn("virtual-air", "could not read advertisement {} from {}: {}", p->path, p->owner,
                e && e->name ? e->name : "?");
      return reply_error(call.get(), "org.bluez.Error.Failed", "Failed to parse advertisement.");
    }
    Advert a;
    a.owner = p->owner;
    a.path = p->path;
    std::string type = "broadcast";
    bool ok = true, discoverable = false, has_tx_power_include = false, has_appearance = false;
    size_t manufacturer_bytes = 0;
    bool parsed = sdbus::read_dict(reply, [&](std::string_view key, sd_bus_message* mm) {
      if (key == "Type") {
        auto s = sdbus::read_variant_string(mm);
        if (!s || (*s != "broadcast" && *s != "peripheral")) ok = false;
        if (s) type = *s;
        return s.has_value();
      }
      if (key == "ServiceUUIDs") {
        auto v = sdbus::read_variant_string_array(mm);
        if (!v) ok = false;
        if (v) a.uuids = *v;
        return v.has_value();
      }
      if (key == "ServiceData") {
        auto v = sdbus::read_variant_service_data(mm);
        if (!v) ok = false;
        if (v) a.service_data = *v;
        return v.has_value();
      }
      if (key == "Discoverable") {
        auto b = sdbus::read_variant_bool(mm);
        if (b) discoverable = *b;
        return b.has_value();
      }
      if (key == "Includes") {
        auto v = sdbus::read_variant_string_array(mm);
        if (v) {
          for (const auto& s : *v) {
            if (s == "tx-power") has_tx_power_include = true;
            if (s == "appearance") has_appearance = true;
          }
        }
        return v.has_value();
      }
      if (key == "ManufacturerData") {
        // a{qv} with ay values: count bytes only.
        char t = 0;
        const char* c = nullptr;
        if (sd_bus_message_peek_type(mm, &t, &c) > 0 && c && std::strcmp(c, "a{qv}") == 0 &&
            sd_bus_message_enter_container(mm, 'v', "a{qv}") > 0 && sd_bus_message_enter_container(mm, 'a', "{qv}") > 0) {
          while (sd_bus_message_enter_container(mm, 'e', "qv") > 0) {
            uint16_t id = 0;
            sd_bus_message_read_basic(mm, 'q', &id);
            const void* d = nullptr;
            size_t n = 0;
            if (sd_bus_message_enter_container(mm, 'v', "ay") > 0) {
              sd_bus_message_read_array(mm, 'y', &d, &n);
              sd_bus_message_exit_container(mm);
            } else {
              sd_bus_message_skip(mm, "v");
            }
            manufacturer_bytes += 4 + n;
            sd_bus_message_exit_container(mm);
          }
          sd_bus_message_exit_container(mm);
          sd_bus_message_exit_container(mm);
          return true;
        }
        ok = false;
        return false;
      }
      return false;  // LocalName goes to the scan response; other keys do not matter here
    });
    if (!parsed || !ok || (type == "broadcast" && discoverable)) {
      return reply_error(call.get(), "org.bluez.Error.Failed", "Failed to parse advertisement.");
    }
    // The legacy advertising budget (BlueZ's refresh_legacy_adv / calc_max_adv_len).
    size_t len = manufacturer_bytes + (discoverable ? 3 : 0);
    size_t n16 = 0, n128 = 0;
    for (const auto& u : a.uuids) (uuid_air_size(u) == 2 ? n16 : n128)++;
    if (n16) len += 2 + 2 * n16;
    if (n128) len += 2 + 16 * n128;
    for (const auto& [u, d] : a.service_data) len += 2 + uuid_air_size(u) + d.size();
    size_t max = 31 - (has_tx_power_include ? 3 : 0) - (has_appearance ? 4 : 0);
    if (len > max) {
      log::info("virtual-air", "advertisement {} from {} is {} bytes, over the {}-byte budget", a.path, a.owner, len,
                max);
      return reply_error(call.get(), "org.bluez.Error.Failed", "Failed to parse advertisement.");
    }
    a.address = random_address(self->rng);
    uint64_t id = self->next_advert_id++;
    log::info("virtual-air", "{} registered advertisement {} ({} service data entries, {} bytes on air) as {}",
              a.owner, a.path, a.service_data.size(), len, a.address);
    self->adverts[id] = std::move(a);
    int r = sd_bus_reply_method_return(call.get(), "");
    self->emit_instances();
    self->sync_devices();
    return r;
  }

  static int on_unregister_advertisement(sd_bus_message* m, void* ud, sd_bus_error*) {
    auto* self = static_cast<Impl*>(ud);
    std::string sender = sd_bus_message_get_sender(m);
    const char* path = nullptr;
    if (sd_bus_message_read(m, "o", &path) < 0 || !path) {
      return reply_error(m, "org.bluez.Error.InvalidArguments", "Invalid arguments in method call");
    }
    for (const auto& [id, a] : self->adverts) {
      if (a.active && a.owner == sender && a.path == path) {
        uint64_t gone = id;
        // BlueZ does not call Release on an explicit unregister.
        self->retire_advert(gone);
        ++self->counters.unregister_calls;
        log::info("virtual-air", "{} unregistered advertisement {}", sender, path);
        return sd_bus_reply_method_return(m, "");
      }
    }
    return reply_error(m, "org.bluez.Error.DoesNotExist", "Does Not Exist");
  }

  static int on_name_owner_changed(sd_bus_message* m, void* ud, sd_bus_error*) {
    auto* self = static_cast<Impl*>(ud);
    const char *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
    if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0) return 0;
    if (name && name[0] == ':' && (!new_owner || !*new_owner)) self->client_gone(name);
    return 0;
  }

  // Answers configured method calls with an error before they reach their handler.
  static int on_filter(sd_bus_message* m, void* ud, sd_bus_error*) {
    auto* self = static_cast<Impl*>(ud);
    if (self->faults.empty()) return 0;
    uint8_t type = 0;
    if (sd_bus_message_get_type(m, &type) < 0 || type != SD_BUS_MESSAGE_METHOD_CALL) return 0;
    const char* member = sd_bus_message_get_member(m);
    const char* iface = sd_bus_message_get_interface(m);
    if (!member) return 0;
    auto error = self->faults.error_for(iface ? iface : "", member);
    if (!error) return 0;
    log::info("virtual-air", "answering {} with {} (knob)", member, error->name);
    reply_error(m, error->name, error->message);
    return 1;
  }

  // --- properties ----------------------------------------------------------------------

  static int adapter_property(sd_bus*, const char*, const char*, const char* property, sd_bus_message* reply,
                              void* ud, sd_bus_error*) {
    auto* self = static_cast<Impl*>(ud);
    std::string_view p = property;
    if (p == "Address") return sd_bus_message_append(reply, "s", self->opt.adapter_address.c_str());
    if (p == "AddressType") return sd_bus_message_append(reply, "s", "public");
    if (p == "Name" || p == "Alias") return sd_bus_message_append(reply, "s", "virtual-air");
    if (p == "Class") return sd_bus_message_append(reply, "u", 0u);
    if (p == "Powered") return sd_bus_message_append(reply, "b", self->powered ? 1 : 0);
    if (p == "PowerState") {
      const char* s = self->powered ? "on" : (self->opt.rfkill_blocked ? "off-blocked" : "off");
      return sd_bus_message_append(reply, "s", s);
    }
    if (p == "Discoverable" || p == "Connectable") return sd_bus_message_append(reply, "b", 0);
    if (p == "Pairable") return sd_bus_message_append(reply, "b", 1);
    if (p == "DiscoverableTimeout") return sd_bus_message_append(reply, "u", 180u);
    if (p == "PairableTimeout") return sd_bus_message_append(reply, "u", 0u);
    if (p == "Discovering") return sd_bus_message_append(reply, "b", self->discovering() ? 1 : 0);
    if (p == "UUIDs") return sd_bus_message_append(reply, "as", 0);
    if (p == "Roles") return sd_bus_message_append(reply, "as", 2, "central", "peripheral");
    return -EINVAL;
  }

  static int set_powered(sd_bus*, const char*, const char*, const char*, sd_bus_message* value, void* ud,
                         sd_bus_error* error) {
    auto* self = static_cast<Impl*>(ud);
    int on = 0;
    int r = sd_bus_message_read(value, "b", &on);
    if (r < 0) return r;
    if (on && self->opt.rfkill_blocked) {
      return sd_bus_error_set(error, "org.bluez.Error.Blocked", "Blocked through rfkill");
    }
    self->apply_powered(on != 0);
    return 1;
  }

  static int manager_property(sd_bus*, const char*, const char*, const char* property, sd_bus_message* reply,
                              void* ud, sd_bus_error*) {
    auto* self = static_cast<Impl*>(ud);
    std::string_view p = property;
    int active = self->registered_count();
    if (p == "ActiveInstances") return sd_bus_message_append(reply, "y", static_cast<uint8_t>(active));
    if (p == "SupportedInstances") {
      return sd_bus_message_append(reply, "y", static_cast<uint8_t>(std::max(0, self->opt.max_advertisements - active)));
    }
    if (p == "SupportedIncludes") return sd_bus_message_append(reply, "as", 3, "tx-power", "appearance", "local-name");
    if (p == "SupportedFeatures") return sd_bus_message_append(reply, "as", 0);
    return -EINVAL;
  }

  static int device_property(sd_bus*, const char*, const char*, const char* property, sd_bus_message* reply,
                             void* ud, sd_bus_error*) {
    auto* dev = static_cast<Device*>(ud);
    Impl* self = dev->air;
    std::string_view p = property;
    auto a = self->adverts.find(dev->advert_id);
    if (a == self->adverts.end()) return -ENOENT;
    if (p == "Address") return sd_bus_message_append(reply, "s", dev->address.c_str());
    if (p == "AddressType") return sd_bus_message_append(reply, "s", "random");
    if (p == "Alias") {
      std::string alias = dev->address;
      std::replace(alias.begin(), alias.end(), ':', '-');
      return sd_bus_message_append(reply, "s", alias.c_str());
    }
    if (p == "Paired" || p == "Bonded" || p == "Trusted" || p == "Blocked" || p == "LegacyPairing" ||
        p == "Connected" || p == "ServicesResolved") {
      return sd_bus_message_append(reply, "b", 0);
    }
    if (p == "UUIDs") {
      int r = sd_bus_message_open_container(reply, 'a', "s");
      for (const auto& u : a->second.uuids) {
        if (r >= 0) r = sd_bus_message_append_basic(reply, 's', u.c_str());
      }
      return r < 0 ? r : sd_bus_message_close_container(reply);
    }
    if (p == "Adapter") return sd_bus_message_append(reply, "o", self->adapter_path.c_str());
    if (p == "RSSI") return sd_bus_message_append(reply, "n", dev->rssi);
    if (p == "ServiceData") return sdbus::append_service_data(reply, a->second.service_data);
    return -EINVAL;
  }

  static int device_connect(sd_bus_message* m, void*, sd_bus_error*) {
    return reply_error(m, "org.bluez.Error.Failed", "le-connection-abort-by-local (a broadcaster: not connectable)");
  }
  static int device_disconnect(sd_bus_message* m, void*, sd_bus_error*) {
    return reply_error(m, "org.bluez.Error.NotConnected", "Not Connected");
  }
  static int device_cancel_pairing(sd_bus_message* m, void*, sd_bus_error*) {
    return reply_error(m, "org.bluez.Error.DoesNotExist", "Does Not Exist");
  }

  static const sd_bus_vtable kAdapterVtable[];
  static const sd_bus_vtable kManagerVtable[];
  static const sd_bus_vtable kDeviceVtable[];
};

#define AIR_PROP(name, sig, getter) SD_BUS_PROPERTY(name, sig, getter, 0, 0)
#define AIR_PROP_CHANGING(name, sig, getter) \
  SD_BUS_PROPERTY(name, sig, getter, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)

const sd_bus_vtable VirtualAir::Impl::kAdapterVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("StartDiscovery", "", "", &Impl::on_start_discovery, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("StopDiscovery", "", "", &Impl::on_stop_discovery, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("SetDiscoveryFilter", "a{sv}", SD_BUS_PARAM(properties), "", ,
                             &Impl::on_set_discovery_filter, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("RemoveDevice", "o", SD_BUS_PARAM(device), "", , &Impl::on_remove_device,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("GetDiscoveryFilters", "", , "as", SD_BUS_PARAM(filters),
                             &Impl::on_get_discovery_filters, SD_BUS_VTABLE_UNPRIVILEGED),
    AIR_PROP("Address", "s", &Impl::adapter_property),
    AIR_PROP("AddressType", "s", &Impl::adapter_property),
    AIR_PROP("Name", "s", &Impl::adapter_property),
    AIR_PROP("Alias", "s", &Impl::adapter_property),
    AIR_PROP("Class", "u", &Impl::adapter_property),
    SD_BUS_WRITABLE_PROPERTY("Powered", "b", &Impl::adapter_property, &Impl::set_powered, 0,
                             SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    AIR_PROP_CHANGING("PowerState", "s", &Impl::adapter_property),
    AIR_PROP("Discoverable", "b", &Impl::adapter_property),
    AIR_PROP("Connectable", "b", &Impl::adapter_property),
    AIR_PROP("Pairable", "b", &Impl::adapter_property),
    AIR_PROP("DiscoverableTimeout", "u", &Impl::adapter_property),
    AIR_PROP("PairableTimeout", "u", &Impl::adapter_property),
    AIR_PROP_CHANGING("Discovering", "b", &Impl::adapter_property),
    AIR_PROP("UUIDs", "as", &Impl::adapter_property),
    AIR_PROP("Roles", "as", &Impl::adapter_property),
    SD_BUS_VTABLE_END,
};

const sd_bus_vtable VirtualAir::Impl::kManagerVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD_WITH_NAMES("RegisterAdvertisement", "oa{sv}", SD_BUS_PARAM(advertisement) SD_BUS_PARAM(options),
                             "", , &Impl::on_register_advertisement, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("UnregisterAdvertisement", "o", SD_BUS_PARAM(service), "", ,
                             &Impl::on_unregister_advertisement, SD_BUS_VTABLE_UNPRIVILEGED),
    AIR_PROP_CHANGING("ActiveInstances", "y", &Impl::manager_property),
    AIR_PROP_CHANGING("SupportedInstances", "y", &Impl::manager_property),
    AIR_PROP("SupportedIncludes", "as", &Impl::manager_property),
    AIR_PROP("SupportedFeatures", "as", &Impl::manager_property),
    SD_BUS_VTABLE_END,
};

const sd_bus_vtable VirtualAir::Impl::kDeviceVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Connect", "", "", &Impl::device_connect, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Disconnect", "", "", &Impl::device_disconnect, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Pair", "", "", &Impl::device_connect, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("CancelPairing", "", "", &Impl::device_cancel_pairing, SD_BUS_VTABLE_UNPRIVILEGED),
    AIR_PROP("Address", "s", &Impl::device_property),
    AIR_PROP("AddressType", "s", &Impl::device_property),
    AIR_PROP("Alias", "s", &Impl::device_property),
    AIR_PROP("Paired", "b", &Impl::device_property),
    AIR_PROP("Bonded", "b", &Impl::device_property),
    AIR_PROP("Trusted", "b", &Impl::device_property),
    AIR_PROP("Blocked", "b", &Impl::device_property),
    AIR_PROP("LegacyPairing", "b", &Impl::device_property),
    AIR_PROP("Connected", "b", &Impl::device_property),
    AIR_PROP("UUIDs", "as", &Impl::device_property),
    AIR_PROP("Adapter", "o", &Impl::device_property),
    AIR_PROP_CHANGING("RSSI", "n", &Impl::device_property),
    AIR_PROP_CHANGING("ServiceData", "a{sv}", &Impl::device_property),
    AIR_PROP("ServicesResolved", "b", &Impl::device_property),
    SD_BUS_VTABLE_END,
};

VirtualAir::VirtualAir(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

VirtualAir::~VirtualAir() = default;

Result<std::unique_ptr<VirtualAir>> VirtualAir::create(const std::string& bus_address, VirtualAirOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->opt = std::move(options);
  impl->faults = FaultTable(impl->opt.method_errors);
  if (impl->opt.rfkill_blocked) impl->opt.powered = false;
  impl->powered = impl->opt.powered;
  impl->adapter_path = "/org/bluez/" + impl->opt.adapter;
  impl->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl->wake_fd < 0) throw std::runtime_error("eventfd failed");

  HYBRID_TRY(impl->bus, sdbus::open_bus(bus_address));
  sd_bus* bus = impl->bus.get();
  auto add = [&](int r, sd_bus_slot* slot, const std::string& what) -> Status {
    if (r < 0) return make_error("virtual air: cannot " + what + ": " + sdbus::errno_text(r));
    impl->slots.emplace_back(slot);
    return {};
  };
  sd_bus_slot* slot = nullptr;
  HYBRID_TRY_STATUS(add(sd_bus_add_filter(bus, &slot, &Impl::on_filter, impl.get()), slot, "install the error filter"));
  HYBRID_TRY_STATUS(add(sd_bus_add_object_manager(bus, &slot, "/"), slot, "export the object manager"));
  if (!impl->opt.no_adapter) {
    // sd-bus lists an object's interfaces newest first; bluetoothd lists Adapter1 before
    // LEAdvertisingManager1, and bluetoothctl 5.66 crashes (NULL proxy in find_ctrl) when
    // the manager comes first. So register the manager first.
    HYBRID_TRY_STATUS(add(sd_bus_add_object_vtable(bus, &slot, impl->adapter_path.c_str(), kAdvManagerIface,
                                                   Impl::kManagerVtable, impl.get()),
                          slot, "export LEAdvertisingManager1"));
    HYBRID_TRY_STATUS(add(sd_bus_add_object_vtable(bus, &slot, impl->adapter_path.c_str(), kAdapterIface,
                                                   Impl::kAdapterVtable, impl.get()),
                          slot, "export Adapter1"));
  }
  HYBRID_TRY_STATUS(add(sd_bus_match_signal(bus, &slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                            "org.freedesktop.DBus", "NameOwnerChanged", &Impl::on_name_owner_changed,
                                            impl.get()),
                        slot, "watch clients leaving the bus"));
  int r = sd_bus_request_name(bus, kBluez, 0);
  if (r == -EEXIST || r == -EALREADY) {
    return make_error("virtual air: org.bluez is already owned on " + sdbus::describe_bus(bus_address) +
                      " (a real bluetoothd or another virtual air); use a private bus");
  }
  if (r < 0) {
    return make_error("virtual air: cannot own org.bluez on " + sdbus::describe_bus(bus_address) + ": " +
                      sdbus::errno_text(r) + " (the bus policy must allow it)");
  }
  return std::unique_ptr<VirtualAir>(new VirtualAir(std::move(impl)));
}

Status VirtualAir::run() {
  Impl& s = *impl_;
  sd_bus* bus = s.bus.get();
  Status result;
  while (!s.stopping.load()) {
    {
      std::lock_guard lock(s.mu);
      int r;
      while ((r = sd_bus_process(bus, nullptr)) > 0) {
      }
      if (r < 0) {
        result = make_error("virtual air: lost the bus: " + sdbus::errno_text(r));
        break;
      }
      std::vector<std::function<void()>> tasks;
      {
        std::lock_guard tl(s.task_mu);
        tasks.swap(s.tasks);
      }
      for (auto& t : tasks) t();
      if (Clock::now() >= s.next_tick) {
        s.tick();
        s.next_tick = Clock::now() + s.opt.advert_interval;
      }
      // Flush what the handlers queued before sleeping.
      sd_bus_flush(bus);
    }
    auto deadline = s.discovering() ? s.next_tick : Clock::now() + std::chrono::seconds(30);
    auto w = sdbus::wait(bus, deadline, s.wake_fd);
    if (!w) {
      result = make_error("virtual air: " + w.error().message);
      break;
    }
    if (*w == sdbus::Wake::wake_fd) {
      uint64_t v;
      ssize_t n = read(s.wake_fd, &v, sizeof v);
      (void)n;
    }
  }
  // Like bluetoothd shutting down: tell every advertiser its advertisement is gone.
  std::lock_guard lock(s.mu);
  for (const auto& [id, a] : s.adverts) {
    if (a.owner.empty() || !a.active) continue;
    auto m = sdbus::new_method_call(bus, a.owner.c_str(), a.path.c_str(), kAdvertisementIface, "Release");
    sd_bus_message_set_expect_reply(m.get(), 0);
    sd_bus_send(bus, m.get(), nullptr);
  }
  sd_bus_flush(bus);
  return result;
}

void VirtualAir::stop() {
  impl_->stopping.store(true);
  impl_->wake();
}

VirtualAirStats VirtualAir::stats() const {
  std::lock_guard lock(impl_->mu);
  VirtualAirStats s = impl_->counters;
  s.powered = impl_->powered;
  s.discovering = impl_->discovering();
  s.discovery_sessions = 0;
  for (const auto& [name, c] : impl_->clients) s.discovery_sessions += c.discovering ? 1 : 0;
  s.advertisements = 0;
  for (const auto& [id, a] : impl_->adverts) s.advertisements += a.active ? 1 : 0;
  s.devices = static_cast<int>(impl_->devices.size());
  return s;
}

std::string VirtualAir::broadcast(std::vector<std::pair<std::string, Bytes>> service_data, std::string address) {
  if (address.empty()) {
    std::lock_guard lock(impl_->mu);
    address = random_address(impl_->rng);
  }
  {
    std::lock_guard tl(impl_->task_mu);
    impl_->tasks.push_back([this, address, data = std::move(service_data)] {
      Impl& s = *impl_;
      for (auto& [id, a] : s.adverts) {
        if (a.active && a.owner.empty() && a.address == address) {
          a.service_data = data;
          if (auto d = s.devices.find(id); d != s.devices.end()) {
            sd_bus_emit_properties_changed(s.bus.get(), d->second->path.c_str(), kDeviceIface, "ServiceData",
                                           nullptr);
          }
          return;
        }
      }
      Impl::Advert a;
      a.address = address;
      a.service_data = data;
      s.adverts[s.next_advert_id++] = std::move(a);
      s.sync_devices();
    });
  }
  impl_->wake();
  return address;
}

void VirtualAir::set_powered(bool on) {
  {
    std::lock_guard tl(impl_->task_mu);
    impl_->tasks.push_back([this, on] { impl_->apply_powered(on); });
  }
  impl_->wake();
}

}  // namespace hybrid::ble
