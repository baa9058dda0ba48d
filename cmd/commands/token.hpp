#pragma once
namespace CLI {
class App;
}

namespace oneapi::cli {
struct Context;
// Adds the `token` command(s) to the app.
void setup_token(CLI::App& app, Context& ctx);
}  // namespace oneapi::cli
