#pragma once
namespace CLI {
class App;
}

namespace oneapi::cli {
struct Context;
// Adds the `user` command(s) to the app.
void setup_user(CLI::App& app, Context& ctx);
}  // namespace oneapi::cli
