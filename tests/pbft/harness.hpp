#pragma once
/// A tiny in-test cluster for PBFT engine tests: n replicas with fake signers, messages
/// delivered by hand (or all at once), and an application stub that feeds `ev::executed` with
/// a running state root. Deterministic; no simulator needed.
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "crypto/fake_signer.hpp"
#include "crypto/sha3.hpp"
#include "protocols/pbft/messages.hpp"
#include "protocols/pbft/replica.hpp"

namespace bft::pbft::test {

inline validator_set make_validators(std::size_t n) {
  std::vector<public_key> keys;
  for (std::size_t i = 0; i < n; ++i) keys.push_back(crypto::fake_public_key(i + 1));
  return validator_set::equal_weights(keys);
}

inline engine_config make_config(std::size_t n, std::uint32_t self, std::uint64_t k = 10) {
  engine_config c;
  c.chain_id = "test-chain";
  c.self = replica_id{self};
  c.validators = make_validators(n);
  c.batch_size = 4;
  c.batch_delay_ticks = 0;
  c.base_timeout_ticks = 20;
  c.checkpoint_interval = k;
  return c;
}

/// A client with a fake key that signs requests.
struct client {
  explicit client(std::uint64_t secret) : signer(secret) {}
  crypto::fake_signer signer;
  std::uint64_t next = 1;
  client_request request(const std::string& chain = "test-chain", std::size_t txs = 1) {
    client_request r;
    r.client = signer.key();
    r.client_seq = next++;
    for (std::size_t i = 0; i < txs; ++i) {
      bytes tx{static_cast<std::uint8_t>(r.client_seq), static_cast<std::uint8_t>(i), 7};
      r.txs.push_back(tx);
    }
    r.sig =
        signer.sign(codec::signing_bytes(client_request::sign_tag, chain, bft::epoch{0}, r.body()));
    return r;
  }
};

struct envelope_msg {
  replica_id from;
  replica_id to;
  bytes frame;
};

/// n replicas and a message pool. `filter` may drop messages (return false).
class cluster {
public:
  explicit cluster(std::size_t n, std::uint64_t k = 10, std::uint64_t mutants = 0)
      : n_(n), k_(k), mutants_(mutants) {
    for (std::size_t i = 0; i < n; ++i) {
      signers.push_back(std::make_unique<crypto::fake_signer>(i + 1));
      stores.emplace_back();
      roots.push_back(digest{});
      committed.emplace_back();
      up.push_back(true);
    }
    for (std::size_t i = 0; i < n; ++i) boot(i);
  }

  void boot(std::size_t i) {
    auto cfg = make_config(n_, static_cast<std::uint32_t>(i), k_);
    cfg.mutants = mutants_;
    if (configure) configure(cfg);
    if (replicas.size() <= i) replicas.resize(i + 1);
    replicas[i] = std::make_unique<replica>(cfg, *signers[i], verifier, stores[i]);
  }

  /// Crash and restart replica i from its persisted records.
  void restart(std::size_t i) { boot(i); }

  replica& r(std::size_t i) { return *replicas[i]; }

  /// Applies a ready of replica i: persist, queue messages, apply committed, record rest.
  void apply(std::size_t i, ready out) {
    for (auto& p : out.persist) {
      if (p.erase)
        stores[i].erase(p.key);
      else
        stores[i][p.key] = p.value;
    }
    for (auto& m : out.messages) {
      if (m.to) {
        pool.push_back({replica_id{static_cast<std::uint32_t>(i)}, *m.to, m.frame});
      } else {
        for (std::size_t j = 0; j < n_; ++j)
          if (j != i)
            pool.push_back({replica_id{static_cast<std::uint32_t>(i)},
                            replica_id{static_cast<std::uint32_t>(j)}, m.frame});
      }
      sent[i].push_back(m);
    }
    for (auto& r : out.rejected) rejected[i].push_back(r.reason);
    for (auto& e : out.evidence) this->evidence[i].push_back(e);
    if (out.state_transfer) transfers[i].push_back(*out.state_transfer);
    for (auto& c : out.committed) {
      committed[i].push_back(c);
      // application stub: root_n = H(root_{n-1} | digest)
      roots[i] = crypto::sha3_256({byte_view(roots[i]), byte_view(c.id)});
      root_at[i][c.index] = roots[i];
      if (auto_execute && c.index % k_ == 0)
        apply(i, replicas[i]->step(ev::executed{c.index, roots[i]}));
    }
  }

  void step(std::size_t i, const event& e) {
    if (!up[i]) return;
    apply(i, replicas[i]->step(e));
  }

  void submit(std::size_t i, std::vector<client_request> reqs) {
    step(i, ev::client_requests{std::move(reqs)});
  }

  /// Delivers queued messages until none is left (or `max` deliveries).
  std::size_t deliver_all(std::size_t max = 1000000) {
    std::size_t count = 0;
    while (!pool.empty() && count < max) {
      auto m = std::move(pool.front());
      pool.pop_front();
      if (!up[m.to.value()]) continue;
      if (filter && !filter(m)) continue;
      ++count;
      step(m.to.value(), ev::received{m.from, m.frame});
    }
    return count;
  }

  void tick_all(std::size_t times = 1) {
    for (std::size_t t = 0; t < times; ++t)
      for (std::size_t i = 0; i < n_; ++i) step(i, ev::tick{});
  }

  /// Ticks and delivers until `pred` holds or `rounds` pass.
  bool run_until(const std::function<bool()>& pred, std::size_t rounds = 2000) {
    for (std::size_t i = 0; i < rounds; ++i) {
      deliver_all();
      if (pred()) return true;
      tick_all();
    }
    deliver_all();
    return pred();
  }

  [[nodiscard]] std::size_t size() const { return n_; }

  std::size_t n_;
  std::uint64_t k_;
  std::uint64_t mutants_;
  crypto::fake_verifier verifier;
  std::vector<std::unique_ptr<crypto::fake_signer>> signers;
  std::vector<persisted_state> stores;
  std::vector<std::unique_ptr<replica>> replicas;
  std::vector<digest> roots;
  std::map<std::size_t, std::map<std::uint64_t, digest>> root_at;
  std::vector<std::vector<committed_entry>> committed;
  std::map<std::size_t, std::vector<outbound>> sent;
  std::map<std::size_t, std::vector<std::string>> rejected;
  std::map<std::size_t, std::vector<bft::evidence>> evidence;
  std::map<std::size_t, std::vector<state_transfer_request>> transfers;
  std::deque<envelope_msg> pool;
  std::function<bool(const envelope_msg&)> filter;
  std::function<void(engine_config&)> configure;
  std::vector<bool> up;
  bool auto_execute = true;
};

/// Signs a frame for replica `secret - 1` (tests forge Byzantine messages with it).
/// Runs `body(n, c, cl)` once for each cluster size n of `sizes`, each time on a fresh cluster
/// c of n replicas (checkpoint interval k) and a fresh client cl (id 7), with n captured for
/// the failure messages: the set-up the per-rule tests share.
template <class Body>
void for_each_size(const std::vector<std::size_t>& sizes, std::uint64_t k, Body&& body) {
  for (auto n : sizes) {
    CAPTURE(n);
    cluster c(n, k);
    client cl(7);
    body(n, c, cl);
  }
}
template <class Body>
void for_each_size(const std::vector<std::size_t>& sizes, Body&& body) {
  for_each_size(sizes, 10, std::forward<Body>(body));
}

inline signing_context test_ctx() { return signing_context{"test-chain", bft::epoch{0}}; }

} // namespace bft::pbft::test

namespace bft::pbft::test {

inline bytes make_pp(cluster& c, std::size_t signer, std::uint64_t v, std::uint64_t n,
                     const batch& b, std::optional<std::uint32_t> from = std::nullopt) {
  pre_prepare m;
  m.view = view_number{v};
  m.seq = seq_number{n};
  m.d = batch_digest(b);
  m.from = replica_id{from.value_or(static_cast<std::uint32_t>(signer))};
  m.requests = std::make_shared<batch>(b);
  sign(m, test_ctx(), *c.signers[signer]);
  return encode(m);
}

inline bytes make_vote(cluster& c, std::size_t signer, msg_type ph, std::uint64_t v,
                       std::uint64_t n, const digest& d) {
  vote m;
  m.phase = ph;
  m.view = view_number{v};
  m.seq = seq_number{n};
  m.d = d;
  m.from = replica_id{static_cast<std::uint32_t>(signer)};
  sign(m, test_ctx(), *c.signers[signer]);
  return encode(m);
}

inline bytes make_ckpt(cluster& c, std::size_t signer, std::uint64_t n, const digest& state) {
  checkpoint m;
  m.seq = seq_number{n};
  m.state = state;
  m.from = replica_id{static_cast<std::uint32_t>(signer)};
  sign(m, test_ctx(), *c.signers[signer]);
  return encode(m);
}

inline void deliver_to(cluster& c, std::size_t to, std::size_t from, const bytes& frame) {
  c.step(to, ev::received{replica_id{static_cast<std::uint32_t>(from)}, frame});
}

/// Frames of type t that replica i has sent so far.
inline std::vector<bytes> sent_of(cluster& c, std::size_t i, msg_type t) {
  std::vector<bytes> out;
  for (const auto& m : c.sent[i])
    if (frame_type(m.frame) == t) out.push_back(m.frame);
  return out;
}

inline bool rejected_with(cluster& c, std::size_t i, const std::string& needle) {
  for (const auto& r : c.rejected[i])
    if (r.find(needle) != std::string::npos) return true;
  return false;
}

/// Drops queued messages of type t (to simulate loss).
inline void drop_type(cluster& c, msg_type t) {
  std::deque<envelope_msg> keep;
  for (auto& m : c.pool)
    if (frame_type(m.frame) != t) keep.push_back(std::move(m));
  c.pool = std::move(keep);
}

} // namespace bft::pbft::test

namespace bft::pbft::test {

/// A valid prepared certificate for (v, n, d): the pre-prepare of primary(v) and prepares of
/// the listed backups.
inline prepared_cert make_cert(cluster& c, std::uint64_t v, std::uint64_t n, const digest& d,
                               const std::vector<std::size_t>& backups) {
  prepared_cert p;
  p.view = view_number{v};
  p.seq = seq_number{n};
  p.d = d;
  auto primary = primary_of(view_number{v}, make_validators(c.size()), {});
  new_view_entry e{seq_number{n}, d, {}};
  sign(e, view_number{v}, primary, test_ctx(), *c.signers[primary.value()]);
  p.pp_sig = e.pp_sig;
  for (auto b : backups) {
    auto f = make_vote(c, b, msg_type::prepare, v, n, d);
    p.prepares.push_back(signed_by{replica_id{static_cast<std::uint32_t>(b)}, decode_vote(f)->sig});
  }
  return p;
}

inline bytes make_vc(cluster& c, std::size_t signer, std::uint64_t new_view,
                     std::vector<prepared_cert> certs = {}, checkpoint_proof stable = {}) {
  view_change m;
  m.new_view = view_number{new_view};
  m.from = replica_id{static_cast<std::uint32_t>(signer)};
  m.stable = std::move(stable);
  m.prepared = std::move(certs);
  sign(m, test_ctx(), *c.signers[signer]);
  return encode(m);
}

inline bool is_probe(const bytes& frame) {
  auto e = codec::peek_envelope(frame);
  return e && (e->type == probe_type || e->type == probe_answer_type);
}

/// P31: a replica whose timer expired first asks the others where they are. Delivers only the
/// probes and probe answers in the pool (and those they cause), keeping every other frame in
/// the pool, in order.
inline void exchange_probes(cluster& c) {
  for (int rounds = 0; rounds < 100; ++rounds) {
    std::deque<envelope_msg> rest;
    std::deque<envelope_msg> probes;
    for (auto& m : c.pool) (is_probe(m.frame) ? probes : rest).push_back(std::move(m));
    c.pool = std::move(rest);
    if (probes.empty()) return;
    for (auto& m : probes)
      if (c.up[m.to.value()] && (!c.filter || c.filter(m)))
        c.step(m.to.value(), ev::received{m.from, m.frame});
  }
}

/// Ticks every replica `ticks` times, then lets the probes of those whose timer expired be
/// answered (P31), so that they act on the expiry.
inline void time_out(cluster& c, std::size_t ticks = 20) {
  c.tick_all(ticks);
  exchange_probes(c);
}

/// Replica i alone times out on a request only it has seen and becomes view-changing for
/// view 1; every message it sends on the way is dropped (its probe is answered: P31).
inline void view_change_alone(cluster& c, client& cl, std::size_t i) {
  c.submit(i, {cl.request()});
  c.pool.clear();
  time_out(c);
  c.pool.clear();
  REQUIRE(c.r(i).view_changing());
}

/// The primary (replica 0) pre-prepares one request, crashes before anything is delivered,
/// restarts from its records and pre-prepares a second one: its two pre-prepares.
inline std::vector<bytes> primary_restarts_between_requests(cluster& c, client& cl) {
  c.submit(0, {cl.request()});
  c.pool.clear();
  c.restart(0);
  c.submit(0, {cl.request()});
  auto pps = sent_of(c, 0, msg_type::pre_prepare);
  REQUIRE(pps.size() == 2);
  return pps;
}

} // namespace bft::pbft::test
