// From channel type to adaptor. The types themselves (numbers, names, base URLs, path rules) live
// in core/channel_types.cpp; this maps their adaptor names to the code. Adding a provider with its
// own wire format: one folder, one row there, one line here.
#include <string_view>

#include "core/channel_types.hpp"
#include "relay/adaptor.hpp"
#include "relay/adaptors/anthropic/adaptor.hpp"
#include "relay/adaptors/azure/adaptor.hpp"
#include "relay/adaptors/bedrock/adaptor.hpp"
#include "relay/adaptors/gemini/adaptor.hpp"
#include "relay/adaptors/openai/adaptor.hpp"
#include "relay/adaptors/vertex/adaptor.hpp"

namespace oneapi::relay {

namespace {
struct AdaptorEntry {
  std::string_view name;
  const Adaptor& (*instance)();
};

const AdaptorEntry kAdaptors[] = {
    {"openai", adaptors::openai::instance},       {"azure", adaptors::azure::instance},
    {"anthropic", adaptors::anthropic::instance}, {"gemini", adaptors::gemini::instance},
    {"bedrock", adaptors::bedrock::instance},     {"vertexai", adaptors::vertex::instance},
};
}  // namespace

const Adaptor* adaptor_named(std::string_view name) {
  for (const auto& a : kAdaptors)
    if (a.name == name) return &a.instance();
  return nullptr;
}

const Adaptor* adaptor_for(int channel_type) {
  const ChannelTypeInfo* t = find_channel_type(channel_type);
  return t ? adaptor_named(t->adaptor) : nullptr;
}

std::string_view default_base_url(int channel_type) {
  const ChannelTypeInfo* t = find_channel_type(channel_type);
  return t ? t->default_base_url : "";
}

}  // namespace oneapi::relay
