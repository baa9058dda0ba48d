#pragma once
// Parsing a request body into a document, faster than nlohmann's own parser, which reads a byte
// at a time through its lexer and copies every string byte by byte: on a short chat request that
// was a tenth of the I/O thread's instructions.
//
// The fast path reads the usual JSON: strings with plain ASCII, valid UTF-8 and the short escapes
// or a \u escape outside the surrogates; numbers that fit their type; nesting up to 128 deep.
// Anything else, including every malformed text, goes to nlohmann's parser, so the result (value,
// number types, the last of repeated names, what is refused) is always what it would give.
#include <nlohmann/json.hpp>
#include <string_view>

namespace oneapi {

// nlohmann::json::parse(text, nullptr, false): a discarded value when `text` is not JSON.
nlohmann::json parse_json(std::string_view text);

namespace detail {
// The fast path alone: false (and `out` unspecified) for text it leaves to nlohmann. For tests.
bool parse_json_fast(std::string_view text, nlohmann::json& out);
}  // namespace detail

}  // namespace oneapi
