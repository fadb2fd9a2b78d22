// bft-relay: a user-space TCP relay that delays every byte by a fixed time, for tests that
// emulate hosts in distant regions where the kernel has no netem qdisc.
//
//   bft-relay LISTEN=TARGET@MS [LISTEN=TARGET@MS ...]     e.g. 10.77.1.2:7001=10.77.0.2:7001@40
//
// Each route listens on LISTEN (IPv4 host:port) and connects every accepted connection to
// TARGET. A byte read from either side is written to the other side MS milliseconds later
// (a timestamped FIFO per direction, so order is kept and the delay is one way: a round trip
// through one relay costs 2 * MS). When either side closes, the close is delivered after the
// same delay and then both sides are closed; a reset or a failed connect to TARGET closes both
// at once. Reading stops while a direction holds more than 8 MiB (back-pressure).
// Standard output: one line per route once all listen, then one per accepted connection.
// One thread, one ppoll loop; no clock other than steady_clock. Stops on SIGTERM or SIGINT.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <list>
#include <optional>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::size_t read_size = 64 * 1024;
constexpr std::size_t queue_cap = 8 * 1024 * 1024;

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

/// One `LISTEN=TARGET@MS` argument, with its listening socket.
struct route {
  std::string text;
  sockaddr_in listen{};
  sockaddr_in target{};
  std::chrono::milliseconds delay{0};
  int fd = -1;
};

/// Bytes read at one moment, due on the other side at `due`; `eof` marks the sender's close.
struct chunk {
  clock_type::time_point due;
  std::string bytes;
  bool eof = false;
};

/// One direction of a relayed connection.
struct direction {
  std::deque<chunk> queue;
  std::size_t queued = 0; ///< bytes in `queue`
  std::size_t offset = 0; ///< bytes of the front chunk already written
  bool read_eof = false;  ///< the reading side closed; nothing more is read
};

/// An accepted connection (`a`) and its connection to the route's target (`b`).
struct connection {
  const route* via = nullptr;
  int a = -1;
  int b = -1;
  bool connected = false; ///< `b`'s non-blocking connect completed
  direction ab;           ///< from the accepted side to the target
  direction ba;           ///< from the target back
  bool done = false;      ///< close both sides at the end of this turn
};

std::optional<sockaddr_in> parse_address(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  if (inet_pton(AF_INET, s.substr(0, colon).c_str(), &a.sin_addr) != 1) return std::nullopt;
  char* end = nullptr;
  long port = std::strtol(s.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || port < 1 || port > 65535) return std::nullopt;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  return a;
}

std::optional<route> parse_route(const std::string& s) {
  auto eq = s.find('=');
  auto at = s.rfind('@');
  if (eq == std::string::npos || at == std::string::npos || at < eq) return std::nullopt;
  auto l = parse_address(s.substr(0, eq));
  auto t = parse_address(s.substr(eq + 1, at - eq - 1));
  char* end = nullptr;
  long ms = std::strtol(s.c_str() + at + 1, &end, 10);
  if (!l || !t || *end != '\0' || end == s.c_str() + at + 1 || ms < 0 || ms > 60000)
    return std::nullopt;
  route r;
  r.text = s;
  r.listen = *l;
  r.target = *t;
  r.delay = std::chrono::milliseconds(ms);
  return r;
}

void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/// Reads what `from` has into `d`, due `delay` from now. Returns false on a reset.
bool read_side(int from, direction& d, std::chrono::milliseconds delay) {
  char buf[read_size];
  ssize_t n = recv(from, buf, sizeof buf, 0);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  auto due = clock_type::now() + delay;
  if (n == 0) {
    d.read_eof = true;
    d.queue.push_back({due, {}, true});
    return true;
  }
  d.queue.push_back({due, std::string(buf, static_cast<std::size_t>(n)), false});
  d.queued += static_cast<std::size_t>(n);
  return true;
}

/// Writes the chunks of `d` that are due to `to`. Returns false when the connection must close
/// (a delivered close or a write error).
bool flush_side(int to, direction& d) {
  auto now = clock_type::now();
  while (!d.queue.empty() && d.queue.front().due <= now) {
    auto& c = d.queue.front();
    if (c.eof) return false;
    ssize_t n = send(to, c.bytes.data() + d.offset, c.bytes.size() - d.offset, MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    d.offset += static_cast<std::size_t>(n);
    if (d.offset < c.bytes.size()) return true; // the socket is full; POLLOUT resumes
    d.queued -= c.bytes.size();
    d.offset = 0;
    d.queue.pop_front();
  }
  return true;
}

bool due_now(const direction& d, clock_type::time_point now) {
  return !d.queue.empty() && d.queue.front().due <= now;
}

std::string to_text(const sockaddr_in& a) {
  char host[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
  return std::string(host) + ":" + std::to_string(ntohs(a.sin_port));
}

void accept_one(route& r, std::list<connection>& conns) {
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  int a = accept4(r.fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (a < 0) return;
  int b = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (b < 0) {
    close(a);
    return;
  }
  set_nodelay(a);
  set_nodelay(b);
  int rc = connect(b, reinterpret_cast<const sockaddr*>(&r.target), sizeof r.target);
  if (rc < 0 && errno != EINPROGRESS) {
    std::fprintf(stderr, "bft-relay: %s: connect to %s failed: %s\n", r.text.c_str(),
                 to_text(r.target).c_str(), std::strerror(errno));
    close(a);
    close(b);
    return;
  }
  std::printf("bft-relay: %s accepts %s\n", to_text(r.listen).c_str(), to_text(peer).c_str());
  std::fflush(stdout);
  connection c;
  c.via = &r;
  c.a = a;
  c.b = b;
  c.connected = rc == 0;
  conns.push_back(std::move(c));
}

/// One turn for one connection after ppoll: connect completion, reads, due writes.
void service(connection& c, short a_events, short b_events) {
  if (!c.connected && (b_events & (POLLOUT | POLLERR | POLLHUP)) != 0) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c.b, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      c.done = true;
      return;
    }
    c.connected = true;
  }
  // A reset (POLLERR) on either side, connected, closes both at once.
  if ((a_events & POLLERR) != 0 || (c.connected && (b_events & POLLERR) != 0)) {
    c.done = true;
    return;
  }
  const auto delay = c.via->delay;
  if ((a_events & (POLLIN | POLLHUP)) != 0 && !c.ab.read_eof && !read_side(c.a, c.ab, delay))
    c.done = true;
  if (c.connected && (b_events & (POLLIN | POLLHUP)) != 0 && !c.ba.read_eof &&
      !read_side(c.b, c.ba, delay))
    c.done = true;
  if (c.connected && !flush_side(c.b, c.ab)) c.done = true;
  if (!flush_side(c.a, c.ba)) c.done = true;
}

int run(std::vector<route>& routes) {
  for (auto& r : routes) {
    r.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(r.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (r.fd < 0 ||
        bind(r.fd, reinterpret_cast<const sockaddr*>(&r.listen), sizeof r.listen) != 0 ||
        listen(r.fd, 64) != 0) {
      std::fprintf(stderr, "bft-relay: cannot listen on %s: %s\n", to_text(r.listen).c_str(),
                   std::strerror(errno));
      return 1;
    }
  }
  for (const auto& r : routes)
    std::printf("bft-relay: %s -> %s delay %lld ms\n", to_text(r.listen).c_str(),
                to_text(r.target).c_str(), static_cast<long long>(r.delay.count()));
  std::fflush(stdout);
  // SIGTERM and SIGINT are blocked except inside ppoll, so a stop request is never missed
  // between the check of g_stop and the wait.
  sigset_t stop_signals, unblocked;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigprocmask(SIG_BLOCK, &stop_signals, &unblocked);
  std::list<connection> conns;
  std::vector<pollfd> fds;
  while (g_stop == 0) {
    const auto now = clock_type::now();
    fds.clear();
    for (const auto& r : routes) fds.push_back({r.fd, POLLIN, 0});
    std::optional<clock_type::time_point> wake;
    auto consider = [&](const direction& d) {
      if (!d.queue.empty() && (!wake || d.queue.front().due < *wake)) wake = d.queue.front().due;
    };
    for (const auto& c : conns) {
      short ea = 0, eb = 0;
      if (!c.ab.read_eof && c.ab.queued < queue_cap) ea |= POLLIN;
      if (due_now(c.ba, now)) ea |= POLLOUT;
      if (!c.connected) {
        eb |= POLLOUT;
      } else {
        if (!c.ba.read_eof && c.ba.queued < queue_cap) eb |= POLLIN;
        if (due_now(c.ab, now)) eb |= POLLOUT;
      }
      fds.push_back({c.a, ea, 0});
      fds.push_back({c.b, eb, 0});
      // A due chunk waits for POLLOUT; one not yet due sets the wake-up time.
      if (!due_now(c.ab, now)) consider(c.ab);
      if (!due_now(c.ba, now)) consider(c.ba);
    }
    timespec ts{};
    timespec* timeout = nullptr;
    if (wake) {
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(*wake - now).count();
      if (ns < 0) ns = 0;
      ts.tv_sec = static_cast<time_t>(ns / 1000000000);
      ts.tv_nsec = static_cast<long>(ns % 1000000000);
      timeout = &ts;
    }
    if (ppoll(fds.data(), fds.size(), timeout, &unblocked) < 0) {
      if (errno == EINTR) continue; // a signal: g_stop is checked at the top
      std::perror("bft-relay: ppoll");
      return 1;
    }
    // The connections polled this turn first (fds: the routes, then a and b of each), then
    // the new ones, which are appended to `conns` and polled from the next turn on.
    std::size_t i = routes.size();
    for (auto& c : conns) {
      service(c, fds[i].revents, fds[i + 1].revents);
      i += 2;
    }
    for (std::size_t k = 0; k < routes.size(); ++k)
      if ((fds[k].revents & POLLIN) != 0) accept_one(routes[k], conns);
    for (auto it = conns.begin(); it != conns.end();) {
      if (!it->done) {
        ++it;
        continue;
      }
      close(it->a);
      close(it->b);
      it = conns.erase(it);
    }
  }
  for (auto& c : conns) {
    close(c.a);
    close(c.b);
  }
  for (auto& r : routes) close(r.fd);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bft-relay LISTEN=TARGET@MS ...  (e.g. "
                         "10.77.1.2:7001=10.77.0.2:7001@40: one-way delay 40 ms)\n");
    return 2;
  }
  std::vector<route> routes;
  for (int i = 1; i < argc; ++i) {
    auto r = parse_route(argv[i]);
    if (!r) {
      std::fprintf(stderr, "bft-relay: bad route '%s' (want HOST:PORT=HOST:PORT@MS)\n", argv[i]);
      return 2;
    }
    routes.push_back(*r);
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  return run(routes);
}
