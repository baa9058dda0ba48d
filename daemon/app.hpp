#pragma once
#include "config.hpp"

namespace oneapi::daemon {

// Wires config, logging, store, catalog, upstream client, relay, listeners and signals; runs
// until SIGTERM/SIGINT has drained the requests in flight. SIGHUP loads `source` again and
// applies what can change live. Returns the process exit code.
int run(const ConfigSource& source, const Config& config);
// --check-config: checks the configuration, the directories and the database (read-only) and
// prints one line per check; 0 when a start would succeed as far as can be told, 1 otherwise.
int check_config(const Config& config);

}  // namespace oneapi::daemon
