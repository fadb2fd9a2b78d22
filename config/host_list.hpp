#pragma once
/// Lists that describe a multi-host network before it exists: `HOST[:PORT]` entries (what
/// `bft init --hosts` and `bft config check --hosts` take) and `PUBKEY@HOST[:PORT]` entries
/// (what `bft genesis --validator` takes), given on the command line or in a file with one
/// entry per line, `#` starting a comment. Every error is one line naming where the entry came
/// from (`--hosts`, `hosts.txt:3`) and the entry. Free functions; thread-safe.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "config/address.hpp"
#include "protocols/common/bytes.hpp"
#include "protocols/common/errors.hpp"

namespace bft::config {

inline constexpr std::size_t max_host_list_bytes = 1 << 20;

/// One `HOST[:PORT]` entry and where it came from ("--hosts", "hosts.txt:3").
struct host_entry {
  host_port address;
  std::string origin;
};

/// Parses `HOST[:PORT],HOST[:PORT],...`; a missing port is `default_port`. Refuses an empty
/// list, a malformed entry and an address listed twice (same host and port).
result<std::vector<host_entry>> parse_host_list(std::string_view list, std::uint16_t default_port,
                                                const std::string& origin);

/// Reads a hosts file: one `HOST[:PORT]` per line; blank lines and `#` comments are skipped.
result<std::vector<host_entry>> load_host_file(const std::filesystem::path& path,
                                               std::uint16_t default_port);

/// One `PUBKEY@HOST[:PORT]` entry: a validator's public key (64 hex digits) and address.
struct validator_entry {
  public_key key{};
  host_port address;
  std::string origin;
};

/// Parses `PUBKEY@HOST[:PORT]` entries given one per `--validator` (origin names the option).
/// Refuses bad hex, a key listed twice and an address listed twice.
result<std::vector<validator_entry>>
parse_validator_entries(const std::vector<std::string>& entries, std::uint16_t default_port,
                        const std::string& origin);

/// Reads a file of `PUBKEY@HOST[:PORT]` lines (blank lines and `#` comments skipped).
result<std::vector<validator_entry>> load_validator_file(const std::filesystem::path& path,
                                                         std::uint16_t default_port);

} // namespace bft::config
