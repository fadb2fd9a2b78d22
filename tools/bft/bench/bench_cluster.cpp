#include "tools/bft/bench/bench.hpp"

// The clusters `bft bench` measures: n replicas in this process, or n `bft node`
// processes spawned on 127.0.0.1 from a generated testnet and killed by pid at the end.
namespace bft::bench_cmd {

config::protocol_params params_of(const bench_cli& o) {
  config::protocol_params p;
  p.batch_size = std::max<std::uint64_t>(1, (o.block_size + o.request_txs - 1) / o.request_txs);
  p.batch_delay_ms = static_cast<std::uint64_t>(std::ceil(o.batch_delay_ms));
  p.tick_ms = o.tick_ms;
  p.base_timeout_ticks = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(o.timeout_ms / static_cast<double>(o.tick_ms)));
  return p;
}

/// n replicas in this process, linked through a local directory (what `bft cluster` runs).
class in_process_cluster final : public bench_cluster {
public:
  in_process_cluster(const bench_cli& o, config::protocol_kind p, std::size_t faults) {
    genesis.chain_id = "bft-bench";
    genesis.protocol = p;
    genesis.params = params_of(o);
    std::vector<crypto::key_pair> keys;
    for (std::size_t i = 0; i < o.replicas; ++i) {
      keys.push_back(crypto::generate_key_pair());
      genesis.validators.push_back(
          validator{replica_id{static_cast<std::uint32_t>(i)}, keys.back().pub, "in-process", 1});
    }
    configure(cfg_);
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    auto verifier = std::make_shared<crypto::ed25519_verifier>();
    acceptors_.resize(o.replicas);
    for (std::size_t i = 0; i < o.replicas - faults; ++i) {
      auto ec = config::make_engine_config(genesis, replica_id{static_cast<std::uint32_t>(i)});
      if (!ec) throw cli::command_error{"bench genesis: " + ec.error().message()};
      identity id;
      id.self = ec->self;
      id.chain_id = ec->chain_id;
      id.epoch = ec->epoch;
      id.validators = ec->validators;
      id.signer = std::make_shared<crypto::ed25519_signer>(keys[i]);
      id.verifier = verifier;
      id.probes = &metrics_;
      replicas_.push_back(assemble_replica(
          *sys_, id, *ec, protocol_by_name(config::to_string(p)).make_engine,
          std::make_shared<memory_storage>(),
          [this](replica_id peer) { return make_local_transport(dir_, peer); },
          std::chrono::milliseconds(genesis.params.tick_ms)));
      dir_->set(id.self, replicas_.back().acceptor);
      acceptors_[i] = replicas_.back().acceptor;
    }
  }
  ~in_process_cluster() override { stop(); }
  caf::actor_system& system() override { return *sys_; }
  const std::vector<acceptor_actor>& acceptors() const override { return acceptors_; }
  double cpu_seconds() override { return self_cpu_seconds(); }
  std::vector<long> peak_rss_kib() override { return {self_peak_rss_kib()}; }
  void stop() override {
    for (auto& r : replicas_) stop_replica(r);
    replicas_.clear();
    acceptors_.clear();
  }

private:
  metrics metrics_;              // outlives the actor system: actors hold pointers to it
  caf::actor_system_config cfg_; // outlives the actor system, which refers to it
  std::unique_ptr<caf::actor_system> sys_;
  std::shared_ptr<local_directory> dir_ = std::make_shared<local_directory>();
  std::vector<replica_handles> replicas_;
  std::vector<acceptor_actor> acceptors_;
};

bool port_free(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

/// A base port p with p .. p+n-1 and p+100 .. p+100+n-1 free on 127.0.0.1 (bft init's layout).
std::uint32_t pick_base_port(std::size_t n) {
  auto seed = static_cast<std::uint32_t>(getpid()) * 7919u +
              static_cast<std::uint32_t>(clock_type::now().time_since_epoch().count());
  for (int attempt = 0; attempt < 50; ++attempt) {
    // Below the ephemeral range (32768..), where client connections take their local ports.
    std::uint32_t base = 10000 + (seed + static_cast<std::uint32_t>(attempt) * 977u) % 22000;
    bool ok = true;
    for (std::size_t i = 0; i < n && ok; ++i)
      ok = port_free(static_cast<std::uint16_t>(base + i)) &&
           port_free(static_cast<std::uint16_t>(base + config::max_testnet_replicas + i));
    if (ok) return base;
  }
  throw cli::command_error{"bench: found no free ports on 127.0.0.1 for the nodes", 1};
}

std::string tail_of(const fs::path& p, std::size_t max = 600) {
  std::ifstream in(p);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return s.size() > max ? s.substr(s.size() - max) : s;
}

/// n `bft node` processes spawned from a generated testnet in a temporary directory; the
/// load connects to them through the middleman. Children are killed by pid in `stop`.
class processes_cluster final : public bench_cluster {
public:
  processes_cluster(const bench_cli& o, config::protocol_kind p, std::size_t faults) {
    std::string tmpl_s = (fs::path(o.work_dir) / "bft-bench-XXXXXX").string();
    std::vector<char> tmpl(tmpl_s.begin(), tmpl_s.end());
    tmpl.push_back('\0');
    if (::mkdtemp(tmpl.data()) == nullptr)
      throw cli::command_error{
          std::string("bench: cannot create a temporary directory: ") + std::strerror(errno), 1};
    dir_ = tmpl.data();
    config::testnet_spec spec;
    spec.replicas = o.replicas;
    spec.protocol = p;
    spec.base_port = pick_base_port(o.replicas);
    spec.chain_id = "bft-bench";
    auto files = config::write_testnet(dir_ / "net", spec);
    if (!files) throw cli::command_error{"bench: testnet: " + files.error().message(), 1};
    genesis = files->genesis;
    genesis.params = params_of(o);
    if (auto w = config::write_genesis(files->genesis_file, genesis, true); !w)
      throw cli::command_error{"bench: genesis: " + w.error().message(), 1};
    if (o.transport == "basp")
      for (std::size_t i = 0; i < files->node_files.size(); ++i) {
        auto n = files->nodes[i];
        n.transport = config::transport_kind::basp;
        if (auto w = config::write_node_config(files->node_files[i], n, true); !w)
          throw cli::command_error{"bench: node config: " + w.error().message(), 1};
      }
    std::string self_exe = fs::read_symlink("/proc/self/exe").string();
    std::fprintf(stderr, "bench: starting %zu bft node processes in %s (ports %u..)\n",
                 o.replicas - faults, dir_.c_str(), spec.base_port);
    pids_.assign(o.replicas, -1);
    for (std::size_t i = 0; i < o.replicas - faults; ++i) {
      auto log = (dir_ / ("node-" + std::to_string(i) + ".log")).string();
      auto node = files->node_files[i].string();
      posix_spawn_file_actions_t fa;
      posix_spawn_file_actions_init(&fa);
      posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      posix_spawn_file_actions_adddup2(&fa, 1, 2);
      posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
      // One scheduler thread per node when the nodes outnumber the cores: fewer threads to
      // wake per message (a node's work is mostly sequential anyway).
      const auto cores = std::max(1u, std::thread::hardware_concurrency());
      const std::string threads = o.replicas >= cores ? "1" : "2";
      // --fresh: a new testnet's empty data directories are a first start (amnesia guard off).
      std::vector<std::string> args{self_exe,    "node",  "--config", node,
                                    "--threads", threads, "--fresh"};
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      pid_t pid = -1;
      int rc = posix_spawn(&pid, self_exe.c_str(), &fa, nullptr, argv.data(), environ);
      posix_spawn_file_actions_destroy(&fa);
      if (rc != 0) {
        stop();
        throw cli::command_error{std::string("bench: cannot start bft node: ") + std::strerror(rc),
                                 1};
      }
      pids_[i] = pid;
    }
    configure(cfg_);
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    acceptors_.resize(o.replicas);
    secure_ = o.transport == "secure";
    if (secure_) {
      auto vs = config::make_validator_set(genesis);
      if (!vs) throw cli::command_error{"bench genesis: " + vs.error().message(), 1};
      validators_ = *vs;
    }
    auto deadline = clock_type::now() + std::chrono::seconds(20);
    for (std::size_t i = 0; i < o.replicas - faults; ++i) {
      auto hp = files->nodes[i].listen;
      auto colon = hp.rfind(':');
      auto host = hp.substr(0, colon);
      auto port = static_cast<std::uint16_t>(std::stoul(hp.substr(colon + 1)));
      for (;;) {
        int wstatus = 0;
        if (::waitpid(pids_[i], &wstatus, WNOHANG) == pids_[i]) {
          pids_[i] = -1;
          auto why = tail_of(dir_ / ("node-" + std::to_string(i) + ".log"));
          stop();
          throw cli::command_error{"bench: bft node " + std::to_string(i) +
                                       " exited at start; its log ends:\n" + why,
                                   1};
        }
        addresses_.resize(o.replicas);
        addresses_[i] = {host, port};
        auto r = secure_ ? secure_dial(*sys_, client_context(probe_key_), host, port,
                                       genesis.validators[i].id, std::chrono::seconds(2))
                         : sys_->middleman().remote_actor<acceptor_actor>(host, port);
        if (r) {
          acceptors_[i] = *r;
          break;
        }
        if (clock_type::now() > deadline || g_stop.load()) {
          stop();
          throw cli::command_error{"bench: bft node " + std::to_string(i) + " at " + hp +
                                       " did not come up within 20 s",
                                   1};
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }
  ~processes_cluster() override { stop(); }
  std::vector<acceptor_actor>
  connect_client(const std::shared_ptr<const crypto::signer>& signer) override {
    if (!secure_) return acceptors_;
    std::vector<acceptor_actor> out(acceptors_.size());
    for (std::size_t i = 0; i < acceptors_.size(); ++i) {
      if (!acceptors_[i]) continue; // a replica stopped for the run
      auto r = secure_dial(*sys_, client_context(signer), addresses_[i].host, addresses_[i].port,
                           genesis.validators[i].id, std::chrono::seconds(5));
      if (!r)
        throw cli::command_error{"bench: client cannot connect to replica " + std::to_string(i) +
                                     ": " + sys_->render(r.error()),
                                 1};
      out[i] = *r;
      opened_.push_back(*r);
    }
    return out;
  }
  void release_clients() override {
    for (auto& a : opened_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    opened_.clear();
  }
  caf::actor_system& system() override { return *sys_; }
  const std::vector<acceptor_actor>& acceptors() const override { return acceptors_; }
  double cpu_seconds() override {
    double s = self_cpu_seconds();
    for (auto pid : pids_)
      if (pid > 0) s += std::max(0.0, proc_cpu_seconds(pid));
    return s;
  }
  std::vector<long> peak_rss_kib() override {
    std::vector<long> v;
    for (auto pid : pids_)
      if (pid > 0) v.push_back(proc_peak_rss_kib(pid));
    return v;
  }
  void stop() override {
    release_clients();
    if (secure_)
      for (auto& a : acceptors_)
        if (a) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    acceptors_.clear();
    for (auto pid : pids_)
      if (pid > 0) ::kill(pid, SIGTERM);
    auto deadline = clock_type::now() + std::chrono::seconds(5);
    for (auto& pid : pids_) {
      if (pid <= 0) continue;
      int wstatus = 0;
      while (::waitpid(pid, &wstatus, WNOHANG) == 0) {
        if (clock_type::now() > deadline) {
          ::kill(pid, SIGKILL);
          ::waitpid(pid, &wstatus, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      pid = -1;
    }
    if (!dir_.empty() && !keep_) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
      dir_.clear();
    }
  }

private:
  /// A client identity for the secure transport (its own key, proved in each handshake).
  std::shared_ptr<secure_context> client_context(std::shared_ptr<const crypto::signer> signer) {
    return make_client_secure_context(genesis.chain_id, bft::epoch{0}, validators_,
                                      std::move(signer));
  }

  bool secure_ = true;
  validator_set validators_;
  std::shared_ptr<const crypto::signer> probe_key_ =
      std::make_shared<crypto::ed25519_signer>(crypto::generate_key_pair());
  std::vector<peer_address> addresses_;
  std::vector<acceptor_actor> opened_;
  fs::path dir_;
  bool keep_ = std::getenv("BFT_BENCH_KEEP") != nullptr;
  std::vector<pid_t> pids_;
  caf::actor_system_config cfg_; // outlives the actor system, which refers to it
  std::unique_ptr<caf::actor_system> sys_;
  std::vector<acceptor_actor> acceptors_;
};

std::unique_ptr<bench_cluster> make_cluster(const bench_cli& o, const std::string& protocol,
                                            std::size_t faults) {
  auto p = *config::parse_protocol(protocol);
  if (o.mode == "processes") return std::make_unique<processes_cluster>(o, p, faults);
  return std::make_unique<in_process_cluster>(o, p, faults);
}

} // namespace bft::bench_cmd
