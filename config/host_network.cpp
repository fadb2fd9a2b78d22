#include "config/host_network.hpp"

#include "config/staging.hpp"
#include "config/testnet.hpp"
#include "config/toml_reader.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/key_file.hpp"

namespace bft::config {
namespace {

namespace fs = std::filesystem;

bft::error bad(std::string what) { return error{errc::invalid_config, std::move(what)}; }

result<void> make_dir(const fs::path& p) {
  std::error_code ec;
  fs::create_directory(p, ec);
  if (ec) return error{errc::io_error, p.string() + ": cannot create directory: " + ec.message()};
  return {};
}

/// node.toml, genesis.toml (verbatim `genesis_text`) and data/ in `folder`.
result<void> write_folder(const fs::path& folder, const node_config& c,
                          const std::string& genesis_text) {
  if (auto w = crypto::write_file_atomically(folder / "genesis.toml", genesis_text, 0644, false);
      !w)
    return w.error();
  if (auto w = write_node_config(folder / "node.toml", c); !w) return w.error();
  return make_dir(folder / c.data_dir);
}

} // namespace

result<node_config> folder_node_config(replica_id id, const host_port& address,
                                       const node_folder_options& o) {
  if (address.port + metrics_port_offset > 65535)
    return bad(std::string("\"")
                   .append(to_string(address))
                   .append("\": port must be at most ")
                   .append(std::to_string(65535 - metrics_port_offset))
                   .append(" (metrics use port + ")
                   .append(std::to_string(metrics_port_offset))
                   .append(")"));
  const bool v6 = address.host.find(':') != std::string::npos;
  const std::string listen_host = o.listen_on_host ? address.host : v6 ? "::" : "0.0.0.0";
  node_config c;
  c.id = id;
  c.genesis_file = "genesis.toml";
  c.key_file = "node.key";
  c.data_dir = "data";
  c.listen = to_string(host_port{listen_host, address.port});
  c.metrics = to_string(
      host_port{listen_host, static_cast<std::uint16_t>(address.port + metrics_port_offset)});
  c.advertise = to_string(address);
  c.transport = o.transport;
  return c;
}

result<host_network_files> write_host_network(const fs::path& dir_in,
                                              const host_network_spec& spec) {
  if (spec.hosts.size() < min_validators || spec.hosts.size() > max_testnet_replicas)
    return bad("hosts: must list between " + std::to_string(min_validators) + " and " +
               std::to_string(max_testnet_replicas) + " hosts, found " +
               std::to_string(spec.hosts.size()));
  if (auto problem = chain_id_problem(spec.chain_id)) return bad("chain_id: " + *problem);

  host_network_files out;
  genesis g;
  g.chain_id = spec.chain_id;
  g.protocol = spec.protocol;
  std::vector<crypto::key_pair> keys;
  for (std::size_t i = 0; i < spec.hosts.size(); ++i) {
    const auto& h = spec.hosts[i];
    auto c = folder_node_config(replica_id{static_cast<std::uint32_t>(i)}, h.address, spec.node);
    if (!c) return bad(h.origin + ": " + c.error().detail);
    keys.push_back(crypto::generate_key_pair());
    g.validators.push_back({c->id, keys.back().pub, to_string(h.address), 1});
    out.nodes.push_back(std::move(*c));
  }
  if (auto check = parse_genesis(to_toml(g), "genesis.toml"); !check) return check.error();
  const std::string genesis_text = to_toml(g);

  std::vector<fs::path> names;
  for (std::size_t i = 0; i < out.nodes.size(); ++i) names.push_back("host-" + std::to_string(i));
  auto dir = detail::write_staged(dir_in, [&](const fs::path& stage) {
    using names_result = result<std::vector<fs::path>>;
    for (std::size_t i = 0; i < out.nodes.size(); ++i) {
      const fs::path folder = stage / names[i];
      if (auto m = make_dir(folder); !m) return names_result(m.error());
      if (auto w = crypto::write_key_file(folder / "node.key", keys[i]); !w)
        return names_result(w.error());
      if (auto w = write_folder(folder, out.nodes[i], genesis_text); !w)
        return names_result(w.error());
    }
    return names_result(names);
  });
  if (!dir) return dir.error();
  out.dir = *dir;
  for (const auto& n : names) out.folders.push_back(*dir / n);
  g.source = out.folders.front() / "genesis.toml";
  out.genesis = std::move(g);
  return out;
}

result<node_folder_files> write_node_folder(const fs::path& dir_in, const fs::path& genesis_file,
                                            const fs::path& key_file,
                                            const node_folder_options& o) {
  auto text = detail::read_text_file(genesis_file, max_genesis_bytes);
  if (!text) return text.error();
  auto g = parse_genesis(*text, genesis_file.string());
  if (!g) return g.error();
  g->source = genesis_file;
  auto kp = crypto::load_key_file(key_file); // refuses a key others may read
  if (!kp) return kp.error();
  const validator* self = nullptr;
  for (const auto& v : g->validators)
    if (v.key == kp->pub) self = &v;
  if (self == nullptr)
    return bad(key_file.string() + ": its public key " + to_hex(kp->pub) +
               " is no validator's in " + genesis_file.string());
  auto address = parse_host_port(self->address);
  if (!address) return bad(genesis_file.string() + ": " + address.error().detail);
  auto c = folder_node_config(self->id, *address, o);
  if (!c)
    return bad(genesis_file.string() + ": validator " + std::to_string(self->id.value()) + ": " +
               c.error().detail);

  // Name the key relative to the folder when it lies inside it, so the folder can move.
  const fs::path dir = detail::normalised_dir(dir_in);
  std::error_code ec;
  const auto key_abs = fs::weakly_canonical(fs::absolute(key_file, ec), ec);
  const auto dir_abs = fs::weakly_canonical(fs::absolute(dir, ec), ec);
  const auto rel = key_abs.lexically_relative(dir_abs);
  c->key_file = !rel.empty() && *rel.begin() != ".." ? rel : key_abs;

  auto written = detail::write_staged(dir_in, [&](const fs::path& stage) {
    using names_result = result<std::vector<fs::path>>;
    if (auto w = write_folder(stage, *c, *text); !w) return names_result(w.error());
    return names_result(std::vector<fs::path>{"genesis.toml", "node.toml", c->data_dir});
  });
  if (!written) return written.error();
  node_folder_files out;
  out.dir = *written;
  out.node_file = *written / "node.toml";
  g->source = *written / "genesis.toml";
  out.genesis = std::move(*g);
  out.node = std::move(*c);
  return out;
}

result<void> check_hosts_in_genesis(const std::vector<host_entry>& hosts, const genesis& g) {
  const std::string gname = g.source.empty() ? "the genesis" : g.source.string();
  auto matches = [](const host_entry& h, const validator& v) {
    auto a = parse_host_port(v.address);
    return a && a->port == h.address.port && a->host == h.address.host;
  };
  for (const auto& h : hosts) {
    bool found = false;
    for (const auto& v : g.validators) found = found || matches(h, v);
    if (!found)
      return bad(h.origin + ": \"" + to_string(h.address) +
                 "\" is an unknown host: no validator of " + gname + " has that address");
  }
  // "hosts.txt:3" names the file; "--hosts" the option.
  std::string list_name = hosts.empty() ? "the hosts list" : hosts.front().origin;
  if (auto colon = list_name.rfind(':');
      colon != std::string::npos &&
      list_name.find_first_not_of("0123456789", colon + 1) == std::string::npos)
    list_name.resize(colon);
  for (std::size_t i = 0; i < g.validators.size(); ++i) {
    bool found = false;
    for (const auto& h : hosts) found = found || matches(h, g.validators[i]);
    if (!found)
      return bad(gname + ": validators[" + std::to_string(i) + "].address \"" +
                 g.validators[i].address + "\" is not in " + list_name);
  }
  return {};
}

} // namespace bft::config
