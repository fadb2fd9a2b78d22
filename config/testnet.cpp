#include "config/testnet.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "crypto/ed25519.hpp"
#include "crypto/key_file.hpp"

namespace bft::config {
namespace {

namespace fs = std::filesystem;

bft::error bad(std::string what) { return error{errc::invalid_config, std::move(what)}; }
bft::error io(const fs::path& p, std::string_view what, int e) {
  std::string msg = p.string();
  msg.append(": ").append(what).append(": ").append(std::strerror(e));
  return error{errc::io_error, std::move(msg)};
}

void sync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

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
  fs::path dir = dir_in.lexically_normal();
  if (!dir.has_filename() && dir.has_relative_path()) dir = dir.parent_path(); // "net/" -> "net"
  const std::string dir_name = dir_in.string();

  std::error_code ec;
  const bool exists = fs::exists(dir, ec);
  if (ec) return io(dir_in, "cannot inspect", ec.value());
  if (exists) {
    if (!fs::is_directory(dir, ec)) return bad(dir_name + ": exists and is not a directory");
    if (fs::exists(dir / "genesis.toml", ec))
      return bad((dir / "genesis.toml").string() +
                 ": already exists; this directory holds a network (choose another --dir)");
  }

  // Stage: beside `dir` when it does not exist yet (then one rename publishes everything),
  // else inside it (then each file is linked into place without replacing anything).
  const fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
  std::vector<fs::path> created_parents;
  if (!exists) {
    for (auto p = parent; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
      created_parents.push_back(p);
      if (!p.has_parent_path() || p.parent_path() == p) break;
    }
    fs::create_directories(parent, ec);
    if (ec) return io(parent, "cannot create directory", ec.value());
  }
  auto remove_created_parents = [&] {
    for (const auto& p : created_parents) fs::remove(p, ec); // innermost first; only if empty
  };
  const fs::path stage_base = exists ? dir : parent;
  std::string tmpl = (stage_base / ".bft-init-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    int e = errno;
    remove_created_parents();
    return io(stage_base, "cannot create a temporary directory", e);
  }
  const fs::path stage = tmpl;
  auto abandon = [&](bft::error err) -> result<testnet_files> {
    // Name the file the user asked for, not its staged copy.
    const std::string staged = stage.string();
    for (auto at = err.detail.find(staged); at != std::string::npos;
         at = err.detail.find(staged, at + dir.string().size()))
      err.detail.replace(at, staged.size(), dir.string());
    fs::remove_all(stage, ec);
    remove_created_parents();
    return err;
  };

  auto files = write_into(stage, spec);
  if (!files) return abandon(files.error());
  sync_dir(stage);

  if (!exists) {
    if (::rename(stage.c_str(), dir.c_str()) != 0)
      return abandon(io(dir_in, "cannot create", errno));
    sync_dir(parent);
  } else {
    std::vector<fs::path> placed;
    for (const auto& name : names_of(*files)) {
      if (::link((stage / name).c_str(), (dir / name).c_str()) != 0) {
        int e = errno;
        for (const auto& p : placed) ::unlink(p.c_str());
        if (e == EEXIST)
          return abandon(bad((dir / name).string() + ": already exists; refusing to replace it"));
        return abandon(io(dir / name, "cannot create", e));
      }
      placed.push_back(dir / name);
    }
    fs::remove_all(stage, ec);
    sync_dir(dir);
  }
  make_absolute(*files, dir);
  return files;
}

} // namespace bft::config
