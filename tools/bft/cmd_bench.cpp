// bft bench [--protocol pbft|hotstuff|pbft,hotstuff] [--mode in-process|processes]
//           [--rate R | --outstanding A] [--tx-size B] [--block-size b] [--batch-delay ms]
//           [--duration s] [--warmup s] [--faults none|crash-one|k] [--json FILE] [--sweep]
//           [--check-json FILE]
//
// The cluster benchmark of ../shared/benchmarks.md. One process (`in-process`: n replicas in
// one actor system, local links) or n `bft node` processes on 127.0.0.1 that this command
// spawns from a generated testnet in a temporary directory and kills by pid at the end
// (`processes`: every frame goes through CAF's middleman). The load is a set of client actors
// (the same client as `bft client`) in this process: open loop (`--rate`, requests paced and
// queued whatever the latency) or closed loop (`--outstanding`, a fixed number of transactions
// in flight). Figures cover only the window after the warm-up.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/log.hpp"
#include "actors/spawn.hpp"
#include "config/genesis.hpp"
#include "config/testnet.hpp"
#include "crypto/ed25519.hpp"
#include "protocols/hotstuff/factory.hpp"
#include "protocols/pbft/factory.hpp"
#include "protocols/smr/kv_tx.hpp"
#include "tools/bft/command.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;
using namespace bft;
using namespace bft::actors;

std::atomic<bool> g_stop{false};
void on_bench_signal(int) {
  g_stop.store(true);
  std::signal(SIGINT, SIG_DFL); // a second Ctrl-C ends at once
}

// ---- options ------------------------------------------------------------------------------

struct bench_cli {
  std::string protocol = "hotstuff";
  std::string mode = "in-process";
  std::size_t replicas = 4;
  std::size_t tx_size = 0;
  std::size_t block_size = 400;
  std::size_t request_txs = 100;
  double batch_delay_ms = 1;
  std::uint64_t tick_ms = 1;
  double timeout_ms = 400;
  double rate = 0;
  std::size_t outstanding = 0;
  double duration = 10;
  double warmup = 2;
  std::string faults = "none";
  std::string json;
  bool sweep = false;
  std::string plot;
  std::size_t sweep_steps = 12;
  double sweep_start = 0;
  std::string check_json;
  std::string work_dir = "/tmp";
};

/// What one measured phase offers.
struct load_spec {
  double rate = 0;             ///< tx/s, open loop; 0 = closed loop
  std::size_t outstanding = 0; ///< transactions in flight, closed loop
};

/// The figures of one measured phase.
struct phase_result {
  std::string protocol;
  load_spec load;
  double window_s = 0;
  std::uint64_t committed_txs = 0;
  std::uint64_t failed_requests = 0;
  std::uint64_t submitted_txs = 0;
  double throughput = 0;
  double p50 = 0, p99 = 0, mean = 0;
  double consensus_p50 = 0;
  double cpu_s = 0;
  double cpu_us_per_tx = 0;
  std::vector<long> peak_rss_kib;
  std::string last_error;
};

// ---- machine and process figures ----------------------------------------------------------

struct machine_info {
  std::string cpu_model = "unknown";
  unsigned cores = 0;
  double load[3] = {0, 0, 0};
};

machine_info read_machine() {
  machine_info m;
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto c = line.find(':');
      if (c != std::string::npos) m.cpu_model = line.substr(c + 2);
      break;
    }
  }
  m.cores = std::thread::hardware_concurrency();
  if (getloadavg(m.load, 3) != 3) m.load[0] = m.load[1] = m.load[2] = -1;
  return m;
}

double self_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

long self_peak_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

/// utime + stime of a child process from /proc/<pid>/stat, in seconds; -1 if unreadable.
double proc_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = s.rfind(')'); // the command name may hold spaces
  if (close == std::string::npos) return -1;
  std::istringstream rest(s.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) { // fields 3.. after "pid (comm)"
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// VmHWM (peak resident set) of a process in KiB; -1 if unreadable.
long proc_peak_rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

double percentile_of(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

// ---- the load -----------------------------------------------------------------------------

/// One finished request.
struct sample {
  double done_s = 0; ///< seconds since the phase started
  double e2e_ms = 0;
  double commit_ms = 0;
  std::uint32_t txs = 0;
  bool ok = false;
};

/// What the load actor records, read by the main thread. Thread-safe.
struct load_sink {
  std::mutex mtx;
  std::vector<sample> samples;
  std::uint64_t submitted_txs = 0;
  std::uint64_t in_flight = 0;
  std::uint64_t shed_txs = 0; ///< open loop: not offered because every client queue was full
  std::string last_error;
};

struct bench_load_config {
  std::vector<client_actor> clients;
  load_spec load;
  std::size_t request_txs = 100;
  std::size_t tx_size = 0;
  clock_type::time_point start;
  std::shared_ptr<load_sink> sink;
};

/// State of the load actor: the open-loop token bucket, and per client how many requests wait
/// in its queue. Owned by the actor.
struct bench_load_state {
  static inline const char* name = "bft.bench.load";
  bench_load_config cfg;
  std::vector<std::size_t> queued;
  double tokens = 0;
  clock_type::time_point last_tick;
  std::uint64_t counter = 0;
  std::string value;
};

using bench_load_self = caf::stateful_actor<bench_load_state>*;

constexpr std::size_t max_queued_per_client = 8;
constexpr auto pace = std::chrono::milliseconds(2);

void submit(bench_load_self self, std::size_t c);

void on_receipt(bench_load_self self, std::size_t c, clock_type::time_point sent, std::size_t n,
                std::optional<final_receipt> r, std::string err) {
  auto& st = self->state;
  auto now = clock_type::now();
  sample s;
  s.done_s = std::chrono::duration<double>(now - st.cfg.start).count();
  s.e2e_ms = std::chrono::duration<double, std::milli>(now - sent).count();
  s.txs = static_cast<std::uint32_t>(n);
  s.ok = r && r->ok;
  if (s.ok) s.commit_ms = static_cast<double>(r->reply.commit_us) / 1000.0;
  {
    std::lock_guard<std::mutex> g(st.cfg.sink->mtx);
    st.cfg.sink->samples.push_back(s);
    --st.cfg.sink->in_flight;
    if (!s.ok) st.cfg.sink->last_error = r ? r->error : err;
  }
  --st.queued[c];
  if (st.cfg.load.rate <= 0) submit(self, c); // closed loop: the next request at once
}

void submit(bench_load_self self, std::size_t c) {
  auto& st = self->state;
  tx_list l;
  l.txs.reserve(st.cfg.request_txs);
  for (std::size_t i = 0; i < st.cfg.request_txs; ++i) {
    std::string key = "k" + std::to_string(c) + "-" + std::to_string(st.counter++ % 64);
    l.txs.push_back(smr::kv_tx::put(std::move(key), st.value).encode());
  }
  auto n = l.txs.size();
  {
    std::lock_guard<std::mutex> g(st.cfg.sink->mtx);
    st.cfg.sink->submitted_txs += n;
    ++st.cfg.sink->in_flight;
  }
  ++st.queued[c];
  auto sent = clock_type::now();
  self->request(st.cfg.clients[c], caf::infinite, submit_atom::value, std::move(l))
      .then([self, c, sent, n](final_receipt& r) { on_receipt(self, c, sent, n, r, {}); },
            [self, c, sent, n](caf::error& e) {
              on_receipt(self, c, sent, n, std::nullopt, self->system().render(e));
            });
}

caf::behavior bench_load_fn(bench_load_self self, bench_load_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.queued.assign(st.cfg.clients.size(), 0);
  st.value.assign(st.cfg.tx_size, 'v');
  st.last_tick = clock_type::now();
  if (st.cfg.load.rate <= 0) {
    for (std::size_t c = 0; c < st.cfg.clients.size(); ++c) submit(self, c);
    return {[](tick_atom) {}};
  }
  self->send(self, tick_atom::value);
  return {
      [self](tick_atom) {
        auto& s = self->state;
        self->delayed_send(self, pace, tick_atom::value);
        auto now = clock_type::now();
        auto dt = std::chrono::duration<double>(now - s.last_tick).count();
        s.last_tick = now;
        auto need = static_cast<double>(s.cfg.request_txs);
        s.tokens = std::min(s.tokens + s.cfg.load.rate * dt, s.cfg.load.rate * 0.1 + need);
        while (s.tokens >= need) {
          s.tokens -= need;
          auto it = std::min_element(s.queued.begin(), s.queued.end());
          if (*it >= max_queued_per_client) {
            std::lock_guard<std::mutex> g(s.cfg.sink->mtx);
            s.cfg.sink->shed_txs += s.cfg.request_txs;
            continue;
          }
          submit(self, static_cast<std::size_t>(it - s.queued.begin()));
        }
      },
  };
}

// ---- clusters -----------------------------------------------------------------------------

/// A running cluster the load talks to. Owned by the bench command; not thread-safe.
class bench_cluster {
public:
  virtual ~bench_cluster() = default;
  virtual caf::actor_system& system() = 0;
  /// The acceptors by validator order; an empty handle for a stopped replica.
  virtual const std::vector<acceptor_actor>& acceptors() const = 0;
  /// CPU seconds used so far by every process of the cluster and its load.
  virtual double cpu_seconds() = 0;
  /// Peak resident memory, per replica process (processes) or of the one process.
  virtual std::vector<long> peak_rss_kib() = 0;
  virtual void stop() = 0;
  config::genesis genesis;
};

engine_factory factory_for(config::protocol_kind p) {
  if (p == config::protocol_kind::hotstuff)
    return [](const engine_config& c, const crypto::signer& s, const crypto::verifier& v,
              const persisted_state& ps) { return hotstuff::make_engine(c, s, v, ps); };
  return [](const engine_config& c, const crypto::signer& s, const crypto::verifier& v,
            const persisted_state& ps) { return pbft::make_engine(c, s, v, ps); };
}

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
          *sys_, id, *ec, factory_for(p), std::make_shared<memory_storage>(),
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
        auto r = sys_->middleman().remote_actor<acceptor_actor>(host, port);
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
  fs::path dir_;
  bool keep_ = std::getenv("BFT_BENCH_KEEP") != nullptr;
  std::vector<pid_t> pids_;
  caf::actor_system_config cfg_; // outlives the actor system, which refers to it
  std::unique_ptr<caf::actor_system> sys_;
  std::vector<acceptor_actor> acceptors_;
};

// ---- one measured phase -------------------------------------------------------------------

const char* phase_name(double t, double warmup) { return t < warmup ? "warmup " : "measure"; }

phase_result run_phase(bench_cluster& cl, const bench_cli& o, const std::string& protocol,
                       const load_spec& load, double duration, double warmup) {
  auto& sys = cl.system();
  auto vs = config::make_validator_set(cl.genesis);
  if (!vs) throw cli::command_error{"bench genesis: " + vs.error().message(), 1};
  // Clients: closed loop, one request in flight per client; open loop, enough clients that
  // the offered rate does not wait for a free client (each queues at most a few requests).
  std::size_t clients = 0;
  if (load.rate > 0)
    clients = std::clamp<std::size_t>(
        static_cast<std::size_t>(load.rate / static_cast<double>(o.request_txs) * 0.05) + 4, 4,
        256);
  else
    clients = std::max<std::size_t>(1, (load.outstanding + o.request_txs - 1) / o.request_txs);
  auto sink = std::make_shared<load_sink>();
  bench_load_config lc;
  lc.load = load;
  lc.request_txs = o.request_txs;
  lc.tx_size = o.tx_size;
  lc.sink = sink;
  auto first_seq =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  for (std::size_t c = 0; c < clients; ++c) {
    client_config cc;
    cc.chain_id = cl.genesis.chain_id;
    cc.validators = *vs;
    cc.replicas = cl.acceptors();
    cc.signer = std::make_shared<crypto::ed25519_signer>(crypto::generate_key_pair());
    cc.timeout = std::chrono::milliseconds(10000);
    cc.first_seq = first_seq;
    lc.clients.push_back(spawn_client(sys, cc));
  }
  lc.start = clock_type::now();
  auto load_actor = sys.spawn(bench_load_fn, lc);
  auto start = lc.start;
  auto at = [&](double s) {
    return start + std::chrono::microseconds(static_cast<long long>(s * 1e6));
  };
  double cpu0 = -1, cpu1 = -1;
  auto next_progress = at(1);
  std::size_t seen = 0;
  double last_t = 0;
  std::uint64_t last_txs = 0;
  while (!g_stop.load()) {
    auto now = clock_type::now();
    if (cpu0 < 0 && now >= at(warmup)) cpu0 = cl.cpu_seconds();
    if (now >= at(warmup + duration)) {
      cpu1 = cl.cpu_seconds();
      break;
    }
    if (now >= next_progress) {
      next_progress += std::chrono::seconds(1);
      std::vector<double> lat;
      std::uint64_t txs = 0, failed = 0;
      {
        std::lock_guard<std::mutex> g(sink->mtx);
        for (; seen < sink->samples.size(); ++seen) {
          const auto& s = sink->samples[seen];
          if (s.ok) {
            lat.push_back(s.e2e_ms);
            txs += s.txs;
          } else {
            ++failed;
          }
        }
      }
      double t = std::chrono::duration<double>(now - start).count();
      last_txs = txs;
      std::fprintf(stderr, "\r[%s %s %5.1fs] %8.0f tx/s  p50 %7.1f ms  failed %llu          ",
                   protocol.c_str(), phase_name(t, warmup), t,
                   static_cast<double>(last_txs) / std::max(1e-3, t - last_t),
                   percentile_of(lat, 0.5), static_cast<unsigned long long>(failed));
      std::fflush(stderr);
      last_t = t;
    }
    std::this_thread::sleep_until(
        std::min(next_progress, cpu0 < 0 ? at(warmup) : at(warmup + duration)));
  }
  std::fprintf(stderr, "\n");
  if (cpu1 < 0) cpu1 = cl.cpu_seconds();
  if (cpu0 < 0) cpu0 = cpu1;
  caf::anon_send_exit(load_actor, caf::exit_reason::user_shutdown);
  for (auto& c : lc.clients) caf::anon_send_exit(c, caf::exit_reason::user_shutdown);

  phase_result r;
  r.protocol = protocol;
  r.load = load;
  r.window_s = duration;
  std::vector<double> e2e, commit;
  {
    std::lock_guard<std::mutex> g(sink->mtx);
    r.submitted_txs = sink->submitted_txs;
    r.last_error = sink->last_error;
    for (const auto& s : sink->samples) {
      if (s.done_s < warmup || s.done_s > warmup + duration) continue;
      if (!s.ok) {
        ++r.failed_requests;
        continue;
      }
      r.committed_txs += s.txs;
      e2e.push_back(s.e2e_ms);
      commit.push_back(s.commit_ms);
    }
  }
  r.throughput = static_cast<double>(r.committed_txs) / duration;
  r.mean = e2e.empty()
               ? 0
               : std::accumulate(e2e.begin(), e2e.end(), 0.0) / static_cast<double>(e2e.size());
  r.p50 = percentile_of(e2e, 0.5);
  r.p99 = percentile_of(e2e, 0.99);
  r.consensus_p50 = percentile_of(commit, 0.5);
  r.cpu_s = cpu1 - cpu0;
  r.cpu_us_per_tx = r.committed_txs > 0 ? r.cpu_s * 1e6 / static_cast<double>(r.committed_txs) : 0;
  r.peak_rss_kib = cl.peak_rss_kib();
  return r;
}

// ---- output -------------------------------------------------------------------------------

std::string json_str(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string num(double v) {
  if (!std::isfinite(v)) return "0";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string run_json(const phase_result& r, const std::string& indent) {
  std::string s = indent + "{\n";
  auto field = [&](const std::string& k, const std::string& v, bool last = false) {
    s += indent + "  " + json_str(k) + ": " + v + (last ? "\n" : ",\n");
  };
  field("protocol", json_str(r.protocol));
  field("loop", json_str(r.load.rate > 0 ? "open" : "closed"));
  field("offered_tx_per_s", num(r.load.rate));
  field("outstanding_txs", num(static_cast<double>(r.load.outstanding)));
  field("window_s", num(r.window_s));
  field("committed_txs", num(static_cast<double>(r.committed_txs)));
  field("throughput_tx_per_s", num(r.throughput));
  field("latency_ms", "{\"p50\": " + num(r.p50) + ", \"p99\": " + num(r.p99) +
                          ", \"mean\": " + num(r.mean) + "}");
  field("consensus_latency_ms", "{\"p50\": " + num(r.consensus_p50) + "}");
  field("failed_requests", num(static_cast<double>(r.failed_requests)));
  field("cpu_seconds", num(r.cpu_s));
  field("cpu_us_per_committed_tx", num(r.cpu_us_per_tx));
  std::string rss = "[";
  for (std::size_t i = 0; i < r.peak_rss_kib.size(); ++i)
    rss += (i ? ", " : "") + num(static_cast<double>(r.peak_rss_kib[i]));
  field("peak_rss_kib", rss + "]");
  field("last_error", json_str(r.last_error), true);
  return s + indent + "}";
}

std::string document_json(const bench_cli& o, const machine_info& m,
                          const std::vector<phase_result>& runs, const std::string& kind) {
  std::string s = "{\n";
  s += "  \"tool\": \"bft bench\",\n";
  s += "  \"kind\": " + json_str(kind) + ",\n";
  s += "  \"machine\": {\"cpu_model\": " + json_str(m.cpu_model) + ", \"cores\": " + num(m.cores) +
       ", \"load_before\": [" + num(m.load[0]) + ", " + num(m.load[1]) + ", " + num(m.load[2]) +
       "]},\n";
  s += "  \"workload\": {\"mode\": " + json_str(o.mode) +
       ", \"replicas\": " + num(static_cast<double>(o.replicas)) +
       ", \"faults\": " + json_str(o.faults) +
       ", \"tx_size\": " + num(static_cast<double>(o.tx_size)) +
       ", \"block_size_txs\": " + num(static_cast<double>(o.block_size)) +
       ", \"request_txs\": " + num(static_cast<double>(o.request_txs)) +
       ", \"batch_delay_ms\": " + num(o.batch_delay_ms) +
       ", \"tick_ms\": " + num(static_cast<double>(o.tick_ms)) +
       ", \"duration_s\": " + num(o.duration) + ", \"warmup_s\": " + num(o.warmup) +
       ", \"store\": " +
       json_str(o.mode == "processes" ? "rocksdb (synced) under " + o.work_dir : "memory") +
       ", \"signatures\": \"ed25519\"},\n";
  s += "  \"peak_rss_scope\": " +
       json_str(o.mode == "processes" ? "per replica process" : "the one process") + ",\n";
  s += "  \"cpu_scope\": " +
       json_str(o.mode == "processes" ? "all replica processes and the load client"
                                      : "the one process (replicas and load)") +
       ",\n";
  s += "  \"runs\": [\n";
  for (std::size_t i = 0; i < runs.size(); ++i)
    s += run_json(runs[i], "    ") + (i + 1 < runs.size() ? ",\n" : "\n");
  s += "  ]\n}\n";
  return s;
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw cli::command_error{"bench: cannot write " + p.string(), 1};
}

void print_header() {
  std::printf("%-9s %-6s %10s %10s %9s %9s %9s %10s %9s %8s %10s\n", "protocol", "loop", "offered",
              "tx/s", "p50 ms", "p99 ms", "mean ms", "cons p50", "cpu us/tx", "failed", "rss MiB");
}

void print_row(const phase_result& r) {
  long rss = 0;
  for (auto k : r.peak_rss_kib) rss = std::max(rss, k);
  std::string offered =
      r.load.rate > 0 ? num(r.load.rate) : ("A=" + std::to_string(r.load.outstanding));
  std::printf("%-9s %-6s %10s %10.0f %9.2f %9.2f %9.2f %10.2f %9.1f %8llu %10.1f\n",
              r.protocol.c_str(), r.load.rate > 0 ? "open" : "closed", offered.c_str(),
              r.throughput, r.p50, r.p99, r.mean, r.consensus_p50, r.cpu_us_per_tx,
              static_cast<unsigned long long>(r.failed_requests), static_cast<double>(rss) / 1024);
  std::fflush(stdout);
}

// ---- a minimal JSON checker (--check-json) -------------------------------------------------

/// Recursive-descent JSON validator; records every "committed_txs" number it meets.
class json_checker {
public:
  explicit json_checker(std::string_view s) : s_(s) {}
  bool check() {
    ws();
    if (!value(0)) return false;
    ws();
    return i_ == s_.size();
  }
  std::vector<double> committed;
  std::size_t pos() const { return i_; }

private:
  std::string_view s_;
  std::size_t i_ = 0;
  std::string last_key_;
  void ws() {
    while (i_ < s_.size() && std::strchr(" \t\r\n", s_[i_]) != nullptr) ++i_;
  }
  bool lit(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }
  bool str(std::string* out) {
    if (i_ >= s_.size() || s_[i_] != '"') return false;
    ++i_;
    while (i_ < s_.size() && s_[i_] != '"') {
      if (static_cast<unsigned char>(s_[i_]) < 0x20) return false;
      if (s_[i_] == '\\') {
        ++i_;
        if (i_ >= s_.size() || std::strchr("\"\\/bfnrtu", s_[i_]) == nullptr) return false;
      }
      if (out) out->push_back(s_[i_]);
      ++i_;
    }
    if (i_ >= s_.size()) return false;
    ++i_;
    return true;
  }
  bool number(double& v) {
    auto b = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    if (i_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[i_]))) return false;
    while (i_ < s_.size() && std::strchr("0123456789.eE+-", s_[i_]) != nullptr) ++i_;
    std::string t(s_.substr(b, i_ - b));
    char* end = nullptr;
    v = std::strtod(t.c_str(), &end);
    return end == t.c_str() + t.size();
  }
  bool value(int depth) {
    if (depth > 64 || i_ >= s_.size()) return false;
    char c = s_[i_];
    if (c == '{') {
      ++i_;
      ws();
      if (i_ < s_.size() && s_[i_] == '}') return ++i_, true;
      for (;;) {
        ws();
        std::string key;
        if (!str(&key)) return false;
        ws();
        if (i_ >= s_.size() || s_[i_] != ':') return false;
        ++i_;
        ws();
        last_key_ = key;
        if (!value(depth + 1)) return false;
        ws();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (i_ < s_.size() && s_[i_] == '}') return ++i_, true;
        return false;
      }
    }
    if (c == '[') {
      ++i_;
      ws();
      if (i_ < s_.size() && s_[i_] == ']') return ++i_, true;
      for (;;) {
        ws();
        last_key_.clear();
        if (!value(depth + 1)) return false;
        ws();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (i_ < s_.size() && s_[i_] == ']') return ++i_, true;
        return false;
      }
    }
    if (c == '"') return str(nullptr);
    if (lit("true") || lit("false") || lit("null")) return true;
    double v = 0;
    if (!number(v)) return false;
    if (last_key_ == "committed_txs") committed.push_back(v);
    return true;
  }
};

int check_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw cli::command_error{path + ": cannot read"};
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json_checker c(text);
  if (!c.check()) {
    std::fprintf(stderr, "bft bench: %s: invalid JSON near byte %zu\n", path.c_str(), c.pos());
    return 1;
  }
  if (c.committed.empty()) {
    std::fprintf(stderr, "bft bench: %s: no run with committed_txs\n", path.c_str());
    return 1;
  }
  for (double v : c.committed)
    if (!(v > 0)) {
      std::fprintf(stderr, "bft bench: %s: a run committed no transaction\n", path.c_str());
      return 1;
    }
  std::printf("%s: valid JSON, %zu runs, each committed transactions\n", path.c_str(),
              c.committed.size());
  return 0;
}

// ---- the command --------------------------------------------------------------------------

std::size_t parse_faults(const std::string& f, std::size_t n) {
  std::size_t k = 0;
  if (f == "none") {
    k = 0;
  } else if (f == "crash-one") {
    k = 1;
  } else {
    try {
      std::size_t used = 0;
      k = std::stoul(f, &used);
      if (used != f.size()) throw std::invalid_argument(f);
    } catch (const std::exception&) {
      throw cli::command_error{"--faults: \"" + f + "\" is not none, crash-one or a count"};
    }
  }
  if (k > (n - 1) / 3)
    throw cli::command_error{"--faults: " + std::to_string(k) + " stopped replicas exceed f = " +
                             std::to_string((n - 1) / 3) + " for n = " + std::to_string(n)};
  return k;
}

std::vector<std::string> parse_protocols(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string p;
  while (std::getline(ss, p, ',')) {
    if (p != "pbft" && p != "hotstuff")
      throw cli::command_error{"--protocol: \"" + p + "\" is not pbft or hotstuff"};
    out.push_back(p);
  }
  if (out.empty()) throw cli::command_error{"--protocol: empty"};
  return out;
}

std::unique_ptr<bench_cluster> make_cluster(const bench_cli& o, const std::string& protocol,
                                            std::size_t faults) {
  auto p = *config::parse_protocol(protocol);
  if (o.mode == "processes") return std::make_unique<processes_cluster>(o, p, faults);
  return std::make_unique<in_process_cluster>(o, p, faults);
}

void settle(double seconds) {
  auto end = clock_type::now() + std::chrono::milliseconds(static_cast<long>(seconds * 1000));
  while (!g_stop.load() && clock_type::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

/// The gnuplot script of a sweep: p50 latency against throughput, one line per protocol.
std::string gnuplot_script(const std::vector<std::string>& protocols, const fs::path& data,
                           const fs::path& png, const fs::path& svg, const bench_cli& o) {
  std::string title = "bft bench --sweep: n=" + std::to_string(o.replicas) + ", " + o.mode + ", " +
                      std::to_string(o.tx_size) + "-byte tx, block " +
                      std::to_string(o.block_size) + " tx";
  std::string plot = "plot ";
  for (std::size_t i = 0; i < protocols.size(); ++i)
    plot += (i ? ", " : "") + std::string("'") + data.string() + "' index " + std::to_string(i) +
            " using 1:2 with linespoints lw 2 pt 7 title '" + protocols[i] + " p50'";
  std::string s;
  s += "# Written by bft bench --sweep. Columns of the data file: throughput (tx/s), p50 (ms),\n";
  s += "# p99 (ms), offered (tx/s); one block per protocol.\n";
  s += "set title '" + title + "'\n";
  s += "set xlabel 'throughput (committed tx/s)'\nset ylabel 'end-to-end latency p50 (ms)'\n";
  s += "set grid\nset key top left\nset yrange [0:*]\nset xrange [0:*]\n";
  s += "set terminal pngcairo size 900,600\nset output '" + png.string() + "'\n" + plot + "\n";
  s += "set terminal svg size 900,600\nset output '" + svg.string() + "'\n" + plot + "\n";
  return s;
}

int run_sweep(const bench_cli& o, const std::vector<std::string>& protocols, std::size_t faults,
              const machine_info& m) {
  std::vector<phase_result> all;
  std::vector<std::vector<phase_result>> per_protocol;
  print_header();
  for (const auto& protocol : protocols) {
    if (g_stop.load()) break;
    auto cl = make_cluster(o, protocol, faults);
    std::vector<phase_result> points;
    // The unloaded point: one request in flight.
    auto base = run_phase(*cl, o, protocol, load_spec{0, o.request_txs}, o.duration, o.warmup);
    print_row(base);
    all.push_back(base);
    points.push_back(base);
    double rate = o.sweep_start > 0 ? o.sweep_start : std::max(1000.0, base.throughput / 2);
    double best = 0; // best open-loop throughput so far
    double base_p50 = std::max(base.p50, 0.5);
    for (std::size_t step = 0; step < o.sweep_steps && !g_stop.load(); ++step) {
      settle(1);
      auto r = run_phase(*cl, o, protocol, load_spec{rate, 0}, o.duration, o.warmup);
      print_row(r);
      all.push_back(r);
      points.push_back(r);
      // Latency bends: p50 over 4x the unloaded one, or throughput stops following the offer.
      bool bent =
          r.p50 > 4 * base_p50 + 10 || r.throughput < 0.85 * rate || r.throughput < 1.02 * best;
      best = std::max(best, r.throughput);
      if (bent) break;
      rate *= 1.5;
    }
    per_protocol.push_back(points);
    cl->stop();
  }
  fs::path json = o.json.empty() ? fs::path("bench-sweep.json") : fs::path(o.json);
  fs::path stem = o.plot.empty() ? json.parent_path() / json.stem() : fs::path(o.plot);
  fs::path data = stem.string() + ".dat", gp = stem.string() + ".gp", png = stem.string() + ".png",
           svg = stem.string() + ".svg";
  write_file(json, document_json(o, m, all, "sweep"));
  std::string dat;
  for (std::size_t i = 0; i < per_protocol.size(); ++i) {
    dat += "# " + protocols[i] + ": throughput_tx_per_s p50_ms p99_ms offered_tx_per_s\n";
    for (const auto& r : per_protocol[i])
      if (r.load.rate > 0) // the closed-loop unloaded point stays in the JSON only
        dat +=
            num(r.throughput) + " " + num(r.p50) + " " + num(r.p99) + " " + num(r.load.rate) + "\n";
    dat += "\n\n";
  }
  write_file(data, dat);
  write_file(
      gp, gnuplot_script(std::vector<std::string>(
                             protocols.begin(),
                             protocols.begin() + static_cast<std::ptrdiff_t>(per_protocol.size())),
                         data, png, svg, o));
  std::printf("wrote %s, %s, %s\n", json.c_str(), data.c_str(), gp.c_str());
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    std::printf("gnuplot is not installed (Debian: apt-get install gnuplot-nox); the JSON and "
                "%s are written: run `gnuplot %s` to draw the plot\n",
                gp.c_str(), gp.c_str());
  } else {
    std::string cmd = "gnuplot '" + gp.string() + "'";
    if (std::system(cmd.c_str()) == 0)
      std::printf("plotted %s and %s\n", png.c_str(), svg.c_str());
    else
      std::printf("gnuplot failed on %s; the JSON and the script are written\n", gp.c_str());
  }
  std::uint64_t committed = 0;
  for (const auto& r : all) committed += r.committed_txs;
  return committed > 0 ? 0 : 1;
}

int run_bench(const bench_cli& o) {
  auto protocols = parse_protocols(o.protocol);
  auto faults = parse_faults(o.faults, o.replicas);
  if (o.rate > 0 && o.outstanding > 0)
    throw cli::command_error{"--rate (open loop) and --outstanding (closed loop) exclude each "
                             "other"};
  auto m = read_machine();
  std::printf("bft bench: %s, n=%zu, faults %s, %zu-byte tx, block %zu tx (%zu requests of "
              "%zu tx), batch delay %.0f ms, tick %llu ms, window %.0f s after %.0f s warm-up\n",
              o.mode.c_str(), o.replicas, o.faults.c_str(), o.tx_size, o.block_size,
              static_cast<std::size_t>(params_of(o).batch_size), o.request_txs, o.batch_delay_ms,
              static_cast<unsigned long long>(o.tick_ms), o.duration, o.warmup);
  std::printf("machine: %s, %u cores, load %.2f %.2f %.2f\n", m.cpu_model.c_str(), m.cores,
              m.load[0], m.load[1], m.load[2]);
  std::fflush(stdout);
  if (o.sweep) return run_sweep(o, protocols, faults, m);
  load_spec load;
  load.rate = o.rate;
  load.outstanding = o.rate > 0 ? 0 : (o.outstanding > 0 ? o.outstanding : 4 * o.block_size);
  std::vector<phase_result> runs;
  print_header();
  for (const auto& protocol : protocols) {
    if (g_stop.load()) break;
    auto cl = make_cluster(o, protocol, faults);
    auto r = run_phase(*cl, o, protocol, load, o.duration, o.warmup);
    cl->stop();
    print_row(r);
    if (r.failed_requests > 0 && !r.last_error.empty())
      std::printf("  last failure: %s\n", r.last_error.c_str());
    runs.push_back(std::move(r));
  }
  if (!o.json.empty()) {
    write_file(o.json, document_json(o, m, runs, "run"));
    std::printf("wrote %s\n", o.json.c_str());
  }
  bool all_committed = !runs.empty() && std::all_of(runs.begin(), runs.end(), [](const auto& r) {
    return r.committed_txs > 0;
  });
  return all_committed ? 0 : 1;
}

const bft::cli::command_registrar reg("bench", [](CLI::App& app, int& status) {
  auto* cmd = app.add_subcommand(
      "bench", "measure a cluster: throughput, latency, CPU per transaction, memory; --sweep "
               "plots throughput against latency");
  auto o = std::make_shared<bench_cli>();
  cmd->add_option("--protocol", o->protocol, "pbft, hotstuff, or both: pbft,hotstuff")
      ->capture_default_str();
  cmd->add_option("--mode", o->mode,
                  "in-process: n replicas in this process; processes: n bft node processes "
                  "on 127.0.0.1 through the middleman")
      ->check(CLI::IsMember({"in-process", "processes"}))
      ->capture_default_str();
  cmd->add_option("--replicas,-n", o->replicas, "cluster size (n = 3f + 1)")
      ->check(CLI::Range(std::size_t{4}, std::size_t{64}))
      ->capture_default_str();
  cmd->add_option("--tx-size", o->tx_size, "bytes of each transaction's payload (put value)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{65536}))
      ->capture_default_str();
  cmd->add_option("--block-size", o->block_size,
                  "maximum transactions per block or batch (rounded up to whole requests)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}))
      ->capture_default_str();
  cmd->add_option("--request-txs", o->request_txs,
                  "transactions per signed client request (clients batch their transactions)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10000}))
      ->capture_default_str();
  cmd->add_option("--batch-delay", o->batch_delay_ms,
                  "milliseconds a partial block may wait (rounded up to whole ticks)")
      ->check(CLI::Range(0.0, 60000.0))
      ->capture_default_str();
  cmd->add_option("--tick-ms", o->tick_ms, "length of one engine tick in milliseconds")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1000}))
      ->capture_default_str();
  cmd->add_option("--timeout-ms", o->timeout_ms, "view-change / pacemaker base timeout")
      ->check(CLI::Range(1.0, 600000.0))
      ->capture_default_str();
  cmd->add_option("--rate", o->rate, "open loop: transactions per second offered")
      ->check(CLI::Range(0.0, 1e8));
  cmd->add_option("--outstanding", o->outstanding,
                  "closed loop: transactions in flight (default 4 x block size)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10000000}));
  cmd->add_option("--duration", o->duration, "seconds of the measurement window")
      ->check(CLI::Range(0.5, 86400.0))
      ->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "seconds before the window (not measured)")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  cmd->add_option("--faults", o->faults, "none, crash-one, or k replicas stopped for the run")
      ->capture_default_str();
  cmd->add_option("--work-dir", o->work_dir,
                  "processes: where the testnet and the nodes' RocksDB stores live (a tmpfs such "
                  "as /dev/shm takes the disk out of the figures)")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
  cmd->add_option("--json", o->json, "write the figures as JSON to FILE")->type_name("FILE");
  cmd->add_flag("--sweep", o->sweep,
                "step the offered load until latency bends; write JSON, data, a gnuplot script, "
                "PNG and SVG");
  cmd->add_option("--plot", o->plot,
                  "sweep: path stem of the .dat/.gp/.png/.svg files (default: the JSON's)")
      ->type_name("STEM");
  cmd->add_option("--sweep-steps", o->sweep_steps, "sweep: at most this many loaded steps")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100}))
      ->capture_default_str();
  cmd->add_option("--sweep-start", o->sweep_start,
                  "sweep: first offered rate in tx/s (default: half the throughput of one request "
                  "in flight)")
      ->check(CLI::Range(0.0, 1e8));
  cmd->add_option("--check-json", o->check_json,
                  "only check that FILE is valid JSON whose every run committed transactions")
      ->type_name("FILE");
  cmd->callback([&status, o] {
    if (!o->check_json.empty()) {
      status = check_json_file(o->check_json);
      return;
    }
    bft::actors::set_log_level("error");
    std::signal(SIGINT, on_bench_signal);
    std::signal(SIGTERM, on_bench_signal);
    status = run_bench(*o);
    std::fflush(stdout);
    bft::actors::shutdown_deadline(status);
  });
});

} // namespace
