// A PhoneBackend for tests: answers each request from a responder function (a scripted
// reply, or the project's software authenticator, ctap::SoftwareAuthenticator), optionally
// after a delay on its own thread so that cancels can arrive mid-transaction. Records what
// it was asked.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "bridge/ctaphid.h"
#include "bridge/phone_backend.h"

namespace hybrid::bridge {

class FakePhoneBackend : public PhoneBackend {
 public:
  using Responder = std::function<PhoneResponse(ByteView request)>;

  // delay 0: `done` runs inside start(). Otherwise it runs on a worker thread after
  // `delay`, unless cancel() comes first (then it never runs).
  explicit FakePhoneBackend(Responder responder, Millis delay = Millis(0));
  // Answers from a fresh ctap::SoftwareAuthenticator (synced passkeys, "none"
  // attestation, an in-memory credential store, presence and verification always granted).
  static std::unique_ptr<FakePhoneBackend> with_software_authenticator(Millis delay = Millis(0));
  ~FakePhoneBackend() override;

  void start(Bytes ctap_request, PhoneDone done) override;
  void cancel() override;

  size_t starts() const;
  size_t cancels() const;
  size_t answers() const;  // `done` calls made
  std::optional<Bytes> last_request() const;

 private:
  void join_worker();

  Responder responder_;
  Millis delay_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool cancelled_ = false;
  std::thread worker_;
  size_t starts_ = 0, cancels_ = 0, answers_ = 0;
  std::optional<Bytes> last_request_;
};

}  // namespace hybrid::bridge
