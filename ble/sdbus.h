// Small helpers over sd-bus for ble/ (internal: only ble/ includes sd-bus). Owning pointers,
// a wait that also watches a wake-up fd, and a method call that keeps serving the bus while
// it waits for the reply (BlueZ calls back into our objects during RegisterAdvertisement,
// which a blocking sd_bus_call would not answer).
#pragma once

#include <systemd/sd-bus.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "ble/dbus_error.h"

namespace hybrid::ble::sdbus {

struct BusUnref {
  void operator()(sd_bus* b) const { sd_bus_flush_close_unref(b); }
};
struct MessageUnref {
  void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
struct SlotUnref {
  void operator()(sd_bus_slot* s) const { sd_bus_slot_unref(s); }
};
using BusPtr = std::unique_ptr<sd_bus, BusUnref>;
using MessagePtr = std::unique_ptr<sd_bus_message, MessageUnref>;
using SlotPtr = std::unique_ptr<sd_bus_slot, SlotUnref>;

using Clock = std::chrono::steady_clock;

// A D-Bus error reply: "org.bluez.Error.NotReady", "Resource Not Ready".
using DbusError = ble::DbusError;

// Connects as a bus client. An empty address means the system bus (sd-bus honours
// $DBUS_SYSTEM_BUS_ADDRESS for it). Fails with a message naming the bus.
Result<BusPtr> open_bus(const std::string& address);
// "the system D-Bus" or "the D-Bus at unix:path=/tmp/…".
std::string describe_bus(const std::string& address);

enum class Wake { bus, deadline, wake_fd };
// Waits until the bus needs processing, `deadline` passes, or `wake_fd` (if >= 0) is readable.
Result<Wake> wait(sd_bus* bus, Clock::time_point deadline, int wake_fd = -1);

// A method call's outcome: the reply message, or the error reply's name and message.
struct Reply {
  MessagePtr message;
  std::optional<DbusError> error;
};
// Sends `call` and serves the bus (dispatching incoming calls and signals to their
// handlers) until the reply arrives; the call times out after `timeout`. When `wake_fd`
// becomes readable, `on_wake` decides: true abandons the call (nullopt is returned and the
// reply dropped), false keeps waiting; on_wake must make the fd unreadable (drain it).
// Fails only when the connection itself breaks.
Result<std::optional<Reply>> call(sd_bus* bus, sd_bus_message* call, std::chrono::milliseconds timeout,
                                  int wake_fd = -1, const std::function<bool()>& on_wake = {});

// A new method call message. Throws std::bad_alloc on ENOMEM (the only failure for valid names).
MessagePtr new_method_call(sd_bus* bus, const char* destination, const char* path,
                           const char* interface, const char* member);

// Reads an a{sv} dictionary. For each entry calls on_entry(key, m) with `m` positioned at
// the variant; on_entry returns true if it consumed the variant, false to have it skipped.
// Returns false when the message does not hold an a{sv} at the cursor.
bool read_dict(sd_bus_message* m, const std::function<bool(std::string_view key, sd_bus_message* m)>& on_entry);

// Variant readers: each consumes the variant if it holds the expected type, else returns
// nullopt and leaves the cursor where it was (so the caller can skip it).
std::optional<std::string> read_variant_string(sd_bus_message* m);  // "s" or "o"
std::optional<bool> read_variant_bool(sd_bus_message* m);
std::optional<int16_t> read_variant_int16(sd_bus_message* m);
// A variant of a{sv} whose values are ay (Device1.ServiceData, LEAdvertisement1.ServiceData).
// Entries whose value is not "ay" are skipped.
using ServiceDataMap = std::vector<std::pair<std::string, Bytes>>;
std::optional<ServiceDataMap> read_variant_service_data(sd_bus_message* m);
std::optional<std::vector<std::string>> read_variant_string_array(sd_bus_message* m);

// Appends an a{sv} of ay values (the body of a ServiceData property).
int append_service_data(sd_bus_message* m, const ServiceDataMap& data);

// The name of the error in a negative errno from sd-bus ("Connection refused").
std::string errno_text(int negative_errno);

}  // namespace hybrid::ble::sdbus
