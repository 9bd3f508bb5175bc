// A small strict JSON reader for file headers (safetensors): objects, arrays, strings (all
// escapes, \uXXXX with surrogate pairs) and integers only; true/false/null, fractions and
// exponents are refused. A pull interface reads a known schema without building a tree.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "neuralop/io/value.hpp"

namespace neuralop::io {

// The offset of the first byte of s that is not part of valid UTF-8 (no overlong forms, no
// surrogates, nothing above U+10FFFF), or npos.
inline std::size_t utf8_error_offset(std::string_view s) {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned c = b[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    unsigned lo = 0x80, hi = 0xbf;  // the range of the second byte
    if (c >= 0xc2 && c <= 0xdf) len = 2;
    else if (c == 0xe0) len = 3, lo = 0xa0;
    else if (c == 0xed) len = 3, hi = 0x9f;  // excludes the surrogates U+D800..U+DFFF
    else if (c >= 0xe1 && c <= 0xef) len = 3;
    else if (c == 0xf0) len = 4, lo = 0x90;
    else if (c >= 0xf1 && c <= 0xf3) len = 4;
    else if (c == 0xf4) len = 4, hi = 0x8f;
    else return i;
    if (n - i < len || b[i + 1] < lo || b[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k)
      if (b[i + k] < 0x80 || b[i + k] > 0xbf) return i;
    i += len;
  }
  return std::string_view::npos;
}

// s as a JSON string literal, escaped as serde_json does (", \, control characters).
inline std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          constexpr char hex[] = "0123456789abcdef";
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

// Pull reader. Objects: begin_object(); while (next_member(key)) <read the value>. Arrays:
// begin_array(); while (next_element()) <read the value>. Errors name `where` and the byte.
class JsonReader {
 public:
  JsonReader(std::string_view text, std::string where, std::size_t max_depth = 64)
      : s_(text), where_(std::move(where)), max_depth_(max_depth) {
    if (const std::size_t bad = utf8_error_offset(s_); bad != std::string_view::npos)
      fail_at(bad, "not valid UTF-8");
  }

  // The next significant character ('\0' at the end); tells which kind of value comes next.
  char peek() {
    skip_ws();
    return p_ < s_.size() ? s_[p_] : '\0';
  }
  void begin_object(std::string_view what) { open('{', what); }
  void begin_array(std::string_view what) { open('[', what); }
  bool next_member(std::string& key) {
    if (!next('}')) return false;
    if (peek() != '"') fail("expected a string key");
    key = string("key");
    if (peek() != ':') fail("expected ':' after the key \"", key, "\"");
    ++p_;
    return true;
  }
  bool next_element() { return next(']'); }

  std::string string(std::string_view what) {
    if (peek() != '"') fail("expected a string for ", what);
    ++p_;
    std::string out;
    while (true) {
      if (p_ >= s_.size()) fail("unterminated string");
      const char c = s_[p_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail_at(p_ - 1, "control character in a string (must be escaped)");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (p_ >= s_.size()) fail("unterminated string");
      switch (const char e = s_[p_++]) {
        case '"': case '\\': case '/': out += e; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = hex4();
          if (cp >= 0xdc00 && cp <= 0xdfff) fail_at(p_ - 6, "lone low surrogate \\u", s_.substr(p_ - 4, 4));
          if (cp >= 0xd800 && cp <= 0xdbff) {
            if (s_.substr(p_, 2) != "\\u") fail_at(p_ - 6, "high surrogate without a low surrogate");
            p_ += 2;
            const std::uint32_t low = hex4();
            if (low < 0xdc00 || low > 0xdfff) fail_at(p_ - 6, "high surrogate without a low surrogate");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          }
          append_utf8(out, cp);
          break;
        }
        default: fail_at(p_ - 2, "unknown escape '\\", e, "'");
      }
    }
  }

  // A non-negative integer; `what` names it in errors.
  std::uint64_t uint(std::string_view what) {
    const char c = peek();
    if (c == '-') fail("negative number for ", what);
    if (c < '0' || c > '9') fail("expected an integer for ", what);
    const std::size_t start = p_;
    std::uint64_t v = 0;
    while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') {
      const unsigned d = static_cast<unsigned>(s_[p_] - '0');
      if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) fail_at(start, what, " does not fit 64 bits");
      v = v * 10 + d;
      ++p_;
    }
    if (s_[start] == '0' && p_ - start > 1) fail_at(start, "leading zero in a number");
    if (p_ < s_.size() && (s_[p_] == '.' || s_[p_] == 'e' || s_[p_] == 'E'))
      fail_at(start, "expected an integer for ", what, ", found a number with a fraction or exponent");
    return v;
  }
  std::int64_t integer(std::string_view what) {
    const bool neg = peek() == '-';
    if (neg) ++p_;
    const std::size_t start = p_;
    if (p_ >= s_.size() || s_[p_] < '0' || s_[p_] > '9') fail("expected an integer for ", what);
    const std::uint64_t u = uint(what);
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (u > max + (neg ? 1 : 0)) fail_at(start, what, " does not fit a signed 64-bit integer");
    return neg ? static_cast<std::int64_t>(0 - u) : static_cast<std::int64_t>(u);
  }

  // After the top-level value: only whitespace may remain.
  void expect_end() {
    if (peek() != '\0') fail("unexpected text after the end of the JSON value");
  }
  std::size_t depth() const { return stack_.size(); }
  template <class... A>
  [[noreturn]] void fail(A&&... a) const {
    fail_at(p_, std::forward<A>(a)...);
  }
  template <class... A>
  [[noreturn]] void fail_at(std::size_t at, A&&... a) const {
    throw_error<io_error>(where_, ", byte ", at, ": ", std::forward<A>(a)...);
  }

 private:
  std::string_view s_;
  std::string where_;
  std::size_t max_depth_;
  std::size_t p_ = 0;
  struct Level {
    char close;
    bool first;
  };
  std::vector<Level> stack_;

  void skip_ws() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n' || s_[p_] == '\r')) ++p_;
  }
  void open(char c, std::string_view what) {
    if (peek() != c) fail("expected ", c == '{' ? "an object" : "an array", " for ", what);
    if (stack_.size() >= max_depth_) fail("nesting deeper than ", max_depth_, " levels");
    ++p_;
    stack_.push_back({c == '{' ? '}' : ']', true});
  }
  // Consumes the ',' before the next item, or the closing bracket (then false).
  bool next(char close) {
    if (stack_.empty() || stack_.back().close != close) fail("internal: mismatched JSON reader calls");
    const char c = peek();
    if (c == close && stack_.back().first) {
      ++p_;
      stack_.pop_back();
      return false;
    }
    if (!stack_.back().first) {
      if (c == close) {
        ++p_;
        stack_.pop_back();
        return false;
      }
      if (c != ',') fail("expected ',' or '", close, "'");
      ++p_;
      if (peek() == close) fail("trailing comma");
    }
    stack_.back().first = false;
    return true;
  }
  std::uint32_t hex4() {
    if (s_.size() - p_ < 4) fail("truncated \\u escape");
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[p_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else fail_at(p_ - 1, "bad hex digit in a \\u escape");
    }
    return v;
  }
  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }
};

namespace detail {
inline Value parse_json_value(JsonReader& j) {
  switch (j.peek()) {
    case '{': {
      j.begin_object("a value");
      Value d = Value::dict();
      std::vector<std::string> keys;
      std::string key;
      while (j.next_member(key)) {
        keys.push_back(key);
        d.append_item(Value(key), parse_json_value(j));
      }
      std::sort(keys.begin(), keys.end());
      if (auto it = std::adjacent_find(keys.begin(), keys.end()); it != keys.end())
        j.fail("duplicate key \"", *it, "\" in an object");
      return d;
    }
    case '[': {
      j.begin_array("a value");
      Value l = Value::list();
      while (j.next_element()) l.push_back(parse_json_value(j));
      return l;
    }
    case '"': return Value(j.string("a value"));
    case '\0': j.fail("unexpected end of the text, expected a value");
    default: {
      const char c = j.peek();
      if (c == '-' || (c >= '0' && c <= '9')) return Value(j.integer("a value"));
      j.fail("unexpected character '", c, "' (only objects, arrays, strings and integers are accepted)");
    }
  }
}
}  // namespace detail

// The whole text as a Value tree: objects -> dict (keys in order, duplicates refused),
// arrays -> list, strings -> str, integers -> int. `where` names the text in errors.
inline Value parse_json(std::string_view text, const std::string& where, std::size_t max_depth = 64) {
  JsonReader j(text, where, max_depth);
  Value v = detail::parse_json_value(j);
  j.expect_end();
  return v;
}

}  // namespace neuralop::io
