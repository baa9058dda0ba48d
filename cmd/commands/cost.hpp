#pragma once
namespace CLI {
class App;
}

namespace oneapi::cli {
struct Context;
// Adds the `cost` command(s) to the app.
void setup_cost(CLI::App& app, Context& ctx);
}  // namespace oneapi::cli
