#pragma once
/// Plain POSIX TCP sockets for `bft-attack`: connect (optionally from a chosen source
/// address), write and read with deadlines, and tell whether the other end closed. Every call
/// is bounded by a deadline, so no attack can hang. Not thread-safe: one owner per socket.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocols/common/bytes.hpp"

namespace bft::attack {

using clock = std::chrono::steady_clock;

class tcp_socket {
public:
  tcp_socket() = default;
  tcp_socket(const tcp_socket&) = delete;
  tcp_socket& operator=(const tcp_socket&) = delete;
  tcp_socket(tcp_socket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  tcp_socket& operator=(tcp_socket&& o) noexcept;
  ~tcp_socket() { close(); }

  /// Connects to `host:port` (IPv4), from `source` if not empty; non-blocking afterwards.
  /// Nothing on failure (errno tells why).
  static std::optional<tcp_socket> connect(const std::string& host, std::uint16_t port,
                                           const std::string& source,
                                           std::chrono::milliseconds timeout);

  /// Writes all of `data` unless the peer closes or `deadline` passes; bytes written.
  std::size_t write_all(byte_view data, clock::time_point deadline);
  /// Reads exactly `n` bytes, or nothing if the peer closed or `deadline` passed.
  std::optional<bytes> read_exact(std::size_t n, clock::time_point deadline);
  /// Reads (and discards) whatever is ready now; false if the peer closed.
  bool drain();
  /// Waits until the peer closes (true) or `deadline` passes (false), discarding data.
  bool wait_closed(clock::time_point deadline);
  /// One length-prefixed message (u32 LE prefix, then the bytes).
  bool write_message(byte_view msg, clock::time_point deadline);
  std::optional<bytes> read_message(std::size_t max, clock::time_point deadline);

  [[nodiscard]] int fd() const { return fd_; }
  [[nodiscard]] bool peer_closed() const { return closed_; }
  void close();

private:
  explicit tcp_socket(int fd) : fd_(fd) {}
  int fd_ = -1;
  bool closed_ = false;
};

/// Raises the soft limit of open files to the hard limit; the new soft limit.
std::uint64_t raise_open_files();

} // namespace bft::attack
