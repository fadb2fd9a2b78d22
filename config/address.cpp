#include "config/address.hpp"

#include <cctype>

namespace bft::config {

result<host_port> parse_host_port(std::string_view address) {
  auto bad = [&](std::string_view why) {
    std::string msg = "\"";
    msg.append(address).append("\" is not host:port (").append(why).append(")");
    return error{errc::invalid_config, std::move(msg)};
  };
  std::string_view host, port;
  if (!address.empty() && address.front() == '[') {
    auto close = address.find(']');
    if (close == std::string_view::npos) return bad("unclosed '[' in an IPv6 address");
    host = address.substr(1, close - 1);
    if (close + 1 >= address.size() || address[close + 1] != ':') return bad("missing port");
    port = address.substr(close + 2);
    if (host.empty()) return bad("empty host");
    for (char c : host)
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'))
        return bad("bad character in an IPv6 address");
  } else {
    auto colon = address.rfind(':');
    if (colon == std::string_view::npos) return bad("missing port");
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.empty()) return bad("empty host");
    for (char c : host)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'))
        return bad(c == ':' ? "write an IPv6 host in brackets, [::1]:7000"
                            : "bad character in the host");
  }
  if (port.empty()) return bad("missing port");
  if (port.size() > 5) return bad("port must be 1..65535");
  std::uint32_t p = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return bad("port must be a number");
    p = p * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (p < 1 || p > 65535) return bad("port must be 1..65535");
  return host_port{std::string(host), static_cast<std::uint16_t>(p)};
}

std::string to_string(const host_port& hp) {
  const bool v6 = hp.host.find(':') != std::string::npos;
  return (v6 ? "[" + hp.host + "]" : hp.host) + ":" + std::to_string(hp.port);
}

bool is_wildcard_host(std::string_view host) {
  return host == "0.0.0.0" || host == "::" || host == "0:0:0:0:0:0:0:0";
}

} // namespace bft::config
