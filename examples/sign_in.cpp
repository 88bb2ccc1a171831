// An example of libhybrid's C++ API: create a passkey on a phone, then sign in with it.
//
//   c++ -std=c++20 sign_in.cpp $(pkg-config --cflags --libs hybrid) -o sign_in_cpp
//   ./sign_in_cpp [--tunnel ws://127.0.0.1:PORT] [--dbus-address ADDR]
//
// As sign_in.c: stages on stderr, "QR: FIDO:/..." and "CREDENTIAL: {...}" on stdout.
// Ctrl-C is not handled here; a program would call Ceremony::cancel() from another thread.
#include <hybrid/hybrid.hpp>

#include <cstdio>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  hybrid::api::ClientOptions options;
  options.origin = "https://example.com";
  options.timeout = std::chrono::seconds(60);
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string name = argv[i], value = argv[i + 1];
    if (name == "--tunnel") options.tunnel_override = value;
    else if (name == "--dbus-address") options.dbus_address = value;
    else if (name == "--link-store") options.link_store = value;
    else {
      std::cerr << "sign_in_cpp: unknown option " << name << "\n";
      return 2;
    }
  }
  std::cerr << "libhybrid " << hybrid::api::version() << " (git " << hybrid::api::git_revision() << ")\n";

  auto stages = [](const char* what) {
    return [what](const hybrid::api::StageEvent& e) {
      std::cerr << "[" << what << " " << e.elapsed.count() / 1000.0 << "s] " << hybrid::api::stage_name(e.stage)
                << (e.detail.empty() ? "" : ": ") << e.detail << "\n";
      if (e.stage == hybrid::api::Stage::qr_ready) {
        std::cout << "QR: " << e.qr_url << std::endl;
        std::cerr << "(the QR code is also a " << e.qr_png.size() << "-byte PNG)\n";
      }
    };
  };

  const std::string challenge = "Y3BwLWV4YW1wbGUtY2hhbGxlbmdl";
  options.on_stage = stages("register");
  auto reg = hybrid::api::Ceremony::registration(
      R"({"publicKey": {"rp": {"id": "example.com", "name": "Example"},
          "user": {"id": "Ym9iLWlk", "name": "bob@example.com", "displayName": "Bob"},
          "challenge": ")" + challenge + R"(", "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
          "authenticatorSelection": {"residentKey": "required"}, "attestation": "none"}})",
      options);
  auto created = reg.run();
  if (!created.status) {
    std::cerr << "sign_in_cpp: registration failed (" << created.status.failure << "): " << created.status.message << "\n";
    return 1;
  }
  std::cout << "CREDENTIAL: " << created.credential_json << std::endl;

  options.on_stage = stages("sign-in");
  auto sign_in = hybrid::api::Ceremony::sign_in(R"({"rpId": "example.com", "challenge": ")" + challenge + R"("})", options);
  auto asserted = sign_in.run();
  if (!asserted.status) {
    std::cerr << "sign_in_cpp: sign-in failed (" << asserted.status.failure << "): " << asserted.status.message << "\n";
    return 1;
  }
  std::cout << "CREDENTIAL: " << asserted.credential_json << std::endl;

  std::vector<hybrid::api::LinkedPhone> phones;
  if (hybrid::api::linked_phones(options.link_store, phones)) {
    std::cerr << phones.size() << " linked phone(s)\n";
  }
  return 0;
}
