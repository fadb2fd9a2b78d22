// The link actor (one per peer) and the transports behind it.
#include <deque>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/coro.hpp"
#include "actors/log.hpp"
#include "actors/spawn.hpp"
#include "protocols/common/codec.hpp"

namespace bft::actors {

// ---- transports ----

void local_directory::set(replica_id id, acceptor_actor a) {
  std::lock_guard<std::mutex> guard(mtx_);
  acceptors_[id] = std::move(a);
}

void local_directory::erase(replica_id id) {
  std::lock_guard<std::mutex> guard(mtx_);
  acceptors_.erase(id);
}

std::optional<acceptor_actor> local_directory::find(replica_id id) const {
  std::lock_guard<std::mutex> guard(mtx_);
  auto it = acceptors_.find(id);
  if (it == acceptors_.end()) return std::nullopt;
  return it->second;
}

namespace {

class local_transport final : public transport {
public:
  local_transport(std::shared_ptr<local_directory> dir, replica_id peer)
      : dir_(std::move(dir)), peer_(peer) {}
  void connect(caf::actor_system&, const link_actor& link) override {
    if (auto a = dir_->find(peer_))
      caf::anon_send(link, link_up_atom::value, *a);
    else
      caf::anon_send(link, link_fail_atom::value, std::string("peer not in this process yet"));
  }
  [[nodiscard]] std::string describe() const override {
    return "local:" + std::to_string(peer_.value());
  }

private:
  std::shared_ptr<local_directory> dir_;
  replica_id peer_;
};

class basp_transport final : public transport {
public:
  basp_transport(std::string host, std::uint16_t port) : host_(std::move(host)), port_(port) {}
  void connect(caf::actor_system& sys, const link_actor& link) override {
    // remote_actor blocks: run it in a detached helper so no scheduler thread waits.
    sys.spawn<caf::detached>([host = host_, port = port_, link](caf::event_based_actor* helper) {
      auto r = helper->system().middleman().remote_actor<acceptor_actor>(host, port);
      if (r)
        helper->send(link, link_up_atom::value, *r);
      else
        helper->send(link, link_fail_atom::value, helper->system().render(r.error()));
    });
  }
  [[nodiscard]] std::string describe() const override {
    return host_ + ":" + std::to_string(port_);
  }

private:
  std::string host_;
  std::uint16_t port_;
};

// ---- the link actor ----

enum class link_phase { down, connecting, handshaking, up };

/// What the transport found: the peer's acceptor, or why not.
struct connect_result {
  std::optional<acceptor_actor> peer;
  std::string why;
};

/// State of a link actor: the outbound queue (bounded in bytes, oldest dropped first), the
/// credits in flight, the transport, and the triggers through which handlers resume the
/// connection coroutine (`keep_linked`). Owned by the actor.
struct link_state {
  static inline const char* name = "bft.link";
  link_config cfg;
  std::shared_ptr<transport> tr;
  link_phase phase = link_phase::down;
  std::optional<acceptor_actor> remote;
  std::uint64_t generation = 0; ///< bumps on every new connection; stale replies are ignored
  nonce my_nonce{};
  std::deque<frame> queue;
  std::size_t queued_bytes = 0;
  std::size_t in_flight = 0;
  bool flush_scheduled = false; ///< a flush_atom to ourselves is on its way
  std::chrono::milliseconds backoff{0};
  std::chrono::steady_clock::time_point last_unreachable_log{};
  bool logged_unreachable = false;
  std::uint64_t failures_since_log = 0;
  std::unique_ptr<link_probe> probe;
  std::shared_ptr<spdlog::logger> log = component_logger("link");
  rate_limiter limiter;
  trigger<connect_result> connected; ///< link_up / link_fail: the transport's answer
  trigger<std::string> lost;         ///< the peer went down or a send failed (why)
  trigger<caf::unit_t> wake;         ///< reconnect_atom: the backoff is over
  coro_scope scope;                  ///< last: waiting coroutines go before the rest
};

using link_self = link_actor::stateful_pointer<link_state>;

void set_phase(link_self self, link_phase p) {
  self->state.phase = p;
  if (self->state.probe) self->state.probe->on_state(static_cast<link_probe::state>(p));
}

/// Announces that the connection is lost (peer down, failed send). The connection coroutine
/// awaits `lost` whenever a peer is connected (handshaking or up).
void lose(link_self self, std::string why) {
  const bool heard = self->state.lost.fire(std::move(why));
  BFT_ASSERT(heard, "the connection coroutine awaits `lost` while a peer is connected");
}

/// Sends queued frames while credits last. Frames queued together leave together: up to
/// `batch_bytes` of them in one batch message (one middleman message and one acknowledgement
/// for many frames); a lone frame goes as it is.
void pump(link_self self) {
  auto& st = self->state;
  if (st.phase != link_phase::up || !st.remote) return;
  while (st.in_flight < st.cfg.window && !st.queue.empty()) {
    auto gen = st.generation;
    auto on_ack = [self, gen](ack_atom) {
      if (gen != self->state.generation) return;
      --self->state.in_flight;
      pump(self);
    };
    auto on_error = [self, gen](caf::error& err) {
      if (gen != self->state.generation) return;
      if (self->state.probe) self->state.probe->on_dropped("send_failed");
      lose(self, "send failed: " + self->system().render(err));
    };
    ++st.in_flight;
    if (st.queue.size() == 1 ||
        st.queue.front().data.size() + st.queue[1].data.size() + 12 > st.cfg.batch_bytes) {
      frame f = std::move(st.queue.front());
      st.queue.pop_front();
      st.queued_bytes -= f.data.size();
      self->request(*st.remote, st.cfg.request_timeout, peer_atom::value, std::move(f))
          .then(on_ack, on_error);
      continue;
    }
    frame b{st.cfg.id.self.value(), {}};
    // Size the batch first and allocate it once: growing it frame by frame copied every
    // frame again at each doubling (about a fifth of the CPU with 512-byte transactions).
    std::size_t size = 4;
    for (std::size_t k = 0; k < st.queue.size() && k < max_batch_frames; ++k) {
      const auto add = st.queue[k].data.size() + 4;
      if (k > 0 && size + add > st.cfg.batch_bytes) break;
      size += add;
    }
    b.data.reserve(size);
    std::size_t n = 0;
    while (!st.queue.empty() && n < max_batch_frames &&
           (n == 0 || b.data.size() + st.queue.front().data.size() + 4 <= st.cfg.batch_bytes)) {
      auto& f = st.queue.front();
      append_to_batch(b.data, as_bytes(f.data));
      st.queued_bytes -= f.data.size();
      st.queue.pop_front();
      ++n;
    }
    self->request(*st.remote, st.cfg.request_timeout, batch_atom::value, std::move(b))
        .then(on_ack, on_error);
  }
  if (st.probe) st.probe->on_queued_bytes(st.queued_bytes);
}

/// One step of the hello: the peer's answer to `h`, unless the connection is lost first.
auto hello_step(link_self self, const hello& h) {
  auto& st = self->state;
  return request_awaiter<frame, std::remove_pointer_t<link_self>, acceptor_actor, hello_atom,
                         frame>(self, *st.remote, st.cfg.request_timeout, hello_atom::value,
                                frame{st.cfg.id.self.value(), h.encode()})
      .unless(st.lost);
}

/// Whether the hello of step 2 proves the peer's replica id (signed over our nonce).
bool proves_peer(const link_state& st, const result<hello>& h2) {
  const auto* peer = st.cfg.id.validators.find(st.cfg.peer);
  return h2 && h2->step == 2 && h2->chain_id == st.cfg.id.chain_id && h2->id == st.cfg.peer &&
         h2->echo == st.my_nonce && peer != nullptr &&
         h2->verify(*st.cfg.id.verifier, peer->key, st.cfg.id.epoch);
}

/// The link's life, top to bottom and round again: connect through the transport, prove
/// both ids (the 4-step hello), carry frames until the peer is lost, back off, reconnect.
/// Frames themselves move in `pump`, driven by acknowledgements; this coroutine only waits
/// while the link is up. Destroyed with the actor (its scope).
task keep_linked(coro_scope&, link_self self) {
  auto& st = self->state;
  for (;;) {
    set_phase(self, link_phase::connecting);
    st.tr->connect(self->system(), caf::actor_cast<link_actor>(self));
    auto found = co_await st.connected;
    std::string why = std::move(found.why);
    if (found.peer) {
      ++st.generation;
      st.remote = *found.peer;
      self->monitor(*st.remote);
      set_phase(self, link_phase::handshaking);
      st.my_nonce = make_nonce();
      hello h1;
      h1.step = 1;
      h1.chain_id = st.cfg.id.chain_id;
      h1.id = st.cfg.id.self;
      h1.fresh = st.my_nonce;
      auto r2 = co_await hello_step(self, h1);
      if (auto* down = std::get_if<1>(&r2)) {
        why = std::move(*down);
      } else if (auto& reply = std::get<0>(r2); !reply) {
        why = "handshake failed: " + self->system().render(reply.error());
      } else if (auto h2 = hello::decode(reply->data); !proves_peer(st, h2)) {
        if (st.probe) st.probe->on_dropped("bad_hello");
        why = "peer failed to prove its replica id";
      } else {
        hello h3;
        h3.step = 3;
        h3.chain_id = st.cfg.id.chain_id;
        h3.id = st.cfg.id.self;
        h3.echo = h2->fresh;
        h3.sign(*st.cfg.id.signer, st.cfg.id.epoch);
        auto r4 = co_await hello_step(self, h3);
        if (auto* gone = std::get_if<1>(&r4)) {
          why = std::move(*gone);
        } else if (auto& done = std::get<0>(r4); !done) {
          why = "handshake failed: " + self->system().render(done.error());
        } else if (auto h4 = hello::decode(done->data); !h4 || h4->step != 4) {
          why = "peer refused our hello";
        } else {
          set_phase(self, link_phase::up);
          st.backoff = std::chrono::milliseconds{0};
          st.logged_unreachable = false;
          st.failures_since_log = 0;
          st.log->info("link is up node={} peer={} via={}", st.cfg.id.self.value(),
                       st.cfg.peer.value(), st.tr->describe());
          pump(self);
          why = co_await st.lost;
        }
      }
    }
    // Down: forget the peer (its late replies carry an old generation), back off, retry.
    if (st.remote) {
      self->demonitor(st.remote->address());
      st.tr->release(self->system(), *st.remote);
      st.remote.reset();
    }
    ++st.generation;
    st.in_flight = 0;
    set_phase(self, link_phase::down);
    st.backoff =
        st.backoff.count() == 0 ? st.cfg.min_backoff : std::min(st.cfg.max_backoff, st.backoff * 2);
    ++st.failures_since_log;
    auto now = std::chrono::steady_clock::now();
    if (!st.logged_unreachable ||
        now - st.last_unreachable_log >= st.cfg.unreachable_log_interval) {
      st.log->warn("link cannot reach peer node={} peer={} via={} reason=\"{}\" attempts={} "
                   "retry_ms={}",
                   st.cfg.id.self.value(), st.cfg.peer.value(), st.tr->describe(), why,
                   st.failures_since_log, st.backoff.count());
      st.logged_unreachable = true;
      st.last_unreachable_log = now;
      st.failures_since_log = 0;
    }
    co_await sleep_for(self, st.wake, st.backoff, reconnect_atom::value);
  }
}

link_actor::behavior_type link_fn(link_self self, link_config cfg, std::shared_ptr<transport> t) {
  auto& init = self->state;
  init.cfg = std::move(cfg);
  init.tr = std::move(t);
  if (init.cfg.id.probes != nullptr)
    init.probe = std::make_unique<link_probe>(*init.cfg.id.probes, init.cfg.id.self, init.cfg.peer);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (st.remote && dm.source == st.remote->address())
      lose(self, "peer went down: " + self->system().render(dm.reason));
  });
  keep_linked(init.scope, self);
  return {
      [self](frame_atom, frame& f) {
        auto& st = self->state;
        std::uint64_t held = 0;
        if (f.data.size() > st.cfg.max_queued_bytes || f.data.size() > codec::max_frame_bytes) {
          if (st.probe) st.probe->on_dropped("oversized");
          if (st.limiter.allow("oversized", held))
            st.log->warn("link drops oversized frame node={} peer={} bytes={} suppressed={}",
                         st.cfg.id.self.value(), st.cfg.peer.value(), f.data.size(), held);
          return;
        }
        // Overflow policy: drop the oldest queued frames until the new one fits. Consensus
        // engines retransmit what matters on their timers; one slow peer never blocks others.
        while (st.queued_bytes + f.data.size() > st.cfg.max_queued_bytes && !st.queue.empty()) {
          st.queued_bytes -= st.queue.front().data.size();
          st.queue.pop_front();
          if (st.probe) st.probe->on_dropped("queue_full");
          if (st.limiter.allow("queue_full", held))
            st.log->warn("link drops oldest frame: queue full node={} peer={} limit={} "
                         "suppressed={}",
                         st.cfg.id.self.value(), st.cfg.peer.value(), st.cfg.max_queued_bytes,
                         held);
        }
        st.queued_bytes += f.data.size();
        st.queue.push_back(std::move(f));
        // Pump once the frames already in the mailbox are queued too, so that frames sent
        // together (one ready's messages, a burst of readies) leave in one batch.
        if (!st.flush_scheduled && st.phase == link_phase::up && st.in_flight < st.cfg.window) {
          st.flush_scheduled = true;
          self->send(self, flush_atom::value);
        }
      },
      [self](flush_atom) {
        self->state.flush_scheduled = false;
        pump(self);
      },
      // The transport answers each connect once; the coroutine waits for it (else: ignored).
      [self](link_up_atom, acceptor_actor& a) {
        self->state.connected.fire(connect_result{std::move(a), {}});
      },
      [self](link_fail_atom, std::string& why) {
        self->state.connected.fire(connect_result{std::nullopt, std::move(why)});
      },
      [self](reconnect_atom) { self->state.wake.fire({}); },
  };
}

} // namespace

std::unique_ptr<transport> make_local_transport(std::shared_ptr<local_directory> dir,
                                                replica_id peer) {
  return std::make_unique<local_transport>(std::move(dir), peer);
}

std::unique_ptr<transport> make_basp_transport(std::string host, std::uint16_t port) {
  return std::make_unique<basp_transport>(std::move(host), port);
}

link_actor spawn_link(caf::actor_system& sys, link_config cfg, std::unique_ptr<transport> t) {
  return sys.spawn(link_fn, std::move(cfg), std::shared_ptr<transport>(std::move(t)));
}

} // namespace bft::actors
