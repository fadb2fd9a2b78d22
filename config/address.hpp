#pragma once
/// `host:port` addresses of genesis validators and node listen/metrics endpoints.
#include <cstdint>
#include <string>
#include <string_view>

#include "protocols/common/errors.hpp"

namespace bft::config {

/// A parsed `host:port`. The host is a DNS name, an IPv4 address, or an IPv6 address (written
/// in brackets, `[::1]:7000`, and stored without them).
struct host_port {
  std::string host;
  std::uint16_t port = 0;
};

/// Parses `host:port` with a port in 1..65535. The error (errc::invalid_config) explains the
/// problem without naming a file; callers add the file and field.
result<host_port> parse_host_port(std::string_view address);

/// `host:port`, with an IPv6 host in brackets (what `parse_host_port` reads back).
[[nodiscard]] std::string to_string(const host_port& hp);

/// Whether `host` is a wildcard ("0.0.0.0", "::"): fine to listen on, impossible to dial.
[[nodiscard]] bool is_wildcard_host(std::string_view host);

} // namespace bft::config
