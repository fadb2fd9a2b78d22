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
#include "actors/secure_conn.hpp"
#include "crypto/ed25519.hpp"

namespace bft::actors {

std::shared_ptr<secure_context> make_secure_context(secure_config cfg) {
  return std::make_shared<secure_context>(std::move(cfg));
}

std::shared_ptr<secure_context>
make_client_secure_context(std::string chain_id, bft::epoch epoch, validator_set validators,
                           std::shared_ptr<const crypto::signer> signer) {
  auto me = std::make_shared<net::local_identity>();
  me->chain_id = std::move(chain_id);
  me->epoch = epoch;
  me->role = net::role::client;
  me->signer = std::move(signer);
  me->verifier = std::make_shared<crypto::ed25519_verifier>();
  me->validators = std::move(validators);
  secure_config sc;
  sc.me = std::move(me);
  return make_secure_context(std::move(sc));
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

namespace secure_detail {

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
  st.sess->seal(buf, k, wall_ms(st.ctx->cfg.clock_skew), head, tail);
  if (st.client) st.queued += buf.size() - before; // acknowledged by data_transferred_msg
  self->flush(st.hdl);
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
}

/// Accepted side: one call, passed to the acceptor as the link or client would pass it.
void on_call(conn_broker* self, const net::call& c) {
  auto& st = self->state;
  using op = net::call::op;
  if (st.client != (c.what == op::client))
    return end_conn(self, net::reason::protocol,
                    st.client ? "a client sent a peer call" : "a validator sent a client call");
  // Calls in flight: an honest link never has more than its window (64) unanswered, an
  // honest client one per request it waits for. One more than the limit ends the connection.
  // (Reading is never paused: CAF 0.17.6's halt/trigger on a connection does not resume
  // reading, measured by tests/attack's flood; a pause would leave the connection stuck.)
  const auto cap = st.client ? st.ctx->cfg.client_in_flight : st.ctx->cfg.peer_in_flight;
  if (st.in_flight >= cap)
    return end_conn(self, net::reason::in_flight,
                    "more calls awaiting an answer than the limit of " + std::to_string(cap));
  ++st.in_flight;
  if (st.client) {
    // A client's calls per second: a token bucket; a call without a token is answered with
    // an error at once, without reaching the gateway, and the client may try again.
    auto now = std::chrono::steady_clock::now();
    const double rate = st.ctx->cfg.client_frames_per_s;
    st.tokens =
        std::min(rate, st.tokens + rate * std::chrono::duration<double>(now - st.refilled).count());
    st.refilled = now;
    st.last_frame = now;
    if (st.tokens < 1) {
      st.ctx->refuse(net::reason::rate, st.peer_label, "client over its call rate: refused");
      return answer(self, c.id, net::reply::status::error, 0, "rate limited: try again later");
    }
    st.tokens -= 1;
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
    return;
  }
  // Discovery: both sides of a validator connection give the other the records they hold.
  if (st.ctx->cfg.book && st.ctx->cfg.me->role == net::role::validator) {
    auto body = net::encode_records(st.ctx->cfg.book->encoded_records());
    send_sealed(self, net::frame_kind::records, body);
  }
}

/// A validator's address records: offered to the book; saved if any was new.
void on_records(conn_broker* self, const bytes& body) {
  auto& st = self->state;
  auto& cfg = st.ctx->cfg;
  if (st.client) return end_conn(self, net::reason::protocol, "a client sent address records");
  if (!cfg.book) return;
  auto recs = net::decode_records(body);
  if (!recs) return end_conn(self, net::reason::protocol, recs.error().message());
  std::size_t accepted = 0;
  for (const auto& r : *recs) {
    const auto outcome = cfg.book->offer_encoded(r);
    if (outcome != net::offer_outcome::accepted) continue;
    ++accepted;
    if (auto rec = net::address_record::decode(r))
      st.ctx->log->info("secure link learns an address node={} validator={} address={} "
                        "sequence={} from={}",
                        cfg.me->id.value(), rec->id.value(), rec->address(), rec->sequence,
                        st.peer_label);
  }
  if (accepted == 0) return;
  // Our own record came back newer than the one we signed at start (our store was wiped and
  // our clock is behind): sign ours again, above it.
  if (cfg.advertise) {
    auto mine = cfg.book->address_of(cfg.me->id);
    if (!mine || mine->host != cfg.advertise->host || mine->port != cfg.advertise->port)
      (void)cfg.book->publish_own(cfg.me->id, *cfg.me->signer,
                                  config::host_port{cfg.advertise->host, cfg.advertise->port},
                                  wall_ms());
  }
  if (!cfg.book_file.empty())
    if (auto saved = cfg.book->save(cfg.book_file); !saved)
      st.ctx->log->warn("secure link cannot save the address book file={} error=\"{}\"",
                        cfg.book_file.string(), saved.error().message());
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
  auto o = st.sess->open(view_of(buf), wall_ms(st.ctx->cfg.clock_skew),
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
  case net::frame_kind::records: return on_records(self, o->body);
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
  // What arrives after the connection ended (a late close, a late request) is dropped.
  self->set_default_handler(caf::drop);
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

} // namespace secure_detail
} // namespace bft::actors
