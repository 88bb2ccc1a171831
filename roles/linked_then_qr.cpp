#include "roles/linked_then_qr.h"

namespace hybrid::roles {

Result<ClientTransactionResult> run_linked_then_qr(const LinkedThenQr& plan, std::stop_token stop) {
  if (!plan.linked_phone) return plan.attempt(std::nullopt);
  const LinkRecord& phone = *plan.linked_phone;
  auto linked = plan.attempt(phone);
  if (linked) return linked;

  const Error& error = linked.error();
  const ClientFailure failure = stop.stop_requested() ? ClientFailure::cancelled : failure_or_internal(error);
  bool forgotten = false;
  if (failure == ClientFailure::link_gone && plan.links) {
    auto forgot = plan.links->forget(phone.name);
    forgotten = forgot && *forgot;
  }
  const bool falls_back = linked_falls_back_to_qr(failure);
  if (plan.on_linked_failure) plan.on_linked_failure({phone, error, failure, forgotten, falls_back});
  if (!falls_back) return failure == failure_of(error) ? error : Error{failure, error.message};
  return plan.attempt(std::nullopt);
}

}  // namespace hybrid::roles
