#include <algorithm>
#include <random>

#include "relay/steps.hpp"

namespace oneapi::relay {

namespace {
bool tried(const RelayState& s, int64_t id) {
  return std::find(s.tried_channels.begin(), s.tried_channels.end(), id) != s.tried_channels.end();
}

std::mt19937_64& rng() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return gen;
}
}  // namespace

Result<const ChannelInfo*> select_channel(const RelayState& s) {
  const Catalog& c = *s.catalog;
  if (s.pinned_channel_id != 0) {
    auto it = c.channels.find(s.pinned_channel_id);
    if (it == c.channels.end())
      return Error::make(ErrorKind::invalid_request, "invalid channel id", "invalid_channel_id");
    if (it->second.channel.status != static_cast<int>(store::ChannelStatus::enabled))
      return Error::make(ErrorKind::forbidden, "this channel has been disabled", "channel_disabled");
    return &it->second;
  }
  const std::vector<Route>* routes = c.find_routes(s.user->group, s.model);
  std::vector<const Route*> candidates;
  // The highest priority tier that still has a channel not tried by this request, resting
  // (suspended) channels left out unless no other channel is left.
  for (const bool skip_resting : {true, false}) {
    if (!routes || !candidates.empty()) break;
    for (const auto& r : *routes) {
      const int64_t id = r.channel->channel.id;
      if (tried(s, id) || (skip_resting && s.suspensions && s.suspensions->suspended(id))) continue;
      if (!candidates.empty() && r.priority != candidates.front()->priority) break;
      candidates.push_back(&r);
    }
  }
  if (candidates.empty())
    return Error::make(ErrorKind::no_channel,
                       "No available channels for Model " + s.model + " under Group " + s.user->group,
                       "model_not_found");
  int64_t total = 0;
  for (const Route* r : candidates) total += std::max<int64_t>(r->weight, 0);
  if (total == 0) return candidates[rng()() % candidates.size()]->channel;  // no weights: uniform
  auto pick = static_cast<int64_t>(rng()() % static_cast<uint64_t>(total));
  for (const Route* r : candidates) {
    pick -= std::max<int64_t>(r->weight, 0);
    if (pick < 0) return r->channel;
  }
  return candidates.back()->channel;
}

void use_channel(RelayState& s, const ChannelInfo* channel, const std::string& request_path) {
  s.channel = channel;
  s.tried_channels.push_back(channel->channel.id);
  auto& ctx = s.adaptor_ctx;
  ctx.mode = s.mode;
  ctx.channel = &channel->channel;
  ctx.request_path = request_path;
  ctx.stream = s.stream;
  ctx.client_wants_usage = s.client_wants_usage;
  ctx.local_prompt_tokens = s.prompt_tokens;
  auto mapped = channel->model_mapping.find(s.model);
  ctx.model_mapped = mapped != channel->model_mapping.end() && mapped->second != s.model;
  ctx.upstream_model = ctx.model_mapped ? mapped->second : s.model;
  const auto& ratios = s.catalog->ratios;
  s.price.model_ratio = ratios.model_ratio(ctx.upstream_model, channel->channel.type);
  s.price.completion_ratio = ratios.completion_ratio(ctx.upstream_model, channel->channel.type);
  s.price.group_ratio = ratios.group_ratio(s.user->group);
  s.price.cached_input_ratio = ratios.cached_input_ratio(ctx.upstream_model, channel->channel.type);
}

}  // namespace oneapi::relay
