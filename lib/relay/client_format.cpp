// From client format to its bridge: one line per format.
#include "relay/client_format.hpp"

#include "relay/formats/claude_messages.hpp"
#include "relay/formats/responses.hpp"

namespace oneapi::relay {

const FormatBridge* bridge_for(ClientFormat format) {
  switch (format) {
    case ClientFormat::openai:
      return nullptr;
    case ClientFormat::claude_messages:
      return &formats::claude::bridge();
    case ClientFormat::responses:
      return &formats::responses::bridge();
  }
  return nullptr;
}

}  // namespace oneapi::relay
