#include "ble/bluez_radio.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "base/log.h"
#include "ble/bluez_errors.h"
#include "ble/bluez_names.h"
#include "ble/bluez_objects.h"
#include "ble/sdbus.h"
#include "ble/rfkill.h"

namespace hybrid::ble {

namespace {

using sdbus::BusPtr;
using sdbus::Clock;
using sdbus::MessagePtr;
using sdbus::SlotPtr;

std::string adapter_path_for(const std::string& wanted) {
  if (wanted.empty() || wanted[0] == '/') return wanted;
  return "/org/bluez/" + wanted;
}


// One connection to BlueZ, with the adapter resolved and powered.
struct Connection {
  BusPtr bus;
  std::string bus_text;  // "the system D-Bus" / "the D-Bus at …"
  std::string adapter_path;
  std::string adapter;   // "hci0"
  ManagedObjects objects;
};

class Caller {
 public:
  Caller(Connection& c, std::chrono::milliseconds timeout, int wake_fd, std::function<bool()> on_wake)
      : c_(c), timeout_(timeout), wake_fd_(wake_fd), on_wake_(std::move(on_wake)) {}

  // Calls a method; maps an error reply to a RadioError. nullopt message = cancelled.
  Result<MessagePtr> run(sdbus::MessagePtr msg, std::string_view method_name) {
    auto r = sdbus::call(c_.bus.get(), msg.get(), timeout_, wake_fd_, on_wake_);
    if (!r) return radio_error(RadioError::dbus_failure, r.error().message);
    if (!r->has_value()) return radio_error(RadioError::cancelled, "BLE operation cancelled");
    auto& reply = **r;
    if (reply.error) {
      return map_bluez_error(BluezCall{method_name, c_.adapter, c_.bus_text}, reply.error->name,
                             reply.error->message);
    }
    return std::move(reply.message);
  }

 private:
  Connection& c_;
  std::chrono::milliseconds timeout_;
  int wake_fd_;
  std::function<bool()> on_wake_;
};

// Lists BlueZ's objects, picks the adapter and makes sure it is powered.
Status resolve_adapter(Connection& c, Caller& caller, const BluezRadioOptions& opt, bool system_bus,
                       bool need_advertising) {
  c.adapter = opt.adapter.empty() ? "hci0" : adapter_name(opt.adapter);
  auto msg = sdbus::new_method_call(c.bus.get(), kBluez, "/", kObjectManagerIface, "GetManagedObjects");
  HYBRID_TRY(MessagePtr reply, caller.run(std::move(msg), "ObjectManager.GetManagedObjects"));
  c.objects = parse_managed_objects(reply.get());

  std::string available;
  for (const auto& a : c.objects.adapters) available += (available.empty() ? "" : ", ") + adapter_name(a.path);
  const AdapterInfo* chosen = nullptr;
  if (opt.adapter.empty()) {
    if (!c.objects.adapters.empty()) chosen = &c.objects.adapters.front();
  } else {
    std::string want = adapter_path_for(opt.adapter);
    for (const auto& a : c.objects.adapters) {
      if (a.path == want) chosen = &a;
    }
  }
  if (!chosen) return no_adapter_error(adapter_name(opt.adapter), available);
  c.adapter_path = chosen->path;
  c.adapter = adapter_name(chosen->path);
  if (need_advertising && !chosen->can_advertise) {
    return radio_error(RadioError::no_adapter,
                       "Bluetooth adapter " + c.adapter +
                           " cannot advertise (BlueZ offers no LEAdvertisingManager1 on it): it is not a Bluetooth LE "
                           "adapter, or it is powered down at controller level; try another with --adapter");
  }
  if (chosen->powered) return {};

  bool blocked = chosen->power_state == "off-blocked" || (system_bus && sysfs_rfkill_blocked(c.adapter));
  if (!opt.power_on) return blocked ? rfkill_blocked_error(c.adapter) : powered_off_error(c.adapter);

  log::info("ble", "adapter {} is off; powering it on (--power-on)", c.adapter);
  auto set = sdbus::new_method_call(c.bus.get(), kBluez, c.adapter_path.c_str(), kPropertiesIface, "Set");
  int r = sd_bus_message_append(set.get(), "ssv", kAdapterIface, "Powered", "b", 1);
  if (r < 0) return radio_error(RadioError::dbus_failure, "could not build Properties.Set: " + sdbus::errno_text(r));
  HYBRID_TRY(MessagePtr ignored, caller.run(std::move(set), "Adapter1.Powered=true"));
  (void)ignored;
  return {};
}

Result<Connection> open_connection(const std::string& address) {
  Connection c;
  c.bus_text = sdbus::describe_bus(address);
  auto bus = sdbus::open_bus(address);
  if (!bus) return radio_error(RadioError::dbus_failure, bus.error().message);
  c.bus = std::move(*bus);
  return c;
}

bool is_system_bus(const std::string& address) {
  return address.empty() && std::getenv("DBUS_SYSTEM_BUS_ADDRESS") == nullptr;
}

// ---------------------------------------------------------------------------------------
// Listening

struct ListenState {
  std::string adapter_prefix;  // "/org/bluez/hci0/" once the adapter is known
  std::string adapter_path;
  std::string adapter;
  std::string bluez_owner;     // unique name of org.bluez, to ignore spoofed signals
  std::map<std::string, DeviceInfo>* devices = nullptr;
  std::deque<ServiceDataEvent> events;
  std::optional<Error> fatal;
  size_t other_service_data = 0;  // non-caBLE entries (Nearby and friends), for the log
};

void queue_service_data(ListenState& st, const DeviceInfo& dev, const sdbus::ServiceDataMap& sd) {
  for (const auto& [uuid, bytes] : sd) {
    auto cable = parse_cable_uuid(uuid);
    if (!cable) {
      ++st.other_service_data;
      continue;
    }
    st.events.push_back(ServiceDataEvent{*cable, bytes, dev.address, dev.rssi});
  }
}

bool from_bluez(ListenState& st, sd_bus_message* m) {
  const char* sender = sd_bus_message_get_sender(m);
  return st.bluez_owner.empty() || (sender && st.bluez_owner == sender);
}

int on_interfaces_added(sd_bus_message* m, void* userdata, sd_bus_error*) {
  auto& st = *static_cast<ListenState*>(userdata);
  if (!from_bluez(st, m) || st.adapter_prefix.empty()) return 0;
  const char* path = nullptr;
  if (sd_bus_message_read_basic(m, 'o', &path) < 0 || !path) return 0;
  std::string p = path;
  if (p.rfind(st.adapter_prefix, 0) != 0) return 0;
  if (sd_bus_message_enter_container(m, 'a', "{sa{sv}}") <= 0) return 0;
  while (sd_bus_message_enter_container(m, 'e', "sa{sv}") > 0) {
    const char* iface = nullptr;
    sd_bus_message_read_basic(m, 's', &iface);
    if (iface && std::string_view(iface) == kDeviceIface) {
      DeviceInfo dev;
      std::optional<sdbus::ServiceDataMap> sd;
      read_device_props(m, dev, sd);
      if (dev.address.empty()) dev.address = address_from_path(p);
      (*st.devices)[p] = dev;
      if (sd) queue_service_data(st, dev, *sd);
    } else {
      sd_bus_message_skip(m, "a{sv}");
    }
    sd_bus_message_exit_container(m);
  }
  return 0;
}

int on_interfaces_removed(sd_bus_message* m, void* userdata, sd_bus_error*) {
  auto& st = *static_cast<ListenState*>(userdata);
  if (!from_bluez(st, m) || st.adapter_path.empty()) return 0;
  const char* path = nullptr;
  if (sd_bus_message_read_basic(m, 'o', &path) < 0 || !path) return 0;
  char** ifaces = nullptr;
  if (sd_bus_message_read_strv(m, &ifaces) < 0) return 0;
  bool adapter_gone = false;
  for (char** i = ifaces; i && *i; ++i) {
    if (path == st.adapter_path && std::string_view(*i) == kAdapterIface) adapter_gone = true;
    free(*i);
  }
  free(ifaces);
  if (adapter_gone && !st.fatal) {
    st.fatal = radio_error(RadioError::no_adapter, "Bluetooth adapter " + st.adapter +
                                                       " disappeared while scanning (unplugged or reset?): plug it "
                                                       "back in and try again");
  }
  st.devices->erase(path);
  return 0;
}

int on_properties_changed(sd_bus_message* m, void* userdata, sd_bus_error*) {
  auto& st = *static_cast<ListenState*>(userdata);
  if (!from_bluez(st, m) || st.adapter_path.empty()) return 0;
  const char* path_c = sd_bus_message_get_path(m);
  if (!path_c) return 0;
  std::string path = path_c;
  const char* iface = nullptr;
  if (sd_bus_message_read_basic(m, 's', &iface) < 0 || !iface) return 0;
  std::string_view i = iface;
  if (i == kAdapterIface && path == st.adapter_path) {
    std::optional<bool> powered;
    sdbus::read_dict(m, [&](std::string_view key, sd_bus_message* mm) {
      if (key != "Powered") return false;
      powered = sdbus::read_variant_bool(mm);
      return powered.has_value();
    });
    if (powered == false && !st.fatal) {
      st.fatal = radio_error(RadioError::powered_off, "Bluetooth adapter " + st.adapter +
                                                          " was powered off while scanning: turn Bluetooth on "
                                                          "and try again");
    }
    return 0;
  }
  if (i != kDeviceIface || path.rfind(st.adapter_prefix, 0) != 0) return 0;
  auto& dev = (*st.devices)[path];
  if (dev.address.empty()) dev.address = address_from_path(path);
  std::optional<sdbus::ServiceDataMap> sd;
  read_device_props(m, dev, sd);  // RSSI first: BlueZ sends it in the same signal
  if (sd) queue_service_data(st, dev, *sd);
  return 0;
}

int on_bluez_owner_changed(sd_bus_message* m, void* userdata, sd_bus_error*) {
  auto& st = *static_cast<ListenState*>(userdata);
  const char *name = nullptr, *old_owner = nullptr, *new_owner = nullptr;
  if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0) return 0;
  if (!name || std::string_view(name) != kBluez) return 0;
  if ((!new_owner || !*new_owner) && !st.fatal) {
    st.fatal = radio_error(RadioError::bluez_not_running,
                           "BlueZ (bluetoothd) stopped while scanning: check `systemctl status bluetooth` and try "
                           "again");
  }
  return 0;
}

// ---------------------------------------------------------------------------------------
// Advertising

std::atomic<int> g_advert_counter{0};

}  // namespace

// One advertisement and the thread that serves it. The thread owns the advertisement's
// D-Bus connection from connecting to closing, and no other thread touches the connection
// or anything made from it: sd-bus objects are not thread-safe, and every message and slot
// holds a reference on its bus, so even dropping a reply on the caller's thread while this
// one runs sd_bus_process() races on the bus's reference count (a lost update frees the
// bus while it is in use and closes its socket twice).
struct BluezRadio::Advertiser {
  // Set before the thread starts; read-only afterwards.
  BluezRadioOptions options;
  std::string address;
  std::string object_path;
  Bytes data;
  int stop_fd = -1;  // written by stop_advertising() to end the thread
  // The thread's own.
  std::string adapter;  // "hci0", once resolved
  // Set by the thread, read by advertising().
  std::atomic<bool> released{false};
  std::thread thread;

  ~Advertiser() {
    if (stop_fd >= 0) close(stop_fd);
  }

  // The thread: registers, hands the outcome to await_registration(), serves BlueZ's calls
  // until stop_fd is written, then unregisters. The connection is closed on the way out,
  // on this thread.
  void run() {
    Connection conn;
    SlotPtr object_slot;  // destroyed before `conn`
    bool ok = false;
    try {
      Status st = register_object(conn, object_slot);
      ok = st.ok();
      report_registration(std::move(st), nullptr);
    } catch (...) {
      report_registration(std::nullopt, std::current_exception());
    }
    if (!ok) return;
    serve(conn.bus.get());
    if (released) return;  // nothing left to unregister
    try {
      unregister(conn);
    } catch (const std::exception& e) {
      log::warn("ble", "UnregisterAdvertisement not sent: {} (BlueZ also drops it when we disconnect)", e.what());
    }
  }

  // Waits until run() has registered or failed to; after a failure (returned, or thrown
  // as registering threw it) the thread has ended and closed its connection.
  Status await_registration() {
    std::optional<Status> status;
    std::exception_ptr exception;
    {
      std::unique_lock lock(registration_mu_);
      registration_cv_.wait(lock, [&] { return registration_.has_value() || registration_exception_; });
      status = std::move(registration_);
      exception = registration_exception_;
    }
    if (exception || !status->ok()) thread.join();
    if (exception) std::rethrow_exception(exception);
    return std::move(*status);
  }

  static int get_type(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void*,
                      sd_bus_error*) {
    return sd_bus_message_append(reply, "s", "broadcast");
  }
  static int get_uuids(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* ud,
                       sd_bus_error*) {
    auto* a = static_cast<Advertiser*>(ud);
    std::string uuid(uuid_string(a->options.advertise_uuid));
    if (a->options.advertise_service_uuid) return sd_bus_message_append(reply, "as", 1, uuid.c_str());
    return sd_bus_message_append(reply, "as", 0);
  }
  static int get_service_data(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* ud,
                              sd_bus_error*) {
    auto* a = static_cast<Advertiser*>(ud);
    return sdbus::append_service_data(reply, {{std::string(uuid_string(a->options.advertise_uuid)), a->data}});
  }
  static int on_release(sd_bus_message* m, void* ud, sd_bus_error*) {
    auto* a = static_cast<Advertiser*>(ud);
    a->released = true;
    log::warn("ble", "BlueZ released our advertisement on {} (adapter powered off, removed, or bluetoothd "
              "stopped); the phone is no longer advertising", a->adapter);
    return sd_bus_reply_method_return(m, "");
  }

  static const sd_bus_vtable kVtable[];

 private:
  std::mutex registration_mu_;
  std::condition_variable registration_cv_;
  std::optional<Status> registration_;
  std::exception_ptr registration_exception_;

  void report_registration(std::optional<Status> status, std::exception_ptr exception) {
    std::lock_guard lock(registration_mu_);
    registration_ = std::move(status);
    registration_exception_ = std::move(exception);
    registration_cv_.notify_all();
  }

  // Connects, resolves the adapter, exports the LEAdvertisement1 object and registers it.
  Status register_object(Connection& c, SlotPtr& object_slot) {
    HYBRID_TRY(c, open_connection(address));
    Caller caller(c, options.call_timeout, -1, {});
    HYBRID_TRY_STATUS(resolve_adapter(c, caller, options, is_system_bus(address), true));
    adapter = c.adapter;

    sd_bus_slot* slot = nullptr;
    int r = sd_bus_add_object_vtable(c.bus.get(), &slot, object_path.c_str(), kAdvertisementIface, kVtable, this);
    if (r < 0) {
      return radio_error(RadioError::dbus_failure,
                         "could not export the advertisement object: " + sdbus::errno_text(r));
    }
    object_slot.reset(slot);

    // BlueZ reads our properties (GetAll) before it answers; sdbus::call serves that.
    auto m = sdbus::new_method_call(c.bus.get(), kBluez, c.adapter_path.c_str(), kAdvManagerIface,
                                    "RegisterAdvertisement");
    r = sd_bus_message_append(m.get(), "oa{sv}", object_path.c_str(), 0);
    if (r < 0) return radio_error(RadioError::dbus_failure, "could not build RegisterAdvertisement");
    HYBRID_TRY(MessagePtr ignored, caller.run(std::move(m), "LEAdvertisingManager1.RegisterAdvertisement"));
    (void)ignored;
    log::info("ble", "advertising {} bytes of 0xFFF9 service data on {} ({})", data.size(), c.adapter, c.bus_text);
    return {};
  }

  void serve(sd_bus* bus) {
    for (;;) {
      int r = sd_bus_process(bus, nullptr);
      if (r < 0) {
        log::warn("ble", "advertiser lost its D-Bus connection: {}", sdbus::errno_text(r));
        return;
      }
      if (r > 0) continue;
      auto w = sdbus::wait(bus, Clock::now() + std::chrono::hours(1), stop_fd);
      if (!w) {
        log::warn("ble", "advertiser: {}", w.error().message);
        return;
      }
      if (*w == sdbus::Wake::wake_fd) return;
    }
  }

  void unregister(Connection& c) {
    Caller caller(c, std::min(options.call_timeout, std::chrono::milliseconds(3000)), -1, {});
    auto m = sdbus::new_method_call(c.bus.get(), kBluez, c.adapter_path.c_str(), kAdvManagerIface,
                                    "UnregisterAdvertisement");
    sd_bus_message_append(m.get(), "o", object_path.c_str());
    auto r = caller.run(std::move(m), "LEAdvertisingManager1.UnregisterAdvertisement");
    if (!r) {
      log::warn("ble", "UnregisterAdvertisement failed: {} (BlueZ also drops it when we disconnect)",
                r.error().message);
    } else {
      log::info("ble", "stopped advertising on {}", c.adapter);
    }
  }
};

// Type broadcast, ServiceData {0xFFF9: payload}, optionally ServiceUUIDs [0xFFF9]; no
// LocalName, no Includes (no TX power, no appearance), no Discoverable: §5.2's layout.
// Unprivileged: bluetoothd runs as root but without CAP_SYS_ADMIN, and sd-bus would
// otherwise refuse its Release call to a process of another user.
const sd_bus_vtable BluezRadio::Advertiser::kVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Release", "", "", &BluezRadio::Advertiser::on_release, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_PROPERTY("Type", "s", &BluezRadio::Advertiser::get_type, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("ServiceUUIDs", "as", &BluezRadio::Advertiser::get_uuids, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("ServiceData", "a{sv}", &BluezRadio::Advertiser::get_service_data, 0,
                    SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_VTABLE_END,
};

// ---------------------------------------------------------------------------------------

BluezRadio::BluezRadio(BluezRadioOptions options) : options_(std::move(options)) {
  address_ = options_.dbus_address;
  if (address_.empty()) {
    if (const char* env = std::getenv(kDbusAddressEnv); env && *env) address_ = env;
  }
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw std::runtime_error("eventfd failed");
}

BluezRadio::~BluezRadio() {
  stop_advertising();
  close(wake_fd_);
}

Status BluezRadio::listen(const std::function<bool(const ServiceDataEvent&)>& on_advert,
                          std::chrono::milliseconds timeout, std::stop_token stop) {
  auto stopped = [this, &stop] {
    uint64_t v = 0;
    ssize_t n = read(wake_fd_, &v, sizeof v);  // drain (non-blocking)
    (void)n;
    return stop.stop_requested();
  };
  if (stopped()) return radio_error(RadioError::cancelled, "BLE scan cancelled");
  // Wakes the waits below (D-Bus calls, the scan loop) when `stop` is requested.
  std::stop_callback wake_on_stop(stop, [fd = wake_fd_] {
    uint64_t one = 1;
    ssize_t n = write(fd, &one, sizeof one);
    (void)n;
  });
  auto started = Clock::now();
  HYBRID_TRY(Connection c, open_connection(address_));
  sd_bus* bus = c.bus.get();

  ListenState st;
  st.devices = &c.objects.devices;
  // Subscribe before listing objects so that nothing falls between the two.
  std::vector<SlotPtr> slots;
  auto add_match = [&](const char* iface, const char* member, sd_bus_message_handler_t cb) -> Status {
    sd_bus_slot* slot = nullptr;
    int r = sd_bus_match_signal(bus, &slot, kBluez, nullptr, iface, member, cb, &st);
    if (r < 0) {
      return radio_error(RadioError::dbus_failure, "could not subscribe to BlueZ's " + std::string(member) +
                                                       " signals on " + c.bus_text + ": " + sdbus::errno_text(r));
    }
    slots.emplace_back(slot);
    return {};
  };
  HYBRID_TRY_STATUS(add_match(kObjectManagerIface, "InterfacesAdded", on_interfaces_added));
  HYBRID_TRY_STATUS(add_match(kObjectManagerIface, "InterfacesRemoved", on_interfaces_removed));
  HYBRID_TRY_STATUS(add_match(kPropertiesIface, "PropertiesChanged", on_properties_changed));
  {
    sd_bus_slot* slot = nullptr;
    int r = sd_bus_add_match(bus, &slot,
                             "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                             "member='NameOwnerChanged',arg0='org.bluez'",
                             on_bluez_owner_changed, &st);
    if (r < 0) return radio_error(RadioError::dbus_failure, "could not watch org.bluez: " + sdbus::errno_text(r));
    slots.emplace_back(slot);
  }

  bool cancelled = false;
  auto on_wake = [&] {
    if (!stopped()) return false;
    cancelled = true;
    return true;
  };
  Caller caller(c, options_.call_timeout, wake_fd_, on_wake);
  HYBRID_TRY_STATUS(resolve_adapter(c, caller, options_, is_system_bus(address_), false));
  {
    auto m = sdbus::new_method_call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                    "GetNameOwner");
    sd_bus_message_append(m.get(), "s", kBluez);
    HYBRID_TRY(MessagePtr reply, caller.run(std::move(m), "GetNameOwner(org.bluez)"));
    const char* owner = nullptr;
    if (sd_bus_message_read(reply.get(), "s", &owner) >= 0 && owner) st.bluez_owner = owner;
  }
  st.adapter_path = c.adapter_path;
  st.adapter_prefix = c.adapter_path + "/";
  st.adapter = c.adapter;

  {
    // §5.6: LE only, no UUID filter (BlueZ's UUID filtering drops some phones), and every
    // advert reported, so that a phone's new advert on a known address is seen. DuplicateData
    // is asked explicitly: it is BlueZ's documented default, but older bluetoothd versions
    // defaulted to false.
    auto m = sdbus::new_method_call(bus, kBluez, c.adapter_path.c_str(), kAdapterIface, "SetDiscoveryFilter");
    int r = sd_bus_message_append(m.get(), "a{sv}", 2, "Transport", "s", "le", "DuplicateData", "b", 1);
    if (r < 0) return radio_error(RadioError::dbus_failure, "could not build SetDiscoveryFilter");
    HYBRID_TRY(MessagePtr ignored, caller.run(std::move(m), "Adapter1.SetDiscoveryFilter"));
    (void)ignored;
  }
  {
    // Not cancellable: once sent, discovery may have started, and we must stop it below.
    Caller start_caller(c, options_.call_timeout, -1, {});
    auto m = sdbus::new_method_call(bus, kBluez, c.adapter_path.c_str(), kAdapterIface, "StartDiscovery");
    HYBRID_TRY(MessagePtr ignored, start_caller.run(std::move(m), "Adapter1.StartDiscovery"));
    (void)ignored;
  }
  log::info("ble", "scanning on {} ({}) for caBLE adverts, up to {} ms", c.adapter, c.bus_text, timeout.count());

  // From here on, discovery runs: stop it on every way out, exceptions included.
  struct StopDiscovery {
    Connection& c;
    std::chrono::milliseconds timeout;
    ~StopDiscovery() {
      Caller stop_caller(c, std::min(timeout, std::chrono::milliseconds(3000)), -1, {});
      auto m = sdbus::new_method_call(c.bus.get(), kBluez, c.adapter_path.c_str(), kAdapterIface, "StopDiscovery");
      auto r = stop_caller.run(std::move(m), "Adapter1.StopDiscovery");
      if (!r) {
        log::warn("ble", "StopDiscovery on {} failed: {} (BlueZ also ends our discovery when we disconnect)",
                  c.adapter, r.error().message);
      } else {
        log::debug("ble", "discovery stopped on {}", c.adapter);
      }
    }
  } stop_guard{c, options_.call_timeout};

  auto deadline = started + timeout;
  size_t seen = 0;
  for (;;) {
    int r;
    while ((r = sd_bus_process(bus, nullptr)) > 0) {
    }
    if (r < 0) {
      return radio_error(RadioError::dbus_failure,
                         "lost the connection to " + c.bus_text + " while scanning: " + sdbus::errno_text(r));
    }
    while (!st.events.empty()) {
      ServiceDataEvent ev = std::move(st.events.front());
      st.events.pop_front();
      ++seen;
      log::debug("ble", "service data {} ({} bytes) from {} rssi {}", uuid_short_name(ev.uuid), ev.data.size(),
                 ev.device_address, ev.rssi);
      if (on_advert(ev)) {
        log::info("ble", "advert accepted after {} caBLE adverts", seen);
        return {};
      }
    }
    if (st.fatal) return *st.fatal;
    if (cancelled || stopped()) return radio_error(RadioError::cancelled, "BLE scan cancelled");
    if (Clock::now() >= deadline) {
      log::debug("ble", "scan timed out; {} caBLE and {} other service-data entries seen", seen,
                 st.other_service_data);
      return no_advert_error(timeout, seen);
    }
    auto w = sdbus::wait(bus, deadline, wake_fd_);
    if (!w) return radio_error(RadioError::dbus_failure, w.error().message);
  }
}

bool BluezRadio::advertising() const {
  std::lock_guard lock(advertiser_mu_);
  return advertiser_ && !advertiser_->released;
}

Status BluezRadio::start_advertising(ByteView service_data) {
  if (service_data.empty()) {
    return radio_error(RadioError::advertising_rejected, "refusing to advertise empty service data");
  }
  stop_advertising();
  auto adv = std::make_unique<Advertiser>();
  adv->options = options_;
  adv->address = address_;
  adv->data = to_bytes(service_data);
  adv->object_path = "/org/hybrid/advertisement" + std::to_string(g_advert_counter++);
  adv->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (adv->stop_fd < 0) throw std::runtime_error("eventfd failed");

  adv->thread = std::thread([raw = adv.get()] { raw->run(); });
  HYBRID_TRY_STATUS(adv->await_registration());
  std::lock_guard lock(advertiser_mu_);
  advertiser_ = std::move(adv);
  return {};
}

void BluezRadio::stop_advertising() {
  std::unique_ptr<Advertiser> adv;
  {
    std::lock_guard lock(advertiser_mu_);
    adv = std::move(advertiser_);
  }
  if (!adv) return;
  uint64_t one = 1;
  ssize_t n = write(adv->stop_fd, &one, sizeof one);
  (void)n;
  adv->thread.join();  // unregisters (unless BlueZ released it) and closes the connection
}

}  // namespace hybrid::ble
