#include "tools/attack/attacks.hpp"

#include <cstdio>
#include <random>
#include <stdexcept>
#include <thread>

#include "actors/wire.hpp"
#include "config/address.hpp"
#include "config/genesis.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/key_file.hpp"
#include "tools/attack/socket.hpp"

namespace bft::attack {

namespace {

using namespace std::chrono_literals;

constexpr auto connect_timeout = 2s;
/// How long the victim has to close a hostile connection before the attack calls it open.
constexpr auto close_within = 10s;

std::shared_ptr<net::local_identity> identity_for(const config::genesis& g, const validator_set& vs,
                                                  net::role r, replica_id id, crypto::key_pair kp) {
  auto me = std::make_shared<net::local_identity>();
  me->chain_id = g.chain_id;
  me->role = r;
  me->id = id;
  me->signer = std::make_shared<crypto::ed25519_signer>(std::move(kp));
  me->verifier = std::make_shared<crypto::ed25519_verifier>();
  me->validators = vs;
  return me;
}

tcp_socket connect_to(const target& t, const std::string& source = {}) {
  auto s = tcp_socket::connect(t.host, t.port, source, connect_timeout);
  if (!s)
    throw std::runtime_error("cannot connect to " + t.host + ":" + std::to_string(t.port) +
                             (source.empty() ? "" : " from " + source));
  return std::move(*s);
}

/// Writes filler for up to `seconds` (1 MiB at most) and waits for the victim to close.
bool victim_closes(tcp_socket& s, const char* what) {
  const auto start = clock::now();
  bytes filler(64 * 1024, 0x41);
  std::size_t sent = 0;
  for (int i = 0; i < 16 && !s.peer_closed(); ++i) sent += s.write_all(filler, start + 3s);
  const bool closed = s.wait_closed(start + close_within);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
  std::printf("attack=%s filler_bytes_written=%zu victim_closed=%s after_ms=%lld\n", what, sent,
              closed ? "yes" : "no", static_cast<long long>(ms.count()));
  return closed;
}

/// The dialling side of a secure handshake, with the messages it sent.
struct dialled {
  tcp_socket sock;
  std::optional<net::session> sess;
  bytes hello;
  bytes proof;
};

dialled dial(const target& t, std::shared_ptr<const net::local_identity> me) {
  dialled d{connect_to(t), std::nullopt, {}, {}};
  auto hs = net::handshake::dial(std::move(me), t.id);
  const auto deadline = clock::now() + 5s;
  d.hello = hs.hello();
  if (!d.sock.write_message(d.hello, deadline)) throw std::runtime_error("hello not sent");
  auto answer = d.sock.read_message(net::max_handshake_bytes, deadline);
  if (!answer) throw std::runtime_error("no handshake answer from the victim");
  auto step = hs.on_message(*answer);
  if (step.refused)
    throw std::runtime_error("the victim's answer is refused: " +
                             std::string(net::to_string(*step.refused)));
  d.proof = step.send;
  if (!d.sock.write_message(d.proof, deadline)) throw std::runtime_error("proof not sent");
  d.sess.emplace(hs.take_session());
  return d;
}

std::uint64_t now_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

bytes sealed_call(net::session& s, net::call::op what, std::uint32_t from, std::string_view data,
                  std::uint32_t id) {
  net::call c;
  c.id = id;
  c.what = what;
  c.from = from;
  c.data = data;
  bytes out;
  s.seal(out, net::frame_kind::call, now_ms(), c.head(), as_bytes(data));
  return out;
}

/// The next reply frame on the session; frames of other kinds (the address records a victim
/// sends after the handshake) are opened, so the stream stays in step, and passed over.
net::opened next_reply(dialled& d, clock::time_point deadline) {
  for (;;) {
    auto m = d.sock.read_message(net::max_sealed_bytes, deadline);
    if (!m) throw std::runtime_error("no reply to a call");
    auto o = d.sess->open(*m, now_ms(), 300000);
    if (!o) throw std::runtime_error("reply does not open: " + o.error().message());
    if (o->kind == net::frame_kind::reply) return std::move(*o);
  }
}

/// One call and its reply's data (for the link handshake).
std::string call_and_wait(dialled& d, net::call::op what, std::uint32_t from, std::string_view data,
                          std::uint32_t id) {
  const auto deadline = clock::now() + 5s;
  if (d.sock.write_all(sealed_call(*d.sess, what, from, data, id), deadline) == 0)
    throw std::runtime_error("call not sent");
  auto o = next_reply(d, deadline);
  auto r = net::reply::decode(o.body);
  if (!r || r->id != id) throw std::runtime_error("not the reply to the call");
  if (r->what != net::reply::status::frame)
    throw std::runtime_error("the call was refused: " + std::string(r->data));
  return std::string(r->data);
}

/// The link's own hello (actors/wire.hpp) through the session: proves `me`'s validator id to
/// the victim's acceptor, so that its peer frames reach the replica.
void link_hello(dialled& d, const net::local_identity& me) {
  actors::hello h1;
  h1.step = 1;
  h1.chain_id = me.chain_id;
  h1.id = me.id;
  h1.fresh = actors::make_nonce();
  auto a =
      actors::hello::decode(call_and_wait(d, net::call::op::hello, me.id.value(), h1.encode(), 1));
  if (!a || a->step != 2 || a->echo != h1.fresh) throw std::runtime_error("bad link hello 2");
  actors::hello h3;
  h3.step = 3;
  h3.chain_id = me.chain_id;
  h3.id = me.id;
  h3.echo = a->fresh;
  h3.sign(*me.signer, me.epoch);
  auto b =
      actors::hello::decode(call_and_wait(d, net::call::op::hello, me.id.value(), h3.encode(), 2));
  if (!b || b->step != 4) throw std::runtime_error("the link hello was not accepted");
}

std::string random_string(std::mt19937_64& rng, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

} // namespace

target load_target(const std::string& genesis, replica_id victim, const std::string& key_file,
                   replica_id as_id) {
  crypto::init_sodium();
  auto g = config::load_genesis(genesis);
  if (!g) throw std::runtime_error(g.error().message());
  auto vs = config::make_validator_set(*g);
  if (!vs) throw std::runtime_error(vs.error().message());
  const auto* v = vs->find(victim);
  if (v == nullptr) throw std::runtime_error("no validator " + std::to_string(victim.value()));
  auto hp = config::parse_host_port(v->address);
  if (!hp) throw std::runtime_error(hp.error().message());
  target t;
  t.host = hp->host;
  t.port = hp->port;
  t.id = victim;
  t.client = identity_for(*g, *vs, net::role::client, replica_id{0}, crypto::generate_key_pair());
  if (!key_file.empty()) {
    auto kp = crypto::load_key_file(key_file);
    if (!kp) throw std::runtime_error(kp.error().message());
    t.as_peer = identity_for(*g, *vs, net::role::validator, as_id, std::move(*kp));
  }
  return t;
}

int oversized_header(const target& t, stage s) {
  std::optional<dialled> d;
  tcp_socket plain;
  tcp_socket* sock = &plain;
  if (s == stage::before_handshake) {
    plain = connect_to(t);
  } else {
    if (s == stage::as_validator && !t.as_peer)
      throw std::runtime_error("--stage validator needs --key and --as");
    d.emplace(dial(t, s == stage::as_client ? t.client : t.as_peer));
    sock = &d->sock;
  }
  const std::uint8_t prefix[4] = {0xff, 0xff, 0xff, 0xff};
  sock->write_all(prefix, clock::now() + 2s);
  const char* what = s == stage::before_handshake ? "oversize-pre"
                     : s == stage::as_client      ? "oversize-client"
                                                  : "oversize-validator";
  return victim_closes(*sock, what) ? 0 : 1;
}

int basp_header(const target& t) {
  auto s = connect_to(t);
  // CAF 0.17 basp::header, big-endian: operation (direct_message = 2), two padding bytes,
  // flags, payload_len, operation_data, source_actor, dest_actor.
  bytes h(32, 0);
  h[0] = 2;
  for (int i = 4; i < 8; ++i) h[i] = 0xff;
  h[31] = 1;
  s.write_all(h, clock::now() + 2s);
  return victim_closes(s, "basp") ? 0 : 1;
}

int idle_connections(const target& t, std::size_t count, const std::vector<std::string>& sources,
                     std::chrono::seconds hold) {
  const auto limit = raise_open_files();
  if (limit < count + 32)
    throw std::runtime_error("open files limit " + std::to_string(limit) + " is too low for " +
                             std::to_string(count) + " connections (ulimit -n)");
  std::vector<tcp_socket> socks;
  socks.reserve(count);
  const std::size_t per_source = (count + sources.size() - 1) / sources.size();
  std::size_t failed = 0;
  // Source by source: the first sources meet the per-source limit, the last the total one.
  for (std::size_t i = 0; i < count; ++i) {
    auto s = tcp_socket::connect(t.host, t.port, sources[i / per_source], connect_timeout);
    if (s)
      socks.push_back(std::move(*s));
    else
      ++failed;
  }
  const auto until = clock::now() + hold;
  std::size_t closed = 0;
  while (clock::now() < until) {
    closed = 0;
    for (auto& s : socks) closed += (s.peer_closed() || !s.drain()) ? 1 : 0;
    if (closed == socks.size()) break;
    std::this_thread::sleep_for(100ms);
  }
  std::printf("attack=idle connections=%zu connect_failed=%zu closed_by_victim=%zu held_s=%lld\n",
              socks.size(), failed, closed, static_cast<long long>(hold.count()));
  return closed > 0 ? 0 : 1;
}

int slow_handshake(const target& t, std::chrono::milliseconds every, std::chrono::seconds limit) {
  auto s = connect_to(t);
  auto hs = net::handshake::dial(t.client, t.id);
  const auto hello = hs.hello();
  bytes msg(net::prefix_bytes + hello.size());
  net::put_prefix(msg.data(), static_cast<std::uint32_t>(hello.size()));
  std::copy(hello.begin(), hello.end(), msg.begin() + net::prefix_bytes);
  const auto start = clock::now();
  std::size_t sent = 0;
  // One byte at a time, never the whole hello: the victim must end it by its clock.
  while (sent + 1 < msg.size() && clock::now() < start + limit) {
    sent += s.write_all(byte_view(msg).subspan(sent, 1), clock::now() + 1s);
    if (s.peer_closed() || s.wait_closed(clock::now() + every)) break;
  }
  const bool closed = s.peer_closed();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
  std::printf("attack=slow bytes_trickled=%zu of=%zu victim_closed=%s after_ms=%lld\n", sent,
              msg.size(), closed ? "yes" : "no", static_cast<long long>(ms.count()));
  return closed ? 0 : 1;
}

int random_bytes(const target& t, std::size_t connections, std::size_t size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::size_t closed = 0;
  for (std::size_t i = 0; i < connections; ++i) {
    auto s = connect_to(t);
    auto junk = random_string(rng, size);
    if (i % 2 == 1) // a plausible length, so the junk reaches the hello parser
      net::put_prefix(reinterpret_cast<std::uint8_t*>(junk.data()),
                      static_cast<std::uint32_t>(1 + rng() % net::max_handshake_bytes));
    s.write_all(as_bytes(junk), clock::now() + 2s);
    closed += s.wait_closed(clock::now() + close_within) ? 1 : 0;
  }
  std::printf("attack=random seed=%llu connections=%zu bytes_each=%zu closed_by_victim=%zu\n",
              static_cast<unsigned long long>(seed), connections, size, closed);
  return closed == connections ? 0 : 1;
}

int unknown_key(const target& t, replica_id claim) {
  auto me = std::make_shared<net::local_identity>(*t.client);
  me->role = net::role::validator;
  me->id = claim;
  me->signer = std::make_shared<crypto::ed25519_signer>(crypto::generate_key_pair());
  auto s = connect_to(t);
  auto hs = net::handshake::dial(me, t.id);
  s.write_message(hs.hello(), clock::now() + 2s);
  auto answer = s.read_message(net::max_handshake_bytes, clock::now() + close_within);
  const bool refused = !answer && s.peer_closed();
  std::printf("attack=unknown-key claim=%u victim_answered=%s victim_closed=%s\n",
              static_cast<unsigned>(claim.value()), answer ? "yes" : "no",
              s.peer_closed() ? "yes" : "no");
  return refused ? 0 : 1;
}

int replayed_handshake(const target& t) {
  auto first = dial(t, t.client);
  first.sock.close();
  auto s = connect_to(t);
  s.write_message(first.hello, clock::now() + 2s);
  s.write_message(first.proof, clock::now() + 2s);
  auto answer = s.read_message(net::max_handshake_bytes, clock::now() + close_within);
  const bool closed = s.wait_closed(clock::now() + close_within);
  std::printf("attack=replay hello_bytes=%zu proof_bytes=%zu victim_answered=%s "
              "victim_closed=%s\n",
              first.hello.size(), first.proof.size(), answer ? "yes" : "no", closed ? "yes" : "no");
  return !answer && closed ? 0 : 1;
}

int flood(const target& t, std::chrono::seconds duration, std::uint64_t seed, bool expect_close,
          std::size_t window) {
  if (!t.as_peer) throw std::runtime_error("flood needs --key and --as (a validator's key)");
  auto d = dial(t, t.as_peer);
  link_hello(d, *t.as_peer);
  std::mt19937_64 rng(seed);
  const auto from = t.as_peer->id.value();
  const auto replayed = random_string(rng, 512);
  std::uint32_t id = 3;
  std::size_t calls = 0, answered = 0;
  std::uint64_t bytes_sent = 0;
  bytes last;
  const auto until = clock::now() + duration;
  while (clock::now() < until && !d.sock.peer_closed()) {
    std::string data;
    auto what = net::call::op::peer;
    switch (rng() % 4) {
    case 0: data = random_string(rng, 16 + rng() % 2048); break; // garbage engine frame
    case 1: data = replayed; break;                              // the same frame again
    case 2: {                                                    // a batch of garbage
      what = net::call::op::batch;
      for (int i = 0, n = 1 + static_cast<int>(rng() % 16); i < n; ++i)
        actors::append_to_batch(data, as_bytes(random_string(rng, 16 + rng() % 512)));
      break;
    }
    default: data = random_string(rng, 64); break; // with the wrong sender id below
    }
    const auto sender = what == net::call::op::peer && data.size() == 64 ? from + 1 : from;
    last = sealed_call(*d.sess, what, sender, data, id++);
    bytes_sent += d.sock.write_all(last, clock::now() + 1s);
    ++calls;
    if (window == 0) {
      d.sock.drain(); // the victim's replies, unread: over its limit of calls in flight
      continue;
    }
    // As fast as the victim answers, with `window` calls unanswered (a link's window is 64).
    while (calls - answered >= window && !d.sock.peer_closed()) {
      try {
        (void)next_reply(d, clock::now() + 5s);
        ++answered;
      } catch (const std::exception&) {
        break;
      }
    }
  }
  const bool closed_during = d.sock.peer_closed();
  if (last.empty()) {
    last = sealed_call(*d.sess, net::call::op::peer, from, replayed, id++);
    d.sock.write_all(last, clock::now() + 1s);
  }
  // A sealed frame sent twice does not open the second time: the victim must close.
  d.sock.write_all(last, clock::now() + 2s);
  const bool closed = d.sock.wait_closed(clock::now() + close_within);
  std::printf("attack=flood as=%u seconds=%lld calls=%zu bytes=%llu closed_during=%s "
              "closed_after_replayed_frame=%s\n",
              static_cast<unsigned>(from), static_cast<long long>(duration.count()), calls,
              static_cast<unsigned long long>(bytes_sent), closed_during ? "yes" : "no",
              closed ? "yes" : "no");
  // Within the window the victim serves the flood to the end and then closes on the replayed
  // frame; without a window it closes during the flood (calls in flight over its limit).
  if (window == 0) return closed_during || closed ? 0 : 1;
  return !closed_during && (closed || !expect_close) ? 0 : 1;
}

} // namespace bft::attack
