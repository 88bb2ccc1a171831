#include "ble/sdbus.h"

#include <poll.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <new>

namespace hybrid::ble::sdbus {

std::string errno_text(int negative_errno) { return std::strerror(-negative_errno); }

std::string describe_bus(const std::string& address) {
  return address.empty() ? "the system D-Bus" : "the D-Bus at " + address;
}

Result<BusPtr> open_bus(const std::string& address) {
  sd_bus* raw = nullptr;
  int r = 0;
  if (address.empty()) {
    r = sd_bus_open_system(&raw);
  } else {
    r = sd_bus_new(&raw);
    if (r >= 0) r = sd_bus_set_address(raw, address.c_str());
    if (r >= 0) r = sd_bus_set_bus_client(raw, 1);
    if (r >= 0) r = sd_bus_start(raw);
  }
  BusPtr bus(raw);
  if (r < 0) {
    return make_error("cannot connect to " + describe_bus(address) + ": " + errno_text(r) +
                      (address.empty() ? " (is the dbus service running?)"
                                       : " (is `hybrid virtual-air` or the bus at that address still running?)"));
  }
  return bus;
}

namespace {

uint64_t monotonic_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

}  // namespace

Result<Wake> wait(sd_bus* bus, Clock::time_point deadline, int wake_fd) {
  int fd = sd_bus_get_fd(bus);
  if (fd < 0) return make_error("D-Bus connection has no file descriptor: " + errno_text(fd));
  int events = sd_bus_get_events(bus);
  if (events < 0) return make_error("D-Bus connection lost: " + errno_text(events));

  auto now = Clock::now();
  if (now >= deadline) return Wake::deadline;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
  int timeout_ms = left > 60000 ? 60000 : static_cast<int>(left);
  uint64_t bus_deadline = 0;
  if (sd_bus_get_timeout(bus, &bus_deadline) >= 0 && bus_deadline != UINT64_MAX) {
    uint64_t mono = monotonic_usec();
    int bus_ms = bus_deadline <= mono ? 0 : static_cast<int>((bus_deadline - mono + 999) / 1000);
    if (bus_ms < timeout_ms) timeout_ms = bus_ms;
  }
  pollfd fds[2] = {{fd, static_cast<short>(events), 0}, {wake_fd, POLLIN, 0}};
  int r = poll(fds, wake_fd >= 0 ? 2 : 1, timeout_ms);
  if (r < 0) {
    if (errno == EINTR) return Wake::bus;
    return make_error(std::string("poll on the D-Bus connection failed: ") + std::strerror(errno));
  }
  if (wake_fd >= 0 && (fds[1].revents & POLLIN)) return Wake::wake_fd;
  if (r == 0 && Clock::now() >= deadline) return Wake::deadline;
  return Wake::bus;
}

namespace {

struct PendingCall {
  bool done = false;
  MessagePtr reply;
};

int on_reply(sd_bus_message* m, void* userdata, sd_bus_error* /*ret_error*/) {
  auto* p = static_cast<PendingCall*>(userdata);
  p->done = true;
  p->reply.reset(sd_bus_message_ref(m));
  return 0;
}

}  // namespace

Result<std::optional<Reply>> call(sd_bus* bus, sd_bus_message* msg, std::chrono::milliseconds timeout,
                                  int wake_fd, const std::function<bool()>& on_wake) {
  PendingCall pending;
  sd_bus_slot* raw_slot = nullptr;
  uint64_t usec = static_cast<uint64_t>(timeout.count()) * 1000u;
  int r = sd_bus_call_async(bus, &raw_slot, msg, on_reply, &pending, usec);
  if (r < 0) return make_error("could not send a D-Bus call: " + errno_text(r));
  SlotPtr slot(raw_slot);
  // sd-bus answers a timed-out call itself (org.freedesktop.DBus.Error.NoReply); the extra
  // second only guards against a bug there.
  auto deadline = Clock::now() + timeout + std::chrono::seconds(1);
  while (!pending.done) {
    r = sd_bus_process(bus, nullptr);
    if (r < 0) return make_error("D-Bus connection lost: " + errno_text(r));
    if (r > 0) continue;
    HYBRID_TRY(Wake w, wait(bus, deadline, wake_fd));
    if (w == Wake::wake_fd && (!on_wake || on_wake())) return std::optional<Reply>();
    if (w == Wake::deadline) {
      return std::optional<Reply>(Reply{nullptr, DbusError{SD_BUS_ERROR_NO_REPLY, "no reply in time"}});
    }
  }
  Reply reply;
  if (sd_bus_message_is_method_error(pending.reply.get(), nullptr)) {
    const sd_bus_error* e = sd_bus_message_get_error(pending.reply.get());
    reply.error = DbusError{e && e->name ? e->name : "unknown", e && e->message ? e->message : ""};
  }
  reply.message = std::move(pending.reply);
  return std::optional<Reply>(std::move(reply));
}

MessagePtr new_method_call(sd_bus* bus, const char* destination, const char* path,
                           const char* interface, const char* member) {
  sd_bus_message* m = nullptr;
  int r = sd_bus_message_new_method_call(bus, &m, destination, path, interface, member);
  if (r < 0) throw std::bad_alloc();
  return MessagePtr(m);
}

bool read_dict(sd_bus_message* m, const std::function<bool(std::string_view, sd_bus_message*)>& on_entry) {
  if (sd_bus_message_enter_container(m, 'a', "{sv}") <= 0) return false;
  while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
    const char* key = nullptr;
    if (sd_bus_message_read_basic(m, 's', &key) < 0) return false;
    if (!on_entry(key, m)) {
      if (sd_bus_message_skip(m, "v") < 0) return false;
    }
    if (sd_bus_message_exit_container(m) < 0) return false;
  }
  return sd_bus_message_exit_container(m) >= 0;
}

namespace {

// True when the cursor is at a variant whose contents are exactly `contents`.
bool at_variant_of(sd_bus_message* m, const char* contents) {
  char type = 0;
  const char* c = nullptr;
  if (sd_bus_message_peek_type(m, &type, &c) <= 0) return false;
  return type == 'v' && c && std::strcmp(c, contents) == 0;
}

}  // namespace

std::optional<std::string> read_variant_string(sd_bus_message* m) {
  for (const char* sig : {"s", "o"}) {
    if (!at_variant_of(m, sig)) continue;
    const char* s = nullptr;
    if (sd_bus_message_enter_container(m, 'v', sig) <= 0) return std::nullopt;
    if (sd_bus_message_read_basic(m, sig[0], &s) < 0) return std::nullopt;
    sd_bus_message_exit_container(m);
    return std::string(s ? s : "");
  }
  return std::nullopt;
}

std::optional<bool> read_variant_bool(sd_bus_message* m) {
  if (!at_variant_of(m, "b")) return std::nullopt;
  int b = 0;
  if (sd_bus_message_read(m, "v", "b", &b) < 0) return std::nullopt;
  return b != 0;
}

std::optional<int16_t> read_variant_int16(sd_bus_message* m) {
  if (!at_variant_of(m, "n")) return std::nullopt;
  int16_t v = 0;
  if (sd_bus_message_read(m, "v", "n", &v) < 0) return std::nullopt;
  return v;
}

std::optional<ServiceDataMap> read_variant_service_data(sd_bus_message* m) {
  if (!at_variant_of(m, "a{sv}")) return std::nullopt;
  if (sd_bus_message_enter_container(m, 'v', "a{sv}") <= 0) return std::nullopt;
  ServiceDataMap out;
  bool ok = read_dict(m, [&](std::string_view key, sd_bus_message* mm) {
    if (!at_variant_of(mm, "ay")) return false;
    if (sd_bus_message_enter_container(mm, 'v', "ay") <= 0) return false;
    const void* p = nullptr;
    size_t n = 0;
    if (sd_bus_message_read_array(mm, 'y', &p, &n) < 0) return false;
    sd_bus_message_exit_container(mm);
    const auto* bytes = static_cast<const uint8_t*>(p);
    out.emplace_back(std::string(key), Bytes(bytes, bytes + n));
    return true;
  });
  sd_bus_message_exit_container(m);
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<std::string>> read_variant_string_array(sd_bus_message* m) {
  if (!at_variant_of(m, "as")) return std::nullopt;
  if (sd_bus_message_enter_container(m, 'v', "as") <= 0) return std::nullopt;
  std::vector<std::string> out;
  char** strv = nullptr;
  int r = sd_bus_message_read_strv(m, &strv);
  if (r >= 0 && strv) {
    for (char** s = strv; *s; ++s) {
      out.emplace_back(*s);
      free(*s);
    }
    free(strv);
  }
  sd_bus_message_exit_container(m);
  if (r < 0) return std::nullopt;
  return out;
}

int append_service_data(sd_bus_message* m, const ServiceDataMap& data) {
  int r = sd_bus_message_open_container(m, 'a', "{sv}");
  for (const auto& [uuid, bytes] : data) {
    if (r >= 0) r = sd_bus_message_open_container(m, 'e', "sv");
    if (r >= 0) r = sd_bus_message_append_basic(m, 's', uuid.c_str());
    if (r >= 0) r = sd_bus_message_open_container(m, 'v', "ay");
    if (r >= 0) r = sd_bus_message_append_array(m, 'y', bytes.data(), bytes.size());
    if (r >= 0) r = sd_bus_message_close_container(m);
    if (r >= 0) r = sd_bus_message_close_container(m);
  }
  if (r >= 0) r = sd_bus_message_close_container(m);
  return r;
}

}  // namespace hybrid::ble::sdbus
