#pragma once
namespace CLI {
class App;
}

namespace oneapi::cli {
struct Context;
// Adds the `log` command(s) to the app.
void setup_log(CLI::App& app, Context& ctx);
}  // namespace oneapi::cli
