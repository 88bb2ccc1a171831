// `hybrid ble scan` / `hybrid ble advertise`: the BLE radio on its own, for debugging a
// machine's Bluetooth (or the virtual air) without running a whole sign-in.
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <stop_token>

#include "base/json_text.h"
#include "app/command_registry.h"
#include "app/interrupt_watcher.h"
#include "app/commands/ble_cli.h"
#include "base/bytes.h"
#include "base/log.h"

namespace hybrid::app {
namespace {

// Signal handling: SIGINT/SIGTERM end an advertisement (a write to an eventfd, which is
// async-signal-safe). A scan is stopped through its stop token by an InterruptWatcher
// (requesting a stop runs callbacks and takes locks, which a signal handler must not).
int g_stop_fd = -1;

void on_signal(int) {
  if (g_stop_fd >= 0) {
    uint64_t one = 1;
    ssize_t n = write(g_stop_fd, &one, sizeof one);
    (void)n;
  }
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void fail(const char* command, const Error& e) {
  std::cout << radio_error_json(e) << std::endl;
  std::fprintf(stderr, "hybrid %s: %s\n", command, e.message.c_str());
  set_exit_code(exit_code_for_radio_error(e));
}

struct ScanArgs {
  ble::BluezRadioOptions radio;
  double timeout_s = 10;
  std::string expect_hex;
  int count = 0;
  bool show_data = false;
};

void run_scan(const ScanArgs& a) {
  Bytes expect;
  if (!a.expect_hex.empty()) {
    auto b = hex_decode(a.expect_hex);
    if (!b) {
      std::fprintf(stderr, "hybrid ble scan: --expect: %s\n", b.error().message.c_str());
      set_exit_code(kUsage);
      return;
    }
    expect = *b;
  }
  ble::BluezRadio radio(a.radio);
  std::stop_source stop;
  InterruptWatcher watcher([&] { stop.request_stop(); });
  int seen = 0;
  auto timeout = std::chrono::milliseconds(static_cast<int64_t>(a.timeout_s * 1000));
  Status st = radio.listen(
      [&](const ble::ServiceDataEvent& ev) {
        ++seen;
        nlohmann::json j = {{"uuid", std::string(ble::uuid_short_name(ev.uuid))},
                            {"length", ev.data.size()},
                            {"address", ev.device_address},
                            {"rssi", ev.rssi}};
        if (a.show_data) j["data"] = hex_encode(ev.data);
        bool matched = !expect.empty() && ev.data == expect;
        if (matched) j["matched"] = true;
        std::cout << to_json_text(j) << std::endl;
        return matched || (a.count > 0 && seen >= a.count);
      },
      timeout, stop.get_token());
  if (!st) {
    // A plain scan (nothing expected) that ran its time is a success: it listed what it saw.
    bool plain = expect.empty() && a.count == 0;
    if (plain && ble::is_radio_error(st.error(), ble::RadioError::no_advert_timeout)) {
      set_exit_code(kOk);
      return;
    }
    fail("ble scan", st.error());
    return;
  }
  set_exit_code(kOk);
}

struct AdvertiseArgs {
  ble::BluezRadioOptions radio;
  std::string hex;
  double duration_s = 0;
  bool no_service_uuid = false;
};

void run_advertise(AdvertiseArgs a) {
  auto data = hex_decode(a.hex);
  if (!data) {
    std::fprintf(stderr, "hybrid ble advertise: SERVICE_DATA: %s\n", data.error().message.c_str());
    set_exit_code(kUsage);
    return;
  }
  a.radio.advertise_service_uuid = !a.no_service_uuid;
  g_stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  struct CloseStopFd {
    ~CloseStopFd() {
      close(g_stop_fd);
      g_stop_fd = -1;
    }
  } close_stop_fd;
  install_signal_handlers();
  {
    ble::BluezRadio radio(a.radio);
    Status st = radio.start_advertising(*data);
    if (!st) {
      fail("ble advertise", st.error());
      return;
    }
    nlohmann::json ready = {{"advertising", true}, {"length", data->size()}};
    std::cout << ready.dump() << std::endl;
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(static_cast<int64_t>(a.duration_s * 1000));
    for (;;) {
      int wait_ms = 1000;
      if (a.duration_s > 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        wait_ms = static_cast<int>(std::min<int64_t>(left.count(), 1000));
      }
      pollfd p{g_stop_fd, POLLIN, 0};
      if (poll(&p, 1, wait_ms) > 0) break;
      if (!radio.advertising()) {
        fail("ble advertise",
             ble::radio_error(ble::RadioError::powered_off,
                              "BlueZ stopped our advertisement (adapter powered off or bluetoothd stopped)"));
        return;
      }
    }
    radio.stop_advertising();
  }
  set_exit_code(kOk);
}

const CommandRegistration kBle("ble", 60, [](CLI::App& root) {
  auto* ble = root.add_subcommand("ble", "Debug the BLE radio: scan for caBLE adverts or advertise one (BlueZ or the virtual air)");
  ble->require_subcommand(1);

  auto scan = std::make_shared<ScanArgs>();
  auto* s = ble->add_subcommand(
      "scan",
      "Listen for service data under 0xFFF9/0xFDE2 and print one JSON line per advert "
      "({\"uuid\",\"length\",\"address\",\"rssi\"}). Discovery is stopped on exit, Ctrl-C included.");
  add_bluez_options(s, scan->radio);
  s->add_option("--timeout", scan->timeout_s, "seconds to scan (default 10)")->check(CLI::PositiveNumber);
  s->add_option("--expect", scan->expect_hex,
                "hex service data to wait for: exit 0 when seen, 5 if not seen before the timeout");
  s->add_option("--count", scan->count, "stop after this many adverts (exit 5 if fewer arrive)");
  s->add_flag("--show-data", scan->show_data, "also print the service data (hex)");
  s->callback([scan] { run_scan(*scan); });

  auto adv = std::make_shared<AdvertiseArgs>();
  auto* a = ble->add_subcommand(
      "advertise",
      "Advertise SERVICE_DATA (hex, normally 20 bytes) under 0xFFF9 as the phone does; prints "
      "{\"advertising\":true,…} once BlueZ accepted it, and unregisters on Ctrl-C/SIGTERM or after --duration.");
  a->add_option("SERVICE_DATA", adv->hex, "service data as hex")->required();
  add_bluez_options(a, adv->radio);
  a->add_option("--duration", adv->duration_s, "seconds to advertise (default: until Ctrl-C/SIGTERM)");
  a->add_flag("--no-service-uuid", adv->no_service_uuid, "leave 0xFFF9 out of the service UUID list");
  a->callback([adv] { run_advertise(*adv); });
});

}  // namespace
}  // namespace hybrid::app
