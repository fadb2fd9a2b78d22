// The acceptor actor: the one published face of a replica. It authenticates links with the
// signed hello, drops frames that are oversized or come from a link that has not proved its
// replica id, and passes client calls to the gateway.
#include <optional>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/log.hpp"
#include "actors/spawn.hpp"
#include "protocols/common/codec.hpp"

namespace bft::actors {

namespace {

struct pending_hello {
  replica_id claimed{0};
  nonce challenge{};
};

/// State of the acceptor: which sending links proved which replica id. Keyed by the CAF
/// address of the sending link actor (a proxy for remote ones); entries go when it goes down.
/// Owned by the actor.
struct acceptor_state {
  static inline const char* name = "bft.acceptor";
  acceptor_config cfg;
  std::map<caf::actor_addr, pending_hello> pending;
  std::map<caf::actor_addr, replica_id> authenticated;
  std::unique_ptr<acceptor_probe> probe;
  std::shared_ptr<spdlog::logger> log = component_logger("acceptor");
  rate_limiter limiter;

  void drop(const std::string& reason, const std::string& who, std::size_t bytes) {
    if (probe) probe->on_dropped(reason);
    std::uint64_t held = 0;
    if (limiter.allow(reason + "/" + who, held))
      log->warn("acceptor drops frame node={} from={} reason={} bytes={} suppressed={}",
                cfg.id.self.value(), who, reason, bytes, held);
  }
};

using acceptor_self = acceptor_actor::stateful_pointer<acceptor_state>;

caf::result<frame> on_hello(acceptor_self self, frame& f) {
  auto& st = self->state;
  auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
  auto fail = [&](const char* why) -> caf::result<frame> {
    st.drop("bad_hello", std::to_string(f.from), f.data.size());
    return caf::make_error(caf::sec::invalid_argument, why);
  };
  if (!sender) return fail("anonymous hello");
  if (f.data.size() > 4096) return fail("oversized hello");
  auto h = hello::decode(f.data);
  if (!h || h->chain_id != st.cfg.id.chain_id) return fail("malformed hello or wrong chain");
  const auto* peer = st.cfg.id.validators.find(h->id);
  if (peer == nullptr || h->id == st.cfg.id.self) return fail("hello from an unknown replica");
  if (h->step == 1) {
    pending_hello p{h->id, make_nonce()};
    hello h2;
    h2.step = 2;
    h2.chain_id = st.cfg.id.chain_id;
    h2.id = st.cfg.id.self;
    h2.fresh = p.challenge;
    h2.echo = h->fresh;
    h2.sign(*st.cfg.id.signer, st.cfg.id.epoch);
    st.pending[sender] = p;
    st.authenticated.erase(sender);
    self->monitor(caf::actor_cast<caf::actor>(self->current_sender()));
    return frame{st.cfg.id.self.value(), h2.encode()};
  }
  if (h->step == 3) {
    auto it = st.pending.find(sender);
    if (it == st.pending.end() || it->second.claimed != h->id || it->second.challenge != h->echo ||
        !h->verify(*st.cfg.id.verifier, peer->key, st.cfg.id.epoch))
      return fail("hello proof does not verify");
    st.pending.erase(it);
    st.authenticated[sender] = h->id;
    st.log->info("acceptor authenticates link node={} peer={}", st.cfg.id.self.value(),
                 h->id.value());
    hello h4;
    h4.step = 4;
    h4.chain_id = st.cfg.id.chain_id;
    h4.id = st.cfg.id.self;
    return frame{st.cfg.id.self.value(), h4.encode()};
  }
  return fail("unexpected hello step");
}

/// The checks every inbound frame or batch passes before the replica sees it: the link is
/// authenticated, the payload is within `limit`, and it claims the link's own replica id.
/// Returns the answer for a refused frame (counted as dropped), or nothing if it passes.
std::optional<caf::result<ack_atom>> screen(acceptor_self self, const frame& f, std::size_t limit) {
  auto& st = self->state;
  auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
  auto it = st.authenticated.find(sender);
  if (it == st.authenticated.end()) {
    st.drop("unauthenticated", std::to_string(f.from), f.data.size());
    return caf::result<ack_atom>{
        caf::make_error(caf::sec::invalid_argument, "link not authenticated")};
  }
  if (f.data.size() > limit) {
    st.drop("oversized", std::to_string(it->second.value()), f.data.size());
    return caf::result<ack_atom>{ack_atom::value};
  }
  if (f.from != it->second.value()) {
    st.drop("wrong_sender", std::to_string(it->second.value()), f.data.size());
    return caf::result<ack_atom>{ack_atom::value};
  }
  return std::nullopt;
}

acceptor_actor::behavior_type acceptor_fn(acceptor_self self, acceptor_config cfg) {
  auto& init = self->state;
  init.cfg = std::move(cfg);
  if (init.cfg.id.probes != nullptr)
    init.probe = std::make_unique<acceptor_probe>(*init.cfg.id.probes, init.cfg.id.self);
  self->set_down_handler([self](caf::down_msg& dm) {
    self->state.pending.erase(dm.source);
    self->state.authenticated.erase(dm.source);
  });
  return {
      [self](hello_atom, frame& f) -> caf::result<frame> { return on_hello(self, f); },
      [self](peer_atom, frame& f) -> caf::result<ack_atom> {
        if (auto refused = screen(self, f, codec::max_frame_bytes)) return *refused;
        self->send(self->state.cfg.replica, frame_atom::value, std::move(f));
        return ack_atom::value;
      },
      [self](batch_atom, frame& f) -> caf::result<ack_atom> {
        auto& st = self->state;
        if (auto refused = screen(self, f, max_batch_bytes)) return *refused;
        if (!check_batch(f.data)) {
          st.drop("malformed_batch", std::to_string(f.from), f.data.size());
          return ack_atom::value;
        }
        self->send(st.cfg.replica, batch_atom::value, std::move(f));
        return ack_atom::value;
      },
      [self](client_atom, frame& f) -> caf::result<frame> {
        auto& st = self->state;
        if (f.data.size() > codec::max_frame_bytes) {
          st.drop("oversized", "client", f.data.size());
          return caf::make_error(caf::sec::invalid_argument, "oversized client frame");
        }
        return self->delegate(st.cfg.gateway, client_atom::value, std::move(f));
      },
  };
}

} // namespace

acceptor_actor spawn_acceptor(caf::actor_system& sys, acceptor_config cfg) {
  return sys.spawn(acceptor_fn, std::move(cfg));
}

} // namespace bft::actors
