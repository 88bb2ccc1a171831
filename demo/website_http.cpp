#include "demo/website_http.h"

#include <libwebsockets.h>

#include "base/log.h"
#include "demo/web_assets.h"
#include "tunnel/lws_headers.h"

namespace hybrid::demo {
namespace {

using nlohmann::json;
constexpr std::string_view kStage = "website";

std::string string_member(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "";
  return j[key].get<std::string>();
}

}  // namespace

bool WebsiteHttp::owns(std::string_view path) {
  return path == "/site" || path == "/site/" || path.starts_with("/site/api/");
}

int WebsiteHttp::json_reply(lws* wsi, int status, const json& j) {
  return reply_(wsi, status, "application/json", j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
}

int WebsiteHttp::on_request(lws* wsi, std::string_view path) {
  try {
    const bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
    if (!path.starts_with("/site/api/")) {
      if (post) return reply_(wsi, 405, "text/plain; charset=utf-8", "only GET is served here\n");
      const WebAsset* page = find_web_asset("/site.html");
      if (!page) return reply_(wsi, 404, "text/plain; charset=utf-8", "not found\n");
      return reply_(wsi, 200, page->content_type, page->body);
    }
    if (!post) return json_reply(wsi, 405, {{"error", "use POST with a JSON body"}});
    // Only this server's own pages may call the API (a browser always sends Origin on POST).
    const std::string origin = tunnel::read_header(wsi, WSI_TOKEN_ORIGIN);
    const std::string host = tunnel::read_header(wsi, WSI_TOKEN_HOST);
    if (origin.empty() || host.empty() || (origin != "http://" + host && origin != "https://" + host)) {
      log::info(kStage, "refused an API call from another origin");
      return json_reply(wsi, 403, {{"error", "cross-origin requests are not accepted"}});
    }
    requests_[wsi] = Request{std::string(path), {}, false};
    return 0;  // the body follows
  } catch (const std::exception& e) {
    log::warn(kStage, "request failed: {}", e.what());
    return -1;
  }
}

int WebsiteHttp::on_body(lws* wsi, const void* in, size_t len, bool& handled) {
  auto it = requests_.find(wsi);
  handled = it != requests_.end();
  if (!handled) return 0;
  try {
    Request& r = it->second;
    if (r.replied) return -1;
    if (r.body.size() + len > kMaxBody) {
      r.replied = true;
      return json_reply(wsi, 413, {{"error", "request body too large"}});
    }
    r.body.append(static_cast<const char*>(in), len);
    return 0;
  } catch (const std::exception& e) {
    log::warn(kStage, "request body failed: {}", e.what());
    return -1;
  }
}

int WebsiteHttp::on_body_complete(lws* wsi, bool& handled) {
  auto it = requests_.find(wsi);
  handled = it != requests_.end();
  if (!handled) return 0;
  Request r = std::move(it->second);
  requests_.erase(it);
  if (r.replied) return -1;
  try {
    return answer(wsi, r.path, r.body);
  } catch (const std::exception& e) {
    log::warn(kStage, "request failed: {}", e.what());
    return json_reply(wsi, 500, {{"error", "internal error"}});
  }
}

int WebsiteHttp::answer(lws* wsi, const std::string& path, const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return json_reply(wsi, 400, {{"error", "the body must be a JSON object"}});
  if (path == "/site/api/register/begin") {
    auto r = rp_.begin_registration(string_member(j, "user"));
    if (!r.ok()) return json_reply(wsi, 400, {{"error", r.error().message}});
    return json_reply(wsi, 200, *r);
  }
  if (path == "/site/api/sign-in/begin") {
    auto r = rp_.begin_sign_in();
    if (!r.ok()) return json_reply(wsi, 400, {{"error", r.error().message}});
    return json_reply(wsi, 200, *r);
  }
  if (path == "/site/api/finish") {
    WebsiteResult r = rp_.finish(j);
    json out = r.outcome.to_json();
    out["ceremony_kind"] = ceremony_kind_name(r.kind);
    return json_reply(wsi, 200, out);
  }
  if (path == "/site/api/client-error") {
    const CeremonyKind kind = string_member(j, "kind") == "register" ? CeremonyKind::registration : CeremonyKind::sign_in;
    rp_.record_client_error(kind, string_member(j, "message"), string_member(j, "tag"));
    return json_reply(wsi, 200, {{"recorded", true}});
  }
  return json_reply(wsi, 404, {{"error", "no such API"}});
}

}  // namespace hybrid::demo
