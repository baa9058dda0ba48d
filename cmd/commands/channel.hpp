#pragma once
namespace CLI {
class App;
}

namespace oneapi::cli {
struct Context;
// Adds the `channel` command(s) to the app.
void setup_channel(CLI::App& app, Context& ctx);
}  // namespace oneapi::cli
