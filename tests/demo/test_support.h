// Helpers for the demo tests: a software phone in memory, a scripted PhoneChannel that
// hands the kiosk's request to it, the demo policy, and a tiny loopback HTTP client.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "ctap/authenticator.h"
#include "demo/default_policy.h"
#include "demo/phone_channel.h"
#include "tests/support/loopback_http.h"

namespace demo_test {

using namespace hybrid;

// A phone: a software authenticator of one kind with its own in-memory store.
struct Phone {
  explicit Phone(ctap::PasskeyKind kind, bool approve = true)
      : store(ctap::CredentialStore::in_memory()),
        approver(approve, approve),
        authenticator(std::make_unique<ctap::SoftwareAuthenticator>(store, ctap::AuthenticatorConfig::for_kind(kind),
                                                                     approver)) {}
  ctap::Certificate attestation_root() {
    auto id = authenticator->attestation_identity();
    if (!id.ok()) throw std::runtime_error(id.error().message);
    return id->root;
  }
  Bytes answer(ByteView request) { return authenticator->process(request); }
  ctap::CredentialStore store;
  ctap::AutoApprover approver;
  std::unique_ptr<ctap::SoftwareAuthenticator> authenticator;
};

inline webauthn::PasskeyPolicy demo_policy() {
  auto p = demo::default_policy();
  if (!p.ok()) throw std::runtime_error(p.error().message);
  return std::move(p).value();
}

// Shows a made-up code for each exchange and waits for the test to "scan" it with a Phone,
// for the QR timeout, or for cancel().
class ScriptedChannel : public demo::PhoneChannel {
 public:
  Result<demo::ChannelAnswer> exchange(qr::RequestType type, ByteView ctap_request, std::chrono::milliseconds qr_timeout,
                                       const std::function<void(const demo::ChannelProgress&)>& on_progress) override {
    std::unique_lock lock(mu_);
    if (cancel_) return make_error(demo::ChannelFailure::cancelled, "cancelled");
    ++exchanges;
    types.push_back(type);
    running_ = true;
    const std::string url = "FIDO:/" + std::to_string(1000000000000ULL + exchanges * 7919ULL);
    lock.unlock();
    on_progress({demo::ChannelStage::qr_shown, url});
    lock.lock();
    cv_.notify_all();
    const bool woke = cv_.wait_for(lock, qr_timeout, [&] { return cancel_ || phone_ != nullptr; });
    running_ = false;
    if (cancel_) {
      ++cancelled;
      return make_error(demo::ChannelFailure::cancelled, "cancelled");
    }
    if (!woke) return make_error(demo::ChannelFailure::no_phone, "no phone answered");
    Phone* phone = phone_;
    phone_ = nullptr;
    lock.unlock();
    on_progress({demo::ChannelStage::phone_nearby, ""});
    on_progress({demo::ChannelStage::connected, ""});
    on_progress({demo::ChannelStage::waiting_for_user, ""});
    Bytes response = phone->answer(ctap_request);
    if (response.empty()) return make_error(demo::ChannelFailure::failed, "empty answer");
    return demo::ChannelAnswer{response[0], Bytes(response.begin() + 1, response.end())};
  }
  void cancel() override {
    std::lock_guard lock(mu_);
    cancel_ = true;
    cv_.notify_all();
  }
  void clear_cancel() override {
    std::lock_guard lock(mu_);
    cancel_ = false;
  }
  // Waits until a code is shown, then lets `phone` answer it.
  bool scan(Phone& phone, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return running_; })) return false;
    phone_ = &phone;
    cv_.notify_all();
    return true;
  }
  std::mutex mu_;
  std::condition_variable cv_;
  bool cancel_ = false;
  bool running_ = false;
  Phone* phone_ = nullptr;
  int exchanges = 0;
  int cancelled = 0;
  std::vector<qr::RequestType> types;
};

struct HttpReply {
  int status = 0;
  std::string headers;  // lower-cased
  std::string body;
};

// One request over loopback; the kiosk closes the connection after each reply.
inline HttpReply http(uint16_t port, const std::string& method, const std::string& path,
                      const std::string& extra_headers = "") {
  HttpReply r;
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n" +
                    extra_headers + "Content-Length: 0\r\nConnection: close\r\n\r\n";
  auto reply = hybrid::test::http_exchange(port, req);
  if (!reply) return r;
  const std::string& all = *reply;
  auto end = all.find("\r\n\r\n");
  if (all.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) return r;
  r.status = std::stoi(all.substr(9, 3));
  r.headers = all.substr(0, end);
  for (auto& c : r.headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  r.body = all.substr(end + 4);
  return r;
}

}  // namespace demo_test
