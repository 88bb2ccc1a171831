// The C API (include/hybrid/hybrid.h): opaque handles over the C++ API. No exception
// crosses into C: every entry point catches.
#include "hybrid/hybrid.h"

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "hybrid/hybrid.hpp"

using namespace hybrid::api;

struct hybrid_options {
  std::map<std::string, std::string> values;
  hybrid_stage_callback callback = nullptr;
  void* user_data = nullptr;
  std::string error;
};

struct hybrid_ceremony {
  Ceremony ceremony;
  CeremonyResult result;
  std::string error;
};

struct hybrid_authenticator {
  Authenticator authenticator;
  std::string error;
};

struct hybrid_tunnel {
  TunnelNode node;
  std::string url;
};

namespace {

const char* const kKnownOptions[] = {
    "origin", "tunnel-override", "ca-file", "dbus-address", "adapter", "power-on", "timeout", "advert-timeout",
    "link-store", "no-linking", "phone", "tunnel", "store", "identity", "name", "kind", "domain-id",
    "offer-linking", "listen", "routing-id", "tls-cert", "tls-key"};

char* dup(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p) std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

void set_error(char** error_out, const std::string& message) {
  if (error_out) *error_out = dup(message);
}

std::string get(const hybrid_options* o, const char* name, std::string fallback = {}) {
  if (!o) return fallback;
  auto it = o->values.find(name);
  return it == o->values.end() ? fallback : it->second;
}

bool flag(const hybrid_options* o, const char* name) { return get(o, name, "0") == "1"; }

// Numbers were checked by hybrid_options_set.
long number(const hybrid_options* o, const char* name, long fallback) {
  std::string v = get(o, name);
  if (v.empty()) return fallback;
  return std::strtol(v.c_str(), nullptr, 10);
}

bool is_number_option(const std::string& name) {
  return name == "timeout" || name == "advert-timeout" || name == "domain-id";
}
bool is_flag_option(const std::string& name) {
  return name == "power-on" || name == "no-linking" || name == "offer-linking";
}

ClientOptions client_options(const hybrid_options* o) {
  ClientOptions c;
  c.origin = get(o, "origin");
  c.tunnel_override = get(o, "tunnel-override");
  c.ca_file = get(o, "ca-file");
  c.dbus_address = get(o, "dbus-address");
  c.adapter = get(o, "adapter");
  c.power_on = flag(o, "power-on");
  c.timeout = std::chrono::seconds(number(o, "timeout", 120));
  c.advert_timeout = std::chrono::seconds(number(o, "advert-timeout", 60));
  c.link_store = get(o, "link-store");
  c.offer_linking = !flag(o, "no-linking");
  c.phone = get(o, "phone");
  if (o && o->callback) {
    auto cb = o->callback;
    void* user = o->user_data;
    c.on_stage = [cb, user](const StageEvent& e) {
      hybrid_stage_event ev{};
      ev.stage = static_cast<hybrid_stage>(e.stage);
      ev.elapsed_ms = e.elapsed.count();
      ev.detail = e.detail.c_str();
      ev.qr_url = e.qr_url.c_str();
      ev.qr_png = e.qr_png.empty() ? nullptr : e.qr_png.data();
      ev.qr_png_len = e.qr_png.size();
      cb(&ev, user);
    };
  }
  return c;
}

hybrid_ceremony* new_ceremony(bool registration, const char* json, const hybrid_options* o) {
  try {
    ClientOptions c = client_options(o);
    std::string j = json ? json : "";
    auto cer = registration ? Ceremony::registration(j, std::move(c)) : Ceremony::sign_in(j, std::move(c));
    return new hybrid_ceremony{std::move(cer), {}, {}};
  } catch (...) {
    return nullptr;
  }
}

}  // namespace

extern "C" {

const char* hybrid_version(void) {
  static const std::string v = version();
  return v.c_str();
}

const char* hybrid_git_revision(void) {
  static const std::string v = git_revision();
  return v.c_str();
}

const char* hybrid_stage_name(hybrid_stage stage) { return stage_name(static_cast<Stage>(stage)); }

void hybrid_free(void* p) { std::free(p); }

hybrid_options* hybrid_options_new(void) {
  try {
    return new hybrid_options();
  } catch (...) {
    return nullptr;
  }
}

void hybrid_options_free(hybrid_options* options) { delete options; }

int hybrid_options_set(hybrid_options* options, const char* name, const char* value) {
  if (!options || !name || !value) return HYBRID_ERR_INVALID_INPUT;
  try {
    std::string n = name, v = value;
    bool known = false;
    for (const char* k : kKnownOptions) known = known || n == k;
    if (!known) {
      options->error = "unknown option \"" + n + "\"";
      return HYBRID_ERR_INVALID_INPUT;
    }
    if (is_flag_option(n) && v != "0" && v != "1") {
      options->error = n + " takes 0 or 1";
      return HYBRID_ERR_INVALID_INPUT;
    }
    if (is_number_option(n)) {
      long parsed = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), parsed);
      if (ec != std::errc() || end != v.data() + v.size() || parsed < 0 || parsed > 65535) {
        options->error = n + " takes a whole number from 0 to 65535";
        return HYBRID_ERR_INVALID_INPUT;
      }
    }
    options->values[n] = v;
    options->error.clear();
    return HYBRID_OK;
  } catch (...) {
    return HYBRID_ERR_INTERNAL;
  }
}

void hybrid_options_set_stage_callback(hybrid_options* options, hybrid_stage_callback callback, void* user_data) {
  if (!options) return;
  options->callback = callback;
  options->user_data = user_data;
}

const char* hybrid_options_error(const hybrid_options* options) { return options ? options->error.c_str() : ""; }

hybrid_ceremony* hybrid_sign_in_new(const char* options_json, const hybrid_options* options) {
  return new_ceremony(false, options_json, options);
}

hybrid_ceremony* hybrid_register_new(const char* options_json, const hybrid_options* options) {
  return new_ceremony(true, options_json, options);
}

int hybrid_ceremony_run(hybrid_ceremony* c) {
  if (!c) return HYBRID_ERR_INVALID_INPUT;
  try {
    c->result = c->ceremony.run();
    c->error = c->result.status.message;
    return c->result.status.failure;
  } catch (...) {
    c->error = "internal error";
    return HYBRID_ERR_INTERNAL;
  }
}

void hybrid_ceremony_cancel(hybrid_ceremony* c) {
  if (c) c->ceremony.cancel();
}

const char* hybrid_ceremony_credential_json(const hybrid_ceremony* c) {
  return c ? c->result.credential_json.c_str() : "";
}

const char* hybrid_ceremony_linked_phone(const hybrid_ceremony* c) { return c ? c->result.linked_phone.c_str() : ""; }

const char* hybrid_ceremony_error(const hybrid_ceremony* c) { return c ? c->error.c_str() : ""; }

void hybrid_ceremony_free(hybrid_ceremony* c) { delete c; }

char* hybrid_linked_phones_json(const char* link_store, char** error_out) {
  try {
    std::vector<LinkedPhone> phones;
    Status st = linked_phones(link_store ? link_store : "", phones);
    if (!st) {
      set_error(error_out, st.message);
      return nullptr;
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : phones) {
      out.push_back({{"name", p.name}, {"tunnel", p.tunnel}, {"public_key", p.public_key}, {"linked_at", p.linked_at}});
    }
    return dup(out.dump());
  } catch (const std::exception& e) {
    set_error(error_out, std::string("internal error: ") + e.what());
    return nullptr;
  }
}

hybrid_authenticator* hybrid_authenticator_new(const hybrid_options* o, char** error_out) {
  try {
    AuthenticatorOptions a;
    a.tunnel = get(o, "tunnel");
    a.ca_file = get(o, "ca-file");
    a.store = get(o, "store");
    a.identity = get(o, "identity");
    a.name = get(o, "name", a.name);
    a.kind = get(o, "kind", a.kind);
    a.domain_id = static_cast<uint16_t>(number(o, "domain-id", 0));
    a.offer_linking = flag(o, "offer-linking");
    a.dbus_address = get(o, "dbus-address");
    a.adapter = get(o, "adapter");
    a.timeout = std::chrono::seconds(number(o, "timeout", 120));
    Status st;
    auto auth = Authenticator::open(std::move(a), st);
    if (!st) {
      set_error(error_out, st.message);
      return nullptr;
    }
    return new hybrid_authenticator{std::move(auth), {}};
  } catch (const std::exception& e) {
    set_error(error_out, std::string("internal error: ") + e.what());
    return nullptr;
  }
}

int hybrid_authenticator_serve_qr(hybrid_authenticator* a, const char* qr_url) {
  if (!a || !qr_url) return HYBRID_ERR_INVALID_INPUT;
  try {
    auto r = a->authenticator.serve_qr(qr_url);
    a->error = r.status.message;
    return r.status.failure;
  } catch (...) {
    a->error = "internal error";
    return HYBRID_ERR_INTERNAL;
  }
}

void hybrid_authenticator_cancel(hybrid_authenticator* a) {
  if (a) a->authenticator.cancel();
}

const char* hybrid_authenticator_error(const hybrid_authenticator* a) { return a ? a->error.c_str() : ""; }

void hybrid_authenticator_free(hybrid_authenticator* a) { delete a; }

hybrid_tunnel* hybrid_tunnel_start(const hybrid_options* o, char** error_out) {
  try {
    TunnelNodeOptions t;
    std::string listen = get(o, "listen", "127.0.0.1:0");
    auto colon = listen.rfind(':');
    unsigned port = 0;
    if (colon == std::string::npos ||
        std::from_chars(listen.data() + colon + 1, listen.data() + listen.size(), port).ec != std::errc() ||
        port > 65535) {
      set_error(error_out, "listen must be HOST:PORT, e.g. 127.0.0.1:0");
      return nullptr;
    }
    t.host = listen.substr(0, colon);
    if (t.host.size() > 2 && t.host.front() == '[' && t.host.back() == ']') t.host = t.host.substr(1, t.host.size() - 2);
    t.port = static_cast<uint16_t>(port);
    t.routing_id = get(o, "routing-id");
    t.tls_cert_file = get(o, "tls-cert");
    t.tls_key_file = get(o, "tls-key");
    Status st;
    auto node = TunnelNode::start(std::move(t), st);
    if (!st) {
      set_error(error_out, st.message);
      return nullptr;
    }
    std::string url = node.url();
    return new hybrid_tunnel{std::move(node), url};
  } catch (const std::exception& e) {
    set_error(error_out, std::string("internal error: ") + e.what());
    return nullptr;
  }
}

uint16_t hybrid_tunnel_port(const hybrid_tunnel* t) { return t ? t->node.port() : 0; }
const char* hybrid_tunnel_url(const hybrid_tunnel* t) { return t ? t->url.c_str() : ""; }
void hybrid_tunnel_free(hybrid_tunnel* t) { delete t; }

}  // extern "C"
