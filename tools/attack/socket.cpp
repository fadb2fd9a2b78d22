#include "tools/attack/socket.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/secure_channel.hpp"

namespace bft::attack {

namespace {

int millis_until(clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

bool wait_for(int fd, short events, clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int r = ::poll(&p, 1, millis_until(deadline));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

} // namespace

tcp_socket& tcp_socket::operator=(tcp_socket&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    closed_ = o.closed_;
    o.fd_ = -1;
  }
  return *this;
}

void tcp_socket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::optional<tcp_socket> tcp_socket::connect(const std::string& host, std::uint16_t port,
                                              const std::string& source,
                                              std::chrono::milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  tcp_socket s(fd);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!source.empty()) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    if (::inet_pton(AF_INET, source.c_str(), &src.sin_addr) != 1) return std::nullopt;
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) != 0) return std::nullopt;
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &to.sin_addr) != 1) return std::nullopt;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
    if (errno != EINPROGRESS) return std::nullopt;
    if (!wait_for(fd, POLLOUT, clock::now() + timeout)) return std::nullopt;
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      errno = err;
      return std::nullopt;
    }
  }
  return s;
}

std::size_t tcp_socket::write_all(byte_view data, clock::time_point deadline) {
  std::size_t done = 0;
  while (done < data.size() && !closed_) {
    const auto n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      if (!wait_for(fd_, POLLOUT, deadline)) break;
      continue;
    }
    closed_ = true; // EPIPE, ECONNRESET: the peer closed
  }
  return done;
}

std::optional<bytes> tcp_socket::read_exact(std::size_t n, clock::time_point deadline) {
  bytes out(n);
  std::size_t got = 0;
  while (got < n) {
    const auto r = ::recv(fd_, out.data() + got, n - got, 0);
    if (r > 0) {
      got += static_cast<std::size_t>(r);
      continue;
    }
    if (r == 0) {
      closed_ = true;
      return std::nullopt;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      if (!wait_for(fd_, POLLIN, deadline)) return std::nullopt;
      continue;
    }
    closed_ = true;
    return std::nullopt;
  }
  return out;
}

bool tcp_socket::drain() {
  std::uint8_t buf[65536];
  for (;;) {
    const auto r = ::recv(fd_, buf, sizeof buf, 0);
    if (r > 0) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (r < 0 && errno == EINTR) continue;
    closed_ = true;
    return false;
  }
}

bool tcp_socket::wait_closed(clock::time_point deadline) {
  while (!closed_) {
    if (!drain()) break;
    if (!wait_for(fd_, POLLIN, deadline)) return false;
  }
  return true;
}

bool tcp_socket::write_message(byte_view msg, clock::time_point deadline) {
  std::uint8_t prefix[net::prefix_bytes];
  net::put_prefix(prefix, static_cast<std::uint32_t>(msg.size()));
  return write_all(prefix, deadline) == net::prefix_bytes && write_all(msg, deadline) == msg.size();
}

std::optional<bytes> tcp_socket::read_message(std::size_t max, clock::time_point deadline) {
  auto p = read_exact(net::prefix_bytes, deadline);
  if (!p) return std::nullopt;
  auto n = net::read_prefix(p->data(), max);
  if (!n) return std::nullopt;
  return read_exact(*n, deadline);
}

std::uint64_t raise_open_files() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return 0;
  r.rlim_cur = r.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &r);
  ::getrlimit(RLIMIT_NOFILE, &r);
  return r.rlim_cur;
}

} // namespace bft::attack
