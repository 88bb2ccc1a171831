// The one table from client failures to names, exit codes, the QR fallback and sentences.
#include <catch2/catch.hpp>

#include <set>

#include "qr/payload.h"
#include "roles/client_failure.h"

namespace hybrid::roles {

TEST_CASE("client failures: every failure has a unique name, a non-zero exit code and a summary") {
  std::set<std::string_view> names;
  for (int i = 1; i <= static_cast<int>(ClientFailure::internal); ++i) {
    auto f = static_cast<ClientFailure>(i);
    const auto& info = failure_info(f);
    CHECK(info.failure == f);
    CHECK(names.insert(info.name).second);
    CHECK(info.exit_code != kOk);
    CHECK_FALSE(info.summary.empty());
  }
}

TEST_CASE("client failures: the exit codes the README promises") {
  using F = ClientFailure;
  CHECK(exit_code_for(F::bluetooth) == kBluetoothUnavailable);
  CHECK(exit_code_for(F::no_advert) == kNoAdvert);
  CHECK(exit_code_for(F::tunnel_status) == kTunnelHttpStatus);
  CHECK(exit_code_for(F::tls) == kTls);
  CHECK(exit_code_for(F::network) == kNetwork);
  CHECK(exit_code_for(F::handshake) == kHandshakeFailed);
  CHECK(exit_code_for(F::protocol) == kHandshakeFailed);
  CHECK(exit_code_for(F::phone_closed) == kPhoneShutDown);
  CHECK(exit_code_for(F::cancelled) == kCancelled);
  CHECK(exit_code_for(F::timeout) == kTimeout);
  CHECK(exit_code_for(F::link_gone) == kLinkGone);
  CHECK(exit_code_for(F::internal) == kInternalError);
}

TEST_CASE("client failures: a linked phone falls back to a QR code only when the phone is out of reach") {
  using F = ClientFailure;
  for (auto f : {F::link_gone, F::no_advert, F::tunnel_status, F::network}) CHECK(linked_falls_back_to_qr(f));
  for (auto f : {F::bluetooth, F::tls, F::handshake, F::phone_closed, F::cancelled, F::timeout, F::protocol,
                 F::internal}) {
    CHECK_FALSE(linked_falls_back_to_qr(f));
  }
}

TEST_CASE("client failures: read only from their own domain; explained for a person") {
  Error tls{ClientFailure::tls, "certificate expired"};
  CHECK(failure_of(tls) == ClientFailure::tls);
  CHECK(explain_failure(tls) == "the tunnel server could not be reached securely: certificate expired");
  // QrError::bad_digits has the number of ClientFailure::no_advert; it is not one.
  Error qr{qr::QrError::bad_digits, "bad digits"};
  CHECK_FALSE(failure_of(qr).has_value());
  CHECK(failure_or_internal(qr) == ClientFailure::internal);
  CHECK(explain_failure(qr) == "bad digits");
}

}  // namespace hybrid::roles
