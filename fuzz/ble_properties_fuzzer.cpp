// The BlueZ object readers (ble/bluez_objects.h, ble/sdbus.h) on arbitrary D-Bus values:
// the input is turned into a GetManagedObjects-shaped a{oa{sa{sv}}} or a Device1 a{sv}
// with any mix of types (wrong variant types, nested dictionaries, odd UUIDs, huge byte
// arrays), sealed as a real sd-bus message and parsed. Properties with unexpected types
// must be skipped, never crash, and the parsers must keep their promises.
#include <sys/socket.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "ble/bluez_objects.h"
#include "ble/radio.h"
#include "ble/sdbus.h"

using namespace hybrid;
using namespace hybrid::ble;

namespace {

// Messages need a started bus object; an unconnected socketpair is enough (nothing is sent).
sd_bus* message_bus() {
  static sd_bus* bus = [] {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
    sd_bus* b = nullptr;
    if (sd_bus_new(&b) < 0 || sd_bus_set_fd(b, fds[0], fds[0]) < 0 || sd_bus_start(b) < 0) std::abort();
    return b;
  }();
  return bus;
}

class Input {
 public:
  Input(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  uint8_t byte() { return p_ < end_ ? *p_++ : 0; }
  bool done() const { return p_ >= end_; }
  std::string text(size_t max) {  // printable ASCII: D-Bus strings must be valid UTF-8
    size_t n = byte() % (max + 1);
    std::string s;
    for (size_t i = 0; i < n; ++i) s += static_cast<char>(0x20 + byte() % 0x5f);
    return s;
  }
  std::string pick(std::initializer_list<const char*> options) {
    uint8_t i = byte();
    if (i >= options.size()) return text(12);
    return *(options.begin() + i);
  }
  Bytes bytes() {
    size_t n = byte();
    if (n > 200) n = 600;  // sometimes much longer than any advert
    Bytes b(n);
    for (auto& x : b) x = byte();
    return b;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

int append_value(sd_bus_message* m, Input& in, int depth);

// a{sv}; keys and values biased towards what the readers look for.
int append_dict(sd_bus_message* m, Input& in, int depth, bool service_data) {
  int r = sd_bus_message_open_container(m, 'a', "{sv}");
  int n = in.byte() % 6;
  for (int i = 0; r >= 0 && i < n && !in.done(); ++i) {
    std::string key = service_data
                          ? in.pick({"0000fff9-0000-1000-8000-00805f9b34fb", "0000FDE2-0000-1000-8000-00805F9B34FB",
                                     "0000fcf1-0000-1000-8000-00805f9b34fb", "fff9", ""})
                          : in.pick({"Address", "RSSI", "ServiceData", "Powered", "PowerState", "UUIDs", "Name"});
    r = sd_bus_message_open_container(m, 'e', "sv");
    if (r >= 0) r = sd_bus_message_append_basic(m, 's', key.c_str());
    if (r >= 0) {
      if (service_data && in.byte() % 4 != 0) {
        Bytes b = in.bytes();
        r = sd_bus_message_open_container(m, 'v', "ay");
        if (r >= 0) r = sd_bus_message_append_array(m, 'y', b.data(), b.size());
        if (r >= 0) r = sd_bus_message_close_container(m);
      } else if (!service_data && key == "ServiceData" && in.byte() % 4 != 0) {
        r = sd_bus_message_open_container(m, 'v', "a{sv}");
        if (r >= 0) r = append_dict(m, in, depth + 1, true);
        if (r >= 0) r = sd_bus_message_close_container(m);
      } else {
        r = append_value(m, in, depth + 1);
      }
    }
    if (r >= 0) r = sd_bus_message_close_container(m);
  }
  if (r >= 0) r = sd_bus_message_close_container(m);
  return r;
}

// A variant of any type.
int append_value(sd_bus_message* m, Input& in, int depth) {
  switch (depth > 4 ? 0 : in.byte() % 8) {
    case 0: {
      std::string s = in.text(20);
      return sd_bus_message_append(m, "v", "s", s.c_str());
    }
    case 1: return sd_bus_message_append(m, "v", "n", static_cast<int16_t>(in.byte() << 8 | in.byte()));
    case 2: return sd_bus_message_append(m, "v", "b", in.byte() & 1);
    case 3: {
      Bytes b = in.bytes();
      int r = sd_bus_message_open_container(m, 'v', "ay");
      if (r >= 0) r = sd_bus_message_append_array(m, 'y', b.data(), b.size());
      return r < 0 ? r : sd_bus_message_close_container(m);
    }
    case 4: {
      int r = sd_bus_message_open_container(m, 'v', "a{sv}");
      if (r >= 0) r = append_dict(m, in, depth, in.byte() & 1);
      return r < 0 ? r : sd_bus_message_close_container(m);
    }
    case 5: {
      std::string a = in.text(8), b = in.text(8);
      return sd_bus_message_append(m, "v", "as", 2, a.c_str(), b.c_str());
    }
    case 6: return sd_bus_message_append(m, "v", "u", static_cast<uint32_t>(in.byte()));
    default: return sd_bus_message_append(m, "v", "o", "/org/bluez/hci0");
  }
}

std::string object_path(Input& in) {
  std::string p = in.pick({"/org/bluez/hci0", "/org/bluez/hci1", "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF", "/",
                           "/org/bluez/hci0/dev_"});
  if (p.empty() || p[0] != '/') return "/x";
  return p;
}

sdbus::MessagePtr new_message() {
  sd_bus_message* m = nullptr;
  if (sd_bus_message_new_signal(message_bus(), &m, "/", "org.example.Fuzz", "Fuzz") < 0) std::abort();
  return sdbus::MessagePtr(m);
}

bool seal(sd_bus_message* m) {
  static uint64_t cookie = 1;
  if (sd_bus_message_seal(m, cookie++, 0) < 0) return false;
  return sd_bus_message_rewind(m, 1) >= 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  auto msg = new_message();
  sd_bus_message* m = msg.get();
  if (in.byte() & 1) {
    // GetManagedObjects: a{oa{sa{sv}}}.
    int r = sd_bus_message_open_container(m, 'a', "{oa{sa{sv}}}");
    int objects = in.byte() % 5;
    for (int i = 0; r >= 0 && i < objects; ++i) {
      std::string path = object_path(in);
      r = sd_bus_message_open_container(m, 'e', "oa{sa{sv}}");
      if (r >= 0) r = sd_bus_message_append_basic(m, 'o', path.c_str());
      if (r >= 0) r = sd_bus_message_open_container(m, 'a', "{sa{sv}}");
      int ifaces = in.byte() % 4;
      for (int j = 0; r >= 0 && j < ifaces; ++j) {
        std::string iface = in.pick({kAdapterIface, kDeviceIface, kAdvManagerIface, "org.freedesktop.DBus.Properties"});
        if (iface.empty()) iface = "x.y";
        r = sd_bus_message_open_container(m, 'e', "sa{sv}");
        if (r >= 0) r = sd_bus_message_append_basic(m, 's', iface.c_str());
        if (r >= 0) r = append_dict(m, in, 0, false);
        if (r >= 0) r = sd_bus_message_close_container(m);
      }
      if (r >= 0) r = sd_bus_message_close_container(m);
      if (r >= 0) r = sd_bus_message_close_container(m);
    }
    if (r >= 0) r = sd_bus_message_close_container(m);
    if (r < 0 || !seal(m)) return 0;
    ManagedObjects objs = parse_managed_objects(m);
    for (size_t i = 1; i < objs.adapters.size(); ++i) {
      if (objs.adapters[i - 1].path > objs.adapters[i].path) std::abort();  // promised: sorted
    }
  } else {
    // A Device1 property dictionary, as in InterfacesAdded / PropertiesChanged.
    if (append_dict(m, in, 0, false) < 0 || !seal(m)) return 0;
    DeviceInfo dev;
    std::optional<sdbus::ServiceDataMap> sd;
    read_device_props(m, dev, sd);
    if (sd) {
      for (const auto& [uuid, bytes] : *sd) {
        auto cable = parse_cable_uuid(uuid);
        if (cable && uuid_string(*cable).empty()) std::abort();
        (void)bytes;
      }
    }
    (void)address_from_path("/org/bluez/hci0/dev_" + dev.address);
  }
  return 0;
}
