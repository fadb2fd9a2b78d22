#include "protocols/hotstuff/inspector.hpp"

#include "crypto/sha3.hpp"
#include "crypto/signer.hpp"
#include "protocols/hotstuff/messages.hpp"

namespace bft::hotstuff {
namespace {

sign_context ctx_of(const engine_config& cfg) { return {cfg.chain_id, cfg.epoch}; }

digest salted(const digest& d, std::uint64_t salt) {
  codec::writer w;
  w.raw(d);
  w.u64(salt);
  return crypto::sha3_256(w.data());
}

/// A QC that only the certificate check can refuse. Even salt: the forger's own valid vote
/// counted as a whole quorum (one signer, many times), for the newest view the message allows
/// (`top_view`), which would let it lift any replica that counted it over its lock. Odd salt:
/// one signature flipped (the genesis QC gains a forged signature instead).
quorum_cert forge(quorum_cert qc, std::uint64_t salt, const crypto::signer& s,
                  const engine_config& cfg, view_number top_view) {
  if (salt % 2 == 0) {
    if (top_view > qc.view) qc.view = top_view;
    if (qc.view == view_number{0}) qc.view = view_number{1};
    auto body = vote_body(qc.block, qc.view, qc.height, cfg.self);
    auto sig = s.sign(codec::signing_bytes(vote_tag, cfg.chain_id, cfg.epoch, body));
    qc.sigs.assign(cfg.validators.size(), qc_signature{cfg.self, sig});
  } else if (qc.sigs.empty()) {
    qc.view = qc.view.next();
    qc.sigs.push_back({replica_id{0}, signature{}});
  } else {
    qc.sigs[salt % qc.sigs.size()].sig[salt % 64] ^= 0x5a;
  }
  return qc;
}

bytes resign_block(block b, const crypto::signer& s, const engine_config& cfg) {
  b.finalize();
  return encode_proposal(b, s, ctx_of(cfg));
}

class inspector final : public bft::protocol_inspector {
public:
  std::optional<statement> statement_of(byte_view frame, const validator_set& vs,
                                        const crypto::verifier& v,
                                        const engine_config& cfg) const override {
    auto d = decode(frame);
    if (!d || !verify_signature(*d, vs, v, ctx_of(cfg))) return std::nullopt;
    if (d->type == msg_type::proposal) {
      const auto& b = *std::get<proposal>(d->msg).blk;
      return statement{d->signer, static_cast<std::uint8_t>(phase::proposal), b.view.value(), 0,
                       b.hash};
    }
    if (d->type == msg_type::vote) {
      const auto& x = std::get<vote>(d->msg);
      return statement{d->signer, static_cast<std::uint8_t>(phase::vote), x.view.value(), 0,
                       x.block};
    }
    return std::nullopt;
  }

  std::optional<bytes> conflicting_variant(byte_view frame, const crypto::signer& s,
                                           const engine_config& cfg,
                                           std::uint64_t salt) const override {
    auto d = decode(frame);
    if (!d) return std::nullopt;
    if (d->type == msg_type::proposal) {
      // Another block for the same view that honest replicas would still accept: fewer
      // requests, and a state root for index 0 (which no replica can contradict).
      block b = *std::get<proposal>(d->msg).blk;
      if (!b.requests.empty() && salt % 2 == 1)
        b.requests.resize(static_cast<std::size_t>(salt / 2 % b.requests.size()));
      b.exec_index = 0;
      b.state_root = salted(b.hash, salt);
      return resign_block(std::move(b), s, cfg);
    }
    if (d->type == msg_type::vote) {
      const auto& x = std::get<vote>(d->msg);
      return encode_vote(salted(x.block, salt), x.view, x.height, x.signer, s, ctx_of(cfg));
    }
    return std::nullopt;
  }

  std::optional<bytes> future_view_variant(byte_view frame, const crypto::signer& s,
                                           const engine_config& cfg,
                                           std::uint64_t ahead) const override {
    auto d = decode(frame);
    if (!d) return std::nullopt;
    view_number shift{ahead};
    switch (d->type) {
    case msg_type::proposal: {
      block b = *std::get<proposal>(d->msg).blk;
      b.view = view_number{b.view.value() + shift.value()};
      return resign_block(std::move(b), s, cfg);
    }
    case msg_type::vote: {
      const auto& x = std::get<vote>(d->msg);
      return encode_vote(x.block, view_number{x.view.value() + ahead}, x.height, x.signer, s,
                         ctx_of(cfg));
    }
    case msg_type::new_view: {
      auto m = std::get<new_view>(d->msg);
      m.view = view_number{m.view.value() + ahead};
      return encode_new_view(m, s, ctx_of(cfg));
    }
    default: return std::nullopt;
    }
  }

  std::vector<bytes> fork_variant(byte_view frame, byte_view older, const crypto::signer& s,
                                  const engine_config& cfg, bool forge_qc) const override {
    auto d = decode(frame);
    auto o = decode(older);
    if (!d || !o || d->type != msg_type::proposal || o->type != msg_type::proposal) return {};
    const block& mine = *std::get<proposal>(d->msg).blk;
    const block& old = *std::get<proposal>(o->msg).blk;
    // The fork takes the place of `old` (same parent and justify QC, so the same height) in
    // this leader's view: it conflicts with `old` and with everything built on it.
    if (old.height >= mine.height || old.view >= mine.view) return {};
    block f = mine;
    f.parent = old.parent;
    f.justify = old.justify;
    if (forge_qc) f.justify = forge(f.justify, 0, s, cfg, view_number{mine.view.value() - 1});
    f.height = old.height;
    f.exec_index = old.exec_index;
    f.state_root = old.state_root;
    f.requests.clear(); // valid on any branch: nothing in it can repeat a request there
    std::vector<bytes> out;
    out.push_back(encode_new_proposal(f, s, ctx_of(cfg))); // hashes f
    out.push_back(encode_vote(f.hash, f.view, f.height, cfg.self, s, ctx_of(cfg)));
    return out;
  }

  std::optional<bytes> forged_certificate_variant(byte_view frame, const crypto::signer& s,
                                                  const engine_config& cfg,
                                                  std::uint64_t salt) const override {
    auto d = decode(frame);
    if (!d) return std::nullopt;
    if (d->type == msg_type::proposal) {
      block b = *std::get<proposal>(d->msg).blk;
      b.justify = forge(b.justify, salt, s, cfg, view_number{b.view.value() - 1});
      return resign_block(std::move(b), s, cfg);
    }
    if (d->type == msg_type::new_view) {
      auto m = std::get<new_view>(d->msg);
      m.high_qc = forge(m.high_qc, salt, s, cfg, view_number{m.view.value() - 1});
      return encode_new_view(m, s, ctx_of(cfg));
    }
    return std::nullopt;
  }
};

} // namespace

std::unique_ptr<bft::protocol_inspector> make_inspector() { return std::make_unique<inspector>(); }

} // namespace bft::hotstuff
