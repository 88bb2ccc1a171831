// The PC's one fallback policy: a linked phone first, then a QR code when the linked phone
// failed in a way that says nothing against a QR code (roles/client_failure.h,
// linked_falls_back_to_qr); a link the tunnel server calls gone (HTTP 410) is forgotten on
// the way. `hybrid sign-in`/`register` and the security-key bridge both go through here;
// each attempt is the caller's own (its radio, options and timeouts).
#pragma once

#include <functional>
#include <optional>
#include <stop_token>

#include "roles/client_failure.h"
#include "roles/client_transaction.h"
#include "roles/link_store.h"

namespace hybrid::roles {

// What a failed linked attempt meant, for the caller's messages.
struct LinkedAttemptFailure {
  const LinkRecord& phone;
  const Error& error;
  ClientFailure failure;  // `cancelled` whenever the stop was requested
  bool forgotten;         // link_gone: the link was removed from the store
  bool falls_back;        // a QR code comes next
};

struct LinkedThenQr {
  std::optional<LinkRecord> linked_phone;  // none: the QR code only
  LinkStore* links = nullptr;              // where a gone link is forgotten; may be null
  // Runs one transaction: with this linked phone, or (nullopt) with a QR code.
  std::function<Result<ClientTransactionResult>(const std::optional<LinkRecord>& linked_phone)> attempt;
  // Told about a failed linked attempt, before the QR code (if any) is tried. May be empty.
  std::function<void(const LinkedAttemptFailure&)> on_linked_failure;
};

// The result of the last attempt made. A stop requested on `stop` during the linked
// attempt ends it all with `cancelled` (no QR code).
Result<ClientTransactionResult> run_linked_then_qr(const LinkedThenQr& plan, std::stop_token stop);

}  // namespace hybrid::roles
