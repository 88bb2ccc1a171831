// Feeds arbitrary CTAP requests (and, when one is forwarded, an arbitrary phone answer) to
// the bridge's CTAP front. Nothing may crash; every request forwarded to the phone must be
// canonical CBOR with no `transports` left in its credential lists (phones refuse anything
// else); every answer to the client is non-empty and fits CTAPHID.
//
// Input: first byte = split point selector; then the request, then the phone's answer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "bridge/ctap_front.h"
#include "cbor/codec.h"

using namespace hybrid;
using namespace hybrid::bridge;
using namespace std::string_view_literals;

namespace {

void check_answer(const FrontAction& a) {
  if (a.respond && (a.respond->empty() || a.respond->size() > kMaxMessageSize)) abort();
}

void check_list(const cbor::Map& m, int key) {
  const cbor::Value* list = m.find(key);
  if (!list) return;
  if (!list->is_array()) abort();
  for (const auto& d : list->as_array()) {
    if (!d.is_map() || d.as_map().find("transports"sv)) abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t split = 1 + (size > 1 ? data[0] * (size - 1) / 255 : 0);
  ByteView request(data + 1, split - 1);
  ByteView answer(data + split, size - split);
  TimePoint now = TimePoint{} + std::chrono::hours(1);

  CtapFront front;
  // Twice, so that the probe memory and the assertion cache see fuzzed state too.
  for (int round = 0; round < 2; ++round) {
    auto a = front.on_request(request, now);
    check_answer(a);
    if (a.start_phone) {
      const Bytes& fwd = *a.start_phone;
      if (fwd.empty()) abort();
      auto decoded = cbor::decode(ByteView(fwd).subspan(1));  // strict: canonical only
      if (!decoded.ok() || !decoded->is_map()) abort();
      check_list(decoded->as_map(), fwd[0] == uint8_t(CtapCommand::get_assertion) ? 3 : 5);
      auto r = front.on_phone_result(Bytes(answer.begin(), answer.end()), now);
      check_answer(r);
      if (!r.respond) abort();
    } else if (front.waiting()) {
      check_answer(front.on_cancel(now));
    }
    now += Millis(100);
  }
  return 0;
}
