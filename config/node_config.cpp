#include "config/node_config.hpp"

#include <cctype>

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

std::string_view to_string(transport_kind t) {
  return t == transport_kind::basp ? "basp" : "secure";
}

std::optional<transport_kind> parse_transport(std::string_view s) {
  if (s == "secure") return transport_kind::secure;
  if (s == "basp") return transport_kind::basp;
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

/// transport, allow_public_basp, advertise, bootstrap and clock_window_s: how the replica
/// reaches the others.
result<void> read_network_fields(detail::table_reader& r, node_config& c) {
  auto transport = r.optional_string("transport");
  if (!transport) return transport.error();
  if (*transport) {
    auto t = parse_transport(**transport);
    if (!t)
      return r.fail("transport",
                    "unknown transport \"" + **transport + "\" (expected \"secure\" or \"basp\")");
    c.transport = *t;
  }
  auto allow = r.boolean("allow_public_basp", false);
  if (!allow) return allow.error();
  if (*allow && c.transport != transport_kind::basp)
    return r.fail("allow_public_basp", "applies only to transport = \"basp\"");
  c.allow_public_basp = *allow;

  auto advertise = r.optional_string("advertise");
  if (!advertise) return advertise.error();
  if (*advertise) {
    auto hp = parse_host_port(**advertise);
    if (!hp) return r.fail("advertise", hp.error().detail);
    if (is_wildcard_host(hp->host))
      return r.fail("advertise",
                    "\"" + **advertise + "\" is a wildcard address; give the address peers dial");
    c.advertise = **advertise;
  }

  auto bootstrap = r.string_array("bootstrap");
  if (!bootstrap) return bootstrap.error();
  for (std::size_t i = 0; i < bootstrap->size(); ++i) {
    const std::string field = "bootstrap[" + std::to_string(i) + "]";
    const auto& a = (*bootstrap)[i];
    auto hp = parse_host_port(a);
    if (!hp) return r.fail(field, hp.error().detail);
    if (is_wildcard_host(hp->host))
      return r.fail(field, "\"" + a + "\" is a wildcard address; give an address to dial");
    for (std::size_t j = 0; j < i; ++j)
      if ((*bootstrap)[j] == a)
        return r.fail(field,
                      "\"" + a + "\" is already listed as bootstrap[" + std::to_string(j) + "]");
  }
  c.bootstrap = std::move(*bootstrap);

  auto window = r.integer("clock_window_s", 1, max_clock_window_s, default_clock_window_s);
  if (!window) return window.error();
  c.clock_window_s = *window;
  return {};
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

  if (auto n = read_network_fields(r, c); !n) return n.error();
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
  out += "transport = " + detail::toml_quote(to_string(c.transport)) + "\n";
  if (c.allow_public_basp) out += "allow_public_basp = true\n";
  if (!c.advertise.empty()) out += "advertise = " + detail::toml_quote(c.advertise) + "\n";
  if (!c.bootstrap.empty()) {
    out += "bootstrap = [";
    for (std::size_t i = 0; i < c.bootstrap.size(); ++i)
      out += (i == 0 ? "" : ", ") + detail::toml_quote(c.bootstrap[i]);
    out += "]\n";
  }
  out += "clock_window_s = " + std::to_string(c.clock_window_s) + "\n";
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
    if (g.validators[i].id != c.id || g.validators[i].key == kp->pub) continue;
    // Say whose key it is: a folder holding another host's key is the mistake to catch.
    std::string whose = "no validator's key";
    for (std::size_t j = 0; j < g.validators.size(); ++j)
      if (g.validators[j].key == kp->pub)
        whose = "the key of validator " + std::to_string(g.validators[j].id.value()) + " (" +
                g.validators[j].address + ", another host)";
    return error{errc::invalid_config, name_of(c.source, "node config") +
                                           ": key_file: " + c.key_file.string() + " holds " +
                                           whose + ", not validators[" + std::to_string(i) +
                                           "].public_key of " + name_of(g.source, "the genesis") +
                                           " (id " + std::to_string(c.id.value()) + ")"};
  }
  return kp;
}

std::vector<std::string> address_warnings(const node_config& c, const genesis& g) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < g.validators.size() && g.validators[i].id != c.id) ++i;
  if (i == g.validators.size()) return out;
  const auto& in_genesis = g.validators[i].address;
  auto want = parse_host_port(in_genesis);
  auto listen = parse_host_port(c.listen);
  if (!want || !listen) return out; // both files were validated on load
  const std::string file = name_of(c.source, "node config");
  const std::string where = "validators[" + std::to_string(i) + "].address \"" + in_genesis +
                            "\" of " + name_of(g.source, "the genesis");
  auto same = [](const host_port& a, const host_port& b) {
    if (a.port != b.port || a.host.size() != b.host.size()) return false;
    for (std::size_t k = 0; k < a.host.size(); ++k)
      if (std::tolower(static_cast<unsigned char>(a.host[k])) !=
          std::tolower(static_cast<unsigned char>(b.host[k])))
        return false;
    return true;
  };
  if (!c.advertise.empty()) {
    auto adv = parse_host_port(c.advertise);
    if (adv && !same(*adv, *want))
      out.push_back(file + ": advertise: \"" + c.advertise + "\" is not " + where +
                    "; peers dial the genesis address until they learn the new one");
  } else if (is_wildcard_host(listen->host) ? listen->port != want->port : !same(*listen, *want)) {
    out.push_back(file + ": listen: \"" + c.listen + "\" is not " + where +
                  " and no advertise is set; peers dial the genesis address");
  }
  return out;
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
