#pragma once
/// A toy protocol for testing the simulator itself, independent of the real engines:
/// replica 0 is the leader forever; it batches client requests, signs a "commit" frame per
/// batch and broadcasts it; every replica commits batches in index order on receipt. It
/// tolerates no faults, which is the point: the harness must pass it with no faults and
/// catch it when its leader equivocates (mutant bit 1) or is Byzantine.
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "crypto/sha3.hpp"
#include "crypto/signer.hpp"
#include "protocols/common/codec.hpp"
#include "protocols/common/engine.hpp"
#include "protocols/common/protocol_inspector.hpp"
#include "protocols/sim/simulator.hpp"

namespace bft::sim::toy {

inline constexpr codec::envelope commit_env{0x70, 1};
inline constexpr const char* sign_tag = "toy/commit/v1";
inline constexpr std::uint64_t mutant_equivocate = 1;

struct commit_msg {
  std::uint64_t index = 0;
  std::vector<client_request> requests;
};

inline bytes body_of(const commit_msg& m) {
  codec::writer w;
  w.header(commit_env);
  w.u64(m.index);
  w.count(m.requests.size(), 1024);
  for (const auto& r : m.requests) r.encode(w);
  return w.take();
}

inline bytes sign_frame(const commit_msg& m, const crypto::signer& s, const engine_config& c) {
  auto body = body_of(m);
  auto sig = s.sign(codec::signing_bytes(sign_tag, c.chain_id, c.epoch, body));
  body.insert(body.end(), sig.begin(), sig.end());
  return body;
}

/// Decodes and verifies a frame signed by the leader (replica 0).
inline std::optional<commit_msg> open_frame(byte_view f, const validator_set& vs,
                                            const crypto::verifier& v, const engine_config& c) {
  if (f.size() < 64) return std::nullopt;
  auto body = f.first(f.size() - 64);
  signature sig{};
  std::copy(f.end() - 64, f.end(), sig.begin());
  const auto* leader = vs.find(replica_id{0});
  if (leader == nullptr ||
      !v.verify(leader->key, codec::signing_bytes(sign_tag, c.chain_id, c.epoch, body), sig))
    return std::nullopt;
  codec::reader r(body);
  r.expect(commit_env);
  commit_msg m;
  m.index = r.u64();
  auto n = r.count(1024, 8);
  for (std::size_t i = 0; i < n && r.ok(); ++i) m.requests.push_back(client_request::decode(r));
  if (!r.finish()) return std::nullopt;
  return m;
}

/// The toy engine. Not thread-safe; one owner calls `step`.
class engine final : public bft::engine {
public:
  engine(engine_config c, const crypto::signer& s, const crypto::verifier& v,
         const persisted_state& st)
      : cfg_(std::move(c)), signer_(s), verifier_(v) {
    if (auto it = st.find("next"); it != st.end()) {
      codec::reader r(it->second);
      next_ = r.u64();
    }
  }

  ready step(const event& e) override {
    ready out;
    if (const auto* cr = std::get_if<ev::client_requests>(&e)) {
      if (cfg_.self.value() == 0)
        for (const auto& r : cr->requests)
          if (proposed_.insert({r.client, r.client_seq}).second) queue_.push_back(r);
    } else if (std::holds_alternative<ev::tick>(e)) {
      if (cfg_.self.value() == 0 && !queue_.empty()) propose(out);
    } else if (const auto* rc = std::get_if<ev::received>(&e)) {
      auto m = open_frame(rc->frame, cfg_.validators, verifier_, cfg_);
      if (!m || rc->from.value() != 0) {
        out.rejected.push_back({rc->from, "bad toy frame"});
      } else if (m->index > committed_) {
        pending_.emplace(m->index, std::move(*m));
        while (!pending_.empty() && pending_.begin()->first == committed_ + 1) {
          commit(out, pending_.begin()->second);
          pending_.erase(pending_.begin());
        }
      }
    }
    return out;
  }

  [[nodiscard]] engine_status status() const override {
    engine_status s;
    s.view = view_number{0};
    s.leader = replica_id{0};
    s.committed_index = committed_;
    return s;
  }

private:
  void propose(ready& out) {
    commit_msg m;
    m.index = ++next_;
    m.requests = std::move(queue_);
    queue_.clear();
    codec::writer w;
    w.u64(next_);
    out.persist.push_back({"next", w.take(), false});
    if ((cfg_.mutants & mutant_equivocate) != 0) {
      // Seeded bug: a different batch for every other follower.
      commit_msg alt{m.index, {}};
      for (const auto& v : cfg_.validators.members()) {
        if (v.id == cfg_.self) continue;
        out.messages.push_back({v.id, sign_frame(v.id.value() % 2 == 0 ? alt : m, signer_, cfg_)});
      }
    } else {
      out.messages.push_back({std::nullopt, sign_frame(m, signer_, cfg_)});
    }
    commit(out, m);
  }

  void commit(ready& out, const commit_msg& m) {
    committed_ = m.index;
    auto body = body_of(m);
    out.committed.push_back({m.index, crypto::sha3_256(body), m.requests});
  }

  engine_config cfg_;
  const crypto::signer& signer_;
  const crypto::verifier& verifier_;
  std::uint64_t next_ = 0;
  std::uint64_t committed_ = 0;
  std::vector<client_request> queue_;
  std::set<std::pair<public_key, std::uint64_t>> proposed_;
  std::map<std::uint64_t, commit_msg> pending_;
};

/// The toy's protocol knowledge for the checkers and Byzantine roles.
class inspector final : public protocol_inspector {
public:
  [[nodiscard]] std::optional<statement> statement_of(byte_view frame, const validator_set& vs,
                                                      const crypto::verifier& v,
                                                      const engine_config& c) const override {
    auto m = open_frame(frame, vs, v, c);
    if (!m) return std::nullopt;
    return statement{replica_id{0}, 1, 0, m->index, crypto::sha3_256(body_of(*m))};
  }
  [[nodiscard]] std::optional<bytes> conflicting_variant(byte_view frame, const crypto::signer& s,
                                                         const engine_config& c,
                                                         std::uint64_t) const override {
    auto m = open_frame(frame, c.validators, fake_verifier_any(), c);
    if (!m) return std::nullopt;
    m->requests.clear();
    return sign_frame(*m, s, c);
  }
  [[nodiscard]] std::optional<bytes> future_view_variant(byte_view, const crypto::signer&,
                                                         const engine_config&,
                                                         std::uint64_t) const override {
    return std::nullopt;
  }
  [[nodiscard]] std::optional<bytes> forged_certificate_variant(byte_view, const crypto::signer&,
                                                                const engine_config&,
                                                                std::uint64_t) const override {
    return std::nullopt;
  }

private:
  /// Accepts any signature: the Byzantine role re-signs its own frame anyway.
  struct accept_all final : crypto::verifier {
    bool verify(const public_key&, byte_view, const signature&) const override { return true; }
  };
  static const crypto::verifier& fake_verifier_any() {
    static const accept_all v;
    return v;
  }
};

inline protocol_spec spec() {
  protocol_spec p;
  p.name = "toy";
  p.make_engine = [](const engine_config& c, const crypto::signer& s, const crypto::verifier& v,
                     const persisted_state& st) -> std::unique_ptr<bft::engine> {
    return std::make_unique<engine>(c, s, v, st);
  };
  p.inspector = std::make_shared<inspector>();
  p.mutants = {{"equivocate", mutant_equivocate}};
  return p;
}

} // namespace bft::sim::toy
