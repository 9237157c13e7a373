#include "config/reader.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>

#include <tempo/config.h>

namespace tempo::config::detail {
namespace {

constexpr std::size_t kMaxShown = 60;

// Keeps an error on one line whatever the value holds (block scalars have newlines), and whole:
// what() is a C string, so a NUL would end the message there; other control characters are
// shown as \xNN too.
std::string one_line(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r' || c == '\t') {
      out += ' ';
    } else if (u < 0x20 || u == 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    } else {
      out += c;
    }
  }
  return out;
}

void show_into(const YAML::Node& node, std::string& out) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out += "null";
      return;
    case YAML::NodeType::Scalar:
      out += node.Scalar().empty() ? std::string("\"\"") : node.Scalar();
      return;
    case YAML::NodeType::Sequence: {
      out += '[';
      bool first = true;
      for (const auto& item : node) {
        if (!first) {
          out += ", ";
        }
        first = false;
        show_into(item, out);
        if (out.size() > kMaxShown) {
          return;
        }
      }
      out += ']';
      return;
    }
    case YAML::NodeType::Map: {
      out += '{';
      bool first = true;
      for (const auto& kv : node) {
        if (!first) {
          out += ", ";
        }
        first = false;
        show_into(kv.first, out);
        out += ": ";
        show_into(kv.second, out);
        if (out.size() > kMaxShown) {
          return;
        }
      }
      out += '}';
      return;
    }
  }
}

bool is_digits(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (const char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

// Integers in decimal ("-3", "+7", "4000000"), or as DIGITSeDIGITS ("1e9", "4e6") since the
// messages print big bounds that way. No hex or octal: a port written 010 is ten, not eight.
bool parse_int(std::string_view s, std::int64_t& out) {
  if (const auto e = s.find_first_of("eE"); e != std::string_view::npos) {
    const std::string_view mant = s.substr(0, e);
    const std::string_view exp = s.substr(e + 1);
    if (!is_digits(mant) || !is_digits(exp) || exp.size() > 2) {
      return false;
    }
    std::int64_t m = 0;
    if (!parse_int(mant, m)) {
      return false;
    }
    int x = 0;
    std::from_chars(exp.data(), exp.data() + exp.size(), x);
    for (int i = 0; i < x; ++i) {
      if (m > INT64_MAX / 10) {
        return false;
      }
      m *= 10;
    }
    out = m;
    return true;
  }
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
    if (!s.empty() && s.front() == '-') {
      return false;
    }
  }
  const char* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, out);
  return !s.empty() && ec == std::errc() && ptr == end;
}

std::string join_allowed(std::initializer_list<std::string_view> allowed) {
  std::string out;
  for (const auto a : allowed) {
    if (!out.empty()) {
      out += ", ";
    }
    out += a;
  }
  return out;
}

}  // namespace

void fail(std::string_view path, std::string_view what) {
  throw ConfigError("config: " + one_line(path) + ": " + one_line(what));
}

void fail_text(std::string_view path, std::string_view value, std::string_view what) {
  std::string v = one_line(value);
  if (v.size() > kMaxShown) {
    v.resize(kMaxShown);
    v += "...";
  }
  throw ConfigError("config: " + one_line(path) + ": " + v + ": " + one_line(what));
}

void fail_value(std::string_view path, const YAML::Node& value, std::string_view what) {
  fail_text(path, show(value), what);
}

std::string show(const YAML::Node& node) {
  std::string out;
  show_into(node, out);
  return out;
}

std::string join_key(std::string_view path, std::string_view key) {
  if (path.empty()) {
    return std::string(key);
  }
  std::string out(path);
  out += '.';
  out += key;
  return out;
}

std::string join_index(std::string_view path, std::size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

std::string format_bound(std::int64_t v) {
  if (v >= 1000000) {
    std::int64_t m = v;
    int e = 0;
    while (m % 10 == 0) {
      m /= 10;
      ++e;
    }
    if (m < 10) {
      return std::to_string(m) + "e" + std::to_string(e);
    }
  }
  return std::to_string(v);
}

std::string format_bound(double v) {
  if (v == std::floor(v) && std::fabs(v) < 9e18) {
    return format_bound(static_cast<std::int64_t>(v));
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

namespace {

thread_local std::vector<KeyDoc>* g_record = nullptr;

// Records what is said of `path`, filling what an earlier record of it left empty.
void note(std::string_view path, std::string_view kind, std::string range, std::string def) {
  if (g_record == nullptr || path.empty()) {
    return;
  }
  std::string p;
  for (size_t i = 0; i < path.size(); ++i) {  // "ports[3].mtu" -> "ports[].mtu"
    p += path[i];
    if (path[i] == '[') {
      while (i + 1 < path.size() && path[i + 1] != ']') {
        ++i;
      }
    }
  }
  if (p.back() == ']') {
    return;  // a list's element: its list says what it holds
  }
  for (KeyDoc& d : *g_record) {
    if (d.path == p) {
      d.kind = d.kind.empty() ? std::string(kind) : d.kind;
      d.range = d.range.empty() ? std::move(range) : d.range;
      d.def = d.def.empty() ? std::move(def) : d.def;
      return;
    }
  }
  g_record->push_back(KeyDoc{std::move(p), std::string(kind), std::move(range), std::move(def)});
}

template <class T>
std::string range_of(T lo, T hi) {
  std::string r("[");
  r.append(format_bound(lo)).append(", ").append(format_bound(hi)).append("]");
  return r;
}
std::string enum_of(std::initializer_list<std::string_view> allowed) {
  std::string out("one of ");
  for (const auto a : allowed) {
    out.append(out.size() > 7 ? ", " : "").append(a);
  }
  return out;
}

}  // namespace

void record_keys(std::vector<KeyDoc>* out) noexcept { g_record = out; }

void describe(std::string_view path, std::string_view kind, std::string range) {
  note(path, kind, std::move(range), "");
}

std::int64_t read_int(const YAML::Node& node, std::string_view path, std::int64_t lo,
                      std::int64_t hi) {
  note(path, "integer", range_of(lo, hi), "");
  std::int64_t v = 0;
  if (!node.IsScalar() || !parse_int(node.Scalar(), v) || v < lo || v > hi) {
    fail_value(path, node,
               "expected an integer in [" + format_bound(lo) + ", " + format_bound(hi) + "]");
  }
  return v;
}

double read_double(const YAML::Node& node, std::string_view path, double lo, double hi) {
  note(path, "number", range_of(lo, hi), "");
  double v = 0;
  bool ok = node.IsScalar();
  if (ok) {
    std::string_view s = node.Scalar();
    if (!s.empty() && s.front() == '+') {
      s.remove_prefix(1);
    }
    const char* end = s.data() + s.size();
    const auto [ptr, ec] = std::from_chars(s.data(), end, v);
    ok = !s.empty() && ec == std::errc() && ptr == end && std::isfinite(v);
  }
  if (!ok || v < lo || v > hi) {
    fail_value(path, node,
               "expected a number in [" + format_bound(lo) + ", " + format_bound(hi) + "]");
  }
  return v;
}

bool read_bool(const YAML::Node& node, std::string_view path) {
  note(path, "boolean", "", "");
  if (node.IsScalar()) {
    // YAML 1.2's true/false, and the YAML 1.1 words people still write.
    const std::string& s = node.Scalar();
    for (const char* t : {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"}) {
      if (s == t) {
        return true;
      }
    }
    for (const char* f : {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"}) {
      if (s == f) {
        return false;
      }
    }
  }
  fail_value(path, node, "expected true or false");
}

std::string read_string(const YAML::Node& node, std::string_view path) {
  note(path, "string", "", "");
  if (!node.IsScalar()) {
    fail_value(path, node, "expected a string");
  }
  return node.Scalar();
}

std::size_t read_enum(const YAML::Node& node, std::string_view path,
                      std::initializer_list<std::string_view> allowed) {
  note(path, enum_of(allowed), "", "");
  if (node.IsScalar()) {
    std::size_t i = 0;
    for (const auto a : allowed) {
      if (node.Scalar() == a) {
        return i;
      }
      ++i;
    }
  }
  fail_value(path, node, "expected one of " + join_allowed(allowed));
}

std::vector<std::string> read_string_list(const YAML::Node& node, std::string_view path) {
  note(path, "list of strings", "", "");
  if (!node.IsSequence()) {
    fail_value(path, node, "expected a list of strings");
  }
  std::vector<std::string> out;
  out.reserve(node.size());
  for (std::size_t i = 0; i < node.size(); ++i) {
    out.push_back(read_string(node[i], join_index(path, i)));
  }
  return out;
}

MapView::MapView(const YAML::Node& node, std::string path)
    : node_(node.IsDefined() ? node : YAML::Node(YAML::NodeType::Null)), path_(std::move(path)) {
  note(path_, "map", "", "");
  // An absent section (yaml-cpp's "zombie" node, on which Type() throws) reads as empty.
  if (!node_.IsMap() && !node_.IsNull()) {
    fail_value(path_.empty() ? std::string_view("(top level)") : std::string_view(path_), node_,
               "expected a map");
  }
}

YAML::Node MapView::get(std::string_view key) const {
  if (!node_.IsMap()) {
    return YAML::Node(YAML::NodeType::Undefined);
  }
  // The const operator[] never inserts; a missing key gives an undefined node.
  const YAML::Node& map = node_;
  return map[std::string(key)];
}

void MapView::check_keys(std::initializer_list<std::string_view> known) const {
  if (!node_.IsMap()) {
    return;
  }
  for (const auto k : known) {
    note(key_path(k), "", "", "");
  }
  std::vector<std::string> seen;
  for (const auto& kv : node_) {
    if (!kv.first.IsScalar()) {
      fail_value(path_, kv.first, "expected a string key");
    }
    const std::string& key = kv.first.Scalar();
    bool ok = false;
    for (const auto k : known) {
      ok = ok || key == k;
    }
    if (!ok) {
      fail(key_path(key), "unknown key (known: " + join_allowed(known) + ")");
    }
    for (const auto& s : seen) {
      if (s == key) {
        fail(key_path(key), "duplicate key");
      }
    }
    seen.push_back(key);
  }
}

YAML::Node MapView::require(std::string_view key) const {
  YAML::Node n = get(key);
  if (!n.IsDefined()) {
    fail(key_path(key), "missing required key");
  }
  return n;
}

std::int64_t MapView::get_int(std::string_view key, std::int64_t lo, std::int64_t hi,
                              std::int64_t def) const {
  note(key_path(key), "integer", range_of(lo, hi), std::to_string(def));
  const YAML::Node n = get(key);
  return n.IsDefined() ? read_int(n, key_path(key), lo, hi) : def;
}

double MapView::get_double(std::string_view key, double lo, double hi, double def) const {
  note(key_path(key), "number", range_of(lo, hi), format_bound(def));
  const YAML::Node n = get(key);
  return n.IsDefined() ? read_double(n, key_path(key), lo, hi) : def;
}

bool MapView::get_bool(std::string_view key, bool def) const {
  note(key_path(key), "boolean", "", def ? "true" : "false");
  const YAML::Node n = get(key);
  return n.IsDefined() ? read_bool(n, key_path(key)) : def;
}

std::string MapView::get_string(std::string_view key, std::string_view def) const {
  note(key_path(key), "string", "", def.empty() ? "\"\"" : std::string(def));
  const YAML::Node n = get(key);
  return n.IsDefined() ? read_string(n, key_path(key)) : std::string(def);
}

std::size_t MapView::get_enum(std::string_view key, std::initializer_list<std::string_view> allowed,
                              std::size_t def) const {
  note(key_path(key), enum_of(allowed), "", std::string(allowed.begin()[def]));
  const YAML::Node n = get(key);
  return n.IsDefined() ? read_enum(n, key_path(key), allowed) : def;
}

}  // namespace tempo::config::detail
