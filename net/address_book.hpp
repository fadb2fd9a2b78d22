#pragma once
/// Discovery without edited files (design.md section 5, "Across hosts"): each validator signs
/// an `address_record` (where to dial it, with a sequence number) with its genesis key;
/// validators exchange the records they hold, and an `address_book` keeps the newest verified
/// record per validator, falling back to the genesis address. See net/README.md.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/address.hpp"
#include "crypto/signer.hpp"
#include "protocols/common/bytes.hpp"
#include "protocols/common/errors.hpp"
#include "protocols/common/ids.hpp"
#include "protocols/common/validator_set.hpp"

namespace bft::net {

inline constexpr std::uint16_t address_record_type = 0x4e01;
/// Longest host name (RFC 1035: 253 characters in text form).
inline constexpr std::size_t max_host_bytes = 253;
/// Longest chain id a record carries (the genesis limit).
inline constexpr std::size_t max_record_chain_bytes = 64;
/// Largest encoded record: envelope 4, chain 4 + 64, id 4, host 4 + 253, port 2, sequence 8,
/// signature 64 = 407 bytes, rounded up. Decoding refuses anything larger before reading it.
inline constexpr std::size_t max_record_bytes = 512;
/// Largest address book file `load` reads (far above 10,000 validators' records).
inline constexpr std::size_t max_book_file_bytes = 16u << 20;
/// The first line of an address book file.
inline constexpr std::string_view book_file_version_line = "bft-address-book v1";

/// Where validator `id` can be dialled, from `sequence` on, signed by its genesis key.
///
/// Sequence numbers: the newest record wins, so a restarted validator must sign a larger one.
/// A node signs `max(its wall-clock milliseconds at start, the sequence it last held for
/// itself + 1)` (`address_book::next_sequence`): the clock makes a node with a wiped data
/// directory still newer than its last record, and the held sequence covers a clock that
/// went back. Sequence 0 is the genesis address and is never signed.
///
/// A plain value; encode/decode/sign/verify share no state.
struct address_record {
  std::string chain_id;
  replica_id id{0};
  std::string host; ///< a DNS name, IPv4, or IPv6 without brackets
  std::uint16_t port = 0;
  std::uint64_t sequence = 0;
  signature sig{};

  /// Domain tag of the signature; it covers `signing_bytes(tag, chain_id, epoch 0, body)`
  /// with body = id | host | port | sequence (the genesis keys are those of epoch 0).
  static constexpr const char* sign_tag = "bft/net/address/v1";

  /// The signed body (without the chain id, which `signing_bytes` binds).
  [[nodiscard]] bytes signed_body() const;
  void sign(const crypto::signer& s);
  [[nodiscard]] bool verify(const crypto::verifier& v, const public_key& key) const;
  /// Verifies against the key validator `id` has in `validators`; false for an unknown id.
  [[nodiscard]] bool verify(const crypto::verifier& v, const validator_set& validators) const;

  /// Canonical bytes: envelope {address_record_type, 1}, chain, id, host, port, sequence, sig.
  /// Asserts the host and chain fit their limits (encoding them is a programming error).
  [[nodiscard]] std::string encode() const;
  /// Refuses (errc::oversized) more than `max_record_bytes` before reading, then a truncated,
  /// padded or ill-formed record (errc::truncated / trailing_bytes / malformed: a host or
  /// port that `config::parse_host_port` would refuse). Allocates at most the input size.
  static result<address_record> decode(std::string_view b);

  /// `host:port`, with brackets around an IPv6 host.
  [[nodiscard]] std::string address() const;
  bool operator==(const address_record&) const = default;
};

/// What `address_book::offer` did with a record. Checks run cheapest first: decode
/// (malformed), chain, validator, sequence (stale), then the signature.
enum class offer_outcome {
  accepted,          ///< newer than the one held, verified: it replaces it
  stale,             ///< sequence <= the one held (the genesis address holds 0)
  unknown_validator, ///< the id is not a genesis validator
  bad_signature,     ///< does not verify against the validator's genesis key
  wrong_chain,       ///< signed for another chain id
  malformed,         ///< does not decode
};
[[nodiscard]] std::string_view to_string(offer_outcome o);

/// How many offers ended each way since the book was made (loads included).
struct offer_counters {
  std::uint64_t accepted = 0;
  std::uint64_t stale = 0;
  std::uint64_t unknown_validator = 0;
  std::uint64_t bad_signature = 0;
  std::uint64_t wrong_chain = 0;
  std::uint64_t malformed = 0;
  [[nodiscard]] std::uint64_t refused() const {
    return stale + unknown_validator + bad_signature + wrong_chain + malformed;
  }
  void count(offer_outcome o);
  bool operator==(const offer_counters&) const = default;
};

/// What `load` found: whether the file existed, and how each of its records fared.
struct load_summary {
  bool found = false;
  offer_counters records;
};

/// The newest verified address of every genesis validator, plus bootstrap addresses to ask.
///
/// Made from genesis (its addresses are the sequence-0 fallback). Owned by the node; shared
/// by its link transports: every member function is thread-safe (one mutex; signatures are
/// verified outside it).
class address_book {
public:
  /// `validators` are the genesis validators (epoch 0); each one whose `address` parses
  /// (`config::parse_host_port`) starts with it as its sequence-0 address.
  address_book(std::string chain_id, validator_set validators,
               std::shared_ptr<const crypto::verifier> verifier);

  /// Takes `r` if it is the newest verified record of a genesis validator of this chain.
  offer_outcome offer(const address_record& r);
  /// Decodes, then `offer`s: what a transport calls with a gossiped record's bytes.
  offer_outcome offer_encoded(std::string_view b);

  /// Where to dial `id`: its newest record's address, else its genesis address.
  [[nodiscard]] std::optional<config::host_port> address_of(replica_id id) const;
  /// The sequence held for `id`: 0 for the genesis address; nothing for an unknown id or a
  /// validator without any address.
  [[nodiscard]] std::optional<std::uint64_t> sequence_of(replica_id id) const;
  /// Every signed record held, by validator id: what to gossip and what `save` writes.
  [[nodiscard]] std::vector<address_record> records() const;
  [[nodiscard]] std::vector<std::string> encoded_records() const;

  /// The sequence `self` should sign next: max(now_ms, held + 1) (see `address_record`).
  /// Fails (errc::invalid_config) when `self` is not a genesis validator, or its held
  /// sequence is already the largest u64.
  [[nodiscard]] result<std::uint64_t> next_sequence(replica_id self, std::uint64_t now_ms) const;
  /// Signs this node's record for `host:port` with `next_sequence(s's id, now_ms)` and
  /// offers it, so `records()` gossips it. Fails if `s` does not hold the key `self` has in
  /// genesis, or `host:port` is not an address `config::parse_host_port` takes.
  result<address_record> publish_own(replica_id self, const crypto::signer& s,
                                     const config::host_port& where, std::uint64_t now_ms);

  /// Adds an address to ask for records at start (node.toml `bootstrap`); duplicates are
  /// ignored. Fails (errc::invalid_config) for an address `config::parse_host_port` refuses.
  result<void> add_bootstrap(const config::host_port& where);
  /// The bootstrap addresses, in the order added.
  [[nodiscard]] std::vector<config::host_port> bootstrap() const;

  /// Writes every signed record to `path` atomically (temporary file, fsync, rename, fsync
  /// of the directory): the version line, then one hex-encoded record per line.
  [[nodiscard]] result<void> save(const std::filesystem::path& path) const;
  /// Offers every record of a file `save` wrote; each is verified again as if gossiped, and
  /// one that fails is dropped and counted in the summary (never trusted). A missing file is
  /// not an error (`found` is false: a first start). A file that is not an address book
  /// (wrong version line, larger than `max_book_file_bytes`, unreadable) is an error
  /// (errc::malformed or io_error, naming the file) and changes nothing: the caller logs it
  /// and starts from genesis and gossip.
  [[nodiscard]] result<load_summary> load(const std::filesystem::path& path);

  [[nodiscard]] offer_counters counters() const;
  [[nodiscard]] const std::string& chain_id() const { return chain_id_; }

private:
  const std::string chain_id_;
  const validator_set validators_;
  const std::shared_ptr<const crypto::verifier> verifier_;

  mutable std::mutex mutex_;
  /// Newest record per validator; a genesis address is held as sequence 0, unsigned.
  std::map<replica_id, address_record> held_; ///< guarded by mutex_
  std::vector<config::host_port> bootstrap_;  ///< guarded by mutex_
  offer_counters counters_;                   ///< guarded by mutex_

  offer_outcome count_locked(offer_outcome o);
  [[nodiscard]] std::uint64_t held_sequence_locked(replica_id id) const;
};

} // namespace bft::net
