// Feeds arbitrary report sequences, clock jumps, answers and resets to the CTAPHID state
// machine. Nothing may crash, and what it says must stay well-formed: every message it
// sends reassembles to its declared length, CBOR requests are 1…7609 bytes, and an answer
// is only ever sent for a transaction that is pending.
//
// Input: a sequence of records, each starting with an opcode byte:
//   op % 5 == 0: one report (the next 64 bytes, zero-padded at the end of the input)
//   op % 5 == 1: the clock advances by the next byte × 7 ms, then on_timer
//   op % 5 == 2: the pending CBOR request (if any) is answered; length from the next 2 bytes
//   op % 5 == 3: reset() (the host closed the device)
//   op % 5 == 4: a broadcast INIT (so that channels get allocated often)
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "bridge/ctaphid.h"

using namespace hybrid;
using namespace hybrid::bridge;

namespace {

void check_output(CtaphidServer& s) {
  bool in_message = false;
  ChannelId channel = 0;
  size_t expected = 0, got = 0;
  uint8_t seq = 0;
  while (auto r = s.next_report()) {
    auto p = parse_packet(*r);
    if (auto* init = std::get_if<InitPacket>(&p)) {
      if (in_message) abort();  // a new message before the last one was complete
      in_message = true;
      channel = init->channel;
      expected = init->message_length;
      if (expected > kMaxMessageSize) abort();
      got = std::min<size_t>(expected, kInitPayloadCapacity);
      seq = 0;
    } else {
      auto& cont = std::get<ContinuationPacket>(p);
      if (!in_message || cont.channel != channel || cont.sequence != seq++) abort();
      got += std::min<size_t>(expected - got, kContPayloadCapacity);
    }
    if (in_message && got == expected) in_message = false;
  }
  if (in_message) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CtaphidOptions options;
  options.max_channels = 4;  // exercise eviction
  CtaphidServer s(options);
  TimePoint now = TimePoint{} + std::chrono::hours(1);
  std::optional<TransactionId> pending;
  size_t i = 0;
  while (i < size) {
    uint8_t op = data[i++];
    switch (op % 5) {
      case 0: {
        Report r{};
        size_t n = std::min(size - i, r.size());
        std::copy_n(data + i, n, r.begin());
        i += n;
        s.on_report(r, now);
        break;
      }
      case 1: {
        uint8_t step = i < size ? data[i++] : 0;
        now += Millis(step * 7);
        s.on_timer(now);
        break;
      }
      case 2: {
        size_t len = 0;
        if (i + 1 < size) len = (size_t(data[i]) << 8 | data[i + 1]) % (kMaxMessageSize + 10);
        i += 2;
        if (pending) s.complete_cbor(*pending, Bytes(len, 0x5a));
        break;
      }
      case 3:
        s.reset();
        break;
      case 4: {
        const uint8_t nonce[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        for (const auto& r : encode_message(kBroadcastChannel, uint8_t(CtaphidCommand::init), nonce)) {
          s.on_report(r, now);
        }
        break;
      }
    }
    while (auto e = s.next_event()) {
      switch (e->kind) {
        case CtaphidEvent::Kind::cbor_request:
          if (e->payload.empty() || e->payload.size() > kMaxMessageSize) abort();
          if (pending) abort();  // one transaction at a time
          pending = e->transaction;
          break;
        case CtaphidEvent::Kind::abort:
          if (pending != e->transaction) abort();
          pending.reset();
          break;
        case CtaphidEvent::Kind::cancel:
          if (pending != e->transaction) abort();
          break;
        case CtaphidEvent::Kind::wink:
          break;
      }
    }
    if (pending && s.pending_transaction() != pending) pending.reset();  // answered above
    if (s.allocated_channels() > options.max_channels) abort();
    check_output(s);
  }
  return 0;
}
