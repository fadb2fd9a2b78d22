#pragma once
/// A tiny in-test driver for HotStuff replicas: fake keys, a FIFO network with a drop filter,
/// synchronous ticks, durable stores applied from ready.persist, and the committed log of
/// every replica. Deterministic; not thread-safe.
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "crypto/fake_signer.hpp"
#include "crypto/sha3.hpp"
#include "protocols/hotstuff/replica.hpp"

namespace bft::hotstuff::test {

inline client_request make_request(std::uint64_t client, std::uint64_t seq,
                                   const engine_config& cfg, std::size_t txs = 1) {
  crypto::fake_signer s(1000 + client);
  client_request q;
  q.client = s.key();
  q.client_seq = seq;
  for (std::size_t i = 0; i < txs; ++i)
    q.txs.push_back(bytes{std::uint8_t(client), std::uint8_t(seq)});
  q.sig = s.sign(codec::signing_bytes(client_request::sign_tag, cfg.chain_id, cfg.epoch, q.body()));
  return q;
}

struct net_msg {
  replica_id from;
  replica_id to;
  bytes frame;
};

class cluster {
public:
  explicit cluster(std::size_t n, std::uint64_t mutants = 0, std::uint64_t timeout = 8,
                   std::vector<replica_id> schedule = {})
      : n_(n) {
    std::vector<public_key> keys;
    for (std::size_t i = 0; i < n; ++i) {
      signers_.push_back(std::make_unique<crypto::fake_signer>(i + 1));
      keys.push_back(signers_.back()->key());
    }
    base_.validators = validator_set::equal_weights(keys);
    base_.base_timeout_ticks = timeout;
    base_.batch_size = 4;
    base_.batch_delay_ticks = 1;
    base_.checkpoint_interval = 4;
    base_.mutants = mutants;
    base_.leader_schedule = std::move(schedule);
    stores_.resize(n);
    committed_.resize(n);
    roots_.resize(n);
    down_.assign(n, false);
    for (std::size_t i = 0; i < n; ++i) reps_.push_back(make(i));
  }

  std::unique_ptr<replica> make(std::size_t i) {
    auto cfg = base_;
    cfg.self = replica_id{static_cast<std::uint32_t>(i)};
    if (configure) configure(cfg);
    return std::make_unique<replica>(cfg, *signers_[i], verifier_, stores_[i]);
  }
  /// Crash and restart replica i from its durable store (its memory is lost).
  void restart(std::size_t i) { reps_[i] = make(i); }
  /// Crash replica i and delete its data directory: store, application state and log.
  void wipe_and_restart(std::size_t i) {
    stores_[i].clear();
    committed_[i].clear();
    roots_[i] = digest{};
    history_[i].clear();
    reps_[i] = make(i);
  }
  /// Applies `f` to the shared config and rebuilds every replica (use before any step).
  void reconfigure(const std::function<void(engine_config&)>& f) {
    f(base_);
    for (std::size_t i = 0; i < n_; ++i) reps_[i] = make(i);
  }

  replica& at(std::size_t i) { return *reps_[i]; }
  const engine_config& config() const { return base_; }
  const crypto::signer& signer(std::size_t i) const { return *signers_[i]; }
  const crypto::verifier& verifier() const { return verifier_; }
  std::size_t size() const { return n_; }
  std::vector<committed_entry>& committed(std::size_t i) { return committed_[i]; }
  persisted_state& store(std::size_t i) { return stores_[i]; }
  std::vector<bft::evidence>& evidence() { return evidence_; }
  std::vector<rejection>& rejected() { return rejected_; }
  std::deque<net_msg>& queue() { return queue_; }
  std::vector<ready>& log(std::size_t i) { return logs_[i]; }
  void set_down(std::size_t i, bool d) { down_[i] = d; }
  /// Return true to drop a message.
  std::function<bool(const net_msg&)> drop;
  /// Return true to deliver a message twice.
  std::function<bool(const net_msg&)> duplicate;
  bool record_logs = false;
  /// Applied to each replica's config when it is (re)built, after `self` is set.
  std::function<void(engine_config&)> configure;

  void step(std::size_t i, const event& e) {
    if (down_[i]) return;
    apply(i, reps_[i]->step(e));
  }

  void apply(std::size_t i, ready r) {
    for (const auto& p : r.persist) {
      if (p.erase)
        stores_[i].erase(p.key);
      else
        stores_[i][p.key] = p.value;
    }
    auto self = replica_id{static_cast<std::uint32_t>(i)};
    for (const auto& m : r.messages) {
      if (m.to)
        queue_.push_back({self, *m.to, m.frame});
      else
        for (std::size_t k = 0; k < n_; ++k)
          if (k != i) queue_.push_back({self, replica_id{static_cast<std::uint32_t>(k)}, m.frame});
    }
    for (const auto& e : r.evidence) evidence_.push_back(e);
    for (const auto& x : r.rejected) rejected_.push_back(x);
    std::vector<ev::executed> exec;
    for (auto& c : r.committed) {
      auto prev = roots_[i];
      roots_[i] = crypto::sha3_256({byte_view(prev), byte_view(c.id)});
      history_[i][c.index] = roots_[i];
      exec.push_back({c.index, roots_[i]});
      committed_[i].push_back(std::move(c));
    }
    std::optional<state_transfer_request> st = r.state_transfer;
    if (record_logs) logs_[i].push_back(std::move(r));
    for (const auto& e : exec) step(i, e);
    if (st) {
      // Install the snapshot of the first source that holds it with the certified root.
      for (auto src : st->sources) {
        auto h = history_[src.value()].find(st->index);
        if (h == history_[src.value()].end() || h->second != st->state_root) continue;
        roots_[i] = h->second;
        history_[i][st->index] = h->second;
        transfers_.push_back({i, st->index});
        // The source application's exactly-once table at the snapshot's index.
        std::map<public_key, std::uint64_t> seqs;
        for (const auto& e : committed_[src.value()])
          if (e.index <= st->index)
            for (const auto& q : e.requests)
              seqs[q.client] = std::max(seqs[q.client], q.client_seq);
        step(i, ev::state_installed{st->index, st->state_root, {seqs.begin(), seqs.end()}});
        break;
      }
    }
  }
  /// (replica, index) of every state transfer installed.
  std::vector<std::pair<std::size_t, std::uint64_t>>& transfers() { return transfers_; }

  /// Delivers queued messages (FIFO) until the queue is empty or `max` were delivered.
  void deliver_all(std::size_t max = 100000) {
    for (std::size_t k = 0; k < max && !queue_.empty(); ++k) {
      auto m = std::move(queue_.front());
      queue_.pop_front();
      if (drop && drop(m)) continue;
      if (duplicate && duplicate(m)) step(m.to.value(), ev::received{m.from, m.frame});
      step(m.to.value(), ev::received{m.from, std::move(m.frame)});
    }
  }
  void tick_all() {
    for (std::size_t i = 0; i < n_; ++i) step(i, ev::tick{});
  }
  void run(std::size_t ticks) {
    for (std::size_t t = 0; t < ticks; ++t) {
      tick_all();
      deliver_all();
    }
  }
  void submit_all(const std::vector<client_request>& qs) {
    for (std::size_t i = 0; i < n_; ++i) step(i, ev::client_requests{qs});
  }
  bool transferred(std::size_t i) const {
    for (const auto& t : transfers_)
      if (t.first == i) return true;
    return false;
  }
  /// All replicas' committed logs agree on every index they share (a replica that installed
  /// a snapshot has a gap below it), and each log's indexes strictly increase.
  bool logs_agree() const {
    std::map<std::uint64_t, digest> first;
    for (std::size_t a = 0; a < n_; ++a) {
      std::uint64_t last = 0;
      for (const auto& e : committed_[a]) {
        if (e.index <= last) return false;
        last = e.index;
        auto [it, fresh] = first.emplace(e.index, e.id);
        if (!fresh && it->second != e.id) return false;
      }
    }
    return true;
  }

private:
  std::size_t n_;
  std::vector<std::unique_ptr<crypto::fake_signer>> signers_;
  crypto::fake_verifier verifier_;
  engine_config base_;
  std::vector<std::unique_ptr<replica>> reps_;
  std::vector<persisted_state> stores_;
  std::vector<std::vector<committed_entry>> committed_;
  std::vector<digest> roots_;
  std::map<std::size_t, std::map<std::uint64_t, digest>> history_;
  std::vector<std::pair<std::size_t, std::uint64_t>> transfers_;
  std::vector<bool> down_;
  std::deque<net_msg> queue_;
  std::vector<bft::evidence> evidence_;
  std::vector<rejection> rejected_;
  std::map<std::size_t, std::vector<ready>> logs_;
};

} // namespace bft::hotstuff::test

namespace bft::hotstuff::test {

/// Steps replica i with `e`, applies the ready as the cluster does, and returns a copy of it.
inline ready feed(cluster& c, std::size_t i, const event& e) {
  auto r = c.at(i).step(e);
  auto copy = r;
  c.apply(i, std::move(r));
  return copy;
}

/// A leader schedule that pins `leader` for views 0..views-1 (round robin after it).
inline std::vector<replica_id> pinned(std::uint32_t leader, std::size_t views = 64) {
  return std::vector<replica_id>(views, replica_id{leader});
}

/// The leader of view v under `cfg` (the same rule as the engine's round robin).
inline replica_id leader_of(const engine_config& cfg, view_number v) {
  return round_robin_election(cfg.validators, cfg.leader_schedule).leader(v);
}

/// A QC on `b` signed by the replicas in `who`.
inline quorum_cert make_qc(const cluster& c, const block& b, std::vector<std::size_t> who) {
  quorum_cert qc{b.hash, b.view, b.height, {}};
  for (auto i : who) {
    auto id = replica_id{static_cast<std::uint32_t>(i)};
    auto body = vote_body(b.hash, b.view, b.height, id);
    qc.sigs.push_back({id, c.signer(i).sign(codec::signing_bytes(vote_tag, c.config().chain_id,
                                                                 c.config().epoch, body))});
  }
  return qc;
}

/// A child of `parent` for view `v`, justified by a QC of replicas 0..quorum-1 on `parent`
/// (or the genesis QC), proposed by leader(v). `salt` varies the block (conflicting twins).
inline block_ptr make_block(const cluster& c, const block& parent, view_number v,
                            std::vector<client_request> reqs = {}, std::uint64_t salt = 0) {
  block b;
  b.parent = parent.hash;
  b.height = parent.height.next();
  b.view = v;
  b.proposer = leader_of(c.config(), v);
  if (parent.hash == genesis_block()->hash) {
    b.justify = genesis_qc();
  } else {
    std::vector<std::size_t> who;
    for (std::size_t i = 0; i < 2 * c.config().validators.f() + 1; ++i) who.push_back(i);
    b.justify = make_qc(c, parent, who);
  }
  b.requests = std::move(reqs);
  if (salt != 0) b.requests.push_back(make_request(900 + salt, 1, c.config()));
  b.finalize();
  return std::make_shared<const block>(std::move(b));
}

inline bytes proposal_frame(const cluster& c, const block& b) {
  return encode_proposal(b, c.signer(b.proposer.value()), {c.config().chain_id, c.config().epoch});
}

/// Delivers the proposal of `b` to replica `to` as if its leader sent it.
inline void propose_to(cluster& c, std::size_t to, const block& b) {
  c.step(to, ev::received{b.proposer, proposal_frame(c, b)});
}

/// Votes (decoded) in a ready.
inline std::vector<vote> votes_in(const ready& r) {
  std::vector<vote> out;
  for (const auto& m : r.messages) {
    auto d = decode(m.frame);
    if (d && d->type == msg_type::vote) out.push_back(std::get<vote>(d->msg));
  }
  return out;
}

} // namespace bft::hotstuff::test
