// The bridge loop: a HidDevice on one side, a PhoneBackend on the other, and between them
// the CTAPHID state machine (ctaphid.h) and the CTAP policy (ctap_front.h). One thread
// runs the loop; the backend may answer from any thread (its answers are queued and the
// loop is woken through the device).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "bridge/ctap_front.h"
#include "bridge/ctaphid.h"
#include "bridge/hid_device.h"
#include "bridge/phone_backend.h"

namespace hybrid::bridge {

struct BridgeOptions {
  CtaphidOptions ctaphid;
  CtapFrontOptions front;
};

struct BridgeStats {
  FrontStats front;
  uint64_t reports_in = 0;
  uint64_t reports_out = 0;
  uint64_t host_closes = 0;
};

class Bridge {
 public:
  // `device` must already be open. Both must outlive the bridge.
  Bridge(HidDevice& device, PhoneBackend& backend, BridgeOptions options = {});
  ~Bridge();
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  // Serves until stop() is called (returns ok) or the device fails (returns its error).
  Status run();
  // One round: waits up to `max_wait` for the device (less when a timer is due), then
  // handles whatever happened. run() is a loop of these.
  Status step(Millis max_wait);
  // Makes run() return soon. Safe from any thread and from a signal handler.
  void stop();

  BridgeStats stats() const;

 private:
  struct Inbox;  // phone answers on their way from the backend's thread to the loop

  void handle_events(TimePoint now);
  void apply(const FrontAction& action);
  Status flush();

  HidDevice& device_;
  PhoneBackend& backend_;
  CtaphidServer ctaphid_;
  CtapFront front_;
  std::shared_ptr<Inbox> inbox_;
  std::atomic<bool> stop_{false};
  // The CTAPHID transaction the front is working on, and the phone transaction's number
  // (so that answers to cancelled transactions are recognised and dropped).
  std::optional<TransactionId> transaction_;
  uint64_t phone_generation_ = 0;
  bool phone_running_ = false;
  mutable std::mutex stats_mutex_;
  BridgeStats stats_;
};

}  // namespace hybrid::bridge
