// The per-app sections, `app.NAME`, read by the apps with their full key path in every error.
#include <tempo/config.h>

#include "config/address.h"
#include "config/reader.h"

namespace tempo::config {
namespace {

using detail::MapView;

YAML::Node section_node(const std::shared_ptr<const AppTree>& tree, const std::string& app) {
  if (!tree || !tree->root.IsMap()) {
    return YAML::Node(YAML::NodeType::Undefined);
  }
  const YAML::Node& root = tree->root;
  return root[app];
}

// The section as a map; an absent section reads as an empty one.
MapView view(const std::shared_ptr<const AppTree>& tree, const std::string& app,
             const std::string& path) {
  const YAML::Node n = section_node(tree, app);
  return MapView(n.IsDefined() ? n : YAML::Node(YAML::NodeType::Null), path);
}

Ipv4Endpoint read_endpoint(const YAML::Node& node, const std::string& path) {
  const std::string text = detail::read_string(node, path);
  const auto e = detail::parse_ipv4_endpoint(text);
  if (!e) {
    detail::fail_text(path, text, "expected ADDRESS:PORT like 198.18.0.1:8000");
  }
  return *e;
}

}  // namespace

AppSection::AppSection(std::shared_ptr<const AppTree> tree, std::string app)
    : tree_(std::move(tree)), app_(std::move(app)), path_("app." + app_) {
  if (tree_) {
    tree_->read.push_back(app_);
  }
}

bool AppSection::present() const { return section_node(tree_, app_).IsDefined(); }

bool AppSection::has(std::string_view key) const { return view(tree_, app_, path_).has(key); }

void AppSection::check_keys(std::initializer_list<std::string_view> known) const {
  view(tree_, app_, path_).check_keys(known);
}

std::int64_t AppSection::get_int(std::string_view key, std::int64_t lo, std::int64_t hi,
                                 std::int64_t def) const {
  return view(tree_, app_, path_).get_int(key, lo, hi, def);
}

double AppSection::get_double(std::string_view key, double lo, double hi, double def) const {
  return view(tree_, app_, path_).get_double(key, lo, hi, def);
}

bool AppSection::get_bool(std::string_view key, bool def) const {
  return view(tree_, app_, path_).get_bool(key, def);
}

std::string AppSection::get_string(std::string_view key, std::string_view def) const {
  return view(tree_, app_, path_).get_string(key, def);
}

std::string AppSection::require_string(std::string_view key) const {
  const MapView m = view(tree_, app_, path_);
  return detail::read_string(m.require(key), m.key_path(key));
}

std::string AppSection::get_enum(std::string_view key,
                                 std::initializer_list<std::string_view> allowed,
                                 std::string_view def) const {
  const MapView m = view(tree_, app_, path_);
  if (!m.has(key)) {
    return std::string(def);
  }
  const std::size_t i = m.get_enum(key, allowed, 0);
  return std::string(*(allowed.begin() + i));
}

std::vector<std::string> AppSection::get_string_list(std::string_view key,
                                                     std::vector<std::string> def) const {
  const MapView m = view(tree_, app_, path_);
  if (!m.has(key)) {
    return def;
  }
  return detail::read_string_list(m.get(key), m.key_path(key));
}

Ipv4Endpoint AppSection::get_endpoint(std::string_view key, Ipv4Endpoint def) const {
  const MapView m = view(tree_, app_, path_);
  return m.has(key) ? read_endpoint(m.get(key), m.key_path(key)) : def;
}

Ipv4Endpoint AppSection::require_endpoint(std::string_view key) const {
  const MapView m = view(tree_, app_, path_);
  return read_endpoint(m.require(key), m.key_path(key));
}

std::vector<Ipv4Endpoint> AppSection::get_endpoint_list(std::string_view key,
                                                        std::vector<Ipv4Endpoint> def) const {
  const MapView m = view(tree_, app_, path_);
  if (!m.has(key)) {
    return def;
  }
  const YAML::Node list = m.get(key);
  const std::string path = m.key_path(key);
  if (!list.IsSequence()) {
    detail::fail_value(path, list, "expected a list of ADDRESS:PORT");
  }
  std::vector<Ipv4Endpoint> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    out.push_back(read_endpoint(list[i], detail::join_index(path, i)));
  }
  return out;
}

std::vector<Ipv4Prefix> AppSection::get_ipv4_block_list(std::string_view key, int min_len) const {
  const MapView m = view(tree_, app_, path_);
  if (!m.has(key)) {
    return {};
  }
  const YAML::Node list = m.get(key);
  const std::string path = m.key_path(key);
  if (!list.IsSequence()) {
    detail::fail_value(path, list, "expected a list of addresses or address blocks (A.B.C.D/LEN)");
  }
  std::vector<Ipv4Prefix> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string here = detail::join_index(path, i);
    const std::string text = detail::read_string(list[i], here);
    bool bad_len = false;
    std::optional<Ipv4Prefix> p;
    if (text.find('/') == std::string::npos) {
      if (const auto a = detail::parse_ipv4(text)) {
        p = Ipv4Prefix{*a, 32};
      }
    } else {
      p = detail::parse_ipv4_prefix(text, bad_len);
    }
    if (!p) {
      detail::fail_text(here, text, "expected an IPv4 address or block like 198.18.1.0/26");
    }
    if (p->len < min_len) {
      detail::fail_text(here, text,
                        "expected a prefix length in [" + std::to_string(min_len) + ", 32]");
    }
    if (!(detail::network_of(*p) == *p)) {
      detail::fail_text(here, text,
                        "host bits set; the block is " + to_string(detail::network_of(*p)));
    }
    out.push_back(*p);
  }
  return out;
}

AppSection app_section(const Config& config, std::string_view app) {
  return AppSection(config.app, std::string(app));
}

}  // namespace tempo::config
