#pragma once
#include "relay/adaptor.hpp"

namespace oneapi::relay::adaptors::openai {

// OpenAI and every OpenAI-compatible upstream (Bearer auth, OpenAI wire format).
const Adaptor& instance();

// One API's upstream error rules: the message from the upstream JSON, retry on 429, 5xx and
// anything but 400 and 2xx.
Error parse_upstream_error(int status, std::string_view body);

}  // namespace oneapi::relay::adaptors::openai
