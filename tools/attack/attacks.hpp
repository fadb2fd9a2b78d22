#pragma once
/// The hostile inputs of `bft-attack` (issue 16, point 8): each function runs one attack
/// against one replica's secure port for a bounded time and reports what the victim did.
/// Each returns 0 when the victim behaved as the attack's description says (closed the
/// hostile connection, or kept the session through a flood), 1 when it did not, 2 when the
/// attack could not be set up. The victim's own account (bft_link_rejections_total, its RSS,
/// its progress) is what tests/attack/attack_test.sh asserts; these results are the attacker's
/// side. Free functions; each owns its sockets.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net/secure_channel.hpp"

namespace bft::attack {

/// Where and whom to attack, and as whom.
struct target {
  std::string host;
  std::uint16_t port = 0;
  replica_id id{0};                             ///< the victim's validator id
  std::shared_ptr<net::local_identity> client;  ///< a fresh client key, genesis validators
  std::shared_ptr<net::local_identity> as_peer; ///< a validator key (--key/--as), or null
};

/// Reads genesis and (if `key_file` is set) a validator key file; `as_id` is that key's id.
target load_target(const std::string& genesis, replica_id victim, const std::string& key_file,
                   replica_id as_id);

enum class stage { before_handshake, as_client, as_validator };

/// 1, 2. A length prefix of 0xffffffff (4 GiB), then filler; the victim must close.
int oversized_header(const target& t, stage s);
/// 3. A CAF BASP header (32 bytes, payload length 0xffffffff), then filler.
int basp_header(const target& t);
/// 4. `count` idle connections, source by source (127.0.0.x addresses in `sources`), held for
/// `hold`; the victim must close the ones over its pending limits.
int idle_connections(const target& t, std::size_t count, const std::vector<std::string>& sources,
                     std::chrono::seconds hold);
/// 5. A valid hello trickled one byte every `every`; the victim must close before `limit`.
int slow_handshake(const target& t, std::chrono::milliseconds every, std::chrono::seconds limit);
/// 6. `connections` connections of random bytes (seeded): half purely random, half with a
/// plausible length prefix (<= 512) followed by random bytes.
int random_bytes(const target& t, std::size_t connections, std::size_t size, std::uint64_t seed);
/// 7. A valid hello under a fresh key claiming validator `claim`.
int unknown_key(const target& t, replica_id claim);
/// 8. A completed client handshake, then its hello and proof replayed on a new connection.
int replayed_handshake(const target& t);
/// 9. As validator `t.as_peer`: the secure and the link handshake, then sealed calls of
/// garbage, well-formed batches of garbage, one payload replayed and calls under another
/// validator's id, at full speed for `duration`; the victim must keep the session. Finally one
/// sealed frame is sent twice: the victim should close (bad_frame); with `expect_close` that
/// is required too.
/// `window`: calls the flood keeps unanswered (0: it never reads the answers).
int flood(const target& t, std::chrono::seconds duration, std::uint64_t seed, bool expect_close,
          std::size_t window);

} // namespace bft::attack
