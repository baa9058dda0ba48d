#pragma once
// systemd's readiness protocol (Type=notify) without libsystemd: one datagram to $NOTIFY_SOCKET.
#include <string_view>

namespace oneapi::daemon {

// Sends `state` (e.g. "READY=1") when NOTIFY_SOCKET is set; does nothing otherwise.
void sd_notify(std::string_view state);

}  // namespace oneapi::daemon
