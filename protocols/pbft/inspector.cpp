#include "protocols/pbft/inspector.hpp"

#include "crypto/sha3.hpp"
#include "crypto/signer.hpp"
#include "protocols/pbft/messages.hpp"

namespace bft::pbft {
namespace {

signing_context ctx_of(const engine_config& cfg) {
  return signing_context{cfg.chain_id, cfg.epoch};
}

bool check(const validator_set& vs, const crypto::verifier& v, replica_id who, byte_view payload,
           const signature& sig) {
  const auto* val = vs.find(who);
  return val != nullptr && v.verify(val->key, payload, sig);
}

digest salted(const digest& d, std::uint64_t salt) {
  digest out = d;
  for (int i = 0; i < 8; ++i)
    out[static_cast<std::size_t>(i)] ^= static_cast<std::uint8_t>(salt >> (8 * i));
  out[31] ^= 0x5a; // always differs from d
  return out;
}

/// The one shape of every Byzantine variant: decode the frame, let `mutate` change the message
/// (false gives up), sign it again with `s`, encode it.
template <class M, class Mutate>
std::optional<bytes> resigned(result<M> (*decode)(byte_view), byte_view frame,
                              const signing_context& c, const crypto::signer& s, Mutate&& mutate) {
  auto m = decode(frame);
  if (!m || !mutate(*m)) return std::nullopt;
  sign(*m, c, s);
  return encode(*m);
}

view_number ahead_of(view_number v, std::uint64_t ahead) { return view_number{v.value() + ahead}; }

class pbft_inspector final : public bft::protocol_inspector {
public:
  std::optional<statement> statement_of(byte_view frame, const validator_set& vs,
                                        const crypto::verifier& v,
                                        const engine_config& cfg) const override {
    auto t = frame_type(frame);
    if (!t) return std::nullopt;
    const auto c = ctx_of(cfg);
    switch (*t) {
    case msg_type::pre_prepare: {
      auto m = decode_pre_prepare(frame);
      if (!m || !check(vs, v, m->from, signing_payload(c, m->view, m->seq, m->d, m->from), m->sig))
        return std::nullopt;
      return statement{m->from, static_cast<std::uint8_t>(phase::pre_prepare), m->view.value(),
                       m->seq.value(), m->d};
    }
    case msg_type::prepare:
    case msg_type::commit: {
      auto m = decode_vote(frame);
      if (!m || !check(vs, v, m->from, signing_payload(c, m->phase, m->view, m->seq, m->d, m->from),
                       m->sig))
        return std::nullopt;
      auto ph = m->phase == msg_type::prepare ? phase::prepare : phase::commit;
      return statement{m->from, static_cast<std::uint8_t>(ph), m->view.value(), m->seq.value(),
                       m->d};
    }
    case msg_type::checkpoint: {
      auto m = decode_checkpoint(frame);
      if (!m || !check(vs, v, m->from, signing_payload(c, m->seq, m->state, m->from), m->sig))
        return std::nullopt;
      return statement{m->from, static_cast<std::uint8_t>(phase::checkpoint), 0, m->seq.value(),
                       m->state};
    }
    case msg_type::view_change: {
      auto m = decode_view_change(frame);
      if (!m) return std::nullopt;
      auto payload = signing_payload(c, *m);
      if (!check(vs, v, m->from, payload, m->sig)) return std::nullopt;
      return statement{m->from, static_cast<std::uint8_t>(phase::view_change), m->new_view.value(),
                       0, crypto::sha3_256(payload)};
    }
    case msg_type::new_view: {
      auto m = decode_new_view(frame);
      if (!m) return std::nullopt;
      auto payload = signing_payload(c, *m);
      if (!check(vs, v, m->from, payload, m->sig)) return std::nullopt;
      return statement{m->from, static_cast<std::uint8_t>(phase::new_view), m->view.value(), 0,
                       crypto::sha3_256(payload)};
    }
    default: return std::nullopt;
    }
  }

  std::optional<bytes> conflicting_variant(byte_view frame, const crypto::signer& s,
                                           const engine_config& cfg,
                                           std::uint64_t salt) const override {
    auto t = frame_type(frame);
    if (!t) return std::nullopt;
    const auto c = ctx_of(cfg);
    switch (*t) {
    case msg_type::pre_prepare:
      return resigned(decode_pre_prepare, frame, c, s, [&](pre_prepare& m) {
        auto b = std::make_shared<batch>(*m.requests);
        if (!b->empty()) {
          b->erase(b->begin() + static_cast<std::ptrdiff_t>(salt % b->size()));
          m.d = batch_digest(*b);
        } else {
          m.d = salted(m.d, salt);
        }
        m.requests = b;
        return true;
      });
    case msg_type::prepare:
    case msg_type::commit:
      return resigned(decode_vote, frame, c, s, [&](vote& m) {
        m.d = salted(m.d, salt);
        return true;
      });
    case msg_type::checkpoint:
      return resigned(decode_checkpoint, frame, c, s, [&](checkpoint& m) {
        m.state = salted(m.state, salt);
        return true;
      });
    default: return std::nullopt;
    }
  }

  std::optional<bytes> future_view_variant(byte_view frame, const crypto::signer& s,
                                           const engine_config& cfg,
                                           std::uint64_t ahead) const override {
    auto t = frame_type(frame);
    if (!t) return std::nullopt;
    const auto c = ctx_of(cfg);
    switch (*t) {
    case msg_type::pre_prepare:
      return resigned(decode_pre_prepare, frame, c, s, [&](pre_prepare& m) {
        m.view = ahead_of(m.view, ahead);
        return true;
      });
    case msg_type::prepare:
    case msg_type::commit:
      return resigned(decode_vote, frame, c, s, [&](vote& m) {
        m.view = ahead_of(m.view, ahead);
        return true;
      });
    case msg_type::view_change:
      return resigned(decode_view_change, frame, c, s, [&](view_change& m) {
        m.new_view = ahead_of(m.new_view, ahead);
        return true;
      });
    case msg_type::new_view:
      return resigned(decode_new_view, frame, c, s, [&](new_view& m) {
        m.view = ahead_of(m.view, ahead);
        return true;
      });
    default: return std::nullopt;
    }
  }

  std::optional<bytes> forged_certificate_variant(byte_view frame, const crypto::signer& s,
                                                  const engine_config& cfg,
                                                  std::uint64_t salt) const override {
    auto t = frame_type(frame);
    if (!t) return std::nullopt;
    const auto c = ctx_of(cfg);
    if (*t == msg_type::view_change)
      return resigned(decode_view_change, frame, c, s, [&](view_change& m) {
        if (m.prepared.empty()) {
          // A certificate made up from nothing: a digest no one prepared, forged signatures.
          prepared_cert p;
          p.view = view_number{m.new_view.value() == 0 ? 0 : m.new_view.value() - 1};
          p.seq = seq_number{m.stable.seq.value() + 1};
          p.d = salted(digest{}, salt);
          p.pp_sig[0] = 1;
          for (const auto& v : cfg.validators.members()) p.prepares.push_back(signed_by{v.id, {}});
          m.prepared.push_back(p);
        } else {
          auto& p = m.prepared[salt % m.prepared.size()];
          if ((salt / m.prepared.size()) % 2 == 0 && !p.prepares.empty())
            p.d = salted(p.d, salt); // the signatures no longer match the digest
          else
            p.prepares.resize(p.prepares.empty() ? 0 : 1); // too few prepares
        }
        return true;
      });
    if (*t == msg_type::new_view)
      return resigned(decode_new_view, frame, c, s, [&](new_view& m) {
        if (!m.entries.empty() && salt % 2 == 0) {
          auto& e = m.entries[salt % m.entries.size()];
          e.d = salted(e.d, salt);
          sign(e, m.view, m.from, c, s);
          return true;
        }
        if (m.view_changes.empty()) return false;
        m.view_changes.pop_back(); // V below a quorum
        return true;
      });
    return std::nullopt;
  }
};

} // namespace

std::unique_ptr<bft::protocol_inspector> make_inspector() {
  return std::make_unique<pbft_inspector>();
}

} // namespace bft::pbft
