// Drives an established client and phone session pair, then feeds each side arbitrary
// messages split from the input: no crash, no hang, errors only as values.
#include <cstdint>

#include "hybrid/authenticator_session.h"
#include "hybrid/client_session.h"

using namespace hybrid;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto client = ClientSession::start_qr({.offer_linking = true, .now_unix = 1});
  auto phone = AuthenticatorSession::start_qr(*qr::parse_url(client.qr_url()), AuthenticatorConfig{.get_info = {0xa0}});
  (void)client.on_advert(phone.on_tunnel_ready(RoutingId{{1, 2, 3}}));
  auto m1 = client.on_tunnel_open();
  // Split the input into messages at 0xff bytes; even ones go to the client.
  size_t start = 0, n = 0;
  for (size_t i = 0; i <= size; ++i) {
    if (i == size || data[i] == 0xff) {
      ByteView msg(data + start, i - start);
      if (n++ % 2 == 0) (void)client.on_message(msg);
      else (void)phone.on_message(msg);
      start = i + 1;
    }
  }
  (void)m1;
  return 0;
}
