#pragma once
namespace CLI {
class App;
}

namespace oneapi::cli {
struct Context;
// Adds the `status` command(s) to the app.
void setup_status(CLI::App& app, Context& ctx);
}  // namespace oneapi::cli
