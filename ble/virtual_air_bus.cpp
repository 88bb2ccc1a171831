#include "ble/virtual_air_bus.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

#include "base/log.h"
#include "ble/bluez_names.h"

namespace hybrid::ble {

namespace {

int reply_error(sd_bus_message* m, const std::string& name, const std::string& message) {
  return sd_bus_reply_method_errorf(m, name.c_str(), "%s", message.c_str());
}

// Answers `m` with the model's verdict: the error reply, or an empty method return.
int reply(sd_bus_message* m, const AirReply& error) {
  return error ? reply_error(m, error->name, error->message) : sd_bus_reply_method_return(m, "");
}

// Reads the object path argument of RegisterAdvertisement, UnregisterAdvertisement and
// RemoveDevice into `path`; without one, answers InvalidArguments and returns the handler's result.
std::optional<int> read_path_argument(sd_bus_message* m, const char*& path) {
  path = nullptr;
  if (sd_bus_message_read(m, "o", &path) < 0 || !path) {
    return reply_error(m, "org.bluez.Error.InvalidArguments", "Invalid arguments in method call");
  }
  return std::nullopt;
}

// SetDiscoveryFilter's dictionary, checked as bluetoothd checks it: nullopt when invalid;
// an empty dictionary is a filter of nullopt (clears the client's filter).
std::optional<std::optional<DiscoveryFilter>> read_discovery_filter(sd_bus_message* m) {
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
  if (!parsed || !valid || (has_rssi && has_pathloss)) return std::nullopt;
  if (empty) return std::optional<DiscoveryFilter>{};
  return std::optional<DiscoveryFilter>{std::move(f)};
}

// ManufacturerData, a{qv} with ay values, as it counts on air (4 bytes a record + data);
// nullopt (nothing consumed) when the variant holds another type.
std::optional<size_t> read_manufacturer_bytes(sd_bus_message* mm) {
  char t = 0;
  const char* c = nullptr;
  if (!(sd_bus_message_peek_type(mm, &t, &c) > 0 && c && std::strcmp(c, "a{qv}") == 0 &&
        sd_bus_message_enter_container(mm, 'v', "a{qv}") > 0 && sd_bus_message_enter_container(mm, 'a', "{qv}") > 0)) {
    return std::nullopt;
  }
  size_t bytes = 0;
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
    bytes += 4 + n;
    sd_bus_message_exit_container(mm);
  }
  sd_bus_message_exit_container(mm);
  sd_bus_message_exit_container(mm);
  return bytes;
}

// LEAdvertisement1.GetAll's reply; nullopt when a property bluetoothd needs has a wrong type.
std::optional<AdvertisementProperties> read_advertisement(sd_bus_message* reply) {
  AdvertisementProperties a;
  bool ok = true;
  bool parsed = sdbus::read_dict(reply, [&](std::string_view key, sd_bus_message* mm) {
    if (key == "Type") {
      auto s = sdbus::read_variant_string(mm);
      if (!s) ok = false;
      if (s) a.type = *s;  // the model checks the value
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
      if (b) a.discoverable = *b;
      return b.has_value();
    }
    if (key == "Includes") {
      auto v = sdbus::read_variant_string_array(mm);
      if (v) {
        for (const auto& s : *v) {
          if (s == "tx-power") a.includes_tx_power = true;
          if (s == "appearance") a.includes_appearance = true;
        }
      }
      return v.has_value();
    }
    if (key == "ManufacturerData") {
      auto n = read_manufacturer_bytes(mm);
      if (!n) ok = false;
      if (n) a.manufacturer_bytes += *n;
      return n.has_value();
    }
    return false;  // LocalName goes to the scan response; other keys do not matter here
  });
  if (!parsed || !ok) return std::nullopt;
  return a;
}

}  // namespace

// The sd-bus callbacks: method handlers, property getters and setters, the knobs' filter.
struct VirtualAirHandlers {
  static VirtualAirBus& air(void* ud) { return *static_cast<VirtualAirBus*>(ud); }

  // --- Adapter1 ------------------------------------------------------------------------

  static int on_start_discovery(sd_bus_message* m, void* ud, sd_bus_error*) {
    auto& self = air(ud);
    auto error = self.model_.start_discovery(sd_bus_message_get_sender(m), AirClock::now());
    int r = reply(m, error);
    self.emit_signals();
    return r;
  }

  static int on_stop_discovery(sd_bus_message* m, void* ud, sd_bus_error*) {
    auto& self = air(ud);
    auto error = self.model_.stop_discovery(sd_bus_message_get_sender(m));
    int r = reply(m, error);
    self.emit_signals();
    return r;
  }

  static int on_set_discovery_filter(sd_bus_message* m, void* ud, sd_bus_error*) {
    auto& self = air(ud);
    std::string sender = sd_bus_message_get_sender(m);
    if (auto e = self.model_.require_powered()) return reply(m, e);
    auto filter = read_discovery_filter(m);
    if (!filter) return reply_error(m, "org.bluez.Error.InvalidArguments", "Invalid arguments in method call");
    self.model_.set_discovery_filter(sender, std::move(*filter));
    int r = reply(m, std::nullopt);
    self.emit_signals();
    return r;
  }

  static int on_get_discovery_filters(sd_bus_message* m, void*, sd_bus_error*) {
    return sd_bus_reply_method_return(m, "as", 7, "UUIDs", "RSSI", "Pathloss", "Transport", "DuplicateData",
                                      "Discoverable", "Pattern");
  }

  static int on_remove_device(sd_bus_message* m, void* ud, sd_bus_error*) {
    auto& self = air(ud);
    const char* path = nullptr;
    if (auto answered = read_path_argument(m, path)) return *answered;
    for (const auto& [id, dev] : self.model_.devices()) {
      if (dev.path == path) {
        int r = reply(m, std::nullopt);
        self.model_.remove_device(id);  // comes back with the next advert it "receives"
        self.emit_signals();
        return r;
      }
    }
    return reply_error(m, "org.bluez.Error.DoesNotExist", "Does Not Exist");
  }

  static int adapter_property(sd_bus*, const char*, const char*, const char* property, sd_bus_message* reply,
                              void* ud, sd_bus_error*) {
    const auto& model = air(ud).model_;
    std::string_view p = property;
    if (p == "Address") return sd_bus_message_append(reply, "s", model.options().adapter_address.c_str());
    if (p == "AddressType") return sd_bus_message_append(reply, "s", "public");
    if (p == "Name" || p == "Alias") return sd_bus_message_append(reply, "s", "virtual-air");
    if (p == "Class") return sd_bus_message_append(reply, "u", 0u);
    if (p == "Powered") return sd_bus_message_append(reply, "b", model.powered() ? 1 : 0);
    if (p == "PowerState") return sd_bus_message_append(reply, "s", model.power_state());
    if (p == "Discoverable" || p == "Connectable") return sd_bus_message_append(reply, "b", 0);
    if (p == "Pairable") return sd_bus_message_append(reply, "b", 1);
    if (p == "DiscoverableTimeout") return sd_bus_message_append(reply, "u", 180u);
    if (p == "PairableTimeout") return sd_bus_message_append(reply, "u", 0u);
    if (p == "Discovering") return sd_bus_message_append(reply, "b", model.discovering() ? 1 : 0);
    if (p == "UUIDs") return sd_bus_message_append(reply, "as", 0);
    if (p == "Roles") return sd_bus_message_append(reply, "as", 2, "central", "peripheral");
    return -EINVAL;
  }

  static int set_powered(sd_bus*, const char*, const char*, const char*, sd_bus_message* value, void* ud,
                         sd_bus_error* error) {
    auto& self = air(ud);
    int on = 0;
    int r = sd_bus_message_read(value, "b", &on);
    if (r < 0) return r;
    if (auto e = self.model_.write_powered(on != 0)) return sd_bus_error_set(error, e->name.c_str(), e->message.c_str());
    self.emit_signals();
    return 1;
  }

  // --- LEAdvertisingManager1 -----------------------------------------------------------

  static int on_register_advertisement(sd_bus_message* m, void* ud, sd_bus_error*) {
    auto& self = air(ud);
    std::string sender = sd_bus_message_get_sender(m);
    const char* path = nullptr;
    if (auto answered = read_path_argument(m, path)) return *answered;
    uint64_t id = 0;
    if (auto e = self.model_.begin_registration(sender, path, id)) return reply(m, e);
    // Like bluetoothd: read the advertisement's properties from its owner, then answer.
    auto p = std::make_unique<VirtualAirBus::PendingCall>();
    p->air = &self;
    p->id = id;
    p->call.reset(sd_bus_message_ref(m));
    auto get_all = sdbus::new_method_call(self.bus_, sender.c_str(), path, kPropertiesIface, "GetAll");
    sd_bus_message_append(get_all.get(), "s", kAdvertisementIface);
    sd_bus_slot* slot = nullptr;
    int r = sd_bus_call_async(self.bus_, &slot, get_all.get(), on_advertisement_properties, p.get(), 10 * 1000 * 1000);
    if (r < 0) {
      self.model_.take_pending(id);
      return reply_error(m, "org.bluez.Error.Failed", "Failed to register advertisement");
    }
    p->slot.reset(slot);
    self.pending_[id] = std::move(p);
    return 1;  // answered later
  }

  static int on_advertisement_properties(sd_bus_message* msg, void* ud, sd_bus_error*) {
    auto* p = static_cast<VirtualAirBus::PendingCall*>(ud);
    VirtualAirBus& self = *p->air;
    auto node = self.pending_.extract(p->id);  // keeps p alive until the end of this function
    sdbus::MessagePtr call = std::move(p->call);
    auto from = self.model_.take_pending(p->id);
    if (!from) return 0;
    if (sd_bus_message_is_method_error(msg, nullptr)) {
      const sd_bus_error* e = sd_bus_message_get_error(msg);
      log::warn("virtual-air", "could not read advertisement {} from {}: {}", from->path, from->owner,
                e && e->name ? e->name : "?");
      return reply_error(call.get(), "org.bluez.Error.Failed", "Failed to parse advertisement.");
    }
    auto props = read_advertisement(msg);
    if (!props) return reply_error(call.get(), "org.bluez.Error.Failed", "Failed to parse advertisement.");
    auto error = self.model_.register_advertisement(*from, *props);
    int r = reply(call.get(), error);
    self.emit_signals();
    return r;
  }

  static int on_unregister_advertisement(sd_bus_message* m, void* ud, sd_bus_error*) {
    auto& self = air(ud);
    std::string sender = sd_bus_message_get_sender(m);
    const char* path = nullptr;
    if (auto answered = read_path_argument(m, path)) return *answered;
    auto error = self.model_.unregister_advertisement(sender, path, AirClock::now());
    self.emit_signals();  // bluetoothd announces the removal before it answers
    return reply(m, error);
  }

  static int manager_property(sd_bus*, const char*, const char*, const char* property, sd_bus_message* reply,
                              void* ud, sd_bus_error*) {
    const auto& model = air(ud).model_;
    std::string_view p = property;
    if (p == "ActiveInstances") return sd_bus_message_append(reply, "y", static_cast<uint8_t>(model.registered_count()));
    if (p == "SupportedInstances") {
      return sd_bus_message_append(reply, "y", static_cast<uint8_t>(model.supported_instances()));
    }
    if (p == "SupportedIncludes") return sd_bus_message_append(reply, "as", 3, "tx-power", "appearance", "local-name");
    if (p == "SupportedFeatures") return sd_bus_message_append(reply, "as", 0);
    return -EINVAL;
  }

  // --- Device1 -------------------------------------------------------------------------

  static int device_property(sd_bus*, const char*, const char*, const char* property, sd_bus_message* reply,
                             void* ud, sd_bus_error*) {
    auto* exported = static_cast<VirtualAirBus::ExportedDevice*>(ud);
    const auto& model = exported->air->model_;
    std::string_view p = property;
    const AirAdvert* a = model.advert(exported->id);
    auto dev = model.devices().find(exported->id);
    if (!a || dev == model.devices().end()) return -ENOENT;
    const std::string& address = dev->second.address;
    if (p == "Address") return sd_bus_message_append(reply, "s", address.c_str());
    if (p == "AddressType") return sd_bus_message_append(reply, "s", "random");
    if (p == "Alias") {
      std::string alias = address;
      std::replace(alias.begin(), alias.end(), ':', '-');
      return sd_bus_message_append(reply, "s", alias.c_str());
    }
    if (p == "Paired" || p == "Bonded" || p == "Trusted" || p == "Blocked" || p == "LegacyPairing" ||
        p == "Connected" || p == "ServicesResolved") {
      return sd_bus_message_append(reply, "b", 0);
    }
    if (p == "UUIDs") {
      int r = sd_bus_message_open_container(reply, 'a', "s");
      for (const auto& u : a->uuids) {
        if (r >= 0) r = sd_bus_message_append_basic(reply, 's', u.c_str());
      }
      return r < 0 ? r : sd_bus_message_close_container(reply);
    }
    if (p == "Adapter") return sd_bus_message_append(reply, "o", model.adapter_path().c_str());
    if (p == "RSSI") return sd_bus_message_append(reply, "n", dev->second.rssi);
    if (p == "ServiceData") return sdbus::append_service_data(reply, a->service_data);
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

  // --- the bus -------------------------------------------------------------------------

  static int on_name_owner_changed(sd_bus_message* m, void* ud, sd_bus_error*) {
    auto& self = air(ud);
    const char *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
    if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0) return 0;
    if (name && name[0] == ':' && (!new_owner || !*new_owner)) {
      self.model_.client_gone(name, AirClock::now());
      self.emit_signals();
      // Its registrations still waiting for properties are dropped with their calls.
      for (auto it = self.pending_.begin(); it != self.pending_.end();) {
        it = self.model_.has_pending(it->first) ? std::next(it) : self.pending_.erase(it);
      }
    }
    return 0;
  }

  // Answers configured method calls with an error before they reach their handler.
  static int on_filter(sd_bus_message* m, void* ud, sd_bus_error*) {
    auto& self = air(ud);
    if (self.faults_.empty()) return 0;
    uint8_t type = 0;
    if (sd_bus_message_get_type(m, &type) < 0 || type != SD_BUS_MESSAGE_METHOD_CALL) return 0;
    const char* member = sd_bus_message_get_member(m);
    const char* iface = sd_bus_message_get_interface(m);
    if (!member) return 0;
    auto error = self.faults_.error_for(iface ? iface : "", member);
    if (!error) return 0;
    log::info("virtual-air", "answering {} with {} (knob)", member, error->name);
    reply_error(m, error->name, error->message);
    return 1;
  }

  static const sd_bus_vtable kAdapterVtable[];
  static const sd_bus_vtable kManagerVtable[];
  static const sd_bus_vtable kDeviceVtable[];
};

#define AIR_PROP(name, sig, getter) SD_BUS_PROPERTY(name, sig, getter, 0, 0)
#define AIR_PROP_CHANGING(name, sig, getter) \
  SD_BUS_PROPERTY(name, sig, getter, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)

using H = VirtualAirHandlers;

const sd_bus_vtable VirtualAirHandlers::kAdapterVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("StartDiscovery", "", "", &H::on_start_discovery, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("StopDiscovery", "", "", &H::on_stop_discovery, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("SetDiscoveryFilter", "a{sv}", SD_BUS_PARAM(properties), "", ,
                             &H::on_set_discovery_filter, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("RemoveDevice", "o", SD_BUS_PARAM(device), "", , &H::on_remove_device,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("GetDiscoveryFilters", "", , "as", SD_BUS_PARAM(filters), &H::on_get_discovery_filters,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    AIR_PROP("Address", "s", &H::adapter_property),
    AIR_PROP("AddressType", "s", &H::adapter_property),
    AIR_PROP("Name", "s", &H::adapter_property),
    AIR_PROP("Alias", "s", &H::adapter_property),
    AIR_PROP("Class", "u", &H::adapter_property),
    SD_BUS_WRITABLE_PROPERTY("Powered", "b", &H::adapter_property, &H::set_powered, 0,
                             SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    AIR_PROP_CHANGING("PowerState", "s", &H::adapter_property),
    AIR_PROP("Discoverable", "b", &H::adapter_property),
    AIR_PROP("Connectable", "b", &H::adapter_property),
    AIR_PROP("Pairable", "b", &H::adapter_property),
    AIR_PROP("DiscoverableTimeout", "u", &H::adapter_property),
    AIR_PROP("PairableTimeout", "u", &H::adapter_property),
    AIR_PROP_CHANGING("Discovering", "b", &H::adapter_property),
    AIR_PROP("UUIDs", "as", &H::adapter_property),
    AIR_PROP("Roles", "as", &H::adapter_property),
    SD_BUS_VTABLE_END,
};

const sd_bus_vtable VirtualAirHandlers::kManagerVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD_WITH_NAMES("RegisterAdvertisement", "oa{sv}", SD_BUS_PARAM(advertisement) SD_BUS_PARAM(options),
                             "", , &H::on_register_advertisement, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("UnregisterAdvertisement", "o", SD_BUS_PARAM(service), "", ,
                             &H::on_unregister_advertisement, SD_BUS_VTABLE_UNPRIVILEGED),
    AIR_PROP_CHANGING("ActiveInstances", "y", &H::manager_property),
    AIR_PROP_CHANGING("SupportedInstances", "y", &H::manager_property),
    AIR_PROP("SupportedIncludes", "as", &H::manager_property),
    AIR_PROP("SupportedFeatures", "as", &H::manager_property),
    SD_BUS_VTABLE_END,
};

const sd_bus_vtable VirtualAirHandlers::kDeviceVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Connect", "", "", &H::device_connect, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Disconnect", "", "", &H::device_disconnect, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Pair", "", "", &H::device_connect, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("CancelPairing", "", "", &H::device_cancel_pairing, SD_BUS_VTABLE_UNPRIVILEGED),
    AIR_PROP("Address", "s", &H::device_property),
    AIR_PROP("AddressType", "s", &H::device_property),
    AIR_PROP("Alias", "s", &H::device_property),
    AIR_PROP("Paired", "b", &H::device_property),
    AIR_PROP("Bonded", "b", &H::device_property),
    AIR_PROP("Trusted", "b", &H::device_property),
    AIR_PROP("Blocked", "b", &H::device_property),
    AIR_PROP("LegacyPairing", "b", &H::device_property),
    AIR_PROP("Connected", "b", &H::device_property),
    AIR_PROP("UUIDs", "as", &H::device_property),
    AIR_PROP("Adapter", "o", &H::device_property),
    AIR_PROP_CHANGING("RSSI", "n", &H::device_property),
    AIR_PROP_CHANGING("ServiceData", "a{sv}", &H::device_property),
    AIR_PROP("ServicesResolved", "b", &H::device_property),
    SD_BUS_VTABLE_END,
};

VirtualAirBus::VirtualAirBus(sd_bus* bus, VirtualAirModel& model, const FaultTable& faults)
    : bus_(bus), model_(model), faults_(faults) {}

Status VirtualAirBus::export_objects() {
  auto add = [&](int r, sd_bus_slot* slot, const std::string& what) -> Status {
    if (r < 0) return make_error("virtual air: cannot " + what + ": " + sdbus::errno_text(r));
    slots_.emplace_back(slot);
    return {};
  };
  const char* adapter_path = model_.adapter_path().c_str();
  sd_bus_slot* slot = nullptr;
  HYBRID_TRY_STATUS(add(sd_bus_add_filter(bus_, &slot, &H::on_filter, this), slot, "install the error filter"));
  HYBRID_TRY_STATUS(add(sd_bus_add_object_manager(bus_, &slot, "/"), slot, "export the object manager"));
  if (!model_.options().no_adapter) {
    // sd-bus lists an object's interfaces newest first; bluetoothd lists Adapter1 before
    // LEAdvertisingManager1, and bluetoothctl 5.66 crashes (NULL proxy in find_ctrl) when
    // the manager comes first. So register the manager first.
    HYBRID_TRY_STATUS(add(sd_bus_add_object_vtable(bus_, &slot, adapter_path, kAdvManagerIface, H::kManagerVtable, this),
                          slot, "export LEAdvertisingManager1"));
    HYBRID_TRY_STATUS(add(sd_bus_add_object_vtable(bus_, &slot, adapter_path, kAdapterIface, H::kAdapterVtable, this),
                          slot, "export Adapter1"));
  }
  HYBRID_TRY_STATUS(add(sd_bus_match_signal(bus_, &slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                            "org.freedesktop.DBus", "NameOwnerChanged", &H::on_name_owner_changed, this),
                        slot, "watch clients leaving the bus"));
  return {};
}

void VirtualAirBus::export_device(uint64_t id) {
  auto dev = model_.devices().find(id);
  if (dev == model_.devices().end()) return;
  const std::string& path = dev->second.path;
  auto exported = std::make_unique<ExportedDevice>();
  exported->air = this;
  exported->id = id;
  sd_bus_slot* slot = nullptr;
  int r = sd_bus_add_object_vtable(bus_, &slot, path.c_str(), kDeviceIface, H::kDeviceVtable, exported.get());
  if (r < 0) {
    log::warn("virtual-air", "cannot export device {}: {}", path, sdbus::errno_text(r));
    model_.forget_device(id);
    return;
  }
  exported->slot.reset(slot);
  exported->path = path;
  devices_[id] = std::move(exported);
  sd_bus_emit_object_added(bus_, path.c_str());
  log::debug("virtual-air", "device {} appeared", path);
}

void VirtualAirBus::unexport_device(uint64_t id) {
  auto it = devices_.find(id);
  if (it == devices_.end()) return;
  sd_bus_emit_object_removed(bus_, it->second->path.c_str());
  devices_.erase(it);
}

void VirtualAirBus::emit_signals() {
  const char* adapter_path = model_.adapter_path().c_str();
  for (auto& s : model_.take_signals()) {
    s.properties.push_back(nullptr);
    auto* names = const_cast<char**>(s.properties.data());
    switch (s.kind) {
      case AirSignal::Kind::device_added:
        export_device(s.device);
        break;
      case AirSignal::Kind::device_removed:
        unexport_device(s.device);
        break;
      case AirSignal::Kind::device_changed:
        if (auto it = devices_.find(s.device); it != devices_.end()) {
          sd_bus_emit_properties_changed_strv(bus_, it->second->path.c_str(), kDeviceIface, names);
        }
        break;
      case AirSignal::Kind::adapter_changed:
        sd_bus_emit_properties_changed_strv(bus_, adapter_path, kAdapterIface, names);
        break;
      case AirSignal::Kind::advertising_changed:
        sd_bus_emit_properties_changed_strv(bus_, adapter_path, kAdvManagerIface, names);
        break;
    }
  }
}

void VirtualAirBus::release_advertisements() {
  for (const auto& [id, a] : model_.adverts()) {
    if (a.owner.empty() || !a.active) continue;
    auto m = sdbus::new_method_call(bus_, a.owner.c_str(), a.path.c_str(), kAdvertisementIface, "Release");
    sd_bus_message_set_expect_reply(m.get(), 0);
    sd_bus_send(bus_, m.get(), nullptr);
  }
}

}  // namespace hybrid::ble
