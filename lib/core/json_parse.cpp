#include "core/json_parse.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/json_view.hpp"

namespace oneapi {

namespace {

using json = nlohmann::json;

// Deeper documents go to nlohmann, which does not recurse.
constexpr int kMaxDepth = 128;

bool in(unsigned char c, unsigned char lo, unsigned char hi) { return c >= lo && c <= hi; }

// The length of the UTF-8 sequence at `p` (its first byte is 0x80 or above), or 0 when it is not
// one nlohmann accepts (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF).
size_t utf8_length(const char* p, const char* end) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  const auto left = static_cast<size_t>(end - p);
  auto cont = [&](size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) { return i < left && in(u[i], lo, hi); };
  const unsigned char c = u[0];
  if (in(c, 0xC2, 0xDF)) return cont(1) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if (in(c, 0xE1, 0xEC) || in(c, 0xEE, 0xEF)) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (in(c, 0xF1, 0xF3)) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

struct FastParser {
  const char* p;
  const char* end;

  void skip_ws() { p = jsonview::detail::skip_ws(p, end); }

  // `p` is at the opening quote. Plain runs are copied whole.
  bool string(std::string& out) {
    const char* run = ++p;
    for (;;) {
      p = jsonview::detail::find_string_special<true>(p, end);
      if (p == end) return false;
      const auto c = static_cast<unsigned char>(*p);
      if (c == '"') {
        out.append(run, p);
        ++p;
        return true;
      }
      if (c < 0x20) return false;
      if (c >= 0x80) {
        const size_t n = utf8_length(p, end);
        if (n == 0) return false;
        p += n;
        continue;
      }
      // A backslash.
      out.append(run, p);
      if (++p == end) return false;
      switch (*p) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          if (end - p < 5) return false;
          unsigned cp = 0;
          for (int i = 1; i <= 4; ++i) {
            const int h = hex_value(p[i]);
            if (h < 0) return false;
            cp = cp << 4 | static_cast<unsigned>(h);
          }
          if (cp >= 0xD800 && cp <= 0xDFFF) return false;  // surrogates: nlohmann pairs or refuses them
          if (cp < 0x80) {
            out += static_cast<char>(cp);
          } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | cp >> 6);
            out += static_cast<char>(0x80 | (cp & 0x3F));
          } else {
            out += static_cast<char>(0xE0 | cp >> 12);
            out += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
          }
          p += 4;
          break;
        }
        default:
          return false;
      }
      run = ++p;
    }
  }

  // nlohmann's rule: an integer is unsigned, or signed when negative; a fraction or an exponent,
  // or an integer too large for its type, makes a float, which must be finite.
  bool number(json& out) {
    const char* start = p;
    const bool negative = *p == '-';
    if (negative) ++p;
    if (p == end) return false;
    if (*p == '0') {
      ++p;
    } else if (*p >= '1' && *p <= '9') {
      while (p != end && *p >= '0' && *p <= '9') ++p;
    } else {
      return false;
    }
    bool integer = true;
    if (p != end && *p == '.') {
      integer = false;
      const char* digits = ++p;
      while (p != end && *p >= '0' && *p <= '9') ++p;
      if (p == digits) return false;
    }
    if (p != end && (*p == 'e' || *p == 'E')) {
      integer = false;
      ++p;
      if (p != end && (*p == '+' || *p == '-')) ++p;
      const char* digits = p;
      while (p != end && *p >= '0' && *p <= '9') ++p;
      if (p == digits) return false;
    }
    if (integer && negative) {
      int64_t v = 0;
      if (std::from_chars(start, p, v).ec != std::errc()) return false;  // nlohmann makes a float: rare
      out = v;
      return true;
    }
    if (integer) {
      uint64_t v = 0;
      if (std::from_chars(start, p, v).ec != std::errc()) return false;
      out = v;
      return true;
    }
    double v = 0;
    if (std::from_chars(start, p, v).ec != std::errc() || !std::isfinite(v)) return false;
    out = v;
    return true;
  }

  bool literal(std::string_view word) {
    if (static_cast<size_t>(end - p) < word.size() || std::memcmp(p, word.data(), word.size()) != 0) return false;
    p += word.size();
    return true;
  }

  bool value(json& out, int depth) {
    skip_ws();
    if (p == end) return false;
    switch (*p) {
      case '{':
        return object(out, depth + 1);
      case '[':
        return array(out, depth + 1);
      case '"': {
        out = std::string();
        return string(*out.get_ptr<json::string_t*>());
      }
      case 't':
        out = true;
        return literal("true");
      case 'f':
        out = false;
        return literal("false");
      case 'n':
        out = nullptr;
        return literal("null");
      default:
        return number(out);
    }
  }

  bool object(json& out, int depth) {
    if (depth > kMaxDepth) return false;
    out = json::object();
    auto& members = *out.get_ptr<json::object_t*>();
    ++p;
    skip_ws();
    if (p != end && *p == '}') {
      ++p;
      return true;
    }
    for (;;) {
      if (p == end || *p != '"') return false;
      std::string name;
      if (!string(name)) return false;
      skip_ws();
      if (p == end || *p != ':') return false;
      ++p;
      // A repeated name keeps its last value, as nlohmann does.
      if (!value(members[std::move(name)], depth)) return false;
      skip_ws();
      if (p == end) return false;
      if (*p == '}') {
        ++p;
        return true;
      }
      if (*p != ',') return false;
      ++p;
      skip_ws();
    }
  }

  bool array(json& out, int depth) {
    if (depth > kMaxDepth) return false;
    out = json::array();
    auto& elements = *out.get_ptr<json::array_t*>();
    ++p;
    skip_ws();
    if (p != end && *p == ']') {
      ++p;
      return true;
    }
    for (;;) {
      if (!value(elements.emplace_back(), depth)) return false;
      skip_ws();
      if (p == end) return false;
      if (*p == ']') {
        ++p;
        return true;
      }
      if (*p != ',') return false;
      ++p;
    }
  }
};

}  // namespace

namespace detail {

bool parse_json_fast(std::string_view text, nlohmann::json& out) {
  FastParser parser{text.data(), text.data() + text.size()};
  if (!parser.value(out, 0)) return false;
  parser.skip_ws();
  return parser.p == parser.end;
}

}  // namespace detail

nlohmann::json parse_json(std::string_view text) {
  nlohmann::json out;
  if (detail::parse_json_fast(text, out)) return out;
  return nlohmann::json::parse(text, nullptr, false);
}

}  // namespace oneapi
