// The website's HTTP endpoints on the kiosk's web server (libwebsockets): GET /site (the
// page), POST /site/api/register/begin {"user"}, /site/api/sign-in/begin, /site/api/finish
// {"ceremony","credential","tag"} and /site/api/client-error {"kind","message","tag"}, each
// answering JSON. Kept apart from the kiosk's status socket. Bodies are bounded, POSTs must
// come from a page of this server (Origin), and nothing a client sends can throw out of
// the libwebsockets callback.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "demo/website_rp.h"

struct lws;

namespace hybrid::demo {

class WebsiteHttp {
 public:
  // Writes a whole HTTP response; returns what the lws callback must return.
  using Reply = std::function<int(lws*, int status, std::string_view content_type, std::string_view body)>;
  static constexpr size_t kMaxBody = 64 * 1024;

  WebsiteHttp(WebsiteRelyingParty& rp, Reply reply) : rp_(rp), reply_(std::move(reply)) {}

  static bool owns(std::string_view path);
  // LWS_CALLBACK_HTTP for a path it owns (GET or POST).
  int on_request(lws* wsi, std::string_view path);
  // LWS_CALLBACK_HTTP_BODY / LWS_CALLBACK_HTTP_BODY_COMPLETION; `handled` false when the
  // connection is not one of its requests.
  int on_body(lws* wsi, const void* in, size_t len, bool& handled);
  int on_body_complete(lws* wsi, bool& handled);
  void forget(lws* wsi) { requests_.erase(wsi); }

 private:
  struct Request {
    std::string path;
    std::string body;
    bool replied = false;
  };
  int answer(lws* wsi, const std::string& path, const std::string& body);
  int json_reply(lws* wsi, int status, const nlohmann::json& j);

  WebsiteRelyingParty& rp_;
  Reply reply_;
  std::unordered_map<lws*, Request> requests_;
};

}  // namespace hybrid::demo
