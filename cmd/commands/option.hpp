#pragma once
namespace CLI {
class App;
}

namespace oneapi::cli {
struct Context;
// Adds the `option` command(s) to the app.
void setup_option(CLI::App& app, Context& ctx);
}  // namespace oneapi::cli
