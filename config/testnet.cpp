#include "config/testnet.hpp"

#include "config/staging.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/key_file.hpp"

namespace bft::config {
namespace {

namespace fs = std::filesystem;

bft::error bad(std::string what) { return error{errc::invalid_config, std::move(what)}; }

/// Writes every file of the network into `stage` (an empty directory).
result<testnet_files> write_into(const fs::path& stage, const testnet_spec& spec) {
  testnet_files out;
  genesis g;
  g.chain_id = spec.chain_id;
  g.protocol = spec.protocol;
  std::vector<crypto::key_pair> keys;
  for (std::size_t i = 0; i < spec.replicas; ++i) {
    const auto id = static_cast<std::uint32_t>(i);
    const std::string n = std::to_string(i);
    auto kp = crypto::generate_key_pair();
    node_config c;
    c.id = replica_id{id};
    c.genesis_file = "genesis.toml";
    c.key_file = "node-" + n + ".key";
    c.data_dir = "data-" + n;
    c.listen = spec.host + ":" + std::to_string(spec.base_port + i);
    c.metrics = spec.host + ":" + std::to_string(spec.base_port + max_testnet_replicas + i);
    g.validators.push_back({replica_id{id}, kp.pub, c.listen, 1});
    if (auto w = crypto::write_key_file(stage / c.key_file, kp); !w) return w.error();
    out.key_files.push_back(c.key_file);
    out.node_files.push_back("node-" + n + ".toml");
    out.nodes.push_back(std::move(c));
  }
  if (auto w = write_genesis(stage / "genesis.toml", g); !w) return w.error();
  for (std::size_t i = 0; i < out.nodes.size(); ++i)
    if (auto w = write_node_config(stage / out.node_files[i], out.nodes[i]); !w) return w.error();
  out.genesis_file = "genesis.toml";
  out.genesis = std::move(g);
  return out;
}

/// The names (relative to the network directory) of every file written.
std::vector<fs::path> names_of(const testnet_files& f) {
  std::vector<fs::path> names{f.genesis_file};
  names.insert(names.end(), f.key_files.begin(), f.key_files.end());
  names.insert(names.end(), f.node_files.begin(), f.node_files.end());
  return names;
}

void make_absolute(testnet_files& f, const fs::path& dir) {
  f.dir = dir;
  f.genesis_file = dir / f.genesis_file;
  f.genesis.source = f.genesis_file;
  for (auto& p : f.key_files) p = dir / p;
  for (auto& p : f.node_files) p = dir / p;
}

} // namespace

result<testnet_files> write_testnet(const fs::path& dir_in, const testnet_spec& spec) {
  if (spec.replicas < min_validators || spec.replicas > max_testnet_replicas)
    return bad("replicas: must be between " + std::to_string(min_validators) + " and " +
               std::to_string(max_testnet_replicas) + ", found " + std::to_string(spec.replicas));
  if (spec.base_port < 1 || spec.base_port + max_testnet_replicas + spec.replicas - 1 > 65535)
    return bad("base_port: must be between 1 and " +
               std::to_string(65535 - max_testnet_replicas - spec.replicas + 1) + " for " +
               std::to_string(spec.replicas) + " replicas (metrics use base_port + 100 + i)");
  if (auto problem = chain_id_problem(spec.chain_id)) return bad("chain_id: " + *problem);
  if (dir_in.empty()) return bad("dir: must not be empty");
  const fs::path genesis_path = detail::normalised_dir(dir_in) / "genesis.toml";
  std::error_code ec;
  if (fs::exists(genesis_path, ec))
    return bad(genesis_path.string() +
               ": already exists; this directory holds a network (choose another --dir)");

  testnet_files files;
  auto dir = detail::write_staged(dir_in, [&](const fs::path& stage) {
    auto f = write_into(stage, spec);
    if (!f) return result<std::vector<fs::path>>(f.error());
    files = std::move(*f);
    return result<std::vector<fs::path>>(names_of(files));
  });
  if (!dir) return dir.error();
  make_absolute(files, *dir);
  return files;
}

} // namespace bft::config
