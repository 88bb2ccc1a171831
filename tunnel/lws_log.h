// Routes libwebsockets' own log lines (errors and warnings only) into base/log under the
// stage "lws", so that one --log-json setting covers everything a process prints.
#pragma once

namespace hybrid::tunnel {

void install_lws_logging();

}  // namespace hybrid::tunnel
