#pragma once
// --log-format json: one JSON object per line for log shippers. The message's logfmt-style
// "key=value" words (the per-request line is written that way) become fields of their own.
#include <spdlog/formatter.h>

#include <memory>

namespace oneapi::daemon {

std::unique_ptr<spdlog::formatter> make_json_log_formatter();

}  // namespace oneapi::daemon
