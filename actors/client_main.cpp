// `bft client`: put, get, status and load against the replicas of a genesis.
#include <chrono>
#include <cstdio>
#include <future>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/coro.hpp"
#include "actors/log.hpp"
#include "actors/spawn.hpp"
#include "crypto/ed25519.hpp"
#include "protocols/smr/kv_tx.hpp"

namespace bft::actors {

namespace {

std::string short_hex(const digest& d) { return to_hex(byte_view{d.data(), 8}); }

/// State of the one-shot actor that runs a client command as a coroutine.
struct command_state {
  static inline const char* name = "bft.client.command";
  coro_scope scope;
};
using command_self = caf::stateful_actor<command_state>*;

void print_receipt(const std::string& what, const final_receipt& r) {
  const auto& res = r.reply.results;
  std::printf("%s: committed at height %llu, %u matching replicas (f + 1 needed)\n", what.c_str(),
              static_cast<unsigned long long>(r.reply.height), r.matching);
  for (const auto& x : res) {
    std::printf("  result %s", smr::to_string(x.status));
    if (x.value) std::printf(" value \"%s\"", x.value->c_str());
    std::printf("\n");
  }
}

task run_command(coro_scope&, command_self self, client_actor client, client_options o,
                 std::shared_ptr<std::promise<int>> done) {
  auto gateway = client_ref<caf::event_based_actor>{self, client, o.timeout * 2};
  int status = 1;
  if (o.command == "put" || o.command == "get" || o.command == "delete") {
    tx_list txs;
    if (o.command == "put")
      txs.txs.push_back(smr::kv_tx::put(o.args.at(0), o.args.at(1)).encode());
    else if (o.command == "get")
      txs.txs.push_back(smr::kv_tx::get(o.args.at(0)).encode());
    else
      txs.txs.push_back(smr::kv_tx::del(o.args.at(0)).encode());
    auto receipt = co_await gateway.submit(std::move(txs));
    if (!receipt) {
      std::fprintf(stderr, "bft client: %s failed: %s\n", o.command.c_str(),
                   self->system().render(receipt.error()).c_str());
    } else if (!receipt->ok) {
      std::fprintf(stderr, "bft client: %s failed: %s\n", o.command.c_str(),
                   receipt->error.c_str());
    } else {
      print_receipt(o.command + " " + o.args.at(0), *receipt);
      status = 0;
      if (o.command == "get" && !receipt->reply.results.empty()) {
        const auto& r = receipt->reply.results[0];
        if (r.status == smr::kv_status::ok && r.value)
          std::printf("%s\n", r.value->c_str());
        else
          std::printf("(not found)\n");
      }
    }
  } else if (o.command == "status") {
    auto st = co_await gateway.status();
    if (!st) {
      std::fprintf(stderr, "bft client: status failed: %s\n",
                   self->system().render(st.error()).c_str());
    } else {
      std::printf("%-8s %-10s %-6s %-8s %-18s %-8s %-10s %s\n", "replica", "reachable", "view",
                  "height", "state root", "health", "txs",
                  "validators (id:active/msgs/sigfail/evidence)");
      std::size_t reachable = 0;
      for (std::size_t i = 0; i < st->replies.size(); ++i) {
        auto id = o.validators.members().at(i).id.value();
        if (!st->replies[i]) {
          std::printf("%-8u %-10s %s\n", id, "no", st->errors[i].c_str());
          continue;
        }
        ++reachable;
        const auto& r = *st->replies[i];
        std::string health = std::to_string(r.active) + "/" + std::to_string(r.total);
        if (r.byzantine > 0) health += " byz " + std::to_string(r.byzantine);
        std::string vals;
        for (const auto& v : r.validators)
          vals += std::to_string(v.id.value()) + ":" + (v.active ? "up" : "down") + "/" +
                  std::to_string(v.messages) + "/" + std::to_string(v.signature_failures) + "/" +
                  std::to_string(v.evidence) + " ";
        std::printf("%-8u %-10s %-6llu %-8llu %-18s %-8s %-10llu %s\n", id, "yes",
                    static_cast<unsigned long long>(r.view),
                    static_cast<unsigned long long>(r.height), short_hex(r.state_root).c_str(),
                    health.c_str(), static_cast<unsigned long long>(r.committed_txs), vals.c_str());
      }
      status = reachable > 0 ? 0 : 1;
    }
  }
  done->set_value(status);
  self->quit();
}

} // namespace

int run_client(const client_options& o) {
  caf::actor_system_config cfg;
  configure(cfg);
  caf::actor_system sys{cfg};
  // Connect to every replica; an unreachable one is left out (f of them may be down).
  std::vector<acceptor_actor> replicas;
  std::size_t reachable = 0;
  // The secure transport (default): each client proves its own key in its own connections.
  const bool secure = o.transport == transport_kind::secure;
  std::vector<acceptor_actor> opened; // secure connections, closed at the end
  // One handle per replica (empty for an unreachable one; f of them may be down).
  auto connect_all = [&](std::shared_ptr<const crypto::signer> signer, bool report) {
    std::vector<acceptor_actor> out;
    auto ctx =
        secure ? make_client_secure_context(o.chain_id, o.epoch, o.validators, std::move(signer))
               : nullptr;
    for (std::size_t i = 0; i < o.addresses.size(); ++i) {
      const auto peer = o.validators.members().at(i).id;
      auto r =
          ctx ? secure_dial(sys, ctx, o.addresses[i].host, o.addresses[i].port, peer, o.timeout)
              : sys.middleman().remote_actor<acceptor_actor>(o.addresses[i].host,
                                                             o.addresses[i].port);
      if (r) {
        out.push_back(*r);
        if (secure) opened.push_back(*r);
      } else {
        if (report)
          std::fprintf(stderr, "bft client: replica %u at %s:%u unreachable: %s\n",
                       o.validators.members().at(i).id.value(), o.addresses[i].host.c_str(),
                       o.addresses[i].port, sys.render(r.error()).c_str());
        out.emplace_back();
      }
    }
    return out;
  };
  replicas = connect_all(o.signer, true);
  for (const auto& r : replicas)
    if (r) ++reachable;
  if (reachable == 0) {
    std::fprintf(stderr, "bft client: no replica reachable\n");
    return 1;
  }
  auto first_seq =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  auto make_client = [&](std::shared_ptr<const crypto::signer> s) {
    client_config cc;
    cc.chain_id = o.chain_id;
    cc.epoch = o.epoch;
    cc.validators = o.validators;
    cc.replicas = secure && s != o.signer ? connect_all(s, false) : replicas;
    cc.signer = std::move(s);
    cc.timeout = o.timeout;
    cc.first_seq = first_seq;
    return spawn_client(sys, cc);
  };
  int status = 1;
  if (o.command == "load") {
    // Several clients in parallel, each with its own key (one request in flight per client).
    auto stats = std::make_shared<load_stats>();
    load_config lc;
    lc.stats = stats;
    lc.txs_per_request = std::max<std::size_t>(1, o.batch);
    lc.max_txs = o.count;
    lc.tx_size = 32;
    for (std::size_t c = 0; c < std::max<std::size_t>(1, o.concurrency); ++c)
      lc.clients.push_back(make_client(
          c == 0 ? o.signer
                 : std::shared_ptr<const crypto::signer>(
                       std::make_shared<crypto::ed25519_signer>(crypto::generate_key_pair()))));
    auto start = std::chrono::steady_clock::now();
    auto load = spawn_load(sys, lc);
    auto deadline = start + o.timeout * 10;
    std::uint64_t committed = 0, failed = 0, submitted = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::lock_guard<std::mutex> g(stats->mtx);
      committed = stats->committed_txs;
      failed = stats->failed_requests;
      submitted = stats->submitted_txs;
      if (submitted >= o.count && committed + failed * lc.txs_per_request >= submitted) break;
    }
    caf::anon_send_exit(load, caf::exit_reason::user_shutdown);
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::vector<double> all;
    std::string last_error;
    {
      std::lock_guard<std::mutex> g(stats->mtx);
      all = stats->all_ms;
      last_error = stats->last_error;
    }
    std::printf("load: %llu of %zu transactions committed (f + 1 matching receipts) in %.1f s, "
                "p50 %.1f ms, failed requests %llu\n",
                static_cast<unsigned long long>(committed), o.count, secs, percentile(all, 0.5),
                static_cast<unsigned long long>(failed));
    if (failed > 0) std::printf("last failure: %s\n", last_error.c_str());
    status = committed >= o.count ? 0 : 1;
    for (auto& c : lc.clients) caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  } else {
    auto client = make_client(o.signer);
    auto done = std::make_shared<std::promise<int>>();
    auto fut = done->get_future();
    sys.spawn([client, o, done](command_self self) -> caf::behavior {
      run_command(self->state.scope, self, client, o, done);
      return {[](caf::unit_t) {}};
    });
    if (fut.wait_for(o.timeout * 3) == std::future_status::ready) {
      status = fut.get();
    } else {
      std::fprintf(stderr, "bft client: no answer within %lld ms\n",
                   static_cast<long long>((o.timeout * 3).count()));
    }
    caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
  }
  // Secure connections are actors of this process: close them, or the system waits for them.
  for (auto& r : opened) caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
  replicas.clear();
  std::fflush(stdout);
  shutdown_deadline(status);
  return status;
}

} // namespace bft::actors
