// The secure transport over loopback with a real middleman: a call round trip for a
// validator and a client, and each limit just over it (frame size, connections handshaking
// in all and per source, handshake time, sessions per validator, a client's calls in flight
// and frame rate). Counters are read from the transport's context; waits poll with a bound.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <doctest/doctest.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/spawn.hpp"
#include "crypto/ed25519.hpp"

using namespace bft;
using namespace bft::actors;
using namespace std::chrono_literals;

namespace {

/// Answers like an acceptor: hello and client calls echo their frame, peer frames are
/// acknowledged. With `hold_clients`, client calls are never answered (counted only).
struct fake_acceptor_state {
  std::shared_ptr<std::atomic<int>> client_calls;
  std::vector<caf::typed_response_promise<frame>> held;
};

acceptor_actor::behavior_type
fake_acceptor(acceptor_actor::stateful_pointer<fake_acceptor_state> self,
              std::shared_ptr<std::atomic<int>> client_calls, bool hold_clients) {
  self->state.client_calls = std::move(client_calls);
  return {
      [](hello_atom, frame& f) -> frame { return f; },
      [](peer_atom, frame&) -> ack_atom { return ack_atom::value; },
      [](batch_atom, frame&) -> ack_atom { return ack_atom::value; },
      [self, hold_clients](client_atom, frame& f) -> caf::result<frame> {
        ++*self->state.client_calls;
        if (!hold_clients) return f;
        auto rp = self->make_response_promise<frame>();
        self->state.held.push_back(rp);
        return rp;
      },
  };
}

struct keys {
  std::vector<std::shared_ptr<crypto::ed25519_signer>> signers;
  validator_set vs;
  keys() {
    std::vector<public_key> pubs;
    for (int i = 0; i < 4; ++i) {
      signers.push_back(std::make_shared<crypto::ed25519_signer>(crypto::generate_key_pair()));
      pubs.push_back(signers.back()->key());
    }
    vs = validator_set::equal_weights(pubs);
  }
  std::shared_ptr<net::local_identity> me(std::uint32_t i, net::role r = net::role::validator) {
    auto m = std::make_shared<net::local_identity>();
    m->chain_id = "secure-test";
    m->role = r;
    m->id = replica_id{i};
    m->signer = r == net::role::client
                    ? std::make_shared<crypto::ed25519_signer>(crypto::generate_key_pair())
                    : signers.at(i);
    m->verifier = std::make_shared<crypto::ed25519_verifier>();
    m->validators = vs;
    return m;
  }
};

struct fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  keys k;
  std::shared_ptr<std::atomic<int>> client_calls = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<secure_context> server;
  caf::actor listener;
  acceptor_actor acceptor;
  std::vector<acceptor_actor> dialled;
  std::uint16_t port = 0;

  fixture() {
    configure(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
  ~fixture() {
    // Every connection ends before the actor system does (brokers it no longer runs would be
    // leaked): the dialled ones here, the accepted ones by the listener, which goes after them.
    caf::scoped_actor self{*sys};
    std::vector<caf::actor> going;
    for (auto& d : dialled) going.push_back(caf::actor_cast<caf::actor>(d));
    if (listener) going.push_back(listener);
    for (auto& a : going) {
      self->monitor(a);
      self->send_exit(a, caf::exit_reason::user_shutdown);
    }
    for (std::size_t i = 0; i < going.size(); ++i)
      self->receive([](caf::down_msg&) {}, caf::after(5s) >> [] {});
    if (acceptor) caf::anon_send_exit(acceptor, caf::exit_reason::kill); // it may hold calls
  }
  /// A secure connection that the fixture closes at the end.
  caf::expected<acceptor_actor> dial(std::uint32_t i, replica_id peer,
                                     net::role r = net::role::validator) {
    auto c = secure_dial(*sys, dialer(i, r), "127.0.0.1", port, peer, 5s);
    if (c) dialled.push_back(*c);
    return c;
  }
  void listen(secure_config sc, bool hold_clients = false) {
    sc.me = k.me(0);
    server = make_secure_context(std::move(sc));
    acceptor = sys->spawn(fake_acceptor, client_calls, hold_clients);
    auto l = secure_listen(*sys, server, acceptor, "127.0.0.1", 0);
    REQUIRE(l);
    listener = l->first;
    port = l->second;
  }
  std::shared_ptr<secure_context> dialer(std::uint32_t i, net::role r = net::role::validator) {
    secure_config sc;
    sc.me = k.me(i, r);
    return make_secure_context(std::move(sc));
  }
  std::uint64_t rejected(const std::string& reason) const {
    return secure_rejections(*server, reason);
  }
  /// Polls `pred` every 10 ms for up to 5 s.
  template <class F>
  bool eventually(F pred) {
    for (int i = 0; i < 500; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  }
};

/// A raw TCP connection to 127.0.0.1:port from `source` (127.0.0.0/8).
int raw_connect(std::uint16_t port, const char* source = "127.0.0.1") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &src.sin_addr);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof(src)) == 0);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) == 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

/// True once the other side closed `fd` (read returns 0 or a reset).
bool closed_by_peer(int fd) {
  char b[64];
  for (;;) {
    auto n = ::recv(fd, b, sizeof(b), 0);
    if (n > 0) continue;
    return n == 0 || errno == ECONNRESET;
  }
}

void send_prefix(int fd, std::uint32_t len) {
  std::uint8_t p[4];
  net::put_prefix(p, len);
  REQUIRE(::send(fd, p, 4, 0) == 4);
}

} // namespace

TEST_CASE_FIXTURE(fixture, "secure transport: a validator's and a client's calls go through") {
  listen({});
  auto v = dial(1, replica_id{0});
  REQUIRE(v);
  caf::scoped_actor self{*sys};
  self->request(*v, 5s, hello_atom::value, frame{1, "hello bytes"})
      .receive([](frame& f) { CHECK(f.data == "hello bytes"); },
               [](caf::error& e) { FAIL(caf::to_string(e)); });
  self->request(*v, 5s, peer_atom::value, frame{1, std::string(100000, 'x')})
      .receive([](ack_atom) {}, [](caf::error& e) { FAIL(caf::to_string(e)); });
  auto c = dial(0, replica_id{0}, net::role::client);
  REQUIRE(c);
  self->request(*c, 5s, client_atom::value, frame{0, "a call"})
      .receive([](frame& f) { CHECK(f.data == "a call"); },
               [](caf::error& e) { FAIL(caf::to_string(e)); });
  // A client may not speak as a peer: the connection closes, counted as a protocol breach.
  self->request(*c, 5s, peer_atom::value, frame{0, "not mine"})
      .receive([](ack_atom) { FAIL("a client's peer call was taken"); }, [](caf::error&) {});
  CHECK(eventually([&] { return rejected("protocol") == 1; }));
  caf::anon_send_exit(*v, caf::exit_reason::user_shutdown);
}

TEST_CASE_FIXTURE(fixture, "secure transport: a dial to the wrong validator is refused") {
  listen({});
  auto v = dial(1, replica_id{2});
  CHECK_FALSE(v);
  CHECK(eventually([&] { return rejected("wrong_peer") == 1; }));
}

TEST_CASE_FIXTURE(fixture, "secure transport: a length prefix one byte over the handshake limit "
                           "closes the connection before anything is read") {
  listen({});
  int over = raw_connect(port);
  send_prefix(over, net::max_handshake_bytes + 1);
  CHECK(closed_by_peer(over));
  CHECK(rejected("oversized") == 1);
  ::close(over);
  // At the limit the message is read, and refused for what it is (not our protocol).
  int at = raw_connect(port);
  send_prefix(at, net::max_handshake_bytes);
  std::string junk(net::max_handshake_bytes, 'j');
  REQUIRE(::send(at, junk.data(), junk.size(), 0) == static_cast<ssize_t>(junk.size()));
  CHECK(closed_by_peer(at));
  CHECK(rejected("version") == 1);
  CHECK(rejected("oversized") == 1);
  ::close(at);
}

TEST_CASE_FIXTURE(fixture, "secure transport: connections handshaking, per source and in all") {
  secure_config sc;
  sc.max_pending = 3;
  sc.max_pending_per_source = 2;
  listen(sc);
  std::vector<int> fds;
  fds.push_back(raw_connect(port, "127.0.0.2"));
  fds.push_back(raw_connect(port, "127.0.0.2"));
  CHECK(eventually([&] { return secure_rejections(*server, "pending_source") == 0; }));
  int third = raw_connect(port, "127.0.0.2"); // one over the per-source limit
  CHECK(closed_by_peer(third));
  CHECK(rejected("pending_source") == 1);
  fds.push_back(raw_connect(port, "127.0.0.3")); // the third in all: still within
  int fourth = raw_connect(port, "127.0.0.4");   // one over the total
  CHECK(closed_by_peer(fourth));
  CHECK(rejected("pending_total") == 1);
  // A validator must handshake too: with the slots full it is refused; once one frees, it
  // gets through.
  ::close(fds.back());
  fds.pop_back();
  CHECK(eventually([&] { return static_cast<bool>(dial(1, replica_id{0})); }));
  for (int fd : fds) ::close(fd);
  ::close(third);
  ::close(fourth);
}

TEST_CASE_FIXTURE(fixture, "secure transport: a handshake held open past its time limit is cut") {
  secure_config sc;
  sc.handshake_timeout = 200ms;
  listen(sc);
  int slow = raw_connect(port);
  send_prefix(slow, 100); // and then nothing
  CHECK(closed_by_peer(slow));
  CHECK(rejected("handshake_timeout") == 1);
  ::close(slow);
}

TEST_CASE_FIXTURE(fixture, "secure transport: a newer session of a validator ends its oldest") {
  secure_config sc;
  sc.max_sessions_per_validator = 1;
  listen(sc);
  auto first = dial(1, replica_id{0});
  REQUIRE(first);
  caf::scoped_actor self{*sys};
  self->monitor(*first);
  auto second = dial(1, replica_id{0});
  REQUIRE(second);
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; }, caf::after(5s) >> [] {});
  CHECK(down);
  self->request(*second, 5s, peer_atom::value, frame{1, "still here"})
      .receive([](ack_atom) {}, [](caf::error& e) { FAIL(caf::to_string(e)); });
  caf::anon_send_exit(*second, caf::exit_reason::user_shutdown);
}

TEST_CASE_FIXTURE(fixture, "secure transport: one call over a client's calls in flight ends "
                           "its connection, and no call over the limit reaches the acceptor") {
  secure_config sc;
  sc.client_in_flight = 4;
  listen(sc, /*hold_clients=*/true);
  auto c = dial(0, replica_id{0}, net::role::client);
  REQUIRE(c);
  caf::scoped_actor self{*sys};
  self->monitor(*c);
  // Plain sends: the connection forwards each as a call all the same (nothing waits here).
  for (int i = 0; i < 4; ++i) // at the limit: all taken
    self->send(*c, client_atom::value, frame{0, "call"});
  CHECK(eventually([&] { return client_calls->load() == 4; }));
  CHECK(rejected("in_flight") == 0);
  self->send(*c, client_atom::value, frame{0, "one over"});
  CHECK(eventually([&] { return rejected("in_flight") == 1; }));
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; }, caf::after(5s) >> [] {});
  CHECK(down);
  CHECK(client_calls->load() == 4);
}

TEST_CASE_FIXTURE(fixture, "secure transport: a client over its call rate gets errors, not a cut") {
  secure_config sc;
  sc.client_frames_per_s = 20;
  listen(sc);
  auto c = dial(0, replica_id{0}, net::role::client);
  REQUIRE(c);
  caf::scoped_actor self{*sys};
  int answered = 0, refused = 0;
  for (int i = 0; i < 40; ++i) // twice the bucket, as fast as the answers come
    self->request(*c, 10s, client_atom::value, frame{0, "call"})
        .receive([&](frame&) { ++answered; }, [&](caf::error&) { ++refused; });
  CHECK(answered >= 20);
  CHECK(refused >= 1);
  CHECK(rejected("rate") == static_cast<std::uint64_t>(refused));
  CHECK(client_calls->load() == answered);
  // The connection stays: once the bucket refills, calls go through again.
  std::this_thread::sleep_for(200ms);
  self->request(*c, 10s, client_atom::value, frame{0, "later"})
      .receive([](frame& f) { CHECK(f.data == "later"); },
               [](caf::error& e) { FAIL(caf::to_string(e)); });
  caf::anon_send_exit(*c, caf::exit_reason::user_shutdown);
}

TEST_CASE_FIXTURE(fixture, "secure transport: an answer that takes a client's queued bytes over "
                           "its limit ends the connection; one within it does not") {
  secure_config sc;
  sc.client_queued_bytes = 1000;
  listen(sc);
  auto c = dial(0, replica_id{0}, net::role::client);
  REQUIRE(c);
  caf::scoped_actor self{*sys};
  // The fake acceptor echoes the call: 500 bytes sealed stay within 1,000 queued.
  self->request(*c, 5s, client_atom::value, frame{0, std::string(500, 'a')})
      .receive([](frame& f) { CHECK(f.data.size() == 500); },
               [](caf::error& e) { FAIL(caf::to_string(e)); });
  CHECK(rejected("queued") == 0);
  self->monitor(*c);
  self->send(*c, client_atom::value, frame{0, std::string(1000, 'b')}); // sealed: over 1,000
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; }, caf::after(5s) >> [] {});
  CHECK(down);
  CHECK(rejected("queued") == 1);
}
