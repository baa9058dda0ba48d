#include <algorithm>
#include <optional>
#include <random>

#include "relay/steps.hpp"

namespace oneapi::relay {

namespace {
bool tried(const RelayState& s, int64_t id) {
  return std::find(s.tried_channels.begin(), s.tried_channels.end(), id) != s.tried_channels.end();
}

const std::vector<Route> kNoRoutes;

std::mt19937_64& rng();

// Weighted random choice (One API stores weights but ignores them); no weights: uniform.
const ChannelInfo* weighted_pick(const std::vector<const Route*>& candidates) {
  int64_t total = 0;
  for (const Route* r : candidates) total += std::max<int64_t>(r->weight, 0);
  if (total == 0) return candidates[rng()() % candidates.size()]->channel;
  auto pick = static_cast<int64_t>(rng()() % static_cast<uint64_t>(total));
  for (const Route* r : candidates) {
    pick -= std::max<int64_t>(r->weight, 0);
    if (pick < 0) return r->channel;
  }
  return candidates.back()->channel;
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
  if (!routes) routes = &kNoRoutes;
  // Failover order: the first retry stays in the tier tried first, each later one goes a tier
  // down (back to the top when nothing is left below). Retries never reach a resting channel;
  // the first attempt does when nothing else serves the model.
  const bool retry = !s.tried_channels.empty();
  std::optional<int64_t> ceiling;
  if (s.tried_channels.size() >= 2)
    for (const auto& r : *routes)
      if (r.channel->channel.id == s.tried_channels.back()) ceiling = r.priority - 1;
  std::vector<const Route*> candidates;
  std::vector<int64_t> full;  // at their own rate limit for this pick
  auto collect = [&](bool skip_resting, std::optional<int64_t> max_priority) {
    for (const auto& r : *routes) {  // sorted by priority, highest first
      const int64_t id = r.channel->channel.id;
      if (tried(s, id) || (max_priority && r.priority > *max_priority)) continue;
      if (skip_resting && s.suspensions && s.suspensions->suspended(id)) continue;
      if (std::find(full.begin(), full.end(), id) != full.end()) continue;
      if (!candidates.empty() && r.priority != candidates.front()->priority) break;
      candidates.push_back(&r);
    }
  };
  int64_t shortest_wait = 0;
  for (;;) {
    candidates.clear();
    if (ceiling) collect(true, ceiling);
    if (candidates.empty()) collect(true, std::nullopt);
    if (candidates.empty() && !retry) collect(false, std::nullopt);
    if (candidates.empty()) break;
    const ChannelInfo* pick = weighted_pick(candidates);
    if (pick->rate_limit_per_minute <= 0 || !s.channel_limits) return pick;
    const int64_t wait = s.channel_limits->acquire(std::to_string(pick->channel.id), pick->rate_limit_per_minute);
    if (wait == 0) return pick;
    full.push_back(pick->channel.id);
    shortest_wait = shortest_wait == 0 ? wait : std::min(shortest_wait, wait);
  }
  if (!full.empty()) {
    Error e = Error::make(ErrorKind::rate_limited,
                          full.size() > 1 ? "All available channels (" + std::to_string(full.size()) +
                                                ") for this model are currently rate limited, please try again later"
                                          : std::string("The current group load is saturated, please try again later"),
                          "channel_rate_limited");
    e.retry_after_seconds = static_cast<int>(shortest_wait);
    return e;
  }
  return Error::make(ErrorKind::no_channel,
                     "No available channels for Model " + s.model + " under Group " + s.user->group, "model_not_found");
}

void use_channel(RelayState& s, const ChannelInfo* channel, const std::string& request_path) {
  s.channel = channel;
  s.tried_channels.push_back(channel->channel.id);
  auto& ctx = s.adaptor_ctx;
  ctx.mode = s.mode;
  ctx.channel = &channel->next_sender();
  const Adaptor* adaptor = adaptor_for(channel->channel.type);
  const bool pass_through = s.bridge && adaptor && adaptor->speaks(s.format, channel->channel.type);
  // A converted request is a chat completion: adaptors that build the upstream URL from the
  // client's path (OpenAI-compatible, Azure) must not see /v1/messages or /v1/responses.
  ctx.request_path = s.bridge && !pass_through ? std::string("/v1/chat/completions") : request_path;
  ctx.stream = s.stream;
  ctx.client_wants_usage = s.client_wants_usage;
  ctx.enforce_include_usage = s.enforce_include_usage;
  ctx.local_prompt_tokens = s.prompt_tokens;
  ctx.format = pass_through ? s.format : ClientFormat::openai;
  ctx.client_headers = pass_through ? s.client_headers : net::Headers{};
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
