// The secure transport's listener (handshakes of accepted connections, under limits), the
// transport links dial through, and the blocking dial of clients. See actors/secure.cpp.
#include <deque>
#include <future>
#include <set>

#include "actors/secure_conn.hpp"

namespace bft::actors {
namespace secure_detail {
namespace {

// ---- the listener: handshakes of accepted connections, and their limits ----

struct pending_conn {
  net::handshake hs;
  framer fr;
  std::string source;
  std::uint64_t id = 0;
  bool hello_seen = false;
};

struct listener_state {
  static inline const char* name = "bft.secure.listener";
  ctx_ptr ctx;
  acceptor_actor acceptor;
  std::map<caf::io::connection_handle, pending_conn> pending;
  std::map<std::string, std::size_t> per_source; ///< pending connections by source address
  std::deque<net::nonce> seen_order;             ///< recent hello nonces (the replay cache)
  std::set<net::nonce> seen;
  std::map<replica_id, std::deque<caf::actor>> validator_sessions;
  std::map<caf::actor_addr, std::optional<replica_id>> children; ///< nullopt: a client
  std::map<caf::actor_addr, caf::actor> handles;                 ///< the same connections
  bool stopping = false; ///< told to exit: waiting for the connections to go
  caf::error stop_reason;
  std::size_t clients = 0;
  std::uint64_t next_id = 1;

  static constexpr std::size_t replay_cache = 65536;

  void gauges() {
    if (ctx->probe) {
      ctx->probe->on_pending(pending.size());
      ctx->probe->on_sessions(children.size());
    }
  }
};

using listener_broker = caf::io::stateful_broker<listener_state>;

void drop_pending(listener_broker* self, caf::io::connection_handle hdl,
                  std::optional<net::reason> r, const std::string& why) {
  auto& st = self->state;
  auto it = st.pending.find(hdl);
  if (it == st.pending.end()) return;
  if (r) st.ctx->refuse(*r, it->second.source, why);
  if (--st.per_source[it->second.source] == 0) st.per_source.erase(it->second.source);
  st.pending.erase(it);
  self->close(hdl);
  st.gauges();
}

/// The handshake is done: check the session limits and fork the connection off.
void hand_over(listener_broker* self, caf::io::connection_handle hdl) {
  auto& st = self->state;
  auto& p = st.pending.at(hdl);
  const auto who = p.hs.peer();
  if (who.role == net::role::client && st.clients >= st.ctx->cfg.max_clients)
    return drop_pending(self, hdl, net::reason::sessions, "client connections full");
  auto sess = p.hs.take_session();
  if (--st.per_source[p.source] == 0) st.per_source.erase(p.source);
  st.pending.erase(hdl);
  auto child = self->fork(accepted_fn, hdl, st.ctx, std::move(sess), st.acceptor);
  self->monitor(child);
  st.handles[child.address()] = child;
  if (who.role == net::role::client) {
    ++st.clients;
    st.children[child.address()] = std::nullopt;
  } else {
    st.children[child.address()] = who.id;
    auto& q = st.validator_sessions[who.id];
    q.push_back(child);
    // Only the validator itself can open a session under its key: a newer one means it
    // reconnected (its old connection may be silently dead), so the oldest goes.
    while (q.size() > st.ctx->cfg.max_sessions_per_validator) {
      self->send_exit(q.front(), caf::exit_reason::user_shutdown);
      q.pop_front();
    }
  }
  st.gauges();
}

void on_pending_data(listener_broker* self, const caf::io::new_data_msg& m) {
  auto& st = self->state;
  auto it = st.pending.find(m.handle);
  if (it == st.pending.end()) return;
  auto& p = it->second;
  switch (p.fr.on_read(self, m.handle, m.buf)) {
  case framer::got::oversized:
    return drop_pending(self, m.handle, net::reason::oversized,
                        "length prefix over the handshake limit");
  case framer::got::more: return;
  case framer::got::body: break;
  }
  auto step = p.hs.on_message(view_of(m.buf));
  if (step.refused) return drop_pending(self, m.handle, step.refused, "handshake refused");
  if (!p.hello_seen) {
    p.hello_seen = true;
    const auto& n = p.hs.dialler_nonce();
    if (st.seen.count(n) != 0)
      return drop_pending(self, m.handle, net::reason::replayed, "hello nonce seen before");
    st.seen.insert(n);
    st.seen_order.push_back(n);
    if (st.seen_order.size() > listener_state::replay_cache) {
      st.seen.erase(st.seen_order.front());
      st.seen_order.pop_front();
    }
  }
  if (!step.send.empty()) write_plain(self, m.handle, step.send);
  if (p.hs.done()) hand_over(self, m.handle);
}

caf::behavior listener_fn(listener_broker* self, ctx_ptr ctx, acceptor_actor acceptor,
                          std::string host, std::uint16_t port,
                          std::shared_ptr<std::promise<caf::expected<std::uint16_t>>> bound) {
  auto& init = self->state;
  init.ctx = std::move(ctx);
  init.acceptor = std::move(acceptor);
  auto r = self->add_tcp_doorman(port, host.c_str(), true);
  if (!r) {
    bound->set_value(r.error());
    self->quit();
    return {};
  }
  bound->set_value(r->second);
  // The listener's exit (the node stops) ends every connection it accepted, and the listener
  // goes once they have gone (or after 2 s): no connection outlives it unowned.
  self->set_exit_handler([self](caf::exit_msg& em) {
    auto& st = self->state;
    if (st.stopping) return;
    st.stopping = true;
    st.stop_reason = em.reason;
    if (st.handles.empty()) return self->quit(em.reason);
    for (auto& [addr, child] : st.handles) self->send_exit(child, caf::exit_reason::user_shutdown);
    self->delayed_send(self, std::chrono::seconds(2), hs_timeout_atom::value);
  });
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    auto it = st.children.find(dm.source);
    if (it == st.children.end()) return;
    if (!it->second) {
      --st.clients;
    } else {
      auto& q = st.validator_sessions[*it->second];
      q.erase(std::remove_if(q.begin(), q.end(),
                             [&](const caf::actor& a) { return a.address() == dm.source; }),
              q.end());
    }
    st.children.erase(it);
    st.handles.erase(dm.source);
    st.gauges();
    if (st.stopping && st.handles.empty()) self->quit(st.stop_reason);
  });
  return {
      [self](const caf::io::new_connection_msg& m) {
        auto& st = self->state;
        auto source = self->remote_addr(m.handle);
        if (st.pending.size() >= st.ctx->cfg.max_pending) {
          st.ctx->refuse(net::reason::pending_total, source, "too many connections handshaking");
          self->close(m.handle);
          return;
        }
        if (st.per_source[source] >= st.ctx->cfg.max_pending_per_source) {
          st.ctx->refuse(net::reason::pending_source, source,
                         "too many connections handshaking from this address");
          self->close(m.handle);
          return;
        }
        ++st.per_source[source];
        const auto id = st.next_id++;
        st.pending.emplace(m.handle,
                           pending_conn{net::handshake::accept(st.ctx->cfg.me), {}, source, id});
        self->configure_read(m.handle, caf::io::receive_policy::exactly(net::prefix_bytes));
        self->delayed_send(self, st.ctx->cfg.handshake_timeout, hs_timeout_atom::value, m.handle,
                           id);
        st.gauges();
      },
      [self](const caf::io::new_data_msg& m) { on_pending_data(self, m); },
      [self](const caf::io::connection_closed_msg& m) {
        drop_pending(self, m.handle, std::nullopt, "closed");
      },
      [self](hs_timeout_atom, caf::io::connection_handle hdl, std::uint64_t id) {
        auto it = self->state.pending.find(hdl);
        if (it != self->state.pending.end() && it->second.id == id)
          drop_pending(self, hdl, net::reason::handshake_timeout, "handshake not done in time");
      },
      [self](const caf::io::acceptor_closed_msg&) { self->quit(); },
      [self](hs_timeout_atom) { // stopping, and some connection did not go in time
        if (self->state.stopping) self->quit(self->state.stop_reason);
      },
  };
}

class secure_transport final : public transport {
public:
  secure_transport(ctx_ptr ctx, std::string host, std::uint16_t port, replica_id peer)
      : ctx_(std::move(ctx)), host_(std::move(host)), port_(port), peer_(peer) {}
  void connect(caf::actor_system& sys, const link_actor& link) override {
    // Discovery: the newest signed address of the peer, else the configured one.
    std::string host = host_;
    std::uint16_t port = port_;
    if (ctx_->cfg.book)
      if (auto a = ctx_->cfg.book->address_of(peer_)) {
        host = a->host;
        port = a->port;
      }
    dialled_ = host + ":" + std::to_string(port);
    // Connecting blocks: a detached helper dials; the connection itself answers the link
    // (link_up once the handshake is done, link_fail if it is not).
    sys.spawn<caf::detached>(
        [ctx = ctx_, host, port, peer = peer_, link](caf::event_based_actor* h) {
          auto notify = caf::actor_cast<caf::actor>(link);
          auto r =
              h->system().middleman().spawn_client(dialled_fn, host, port, ctx, peer, notify, true);
          if (!r) h->send(link, link_fail_atom::value, h->system().render(r.error()));
        });
  }
  void release(caf::actor_system&, const acceptor_actor& peer) override {
    caf::anon_send_exit(peer, caf::exit_reason::user_shutdown);
  }
  [[nodiscard]] std::string describe() const override {
    return "secure:" + (dialled_.empty() ? host_ + ":" + std::to_string(port_) : dialled_);
  }

private:
  ctx_ptr ctx_;
  std::string host_;
  std::uint16_t port_;
  replica_id peer_;
  std::string dialled_; ///< the address of the last attempt (the link's actor only)
};

} // namespace
} // namespace secure_detail

using namespace secure_detail;

std::unique_ptr<transport> make_secure_transport(std::shared_ptr<secure_context> ctx,
                                                 std::string host, std::uint16_t port,
                                                 replica_id peer) {
  return std::make_unique<secure_transport>(std::move(ctx), std::move(host), port, peer);
}

caf::expected<std::pair<caf::actor, std::uint16_t>>
secure_listen(caf::actor_system& sys, std::shared_ptr<secure_context> ctx, acceptor_actor acceptor,
              const std::string& host, std::uint16_t port) {
  auto bound = std::make_shared<std::promise<caf::expected<std::uint16_t>>>();
  auto fut = bound->get_future();
  auto a = sys.middleman().spawn_broker(listener_fn, std::move(ctx), std::move(acceptor), host,
                                        port, bound);
  auto p = fut.get();
  if (!p) return p.error();
  return std::make_pair(caf::actor{a}, *p);
}

void secure_bootstrap(caf::actor_system& sys, std::shared_ptr<secure_context> ctx,
                      const std::string& host, std::uint16_t port) {
  sys.spawn<caf::detached>([ctx = std::move(ctx), host, port](caf::event_based_actor* h) {
    auto r = h->system().middleman().spawn_client(dialled_fn, host, port, ctx, net::any_validator,
                                                  caf::actor{h}, false);
    if (!r) {
      ctx->log->warn("secure link cannot reach bootstrap address={}:{} error=\"{}\"", host, port,
                     h->system().render(r.error()));
      h->quit();
      return caf::behavior{};
    }
    // Records go both ways right after the handshake; give them a moment, then close.
    return caf::behavior{
        [h](link_up_atom, const acceptor_actor&) {
          h->delayed_send(h, std::chrono::seconds(2), resume_atom::value);
        },
        [h](link_fail_atom, const std::string&) { h->quit(); },
        [h, conn = *r](resume_atom) {
          caf::anon_send_exit(conn, caf::exit_reason::user_shutdown);
          h->quit();
        },
    };
  });
}

caf::expected<acceptor_actor> secure_dial(caf::actor_system& sys,
                                          std::shared_ptr<secure_context> ctx,
                                          const std::string& host, std::uint16_t port,
                                          replica_id peer, std::chrono::milliseconds timeout) {
  caf::scoped_actor self{sys};
  auto r = sys.middleman().spawn_client(dialled_fn, host, port, std::move(ctx), peer,
                                        caf::actor{self}, false);
  if (!r) return r.error();
  caf::expected<acceptor_actor> out{caf::make_error(caf::sec::request_timeout, "handshake")};
  self->receive([&](link_up_atom, acceptor_actor& a) { out = std::move(a); },
                [&](link_fail_atom, std::string& why) {
                  out = caf::make_error(caf::sec::cannot_connect_to_node, why);
                },
                caf::after(timeout) >> [&] { caf::anon_send_exit(*r, caf::exit_reason::kill); });
  return out;
}

} // namespace bft::actors
