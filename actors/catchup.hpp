#pragma once
/// Catch-up by snapshot (design section 6, engine.hpp `ready.state_transfer`): the wire
/// messages that replicas exchange to move an application snapshot, what a server answers, and
/// the fetcher that a replica which is behind runs. No CAF here: the replica actor
/// (actors/replica.cpp) feeds frames and ticks in and sends what comes out, and the tests drive
/// the same class with honest and lying peers.
///
/// Protocol (frames between replicas, authenticated by the link hello; not signed, because
/// everything they carry is checked against a root that a quorum certified):
///
///   fetcher ──request{index, chunk = manifest}──▶ source
///   source  ──manifest{index, root, total bytes, chunk bytes, SHA3 of each chunk}──▶ fetcher
///           (or unavailable{index}: the source holds no snapshot at that index)
///   fetcher ──request{index, chunk k}──▶ source (up to `window` chunks in flight)
///   source  ──chunk{index, k, bytes}──▶ fetcher
///
/// Checks, and what a failed one does:
///  - the manifest's root must equal the certified root of the `state_transfer_request`, and
///    its sizes must be consistent: otherwise the source is faulty ("wrong_root",
///    "malformed"), is skipped for the rest of the session, and the next source is asked;
///  - each chunk must hash to the manifest's digest: otherwise its sender is faulty
///    ("bad_chunk"), and the chunk is asked from the next source (a snapshot at one index has
///    one canonical encoding, so honest replicas serve identical chunks);
///  - the assembled snapshot must restore to the certified root (`kv_state_machine::restore`
///    recomputes it): otherwise the manifest's sender lied with self-consistent digests
///    ("bad_snapshot"); the session starts over with the next source;
///  - a source that does not answer within `patience` ticks ("timeout") or has no snapshot
///    ("unavailable") is left for the next one; it is not marked faulty.
///
/// Threading: one owner (the replica actor) calls every member.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "protocols/common/bytes.hpp"
#include "protocols/common/engine.hpp"
#include "protocols/common/errors.hpp"
#include "protocols/common/ids.hpp"

namespace bft::actors {

inline constexpr std::uint16_t sync_request_type = 0x5901;
inline constexpr std::uint16_t sync_manifest_type = 0x5902;
inline constexpr std::uint16_t sync_chunk_type = 0x5903;
inline constexpr std::uint16_t sync_unavailable_type = 0x5904;
/// `sync_request::chunk` value that asks for the manifest.
inline constexpr std::uint32_t manifest_chunk = 0xffffffffu;
/// Default chunk size a server cuts its snapshot into.
inline constexpr std::uint32_t default_chunk_bytes = 256u << 10;
/// Limits a fetcher accepts (a manifest beyond them is malformed).
inline constexpr std::uint32_t max_chunk_bytes = 4u << 20;
inline constexpr std::size_t max_chunks = 1u << 16;

struct sync_request {
  std::uint64_t index = 0;
  std::uint32_t chunk = manifest_chunk;
};
struct sync_manifest {
  std::uint64_t index = 0;
  digest root{};
  std::uint64_t total_bytes = 0;
  std::uint32_t chunk_bytes = 0;
  std::vector<digest> chunks;
};
struct sync_chunk {
  std::uint64_t index = 0;
  std::uint32_t chunk = 0;
  bytes data;
};
struct sync_unavailable {
  std::uint64_t index = 0;
};
using sync_message = std::variant<sync_request, sync_manifest, sync_chunk, sync_unavailable>;

/// True if the frame's envelope is one of the sync types (the replica actor keeps such frames
/// away from the engine).
[[nodiscard]] bool is_sync_frame(byte_view frame);
[[nodiscard]] bytes encode_sync(const sync_message& m);
/// Decodes a sync frame; an error for anything truncated, oversized or not canonical.
[[nodiscard]] result<sync_message> decode_sync(byte_view frame);

/// A snapshot a replica can serve: its bytes cut into chunks, and the manifest.
struct served_snapshot {
  std::uint64_t index = 0;
  std::shared_ptr<const bytes> data;
  sync_manifest manifest;
};
/// Cuts `data` (the snapshot taken at `index`, whose root is `root`) into chunks.
[[nodiscard]] served_snapshot make_served(std::uint64_t index, const digest& root,
                                          std::shared_ptr<const bytes> data,
                                          std::uint32_t chunk_bytes = default_chunk_bytes);
/// The answer of a server to `req`: the manifest, the chunk, or `unavailable` when `snap` is
/// null, of another index, or has no such chunk.
[[nodiscard]] sync_message answer(const served_snapshot* snap, const sync_request& req);

/// A peer caught serving something wrong, or not serving.
struct fetch_fault {
  replica_id peer{0};
  std::string reason; ///< wrong_root, malformed, bad_chunk, bad_snapshot, timeout, unavailable
};

/// What the fetcher wants done after an input.
struct fetch_output {
  std::vector<std::pair<replica_id, bytes>> send; ///< frames to send, to one peer each
  std::vector<fetch_fault> faults;
  /// Every chunk arrived and matched the manifest: the assembled snapshot, to be restored and
  /// checked against the certified root (then `on_installed` or `on_install_failed`).
  std::optional<bytes> complete;
};

/// The fetching side of one catch-up session at a time. See the file comment.
class snapshot_fetcher {
public:
  /// `window`: chunks in flight; `patience`: ticks without progress before the next source.
  explicit snapshot_fetcher(std::size_t window = 4, std::uint64_t patience = 200);

  /// Starts a session for `req` (replacing any other). Sources are asked in the order of
  /// `req.sources`, then the other `peers` (any replica may hold the snapshot; it is checked
  /// against the certified root anyway).
  fetch_output start(const state_transfer_request& req, const std::vector<replica_id>& peers);
  fetch_output on_message(replica_id from, const sync_message& m);
  fetch_output on_tick();
  /// The assembled snapshot did not restore to the certified root: blame its manifest's
  /// sender and start over with the next source.
  fetch_output on_install_failed();
  /// The snapshot was installed: the session ends.
  void on_installed();
  void cancel();

  [[nodiscard]] bool active() const { return active_; }
  [[nodiscard]] bool installing() const { return installing_; }
  [[nodiscard]] std::uint64_t index() const { return index_; }
  [[nodiscard]] const digest& root() const { return root_; }
  /// Peers caught lying in this session (never asked again in it).
  [[nodiscard]] const std::set<replica_id>& faulty() const { return faulty_; }

private:
  void ask_manifest(fetch_output& out);
  void request_chunks(fetch_output& out);
  /// Moves to the next source that is not faulty; false if there is none.
  bool next_source();
  void fault(fetch_output& out, replica_id peer, const char* reason, bool faulty);
  void reset_transfer();

  std::size_t window_;
  std::uint64_t patience_;
  bool active_ = false;
  bool installing_ = false;
  std::uint64_t index_ = 0;
  digest root_{};
  std::vector<replica_id> sources_;
  std::size_t cursor_ = 0;
  std::set<replica_id> faulty_;
  std::optional<sync_manifest> manifest_;
  replica_id manifest_from_{0};
  std::vector<std::optional<bytes>> chunks_;
  std::map<std::uint32_t, replica_id> in_flight_; ///< chunk -> peer asked
  std::uint64_t idle_ticks_ = 0;
  std::size_t unavailable_in_row_ = 0;
};

} // namespace bft::actors
