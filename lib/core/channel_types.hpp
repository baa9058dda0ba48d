#pragma once
// Every channel type the gateway serves, with One API's numbers (relay/channeltype/define.go) and
// default base URLs (url.go). The one table the relay, the admin API and oneapictl all read.
#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace oneapi {

// Which relay modes a channel type serves (bit set).
inline constexpr unsigned kModeChat = 1;
inline constexpr unsigned kModeCompletions = 2;
inline constexpr unsigned kModeEmbeddings = 4;
inline constexpr unsigned kModeAll = kModeChat | kModeCompletions | kModeEmbeddings;

// Stands in a path prefix for the channel config's "user_id" (Cloudflare's account id).
inline constexpr std::string_view kUserIdPlaceholder = "{user_id}";

struct ChannelTypeInfo {
  int type = 0;                                            // One API's number, stored in the channel row
  std::string_view name{};                                 // oneapictl's name (lowercase)
  std::string_view display_name{};                         // the provider as people write it
  std::string_view default_base_url{};                     // "" when each channel must give its own
  std::string_view adaptor = "openai";                     // the relay adaptor serving it
  std::string_view auth_header = "Authorization: Bearer";  // how the channel key is sent
  // OpenAI-format types: replaces the leading "/v1" of the client's path, e.g. "/api/v3" turns
  // /v1/chat/completions into {base}/api/v3/chat/completions. May hold kUserIdPlaceholder.
  std::string_view path_prefix = "/v1";
  unsigned modes = kModeAll;
  std::string_view chat_path{};               // when set, chat completions go to {base}{chat_path} instead
  std::array<std::string_view, 3> aliases{};  // more names oneapictl accepts
};

std::span<const ChannelTypeInfo> channel_types();
const ChannelTypeInfo* find_channel_type(int type);
// A name or alias (case-insensitive) or the number of a type in the table.
const ChannelTypeInfo* parse_channel_type(std::string_view name_or_number);
// The type's name, or its number as text when it is not in the table.
std::string channel_type_name(int type);

}  // namespace oneapi
