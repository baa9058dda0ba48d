#pragma once
// oneapictl's exit codes (documented in man/oneapictl.1 and the --help footer).

namespace oneapi::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;       // the daemon refused the request, or a channel test failed
inline constexpr int kExitUsage = 2;        // unknown flag, wrong type, missing argument
inline constexpr int kExitUnreachable = 3;  // cannot talk to oneapid over the admin socket
inline constexpr int kExitNotFound = 4;     // no such channel, token, log entry or option
inline constexpr int kExitUnsupported = 5;  // channel balance: the channel's upstream reports no balance

inline constexpr const char* kExitCodesHelp =
    "Exit codes: 0 ok, 1 request refused or a channel test failed, 2 usage error, "
    "3 oneapid unreachable, 4 not found, 5 no balance API (channel balance).";

}  // namespace oneapi::cli
