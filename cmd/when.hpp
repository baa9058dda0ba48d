#pragma once
// Parses the WHEN of --expires, --since and --until.
#include <cstdint>
#include <optional>
#include <string_view>

namespace oneapi::cli {

// Accepts unix seconds, YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (UTC; a space or a trailing Z is fine
// too) and durations like 90s, 90m, 12h, 30d, 2w: from `now` forward when `future`, else back.
std::optional<int64_t> parse_when(std::string_view s, int64_t now, bool future);

inline constexpr const char* kWhenHelp =
    "unix seconds, YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS (UTC) or a duration like 90m, 12h, 30d, 2w";

}  // namespace oneapi::cli
