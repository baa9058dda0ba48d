#include "core/json_view.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

using namespace oneapi;
using nlohmann::json;

namespace {

bool view_accepts(std::string_view text) {
  const char* end = text.data() + text.size();
  const char* p = jsonview::skip_value(text.data(), end);
  if (!p) return false;
  while (p != end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) ++p;
  return p == end;
}

// Whole UTF-8 sequences only (no overlong or surrogate checks: the generator makes none).
bool utf8_whole(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += len;
  }
  return true;
}

bool nlohmann_accepts(std::string_view text) { return !json::parse(text, nullptr, false).is_discarded(); }

std::string decoded(std::string_view string_text) {
  std::string out;
  jsonview::append_string(string_text, out);
  return out;
}

// A random document of every kind of value, nested up to `depth`.
json random_value(std::mt19937& rng, int depth) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  switch (depth > 0 ? pick(8) : pick(5)) {
    case 0:
      return nullptr;
    case 1:
      return pick(2) == 0;
    case 2:
      return pick(2) ? json(static_cast<int64_t>(rng()) - (1LL << 31)) : json(static_cast<double>(rng()) / 7.0);
    case 3:
    case 4: {
      static const std::string alphabet = "ab \"\\/\n\t\x01\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80z";
      std::string s;
      for (int i = pick(12); i > 0; --i) {
        // Whole UTF-8 sequences only: nlohmann refuses broken ones, which this test does not compare.
        size_t at = static_cast<size_t>(pick(static_cast<int>(alphabet.size())));
        unsigned char c = static_cast<unsigned char>(alphabet[at]);
        size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
        if (len == 0) continue;
        s += alphabet.substr(at, len);
      }
      return s;
    }
    case 5:
    case 6: {
      json o = json::object();
      for (int i = pick(5); i > 0; --i) o["k" + std::to_string(pick(6))] = random_value(rng, depth - 1);
      return o;
    }
    default: {
      json a = json::array();
      for (int i = pick(5); i > 0; --i) a.push_back(random_value(rng, depth - 1));
      return a;
    }
  }
}

}  // namespace

TEST_CASE("json view: accepts and refuses what a JSON parser does", "[jsonview]") {
  for (const char* ok : {"{}", "[]", " {\"a\" : [1, -2.5e+3, 0, true, false, null, \"x\"]} ",
                         "\"\\u00e9\\ud83d\\ude00\"", "0", "-0.0e0", "[[[[]]]]", "{\"a\":{\"b\":{}}}", "\t\n\r[ ]"})
    CHECK(view_accepts(ok));
  for (const char* bad : {"",      " ",   "{",        "}",       "[1,]",        "{\"a\":1,}", "{\"a\"1}",
                          "{a:1}", "01",  "1.",       ".5",      "1e",          "-",          "+1",
                          "tru",   "nul", "\"abc",    "\"\\x\"", "\"\\u12g4\"", "[1 2]",      "{\"a\":1 \"b\":2}",
                          "[}",    "{]",  "\"a\nb\"", "{} {}",   "[1]]",        "NaN"})
    CHECK_FALSE(view_accepts(bad));
  // Deep nesting is legal and needs no recursion.
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  CHECK(view_accepts(deep));
  CHECK_FALSE(view_accepts(deep + "]"));
  CHECK_FALSE(view_accepts(deep.substr(1)));
}

TEST_CASE("json view: agrees with nlohmann on random documents and their mutations", "[jsonview]") {
  std::mt19937 rng(20261129);
  int refused = 0;
  for (int round = 0; round < 3000; ++round) {
    json doc = random_value(rng, 4);
    std::string text = doc.dump(rng() % 2 ? -1 : 1);
    REQUIRE(view_accepts(text));
    if (doc.is_object()) {
      std::string_view members[3];
      REQUIRE(jsonview::scan_object(text, {"k0", "k1", "missing"}, members));
      for (int i = 0; i < 2; ++i) {
        const std::string key = "k" + std::to_string(i);
        if (!doc.contains(key)) {
          CHECK(members[i].empty());
          continue;
        }
        REQUIRE(json::parse(members[i]) == doc[key]);
        if (doc[key].is_string()) CHECK(decoded(members[i]) == doc[key].get<std::string>());
        if (doc[key].is_number()) CHECK(jsonview::number(members[i]) == Approx(doc[key].get<double>()));
      }
      CHECK(members[2].empty());
    }
    if (doc.is_array()) {
      size_t n = 0;
      REQUIRE(jsonview::for_each_element(text, [&](std::string_view e) { CHECK(json::parse(e) == doc[n++]); }));
      CHECK(n == doc.size());
      CHECK(jsonview::non_empty_array(text) == !doc.empty());
      // for_each_object reads the object elements' members as scan_object does, and skips the rest.
      std::vector<json> objects;
      for (const auto& e : doc)
        if (e.is_object()) objects.push_back(e);
      std::string_view m[2];
      size_t k = 0;
      REQUIRE(jsonview::for_each_object(text, {"k0", "k1"}, m, [&] {
        REQUIRE(k < objects.size());
        for (int i = 0; i < 2; ++i) {
          const std::string key = "k" + std::to_string(i);
          if (objects[k].contains(key))
            CHECK(json::parse(m[i]) == objects[k][key]);
          else
            CHECK(m[i].empty());
        }
        ++k;
      }));
      CHECK(k == objects.size());
    }
    // One ASCII byte changed, dropped or added: both must judge the result alike. (Broken UTF-8
    // and escapes that may become lone surrogates, which nlohmann refuses and encoding/json
    // reads, are skipped.)
    std::string mutated = text;
    const size_t at = rng() % (mutated.size() + 1);
    static const std::string bytes = "{}[],:\"\\ -.0123456789eEtrufalsn";
    const char c = bytes[rng() % bytes.size()];
    switch (rng() % 3) {
      case 0:
        if (at < mutated.size()) mutated[at] = c;
        break;
      case 1:
        if (at < mutated.size()) mutated.erase(at, 1);
        break;
      default:
        mutated.insert(at, 1, c);
    }
    if (mutated.find("\\u") != std::string::npos || !utf8_whole(mutated)) continue;
    INFO(mutated);
    try {  // a number too large for a double: nlohmann refuses it, the view does not judge numbers' size
      [[maybe_unused]] json parsed = json::parse(mutated);
    } catch (const json::out_of_range&) {
      continue;
    } catch (const json::exception&) {
    }
    REQUIRE(view_accepts(mutated) == nlohmann_accepts(mutated));
    refused += nlohmann_accepts(mutated) ? 0 : 1;
  }
  CHECK(refused > 500);  // the mutations did reach the error paths
}

TEST_CASE("json view: members, repeats, escaped names, kinds", "[jsonview]") {
  std::string_view m[3];
  REQUIRE(jsonview::scan_object(R"( {"a":1,"b":{"a":2},"a":[3],"\u0063":"x"} )", {"a", "c", "b"}, m));
  CHECK(m[0] == "[3]");  // the last one, as a document keeps it
  CHECK(m[1] == "\"x\"");
  CHECK(m[2] == R"({"a":2})");
  CHECK(jsonview::kind(m[0]) == jsonview::Kind::array);
  CHECK(jsonview::kind(m[1]) == jsonview::Kind::string);
  CHECK(jsonview::kind(m[2]) == jsonview::Kind::object);
  CHECK(jsonview::kind("-1") == jsonview::Kind::number);
  CHECK(jsonview::kind("null") == jsonview::Kind::null);
  CHECK(jsonview::kind("") == jsonview::Kind::invalid);
  CHECK_FALSE(jsonview::scan_object("[1]", {"a"}, m));
  // An escaped name matches its decoded key in an element too.
  int calls = 0;
  CHECK(jsonview::for_each_object(R"([1, {"\u0061":2, "b":[{"a":0}]}, "x", {}])", {"a", "b"}, m, [&] {
    if (calls++ == 0) {
      CHECK(m[0] == "2");
      CHECK(m[1] == R"([{"a":0}])");
    } else {
      CHECK(m[0].empty());
      CHECK(m[1].empty());
    }
  }));
  CHECK(calls == 2);
  CHECK_FALSE(jsonview::for_each_object(R"({"a":1})", {"a"}, m, [] {}));
  CHECK_FALSE(jsonview::scan_object(R"({"a":1} x)", {"a"}, m));
  CHECK(jsonview::number("12") == 12);
  CHECK(jsonview::number("\"12\"") == 0);
}

TEST_CASE("json view: strings decode like a parser's", "[jsonview]") {
  CHECK(decoded(R"("plain")") == "plain");
  CHECK(decoded(R"("q\"b\\s\/n\nt\tr\rb\bf\f")") == "q\"b\\s/n\nt\tr\rb\bf\f");
  CHECK(decoded(R"("\u00e9\u4e2d\ud83d\ude00")") == "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80");
  CHECK(decoded("\"raw \xe4\xb8\xad\"") == "raw \xe4\xb8\xad");
  // A lone surrogate reads as U+FFFD, as Go's encoding/json (One API) reads it.
  CHECK(decoded(R"("a\ud83db")") ==
        "a\xef\xbf\xbd"
        "b");
  CHECK(decoded(R"("\ude00")") == "\xef\xbf\xbd");
}
