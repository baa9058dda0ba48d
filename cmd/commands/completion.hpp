#pragma once
namespace CLI {
class App;
}

namespace oneapi::cli {
struct Context;
// Adds `completion bash|zsh|fish`: prints a completion script for the shell.
void setup_completion(CLI::App& app, Context& ctx);
}  // namespace oneapi::cli
