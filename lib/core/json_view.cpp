#include "core/json_view.hpp"

#include <charconv>
#include <cstdint>
#include <cstring>

namespace oneapi::jsonview {

namespace detail {

const char* skip_ws(const char* p, const char* end) {
  while (p != end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) ++p;
  return p;
}

}  // namespace detail

namespace {

using detail::skip_ws;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// `p` is at the opening quote. Sets *escaped when the string has a backslash.
const char* skip_string(const char* p, const char* end, bool* escaped = nullptr) {
  ++p;
  for (;;) {
    p = detail::find_string_special<false>(p, end);
    if (p == end) return nullptr;
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"') return p + 1;
    if (c < 0x20) return nullptr;
    // A backslash.
    if (escaped) *escaped = true;
    if (++p == end) return nullptr;
    switch (*p) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        ++p;
        break;
      case 'u':
        if (end - p < 5 || !is_hex(p[1]) || !is_hex(p[2]) || !is_hex(p[3]) || !is_hex(p[4])) return nullptr;
        p += 5;
        break;
      default:
        return nullptr;
    }
  }
}

const char* skip_digits(const char* p, const char* end) {
  while (p != end && is_digit(*p)) ++p;
  return p;
}

const char* skip_number(const char* p, const char* end) {
  if (p != end && *p == '-') ++p;
  if (p == end) return nullptr;
  if (*p == '0')
    ++p;
  else if (is_digit(*p))
    p = skip_digits(p, end);
  else
    return nullptr;
  if (p != end && *p == '.') {
    const char* digits = p + 1;
    p = skip_digits(digits, end);
    if (p == digits) return nullptr;
  }
  if (p != end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p != end && (*p == '+' || *p == '-')) ++p;
    const char* digits = p;
    p = skip_digits(digits, end);
    if (p == digits) return nullptr;
  }
  return p;
}

const char* skip_literal(const char* p, const char* end, std::string_view word) {
  if (static_cast<size_t>(end - p) < word.size() || std::memcmp(p, word.data(), word.size()) != 0) return nullptr;
  return p + word.size();
}

// An object member's name and colon; `p` is at the name's opening quote (or not, and fails).
// `name`, when given, is set to the name's raw text between the quotes, and *escaped to whether it
// has escapes.
const char* skip_name(const char* p, const char* end, std::string_view* name = nullptr, bool* escaped = nullptr) {
  if (p == end || *p != '"') return nullptr;
  const char* name_end = skip_string(p, end, escaped);
  if (!name_end) return nullptr;
  if (name) *name = std::string_view(p + 1, static_cast<size_t>(name_end - p - 2));
  p = skip_ws(name_end, end);
  if (p == end || *p != ':') return nullptr;
  return p + 1;
}

// The open containers, innermost last: '{' or '['. Deep nesting is legal JSON, so the stack grows
// on the heap past what fits inline.
class Nesting {
 public:
  bool empty() const { return depth_ == 0; }
  char top() const { return depth_ <= kInline ? inline_[depth_ - 1] : deep_.back(); }
  void push(char c) {
    if (depth_ < kInline)
      inline_[depth_] = c;
    else
      deep_.push_back(c);
    ++depth_;
  }
  void pop() {
    if (depth_ > kInline) deep_.pop_back();
    --depth_;
  }

 private:
  static constexpr size_t kInline = 32;
  char inline_[kInline];  // only [0, depth_) is ever read
  std::string deep_;
  size_t depth_ = 0;
};

// Whether the member name's raw text (between the quotes), which has escapes, reads as `key`.
bool decoded_name_is(std::string_view raw, std::string_view key) {
  std::string decoded;
  append_string(std::string_view(raw.data() - 1, raw.size() + 2), decoded);
  return decoded == key;
}

void append_utf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

uint32_t hex4(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    const char c = p[i];
    v = v * 16 + static_cast<uint32_t>(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  return v;
}

}  // namespace

Kind kind(std::string_view value) {
  const char* p = skip_ws(value.data(), value.data() + value.size());
  if (p == value.data() + value.size()) return Kind::invalid;
  switch (*p) {
    case '{':
      return Kind::object;
    case '[':
      return Kind::array;
    case '"':
      return Kind::string;
    case 't':
    case 'f':
      return Kind::boolean;
    case 'n':
      return Kind::null;
    default:
      return *p == '-' || is_digit(*p) ? Kind::number : Kind::invalid;
  }
}

namespace {

// A string, number or literal at `p`; nullptr when it is none of them.
const char* skip_scalar(const char* p, const char* end) {
  switch (*p) {
    case '"':
      return skip_string(p, end);
    case 't':
      return skip_literal(p, end, "true");
    case 'f':
      return skip_literal(p, end, "false");
    case 'n':
      return skip_literal(p, end, "null");
    default:
      return skip_number(p, end);
  }
}

}  // namespace

const char* skip_value(const char* p, const char* end) {
  p = skip_ws(p, end);
  if (p == end) return nullptr;
  if (*p != '{' && *p != '[') return skip_scalar(p, end);  // most members: no nesting to track
  Nesting open;
  for (;;) {
    // A value starts here.
    p = skip_ws(p, end);
    if (p == end) return nullptr;
    bool opened = false;
    switch (*p) {
      case '{':
        p = skip_ws(p + 1, end);
        if (p != end && *p == '}') {
          ++p;
          break;
        }
        p = skip_name(p, end);
        if (!p) return nullptr;
        open.push('{');
        opened = true;
        break;
      case '[':
        p = skip_ws(p + 1, end);
        if (p != end && *p == ']') {
          ++p;
          break;
        }
        open.push('[');
        opened = true;
        break;
      default:
        p = skip_scalar(p, end);
    }
    if (!p) return nullptr;
    if (opened) continue;
    // A value ended: close what it ends, up to the next member or element.
    for (;;) {
      if (open.empty()) return p;
      p = skip_ws(p, end);
      if (p == end) return nullptr;
      if (*p == ',') {
        p = skip_ws(p + 1, end);
        if (open.top() == '{') p = skip_name(p, end);
        if (!p) return nullptr;
        break;
      }
      if (*p != (open.top() == '{' ? '}' : ']')) return nullptr;
      ++p;
      open.pop();
    }
  }
}

namespace {

// Whether the member name's raw text reads as `key`. Most names differ from a key in length or
// first byte, which is tested before a memcmp call.
bool name_is(std::string_view raw, bool escaped, std::string_view key) {
  if (escaped) return decoded_name_is(raw, key);
  return raw.size() == key.size() &&
         (key.empty() || (raw[0] == key[0] && std::memcmp(raw.data(), key.data(), key.size()) == 0));
}

}  // namespace

const char* detail::scan_members(const char* p, const char* end, std::initializer_list<std::string_view> keys,
                                 std::string_view* out) {
  for (size_t i = 0; i < keys.size(); ++i) out[i] = {};
  if (p == end || *p != '{') return nullptr;
  p = skip_ws(p + 1, end);
  if (p != end && *p == '}') return p + 1;
  for (;;) {
    std::string_view name;
    bool escaped = false;
    p = skip_name(p, end, &name, &escaped);
    if (!p) return nullptr;
    const char* value = skip_ws(p, end);
    p = skip_value(value, end);
    if (!p) return nullptr;
    size_t i = 0;
    for (std::string_view key : keys) {
      if (name_is(name, escaped, key)) out[i] = std::string_view(value, static_cast<size_t>(p - value));
      ++i;
    }
    p = skip_ws(p, end);
    if (p == end) return nullptr;
    if (*p == '}') return p + 1;
    if (*p != ',') return nullptr;
    p = skip_ws(p + 1, end);
  }
}

bool scan_object(std::string_view text, std::initializer_list<std::string_view> keys, std::string_view* out) {
  const char* end = text.data() + text.size();
  const char* p = detail::scan_members(skip_ws(text.data(), end), end, keys, out);
  return p && skip_ws(p, end) == end;
}

bool non_empty_array(std::string_view array) {
  const char* end = array.data() + array.size();
  const char* p = skip_ws(array.data(), end);
  if (p == end || *p != '[') return false;
  p = skip_ws(p + 1, end);
  return p != end && *p != ']';
}

void append_string(std::string_view string, std::string& out) {
  const char* end = string.data() + string.size();
  const char* p = skip_ws(string.data(), end);
  if (p == end || *p != '"') return;
  ++p;
  while (p != end && *p != '"') {
    const char* run = p;
    while (p != end && *p != '"' && *p != '\\') ++p;
    out.append(run, static_cast<size_t>(p - run));
    if (p == end || *p == '"') break;
    ++p;  // the backslash; the scan that accepted this text checked what follows
    switch (*p) {
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'u': {
        uint32_t cp = hex4(p + 1);
        p += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 7 && p[1] == '\\' && p[2] == 'u') {
          const uint32_t low = hex4(p + 3);
          if (low >= 0xDC00 && low < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            p += 6;
          }
        }
        if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD;  // a lone surrogate, as encoding/json reads it
        append_utf8(cp, out);
        break;
      }
      default:  // '"', '\\', '/'
        out.push_back(*p);
    }
    ++p;
  }
}

double number(std::string_view text) {
  const char* end = text.data() + text.size();
  const char* p = skip_ws(text.data(), end);
  double v = 0;
  if (std::from_chars(p, end, v).ec != std::errc()) return 0;
  return v;
}

}  // namespace oneapi::jsonview
