#include "roles/client_failure.h"

#include <array>

namespace hybrid::roles {
namespace {

using F = ClientFailure;

constexpr std::array<ClientFailureInfo, 12> kFailures{{
    {F::bluetooth, "bluetooth", kBluetoothUnavailable, false, "Bluetooth cannot be used"},
    {F::no_advert, "no_advert", kNoAdvert, true, "no phone was found nearby"},
    {F::tunnel_status, "tunnel_status", kTunnelHttpStatus, true, "the tunnel server refused the connection"},
    {F::tls, "tls", kTls, false, "the tunnel server could not be reached securely"},
    {F::network, "network", kNetwork, true, "the tunnel server could not be reached"},
    {F::handshake, "handshake", kHandshakeFailed, false, "the phone and this computer could not set up an encrypted channel"},
    {F::phone_closed, "phone_closed", kPhoneShutDown, false, "the phone went away before answering"},
    {F::cancelled, "cancelled", kCancelled, false, "cancelled"},
    {F::timeout, "timeout", kTimeout, false, "the phone took too long to answer"},
    {F::link_gone, "link_gone", kLinkGone, true, "the linked phone is gone; the link was forgotten"},
    {F::protocol, "protocol", kHandshakeFailed, false, "the phone broke the protocol"},
    {F::internal, "internal", kInternalError, false, "internal error"},
}};

constexpr bool in_order() {
  for (size_t i = 0; i < kFailures.size(); ++i) {
    if (static_cast<size_t>(kFailures[i].failure) != i + 1) return false;
  }
  return true;
}
static_assert(in_order(), "kFailures must list every ClientFailure once, in numeric order");

}  // namespace

const ClientFailureInfo& failure_info(ClientFailure f) {
  auto i = static_cast<size_t>(f);
  return i >= 1 && i <= kFailures.size() ? kFailures[i - 1] : kFailures.back();
}

std::string explain_failure(const Error& e) {
  auto f = failure_of(e);
  if (!f || *f == ClientFailure::internal || *f == ClientFailure::cancelled) return e.message;
  return std::string(failure_info(*f).summary) + ": " + e.message;
}

}  // namespace hybrid::roles
