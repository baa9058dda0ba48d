#pragma once
#include "config.hpp"

namespace oneapi::daemon {

// Wires config, logging, store, catalog, upstream client, relay, listeners and signals; runs
// until SIGTERM/SIGINT has drained the requests in flight. Returns the process exit code.
int run(const Config& config);

}  // namespace oneapi::daemon
