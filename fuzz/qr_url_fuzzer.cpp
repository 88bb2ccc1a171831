// The FIDO:/ URL parser with arbitrary text, and (so that the fuzzer reaches the CBOR
// and field checks without having to invent valid digits) the same bytes as the CBOR
// payload. For every accepted payload, encode_url(parse(x)) must parse again to the
// same fields, and canonical input must re-encode byte for byte.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "qr/digits.h"
#include "qr/payload.h"

namespace {

void check_round_trip(const hybrid::qr::QrPayload& p) {
  std::string url = hybrid::qr::encode_url(p);
  auto again = hybrid::qr::parse_url(url);
  if (!again.ok() || !(*again == p)) std::abort();
  if (hybrid::qr::encode_url(*again) != url) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = hybrid::qr::parse_url(text);
  if (parsed.ok()) {
    check_round_trip(*parsed);
    // Only the prefix's case may differ from what we emit.
    if (hybrid::qr::encode_url(*parsed).substr(6) != text.substr(6)) std::abort();
  } else if (parsed.error().message.empty()) {
    std::abort();
  }

  hybrid::ByteView bytes(data, size);
  auto from_cbor = hybrid::qr::parse_cbor(bytes);
  if (from_cbor.ok()) {
    check_round_trip(*from_cbor);
    if (hybrid::qr::encode_cbor(*from_cbor) != hybrid::Bytes(data, data + size)) std::abort();
    // The digits path must agree with parsing the bytes directly.
    auto via_url = hybrid::qr::parse_url("FIDO:/" + hybrid::qr::digits_encode(bytes));
    if (!via_url.ok() || !(*via_url == *from_cbor)) std::abort();
  }
  return 0;
}
