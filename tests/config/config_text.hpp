#pragma once
/// Builders of genesis and node TOML text for config tests. Keys are derived from fixed
/// seeds, so texts are deterministic.
#include <array>
#include <cstdint>
#include <sstream>
#include <string>

#include "crypto/ed25519.hpp"

namespace bft::test {

/// The public key of test validator `i` (ed25519 from the seed {i + 1, 0, ...}).
inline public_key key_of(std::size_t i) {
  std::array<std::uint8_t, 32> seed{};
  seed[0] = static_cast<std::uint8_t>(i + 1);
  return crypto::key_pair_from_seed(seed).pub;
}

/// One `[[validators]]` table: id `id`, key `key_of(key_index)`, address 127.0.0.1:7000+id.
/// `replace`, a line "name = value\n", replaces the field of that name; `extra` is appended.
inline std::string validator_text(std::uint32_t id, std::size_t key_index,
                                  const std::string& replace = "", const std::string& extra = "") {
  std::ostringstream out;
  out << "[[validators]]\n";
  auto field = [&](const std::string& name, const std::string& value) {
    if (!replace.empty() && replace.compare(0, name.size() + 1, name + " ") == 0)
      out << replace;
    else
      out << name << " = " << value << "\n";
  };
  field("id", std::to_string(id));
  std::ostringstream key, address;
  key << '"' << to_hex(key_of(key_index)) << '"';
  address << "\"127.0.0.1:" << 7000 + id << '"';
  field("public_key", key.str());
  field("address", address.str());
  out << extra;
  return out.str();
}

inline std::string genesis_head(const std::string& protocol = "pbft") {
  return "chain_id = \"test-chain\"\nprotocol = \"" + protocol + "\"\n";
}

/// n validators with ids and keys 0..n-1.
inline std::string validators_text(std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += validator_text(static_cast<std::uint32_t>(i), i);
  return out;
}

/// A whole genesis: head, then `params` text (e.g. "[params]\n..."), then n validators.
inline std::string genesis_text(std::size_t n, const std::string& protocol = "pbft",
                                const std::string& params = "") {
  return genesis_head(protocol) + params + validators_text(n);
}

} // namespace bft::test
