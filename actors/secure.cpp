// The secure transport: net/secure_channel.hpp run inside CAF's middleman as brokers.
//
//  dialling side                                      accepting side
//  link ──(hello|peer|batch|client, frame)──▶ conn ══ sealed call ══▶ listener (handshake)
//       ◀────────── frame | ack | error ───── broker ◀═ sealed reply ══ └─fork─▶ conn broker
//                                                                              │ request
//                                                                              ▼
//                                                                          acceptor
// A dialled connection is the link's "acceptor": it forwards the link's requests as sealed
// calls and fulfils them from the replies, so link and acceptor cannot tell it from BASP.
// The listener runs every handshake itself (the limits on connections not yet authenticated
// live in one place) and forks each authenticated connection into a broker of its own, whose
// requests the acceptor sees from a distinct sender, as it sees BASP proxies.
#include <deque>
#include <future>
#include <set>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/log.hpp"
#include "actors/spawn.hpp"

namespace bft::actors {

using hs_timeout_atom = caf::atom_constant<caf::atom("hstimeout")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using report_atom = caf::atom_constant<caf::atom("report")>;
using idle_atom = caf::atom_constant<caf::atom("idlecheck")>;

class secure_context {
public:
  explicit secure_context(secure_config c) : cfg(std::move(c)) {
    BFT_ASSERT(cfg.me && cfg.me->signer && cfg.me->verifier, "the secure transport needs keys");
    if (cfg.probes != nullptr) {
      std::vector<std::string> names;
      for (int r = 0; r < static_cast<int>(net::reason::count_); ++r)
        names.emplace_back(net::to_string(static_cast<net::reason>(r)));
      probe = std::make_unique<secure_probe>(*cfg.probes, cfg.me->id, names);
    }
    for (int r = 0; r < static_cast<int>(net::reason::count_); ++r) counts[r] = 0;
    limiter = rate_limiter(cfg.log_interval);
  }

  /// Counts the refusal, and logs one line per reason per interval.
  void refuse(net::reason r, const std::string& who, const std::string& detail) {
    const auto name = std::string(net::to_string(r));
    if (probe) probe->on_rejected(name);
    std::uint64_t held = 0;
    bool allowed = false;
    {
      std::lock_guard<std::mutex> g(mtx);
      ++counts[static_cast<int>(r)];
      allowed = limiter.allow(name, held);
    }
    if (allowed)
      log->warn("secure link refused node={} peer={} reason={} detail=\"{}\" suppressed={}",
                cfg.me->id.value(), who, name, detail, held);
  }

  [[nodiscard]] std::optional<monitor_actor> monitor() const {
    std::lock_guard<std::mutex> g(mtx);
    return mon;
  }

  secure_config cfg;
  std::unique_ptr<secure_probe> probe;
  std::shared_ptr<spdlog::logger> log = component_logger("secure");
  mutable std::mutex mtx; ///< guards what follows
  rate_limiter limiter;
  std::optional<monitor_actor> mon;
  std::array<std::uint64_t, static_cast<int>(net::reason::count_)> counts{};
};

std::shared_ptr<secure_context> make_secure_context(secure_config cfg) {
  return std::make_shared<secure_context>(std::move(cfg));
}

void set_secure_monitor(secure_context& ctx, monitor_actor m) {
  std::lock_guard<std::mutex> g(ctx.mtx);
  ctx.mon = std::move(m);
}

std::uint64_t secure_rejections(const secure_context& ctx, const std::string& reason) {
  std::lock_guard<std::mutex> g(ctx.mtx);
  for (int r = 0; r < static_cast<int>(net::reason::count_); ++r)
    if (net::to_string(static_cast<net::reason>(r)) == reason) return ctx.counts[r];
  return 0;
}

namespace {

using ctx_ptr = std::shared_ptr<secure_context>;

std::uint64_t wall_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

byte_view view_of(const std::vector<char>& buf) {
  return {reinterpret_cast<const std::uint8_t*>(buf.data()), buf.size()};
}

/// Reads length-prefixed messages: first exactly 4 bytes, then exactly the length (checked
/// against `max` first), so CAF never buffers more than what we allowed.
struct framer {
  bool want_prefix = true;
  std::size_t max = net::max_handshake_bytes;
  enum class got { more, body, oversized };
  got on_read(caf::io::abstract_broker* self, caf::io::connection_handle hdl,
              const std::vector<char>& buf) {
    if (want_prefix) {
      if (buf.size() != net::prefix_bytes) return got::oversized;
      auto n = net::read_prefix(reinterpret_cast<const std::uint8_t*>(buf.data()), max);
      if (!n) return got::oversized;
      want_prefix = false;
      self->configure_read(hdl, caf::io::receive_policy::exactly(*n));
      return got::more;
    }
    want_prefix = true;
    self->configure_read(hdl, caf::io::receive_policy::exactly(net::prefix_bytes));
    return got::body;
  }
};

void write_plain(caf::io::abstract_broker* self, caf::io::connection_handle hdl, const bytes& m) {
  auto& buf = self->wr_buf(hdl);
  const auto at = buf.size();
  buf.resize(at + net::prefix_bytes + m.size());
  net::put_prefix(reinterpret_cast<std::uint8_t*>(buf.data() + at),
                  static_cast<std::uint32_t>(m.size()));
  std::copy(m.begin(), m.end(), buf.begin() + static_cast<std::ptrdiff_t>(at + net::prefix_bytes));
  self->flush(hdl);
}

// ---- one connection (dialled, or accepted and forked off the listener) ----

struct conn_state {
  static inline const char* name = "bft.secure.conn";
  ctx_ptr ctx;
  caf::io::connection_handle hdl;
  framer fr;
  std::optional<net::handshake> hs; ///< dialling, until the handshake is done
  std::optional<net::session> sess;
  bool dialled = false;
  caf::actor notify; ///< dialling: hears link_up / link_fail once
  bool notified = false;
  std::string peer_label = "?"; ///< validator id, or "client"
  replica_id peer_id{0};
  bool client = false;
  bool closing = false;
  // dialling: the link's calls awaiting replies
  std::uint32_t next_call = 1;
  std::map<std::uint32_t, caf::response_promise> waiting;
  // accepted: the acceptor, calls in flight to it, throttling
  std::optional<acceptor_actor> acceptor;
  std::size_t in_flight = 0;
  bool halted = false;
  bool rate_limited = false;
  double tokens = 0;
  std::chrono::steady_clock::time_point refilled{};
  std::chrono::steady_clock::time_point last_frame{};
  std::size_t queued = 0; ///< clients: bytes written and not yet sent
  // link checks
  std::uint64_t anomalies = 0;
  bool report_scheduled = false;
};

using conn_broker = caf::io::stateful_broker<conn_state>;

/// Ends the connection: counts `r` (if any), fails every call still waiting, tells the link
/// if the handshake never completed, closes the socket and quits.
void end_conn(conn_broker* self, std::optional<net::reason> r, const std::string& why) {
  auto& st = self->state;
  if (st.closing) return;
  st.closing = true;
  if (r) st.ctx->refuse(*r, st.peer_label, why);
  for (auto& [id, rp] : st.waiting)
    rp.deliver(caf::make_error(caf::sec::request_receiver_down, why));
  st.waiting.clear();
  if (st.dialled && !st.notified && st.notify) {
    st.notified = true;
    self->send(st.notify, link_fail_atom::value, why);
  }
  self->close(st.hdl);
  self->quit();
}

void send_sealed(conn_broker* self, net::frame_kind k, byte_view head, byte_view tail = {}) {
  auto& st = self->state;
  auto& buf = self->wr_buf(st.hdl);
  const auto before = buf.size();
  st.sess->seal(buf, k, wall_ms(), head, tail);
  st.queued += buf.size() - before;
  self->flush(st.hdl);
}

/// Accepted side: resumes reading once the calls in flight drained and the client has tokens.
void maybe_resume(conn_broker* self) {
  auto& st = self->state;
  const auto cap = st.client ? st.ctx->cfg.client_in_flight : st.ctx->cfg.peer_in_flight;
  if (st.halted && !st.rate_limited && st.in_flight <= cap / 2) {
    st.halted = false;
    self->trigger(st.hdl);
  }
}

void answer(conn_broker* self, std::uint32_t id, net::reply::status s, std::uint32_t from,
            std::string_view data) {
  auto& st = self->state;
  if (st.closing) return;
  BFT_ASSERT(st.in_flight > 0, "an answer matches a call in flight");
  --st.in_flight;
  net::reply r;
  r.id = id;
  r.what = s;
  r.from = from;
  r.data = data;
  auto head = r.head();
  send_sealed(self, net::frame_kind::reply, head, as_bytes(data));
  if (st.client && st.queued > st.ctx->cfg.client_queued_bytes)
    return end_conn(self, net::reason::queued, "client does not read its answers");
  maybe_resume(self);
}

/// Accepted side: one call, passed to the acceptor as the link or client would pass it.
void on_call(conn_broker* self, const net::call& c) {
  auto& st = self->state;
  using op = net::call::op;
  if (st.client != (c.what == op::client))
    return end_conn(self, net::reason::protocol,
                    st.client ? "a client sent a peer call" : "a validator sent a client call");
  if (st.client) {
    auto now = std::chrono::steady_clock::now();
    const double rate = st.ctx->cfg.client_frames_per_s;
    st.tokens =
        std::min(rate, st.tokens + rate * std::chrono::duration<double>(now - st.refilled).count());
    st.refilled = now;
    st.last_frame = now;
    st.tokens -= 1;
    if (st.tokens < 0 && !st.rate_limited) {
      st.rate_limited = true;
      st.halted = true;
      self->halt(st.hdl);
      st.ctx->refuse(net::reason::rate, st.peer_label, "client over its frame rate: throttled");
      auto wait = std::chrono::duration<double>((1.0 - st.tokens) / rate);
      self->delayed_send(self,
                         std::chrono::duration_cast<std::chrono::milliseconds>(wait) +
                             std::chrono::milliseconds(1),
                         resume_atom::value);
    }
  }
  const auto cap = st.client ? st.ctx->cfg.client_in_flight : st.ctx->cfg.peer_in_flight;
  ++st.in_flight;
  if (st.in_flight >= cap && !st.halted) {
    st.halted = true;
    self->halt(st.hdl);
  }
  const auto id = c.id;
  frame f{c.from, std::string(c.data)};
  const auto to = st.ctx->cfg.call_timeout;
  auto on_frame = [self, id](frame& r) {
    answer(self, id, net::reply::status::frame, r.from, r.data);
  };
  auto on_ack = [self, id](ack_atom) { answer(self, id, net::reply::status::ack, 0, {}); };
  auto on_error = [self, id](caf::error& e) {
    answer(self, id, net::reply::status::error, 0, self->system().render(e));
  };
  switch (c.what) {
  case op::hello:
    self->request(*st.acceptor, to, hello_atom::value, std::move(f)).then(on_frame, on_error);
    break;
  case op::peer:
    self->request(*st.acceptor, to, peer_atom::value, std::move(f)).then(on_ack, on_error);
    break;
  case op::batch:
    self->request(*st.acceptor, to, batch_atom::value, std::move(f)).then(on_ack, on_error);
    break;
  case op::client:
    self->request(*st.acceptor, to, client_atom::value, std::move(f)).then(on_frame, on_error);
    break;
  }
}

/// Dialling side: the answer to one of the link's calls.
void on_reply(conn_broker* self, const net::reply& r) {
  auto& st = self->state;
  auto it = st.waiting.find(r.id);
  if (it == st.waiting.end()) return end_conn(self, net::reason::protocol, "a reply to no call");
  auto rp = std::move(it->second);
  st.waiting.erase(it);
  switch (r.what) {
  case net::reply::status::frame: rp.deliver(frame{r.from, std::string(r.data)}); break;
  case net::reply::status::ack: rp.deliver(ack_atom::value); break;
  case net::reply::status::error:
    rp.deliver(caf::make_error(caf::sec::invalid_argument, std::string(r.data)));
    break;
  }
}

void note_anomaly(conn_broker* self, const net::link_anomaly& a) {
  auto& st = self->state;
  if (!a.seq_gap && !a.seq_back && !a.clock_out) return;
  if (st.ctx->probe) {
    if (a.seq_gap) st.ctx->probe->on_anomaly(st.peer_label, "seq_gap");
    if (a.seq_back) st.ctx->probe->on_anomaly(st.peer_label, "seq_back");
    if (a.clock_out) st.ctx->probe->on_anomaly(st.peer_label, "clock");
  }
  if (st.client) return;
  ++st.anomalies;
  if (!st.report_scheduled) {
    st.report_scheduled = true;
    self->delayed_send(self, std::chrono::seconds(1), report_atom::value);
  }
}

void established(conn_broker* self) {
  auto& st = self->state;
  st.fr.max = net::max_sealed_bytes;
  const auto& p = st.sess->peer();
  st.client = p.role == net::role::client;
  st.peer_id = p.id;
  st.peer_label = st.client ? "client" : std::to_string(p.id.value());
  st.last_frame = std::chrono::steady_clock::now();
  st.refilled = st.last_frame;
  st.tokens = st.ctx->cfg.client_frames_per_s;
  if (st.client) {
    self->ack_writes(st.hdl, true);
    self->delayed_send(self, st.ctx->cfg.client_idle, idle_atom::value);
  }
}

void on_data(conn_broker* self, const std::vector<char>& buf) {
  auto& st = self->state;
  if (st.closing) return;
  switch (st.fr.on_read(self, st.hdl, buf)) {
  case framer::got::oversized:
    return end_conn(self, net::reason::oversized, "length prefix over the limit");
  case framer::got::more: return;
  case framer::got::body: break;
  }
  if (st.hs) {
    auto step = st.hs->on_message(view_of(buf));
    if (step.refused) return end_conn(self, step.refused, "handshake refused");
    if (!step.send.empty()) write_plain(self, st.hdl, step.send);
    if (!st.hs->done()) return;
    st.sess.emplace(st.hs->take_session());
    st.hs.reset();
    established(self);
    st.notified = true;
    self->send(st.notify, link_up_atom::value, caf::actor_cast<acceptor_actor>(self));
    return;
  }
  auto o = st.sess->open(view_of(buf), wall_ms(),
                         static_cast<std::uint64_t>(st.ctx->cfg.clock_window.count()));
  if (!o) return end_conn(self, net::reason::bad_frame, o.error().message());
  note_anomaly(self, o->anomaly);
  switch (o->kind) {
  case net::frame_kind::call: {
    if (st.dialled) return end_conn(self, net::reason::protocol, "a call to the dialling side");
    auto c = net::call::decode(o->body);
    if (!c) return end_conn(self, net::reason::protocol, c.error().message());
    return on_call(self, *c);
  }
  case net::frame_kind::reply: {
    if (!st.dialled) return end_conn(self, net::reason::protocol, "a reply to the accepting side");
    auto r = net::reply::decode(o->body);
    if (!r) return end_conn(self, net::reason::protocol, r.error().message());
    return on_reply(self, *r);
  }
  case net::frame_kind::records: return; // address records: not carried yet
  }
}

/// Dialling side: one of the link's requests as a sealed call.
void forward(conn_broker* self, net::call::op what, frame& f) {
  auto& st = self->state;
  auto rp = self->make_response_promise();
  if (st.closing || !st.sess) {
    rp.deliver(caf::make_error(caf::sec::request_receiver_down, "connection closed"));
    return;
  }
  if (f.data.size() > net::max_payload_bytes) {
    rp.deliver(caf::make_error(caf::sec::invalid_argument, "frame over the payload limit"));
    return;
  }
  net::call c;
  c.id = st.next_call++;
  c.what = what;
  c.from = f.from;
  c.data = f.data;
  auto head = c.head();
  st.waiting.emplace(c.id, std::move(rp));
  send_sealed(self, net::frame_kind::call, head, as_bytes(f.data));
}

caf::behavior conn_behavior(conn_broker* self) {
  self->set_down_handler([self](caf::down_msg& dm) {
    if (self->state.notify && dm.source == self->state.notify.address())
      end_conn(self, std::nullopt, "the link went away");
  });
  return {
      [self](const caf::io::new_data_msg& m) { on_data(self, m.buf); },
      [self](const caf::io::data_transferred_msg& m) {
        auto& st = self->state;
        st.queued = st.queued > m.written ? st.queued - m.written : 0;
      },
      [self](const caf::io::connection_closed_msg&) {
        end_conn(self, std::nullopt, "connection closed by the peer");
      },
      [self](hs_timeout_atom) {
        if (self->state.hs)
          end_conn(self, net::reason::handshake_timeout, "no handshake answer in time");
      },
      [self](resume_atom) {
        self->state.rate_limited = false;
        maybe_resume(self);
      },
      [self](idle_atom) {
        auto& st = self->state;
        const auto idle = std::chrono::steady_clock::now() - st.last_frame;
        if (idle >= st.ctx->cfg.client_idle) return end_conn(self, std::nullopt, "idle client");
        self->delayed_send(self, st.ctx->cfg.client_idle, idle_atom::value);
      },
      [self](report_atom) {
        auto& st = self->state;
        st.report_scheduled = false;
        if (auto m = st.ctx->monitor(); m && st.anomalies > 0) {
          observations obs;
          peer_observation po;
          po.peer = st.peer_id;
          po.link_anomalies = st.anomalies;
          obs.peers.push_back(po);
          self->send(*m, observe_atom::value, std::move(obs));
        }
        st.anomalies = 0;
      },
      [self](hello_atom, frame& f) { forward(self, net::call::op::hello, f); },
      [self](peer_atom, frame& f) { forward(self, net::call::op::peer, f); },
      [self](batch_atom, frame& f) { forward(self, net::call::op::batch, f); },
      [self](client_atom, frame& f) { forward(self, net::call::op::client, f); },
  };
}

caf::behavior dialled_fn(conn_broker* self, caf::io::connection_handle hdl, ctx_ptr ctx,
                         replica_id peer, caf::actor notify, bool watch_notify) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.hdl = hdl;
  st.dialled = true;
  st.notify = std::move(notify);
  st.peer_label = std::to_string(peer.value());
  st.peer_id = peer;
  st.hs.emplace(net::handshake::dial(st.ctx->cfg.me, peer));
  if (watch_notify) self->monitor(st.notify);
  write_plain(self, hdl, st.hs->hello());
  self->configure_read(hdl, caf::io::receive_policy::exactly(net::prefix_bytes));
  self->delayed_send(self, st.ctx->cfg.handshake_timeout, hs_timeout_atom::value);
  return conn_behavior(self);
}

caf::behavior accepted_fn(conn_broker* self, caf::io::connection_handle hdl, ctx_ptr ctx,
                          net::session s, acceptor_actor acceptor) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.hdl = hdl;
  st.sess.emplace(std::move(s));
  st.acceptor = std::move(acceptor);
  established(self);
  self->configure_read(hdl, caf::io::receive_policy::exactly(net::prefix_bytes));
  return conn_behavior(self);
}

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
    st.gauges();
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
  };
}

class secure_transport final : public transport {
public:
  secure_transport(ctx_ptr ctx, std::string host, std::uint16_t port, replica_id peer)
      : ctx_(std::move(ctx)), host_(std::move(host)), port_(port), peer_(peer) {}
  void connect(caf::actor_system& sys, const link_actor& link) override {
    // Connecting blocks: a detached helper dials; the connection itself answers the link
    // (link_up once the handshake is done, link_fail if it is not).
    sys.spawn<caf::detached>(
        [ctx = ctx_, host = host_, port = port_, peer = peer_, link](caf::event_based_actor* h) {
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
    return "secure:" + host_ + ":" + std::to_string(port_);
  }

private:
  ctx_ptr ctx_;
  std::string host_;
  std::uint16_t port_;
  replica_id peer_;
};

} // namespace

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
