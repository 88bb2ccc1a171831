// The kiosk's status WebSocket: every text message a page (or anything that got past the
// upgrade check) sends, fed straight to the server's real message handler
// (KioskServer::Impl::on_message) without libwebsockets. The handler lives inside the
// adapter, so this target compiles demo/kiosk_server.cpp into itself (its own copy of
// KioskServer replaces the library's; no socket is ever opened). The input is a sequence
// of messages separated by 0x00 bytes. Nothing may throw (on the service thread that ends
// the kiosk); every reply must be a JSON error object and the reply queue stays bounded
// (abort() = a finding). Requests reach a real Kiosk (worker not started), whose state
// must still serialize afterwards.
#include "demo/kiosk_server.cpp"  // NOLINT(bugprone-suspicious-include): the handler is not separable

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "demo/default_policy.h"
#include "fuzz/invariant.h"

using namespace hybrid;
using namespace hybrid::demo;
using hybrid::fuzz::violated;

namespace {

// A channel that never reaches a phone: the kiosk's worker is not running anyway.
class NoPhone : public PhoneChannel {
 public:
  Result<ChannelAnswer> exchange(qr::RequestType, ByteView, std::chrono::milliseconds,
                                 const std::function<void(const ChannelProgress&)>&) override {
    return make_error(ChannelFailure::cancelled, "no phone in the fuzzer");
  }
  void cancel() override {}
  void clear_cancel() override {}
};

struct Rig {
  Rig() {
    log::set_threshold(log::Level::error);
    auto s = AccountStore::open(":memory:");
    if (!s) violated("no in-memory account store");
    store = std::move(*s);
    auto policy = default_policy();
    if (!policy) violated("the kiosk's default policy does not parse");
    KioskRpConfig c;
    c.rp.rp_id = "kiosk.example";
    c.rp.origins = {"https://kiosk.example"};
    c.policy = std::move(*policy);
    rp = std::make_unique<KioskRelyingParty>(std::move(c), *store);
    kiosk = std::make_unique<Kiosk>(*rp, channel, KioskOptions{});
  }
  std::unique_ptr<AccountStore> store;
  std::unique_ptr<KioskRelyingParty> rp;
  NoPhone channel;
  std::unique_ptr<Kiosk> kiosk;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Rig* rig = new Rig();  // one kiosk for the whole run, like one server process
  KioskServer::Impl server(*rig->kiosk, KioskServerConfig{});
  Conn conn;
  size_t start = 0;
  for (size_t i = 0; i <= size; ++i) {
    if (i < size && data[i] != 0) continue;
    std::string_view message(reinterpret_cast<const char*>(data + start), i - start);
    start = i + 1;
    if (message.size() > kMaxMessage) continue;  // the adapter closes with 1009 before this
    server.on_message(conn, message);
    if (conn.out.size() > kMaxQueued) violated("the reply queue grew past its bound");
  }
  for (const auto& reply : conn.out) {
    auto j = nlohmann::json::parse(reply, nullptr, false);
    if (!j.is_object() || j.value("type", "") != "error" || !j.contains("message")) {
      violated("a reply that is not a JSON error object");
    }
  }
  (void)rig->kiosk->state_json().dump();
  return 0;
}
