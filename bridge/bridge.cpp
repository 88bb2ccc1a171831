#include "bridge/bridge.h"

#include <algorithm>
#include <deque>

#include "base/log.h"

namespace hybrid::bridge {
namespace {
constexpr std::string_view kStage = "bridge";
}

struct Bridge::Inbox {
  std::mutex mutex;
  std::deque<std::pair<uint64_t, PhoneResponse>> answers;
  HidDevice* device = nullptr;  // cleared when the bridge goes away
};

Bridge::Bridge(HidDevice& device, PhoneBackend& backend, BridgeOptions options)
    : device_(device),
      backend_(backend),
      ctaphid_(options.ctaphid),
      front_(options.front),
      inbox_(std::make_shared<Inbox>()) {
  inbox_->device = &device_;
}

Bridge::~Bridge() {
  if (phone_running_) backend_.cancel();
  std::lock_guard lock(inbox_->mutex);
  inbox_->device = nullptr;
}

Status Bridge::run() {
  while (!stop_.load()) {
    HYBRID_TRY_STATUS(step(Millis(1000)));
  }
  return {};
}

void Bridge::stop() {
  stop_.store(true);
  device_.wake();
}

Status Bridge::step(Millis max_wait) {
  auto now = Clock::now();
  Millis wait = max_wait;
  for (auto deadline : {ctaphid_.next_deadline(), front_.next_deadline()}) {
    if (!deadline) continue;
    auto until = std::chrono::ceil<Millis>(*deadline - now);
    wait = std::clamp(until, Millis(0), wait);
  }
  {
    std::lock_guard lock(inbox_->mutex);
    if (!inbox_->answers.empty()) wait = Millis(0);
  }

  auto read = device_.read_report(wait);
  if (!read.ok()) return read.error();
  now = Clock::now();
  {
    std::lock_guard lock(stats_mutex_);
    if (read->kind == HidRead::Kind::report) ++stats_.reports_in;
    if (read->kind == HidRead::Kind::host_closed) ++stats_.host_closes;
  }
  if (read->kind == HidRead::Kind::report) {
    ctaphid_.on_report(read->report, now);
  } else if (read->kind == HidRead::Kind::host_closed) {
    log::debug(kStage, "the host closed the device: forgetting its channels");
    ctaphid_.reset();
  }
  handle_events(now);

  std::deque<std::pair<uint64_t, PhoneResponse>> answers;
  {
    std::lock_guard lock(inbox_->mutex);
    answers.swap(inbox_->answers);
  }
  for (auto& [generation, response] : answers) {
    if (!phone_running_ || generation != phone_generation_) {
      log::debug(kStage, "dropping the answer of a phone transaction that was already ended");
      continue;
    }
    phone_running_ = false;
    apply(front_.on_phone_result(response, now));
  }

  apply(front_.on_timer(now));
  ctaphid_.on_timer(now);
  handle_events(now);
  {
    std::lock_guard lock(stats_mutex_);
    stats_.front = front_.stats();
  }
  return flush();
}

void Bridge::handle_events(TimePoint now) {
  while (auto event = ctaphid_.next_event()) {
    switch (event->kind) {
      case CtaphidEvent::Kind::cbor_request:
        transaction_ = event->transaction;
        apply(front_.on_request(event->payload, now));
        break;
      case CtaphidEvent::Kind::cancel:
        if (transaction_ == event->transaction) apply(front_.on_cancel(now));
        break;
      case CtaphidEvent::Kind::abort:
        if (transaction_ == event->transaction) {
          apply(front_.on_abort());
          transaction_.reset();
        }
        break;
      case CtaphidEvent::Kind::wink:
        log::info(kStage, "a program asked the device to identify itself (wink)");
        break;
    }
  }
}

void Bridge::apply(const FrontAction& action) {
  if (action.cancel_phone && phone_running_) {
    phone_running_ = false;
    ++phone_generation_;  // whatever the cancelled transaction still says is dropped
    backend_.cancel();
  }
  if (action.start_phone) {
    phone_running_ = true;
    uint64_t generation = ++phone_generation_;
    std::weak_ptr<Inbox> weak = inbox_;
    backend_.start(*action.start_phone, [weak, generation](PhoneResponse response) {
      auto inbox = weak.lock();
      if (!inbox) return;
      std::lock_guard lock(inbox->mutex);
      inbox->answers.emplace_back(generation, std::move(response));
      if (inbox->device) inbox->device->wake();
    });
  }
  if (action.respond && transaction_) {
    ctaphid_.complete_cbor(*transaction_, *action.respond);
    transaction_.reset();
  }
}

Status Bridge::flush() {
  while (auto report = ctaphid_.next_report()) {
    HYBRID_TRY_STATUS(device_.write_report(*report));
    std::lock_guard lock(stats_mutex_);
    ++stats_.reports_out;
  }
  return {};
}

BridgeStats Bridge::stats() const {
  std::lock_guard lock(stats_mutex_);
  return stats_;
}

}  // namespace hybrid::bridge
