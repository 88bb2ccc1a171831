#include "bridge/fake_phone_backend.h"

#include "ctap/authenticator.h"

namespace hybrid::bridge {

FakePhoneBackend::FakePhoneBackend(Responder responder, Millis delay)
    : responder_(std::move(responder)), delay_(delay) {}

namespace {
struct SoftwarePhone {
  ctap::CredentialStore store = ctap::CredentialStore::in_memory();
  ctap::AutoApprover approver;
  ctap::SoftwareAuthenticator authenticator{store, ctap::AuthenticatorConfig::for_kind(ctap::PasskeyKind::synced),
                                            approver};
};
}  // namespace

std::unique_ptr<FakePhoneBackend> FakePhoneBackend::with_software_authenticator(Millis delay) {
  auto phone = std::make_shared<SoftwarePhone>();
  return std::make_unique<FakePhoneBackend>(
      [phone](ByteView request) -> PhoneResponse { return phone->authenticator.process(request); }, delay);
}

FakePhoneBackend::~FakePhoneBackend() {
  cancel();
  join_worker();
}

void FakePhoneBackend::join_worker() {
  if (worker_.joinable()) worker_.join();
}

void FakePhoneBackend::start(Bytes ctap_request, PhoneDone done) {
  join_worker();  // the previous transaction has finished or was cancelled
  {
    std::lock_guard lock(mutex_);
    ++starts_;
    last_request_ = ctap_request;
    cancelled_ = false;
  }
  if (delay_.count() == 0) {
    auto response = responder_(ctap_request);
    {
      std::lock_guard lock(mutex_);
      ++answers_;
    }
    done(std::move(response));
    return;
  }
  worker_ = std::thread([this, request = std::move(ctap_request), done = std::move(done)]() mutable {
    std::unique_lock lock(mutex_);
    if (cv_.wait_for(lock, delay_, [this] { return cancelled_; })) return;
    lock.unlock();
    auto response = responder_(request);
    lock.lock();
    if (cancelled_) return;
    ++answers_;
    lock.unlock();
    done(std::move(response));
  });
}

void FakePhoneBackend::cancel() {
  std::lock_guard lock(mutex_);
  ++cancels_;
  cancelled_ = true;
  cv_.notify_all();
}

size_t FakePhoneBackend::starts() const {
  std::lock_guard lock(mutex_);
  return starts_;
}
size_t FakePhoneBackend::cancels() const {
  std::lock_guard lock(mutex_);
  return cancels_;
}
size_t FakePhoneBackend::answers() const {
  std::lock_guard lock(mutex_);
  return answers_;
}
std::optional<Bytes> FakePhoneBackend::last_request() const {
  std::lock_guard lock(mutex_);
  return last_request_;
}

}  // namespace hybrid::bridge
