#include "core/json_parse.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/json_view.hpp"

using nlohmann::json;
using oneapi::parse_json;
using oneapi::detail::parse_json_fast;

namespace {

// Equal in type too: nlohmann's == calls 1, 1u and 1.0 equal.
bool same(const json& a, const json& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case json::value_t::object: {
      if (a.size() != b.size()) return false;
      for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib)
        if (ia.key() != ib.key() || !same(*ia, *ib)) return false;
      return true;
    }
    case json::value_t::array: {
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i)
        if (!same(a[i], b[i])) return false;
      return true;
    }
    case json::value_t::number_float: {
      const double x = a.get<double>(), y = b.get<double>();
      return std::memcmp(&x, &y, sizeof x) == 0;
    }
    default:
      return a == b;
  }
}

// parse_json gives what nlohmann gives, for every text. Returns whether the fast path took it.
bool agrees(const std::string& text) {
  INFO("text: " << json(text).dump(-1, ' ', true, json::error_handler_t::replace));
  const json expected = json::parse(text, nullptr, false);
  const json got = parse_json(text);
  CHECK(got.is_discarded() == expected.is_discarded());
  if (!expected.is_discarded()) CHECK(same(got, expected));
  json fast;
  const bool took = parse_json_fast(text, fast);
  if (took) {
    CHECK_FALSE(expected.is_discarded());  // the fast path never accepts what nlohmann refuses
    CHECK(same(fast, expected));
  }
  return took;
}

const char* const kRequests[] = {
    R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello"}]})",
    R"({"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"temperature":0.7,"top_p":1,)"
    R"("max_tokens":256,"messages":[{"role":"system","content":"You are terse.\nAnswer in \"one\" line."},)"
    R"({"role":"user","content":[{"type":"text","text":"Bonjour, ça va ? 你好 🙂"},)"
    R"({"type":"image_url","image_url":{"url":"https://example.com/a.png","detail":"low"}}]}],)"
    R"("tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{}}}}],)"
    R"("logit_bias":{"50256":-100},"seed":-42,"n":1,"user":null,"stop":["\u00e9\t"]})",
    " \r\n\t{ \"input\" : [ \"a\" , \"b\" ] , \"model\" : \"text-embedding-3-small\" } \n",
};

}  // namespace

TEST_CASE("parse_json: requests take the fast path and equal nlohmann's document", "[json]") {
  for (const char* text : kRequests) CHECK(agrees(text));
  json out;
  REQUIRE(parse_json_fast(kRequests[1], out));
  CHECK(out["temperature"].is_number_float());
  CHECK(out["top_p"].is_number_unsigned());
  CHECK(out["seed"].is_number_integer());
  CHECK(out["messages"][1]["content"][0]["text"] ==
        "Bonjour, \xc3\xa7"
        "a va ? \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x99\x82");
  CHECK(out["stop"][0] == "\xc3\xa9\t");
}

TEST_CASE("parse_json: edge cases agree with nlohmann, the rare ones by falling back", "[json]") {
  // Taken by the fast path.
  for (const char* text : {"0",
                           "-0",
                           "1",
                           "-1",
                           "18446744073709551615",
                           "-9223372036854775808",
                           "0.5",
                           "-0.0",
                           "1e5",
                           "1E+5",
                           "2.5e-3",
                           "1.7976931348623157e308",
                           "true",
                           "false",
                           "null",
                           "\"\"",
                           "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"",
                           "\"\\u0000\\u0041\\u00e9\\u20ac\\uffff\"",
                           "\"\x7f\"",
                           "[]",
                           "{}",
                           "[[],{}]",
                           R"({"a":1,"a":{"b":2}})",
                           R"({"a":{"b":2},"a":3})",
                           "\"\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\""})
    CHECK(agrees(text));
  // Left to nlohmann: valid but rare, or not JSON at all.
  for (const char* text : {"18446744073709551616",
                           "-9223372036854775809",
                           "1e400",
                           "-1e400",
                           "\"\\ud83d\\ude42\"",
                           "\"\\ud83d\"",
                           "\"\\ude42\"",
                           "\xef\xbb\xbf{}",
                           "",
                           " ",
                           "{",
                           "}",
                           "[1,]",
                           "[,1]",
                           R"({"a":1,})",
                           R"({"a" 1})",
                           R"({a:1})",
                           "01",
                           "-",
                           "1.",
                           ".5",
                           "1e",
                           "+1",
                           "tru",
                           "nul",
                           "truex",
                           "[1 2]",
                           "{} {}",
                           "\"a",
                           "\"\\x\"",
                           "\"\\u12\"",
                           "\"\\u12g4\"",
                           "\"\x01\"",
                           "\"\x80\"",
                           "\"\xc0\xaf\"",
                           "\"\xc1\xbf\"",
                           "\"\xe0\x9f\xbf\"",
                           "\"\xed\xa0\x80\"",
                           "\"\xf0\x8f\xbf\xbf\"",
                           "\"\xf4\x90\x80\x80\"",
                           "\"\xf5\x80\x80\x80\"",
                           "\"\xe2\x82\"",
                           "NaN",
                           "Infinity"})
    CHECK_FALSE(agrees(text));
  // Nesting past the fast path's depth still parses, through nlohmann.
  const std::string deep = std::string(200, '[') + std::string(200, ']');
  CHECK_FALSE(agrees(deep));
  CHECK(parse_json(deep).is_array());
  const std::string shallow = std::string(100, '[') + std::string(100, ']');
  CHECK(agrees(shallow));
}

TEST_CASE("parse_json: mutated requests agree with nlohmann", "[json]") {
  // Byte edits of real requests, mostly JSON's own characters and UTF-8 pieces: each text is
  // parsed both ways. Fixed seed, so a failure repeats.
  std::mt19937 rng(20261129);
  const std::string alphabet = "{}[]\":,\\ \t\n0123456789-+.eEtrufalsn\x01\x7f\x80\xbf\xc3\xa9\xe4\xf0\x9f\xed";
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  int taken = 0, total = 0;
  for (const char* seed : kRequests) {
    for (int i = 0; i < 4000; ++i) {
      std::string text = seed;
      for (size_t edits = 1 + pick(3); edits > 0 && !text.empty(); --edits) {
        const size_t at = pick(text.size());
        switch (pick(3)) {
          case 0:
            text[at] = alphabet[pick(alphabet.size())];
            break;
          case 1:
            text.insert(at, 1, alphabet[pick(alphabet.size())]);
            break;
          default:
            text.erase(at, 1 + pick(3));
        }
      }
      taken += agrees(text);
      ++total;
    }
  }
  // Some edits keep the text valid (inside strings, mostly) and the fast path takes those.
  CHECK(taken > total / 20);
}

TEST_CASE("parse_json and json view: a special byte at every place in a string", "[json][jsonview]") {
  // The string scanners test 16 bytes at a time, then 8, then one: a quote, an escape, a control
  // character or a UTF-8 sequence at each offset, in strings that end at each distance from the
  // text's end, must read the same as byte by byte.
  const std::string specials[] = {"\"", "\\n", "\\u00e9", "\x01", "\x1f", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\x80"};
  for (size_t length = 0; length <= 40; ++length) {
    for (size_t at = 0; at <= length; ++at) {
      for (const std::string& special : specials) {
        std::string content(length, 'a');
        content.insert(at, special);
        for (const std::string& tail : {std::string(), std::string(" ")}) {
          const std::string text = "[\"" + content + "\"" + tail + "]";
          agrees(text);
          if (special == "\x80") continue;  // the view reads broken UTF-8, as Go does; nlohmann refuses it
          const char* end = text.data() + text.size();
          const char* stop = oneapi::jsonview::skip_value(text.data(), end);
          INFO(text);
          CHECK((stop == end) == !json::parse(text, nullptr, false).is_discarded());
        }
      }
    }
  }
}
