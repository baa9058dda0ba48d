#pragma once
namespace CLI {
class App;
}

namespace oneapi::cli {
struct Context;
// Adds the `redemption` command(s) (vouchers) to the app.
void setup_redemption(CLI::App& app, Context& ctx);
}  // namespace oneapi::cli
