// Typed, path-aware reads over a yaml-cpp tree: the only place lib/config turns YAML nodes into
// values, so every error has the one-line form "config: KEY: VALUE: WHAT" (DESIGN.md
// "Configuration"). Internal to lib/config; yaml-cpp never leaves this library.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace tempo::config {

struct AppTree {
  YAML::Node root;  // the `app:` map, or a null node when absent
  // The sections this process opened (AppSection), for check_app_sections. Startup only: the
  // apps read their sections on the main thread before the EAL starts.
  mutable std::vector<std::string> read;
};

namespace detail {

// "config: PATH: WHAT", one line.
[[noreturn]] void fail(std::string_view path, std::string_view what);
// "config: PATH: VALUE: WHAT", with VALUE the node's text (flow form for lists and maps).
[[noreturn]] void fail_value(std::string_view path, const YAML::Node& value, std::string_view what);
[[noreturn]] void fail_text(std::string_view path, std::string_view value, std::string_view what);

// A node as one short line: scalars as written, lists as [a, b], maps as {k: v}.
std::string show(const YAML::Node& node);

// "a.b" (or "b" under an empty path), "a[3]".
std::string join_key(std::string_view path, std::string_view key);
std::string join_index(std::string_view path, std::size_t index);

// Bounds as the messages print them: 1000000000 is "1e9", 65535 stays "65535".
std::string format_bound(std::int64_t v);
std::string format_bound(double v);

// Scalar reads of `node` at `path`. Each throws ConfigError naming path, value and what is
// allowed.
std::int64_t read_int(const YAML::Node& node, std::string_view path, std::int64_t lo,
                      std::int64_t hi);
double read_double(const YAML::Node& node, std::string_view path, double lo, double hi);
bool read_bool(const YAML::Node& node, std::string_view path);
std::string read_string(const YAML::Node& node, std::string_view path);
// Returns the index of the value in `allowed`.
std::size_t read_enum(const YAML::Node& node, std::string_view path,
                      std::initializer_list<std::string_view> allowed);
std::vector<std::string> read_string_list(const YAML::Node& node, std::string_view path);

// What the loader says of one key as it reads a config: the configuration reference (README,
// checked by tests/unit/config/reference_test.cc) is what it records over a config that sets
// every section. `path` writes list indices as "[]" ("ports[].mtu"); `kind` is "integer",
// "number", "boolean", "string", "map", an enum's values ("one of a, b"), or "" (read another way);
// `range` and `def` are empty where the loader has none.
struct KeyDoc {
  std::string path, kind, range, def;
};
// While `out` is set (one thread: startup), every key the loader knows (MapView::check_keys)
// and every typed read is recorded there, each path once, in the order first met.
void record_keys(std::vector<KeyDoc>* out) noexcept;
// Records a key the loader reads its own way (lists of addresses, routes, ranges).
void describe(std::string_view path, std::string_view kind, std::string range = {});

// A map node (a null node counts as an empty map) with its key path.
class MapView {
 public:
  // Throws "expected a map" when `node` is neither a map nor null.
  MapView(const YAML::Node& node, std::string path);

  const std::string& path() const noexcept { return path_; }
  bool empty() const { return !node_.IsMap() || node_.size() == 0; }
  // The value at `key`, or an undefined node when absent.
  YAML::Node get(std::string_view key) const;
  bool has(std::string_view key) const { return get(key).IsDefined(); }
  std::string key_path(std::string_view key) const { return join_key(path_, key); }
  // Throws on a key not in `known` ("unknown key (known: a, b)") and on a duplicated key.
  void check_keys(std::initializer_list<std::string_view> known) const;
  // The value at `key`; throws "missing required key" when absent.
  YAML::Node require(std::string_view key) const;

  std::int64_t get_int(std::string_view key, std::int64_t lo, std::int64_t hi,
                       std::int64_t def) const;
  double get_double(std::string_view key, double lo, double hi, double def) const;
  bool get_bool(std::string_view key, bool def) const;
  std::string get_string(std::string_view key, std::string_view def) const;
  std::size_t get_enum(std::string_view key, std::initializer_list<std::string_view> allowed,
                       std::size_t def) const;

 private:
  YAML::Node node_;
  std::string path_;
};

}  // namespace detail
}  // namespace tempo::config
