#include "config/node_config.hpp"

#include "config/address.hpp"
#include "config/toml_reader.hpp"
#include "crypto/key_file.hpp"

namespace bft::config {

std::string_view to_string(log_level l) {
  switch (l) {
  case log_level::trace: return "trace";
  case log_level::debug: return "debug";
  case log_level::info: return "info";
  case log_level::warn: return "warn";
  case log_level::error: return "error";
  }
  return "info";
}

std::optional<log_level> parse_log_level(std::string_view s) {
  for (auto l :
       {log_level::trace, log_level::debug, log_level::info, log_level::warn, log_level::error})
    if (s == to_string(l)) return l;
  return std::nullopt;
}

namespace {

std::filesystem::path resolve(const std::filesystem::path& base, const std::string& p) {
  std::filesystem::path path(p);
  if (path.is_absolute()) return path.lexically_normal();
  std::error_code ec;
  auto abs_base = std::filesystem::absolute(base.empty() ? "." : base, ec);
  if (ec) abs_base = base;
  return (abs_base / path).lexically_normal();
}

/// A string field holding a non-empty path.
result<std::string> path_field(detail::table_reader& r, std::string_view key) {
  auto v = r.string(key);
  if (!v) return v.error();
  if (v->empty()) return r.fail(key, "must not be empty");
  return v;
}

} // namespace

result<node_config> parse_node_config(std::string_view text, const std::string& file,
                                      const std::filesystem::path& base_dir) {
  auto table = detail::parse_toml(text, file);
  if (!table) return table.error();
  detail::table_reader r(*table, file, "");
  node_config c;
  auto id = r.integer("id", 0, UINT32_MAX);
  if (!id) return id.error();
  c.id = replica_id{static_cast<std::uint32_t>(*id)};

  auto key_file = path_field(r, "key_file");
  if (!key_file) return key_file.error();
  c.key_file = resolve(base_dir, *key_file);

  auto data_dir = path_field(r, "data_dir");
  if (!data_dir) return data_dir.error();
  c.data_dir = resolve(base_dir, *data_dir);

  auto listen = r.string("listen");
  if (!listen) return listen.error();
  if (auto hp = parse_host_port(*listen); !hp) return r.fail("listen", hp.error().detail);
  c.listen = *listen;

  auto metrics = r.optional_string("metrics");
  if (!metrics) return metrics.error();
  if (*metrics) {
    if (auto hp = parse_host_port(**metrics); !hp) return r.fail("metrics", hp.error().detail);
    if (**metrics == c.listen) return r.fail("metrics", "must differ from listen");
    c.metrics = **metrics;
  }

  auto level = r.optional_string("log_level");
  if (!level) return level.error();
  if (*level) {
    auto l = parse_log_level(**level);
    if (!l)
      return r.fail("log_level", "unknown level \"" + **level +
                                     "\" (expected trace, debug, info, warn or error)");
    c.level = *l;
  }

  auto genesis_file = r.optional_string("genesis");
  if (!genesis_file) return genesis_file.error();
  if (*genesis_file && (*genesis_file)->empty()) return r.fail("genesis", "must not be empty");
  c.genesis_file = resolve(base_dir, genesis_file->value_or("genesis.toml"));

  if (auto u = r.no_unknown_fields(); !u) return u.error();
  return c;
}

result<node_config> load_node_config(const std::filesystem::path& path) {
  auto text = detail::read_text_file(path, max_node_config_bytes);
  if (!text) return text.error();
  auto c = parse_node_config(*text, path.string(), path.parent_path());
  if (!c) return c.error();
  c->source = path;
  return c;
}

std::string to_toml(const node_config& c) {
  std::string out = "# bft node: how to run replica " + std::to_string(c.id.value()) + "\n";
  out += "id = " + std::to_string(c.id.value()) + "\n";
  out += "genesis = " + detail::toml_quote(c.genesis_file.string()) + "\n";
  out += "key_file = " + detail::toml_quote(c.key_file.string()) + "\n";
  out += "data_dir = " + detail::toml_quote(c.data_dir.string()) + "\n";
  out += "listen = " + detail::toml_quote(c.listen) + "\n";
  if (!c.metrics.empty()) out += "metrics = " + detail::toml_quote(c.metrics) + "\n";
  out += "log_level = " + detail::toml_quote(to_string(c.level)) + "\n";
  return out;
}

result<void> write_node_config(const std::filesystem::path& path, const node_config& c,
                               bool overwrite) {
  auto text = to_toml(c);
  if (auto check = parse_node_config(text, path.string(), path.parent_path()); !check)
    return check.error();
  return crypto::write_file_atomically(path, text, 0644, overwrite);
}

namespace {
std::string name_of(const std::filesystem::path& source, std::string_view fallback) {
  return source.empty() ? std::string(fallback) : source.string();
}
} // namespace

result<void> check_node_in_genesis(const node_config& c, const genesis& g) {
  for (const auto& v : g.validators)
    if (v.id == c.id) return {};
  return error{errc::invalid_config,
               name_of(c.source, "node config") + ": id: " + std::to_string(c.id.value()) +
                   " is not a validator in " + name_of(g.source, "the genesis")};
}

result<crypto::key_pair> load_node_key(const node_config& c, const genesis& g) {
  if (auto in = check_node_in_genesis(c, g); !in) return in.error();
  auto kp = crypto::load_key_file(c.key_file);
  if (!kp) return kp.error();
  for (std::size_t i = 0; i < g.validators.size(); ++i) {
    if (g.validators[i].id != c.id) continue;
    if (g.validators[i].key != kp->pub)
      return error{errc::invalid_config,
                   name_of(c.source, "node config") + ": key_file: the public key in " +
                       c.key_file.string() + " is not validators[" + std::to_string(i) +
                       "].public_key of " + name_of(g.source, "the genesis")};
  }
  return kp;
}

result<node_bundle> load_node(const std::filesystem::path& node_path,
                              const std::optional<std::filesystem::path>& genesis_override) {
  auto node = load_node_config(node_path);
  if (!node) return node.error();
  auto g = load_genesis(genesis_override.value_or(node->genesis_file));
  if (!g) return g.error();
  auto key = load_node_key(*node, *g);
  if (!key) return key.error();
  return node_bundle{std::move(*node), std::move(*g), std::move(*key)};
}

} // namespace bft::config
