#pragma once
/// Every typed actor interface of the actor layer, its atoms and message types, in one place
/// (the layout of VAST's actors.hpp). Include only from actor translation units: this pulls
/// in CAF.
///
/// Who talks to whom (design section 2):
///
///   peer link ──hello/peer frame──▶ acceptor ──frame──▶ replica ──persist──▶ store
///   client    ──client frame─────▶ acceptor ──────────▶ gateway ──requests──▶ replica
///   replica ──frame──▶ link (one per peer) ──▶ the peer's acceptor (local or BASP)
///   replica ──commit──▶ state machine ──executed──▶ replica
///                                    └─outcomes──▶ gateway ──receipt──▶ client
///   replica ──observations, evidence──▶ validator monitor
///
/// Only the acceptor is reachable from other processes, and only `frame` (plus atoms) crosses
/// a process boundary: it is the one registered message type. Every other payload below is
/// local-only (`CAF_ALLOW_UNSAFE_MESSAGE_TYPE`): CAF never serializes it.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/wire.hpp"
#include "protocols/common/engine.hpp"
#include "protocols/smr/kv_state_machine.hpp"

namespace bft::actors {

// ---- atoms (at most 10 characters) ----
using hello_atom = caf::atom_constant<caf::atom("hello")>;
using peer_atom = caf::atom_constant<caf::atom("peer")>;
using client_atom = caf::atom_constant<caf::atom("client")>;
using ack_atom = caf::atom_constant<caf::atom("ack")>;
using frame_atom = caf::atom_constant<caf::atom("frame")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using submit_atom = caf::atom_constant<caf::atom("submit")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using executed_atom = caf::atom_constant<caf::atom("executed")>;
using outcome_atom = caf::atom_constant<caf::atom("outcome")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using read_atom = caf::atom_constant<caf::atom("read")>;
using session_atom = caf::atom_constant<caf::atom("session")>;
using persist_atom = caf::atom_constant<caf::atom("persist")>;
using persisted_atom = caf::atom_constant<caf::atom("persisted")>;
using link_up_atom = caf::atom_constant<caf::atom("linkup")>;
using link_fail_atom = caf::atom_constant<caf::atom("linkfail")>;
using reconnect_atom = caf::atom_constant<caf::atom("reconnect")>;
using observe_atom = caf::atom_constant<caf::atom("observe")>;
using evidence_atom = caf::atom_constant<caf::atom("evidence")>;
using health_atom = caf::atom_constant<caf::atom("health")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;
using install_atom = caf::atom_constant<caf::atom("install")>;
/// Several engine frames in one `frame` (actors/wire.hpp: append_to_batch / check_batch).
using batch_atom = caf::atom_constant<caf::atom("batch")>;

// ---- the one message type that crosses processes ----

/// Opaque canonical bytes plus the sender's replica id (0 for clients). The bytes live in a
/// `std::string` on purpose: CAF 0.17's deserializer checks a string's length prefix against
/// the remaining input before allocating, but resizes a byte vector to whatever its prefix
/// claims (caf-0.17-notes.md). Receivers also check `data.size() <= codec::max_frame_bytes`
/// before anything else. Registered as "bft::frame" on every node.
struct frame {
  std::uint32_t from = 0;
  std::string data;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, frame& x) {
  return f(caf::meta::type_name("bft::frame"), x.from, x.data);
}

/// The name `frame` is registered under (the same on every node).
inline constexpr const char* frame_type_name = "bft::frame";

// ---- local-only payloads ----

/// A `ready.persist` on its way to the store, with the entries of the same `ready.committed`
/// (encoded, by index) when the store logs them: both become durable in one synced write, so
/// an engine's persisted execution point never runs ahead of the entries that reach it.
struct persist_batch {
  std::vector<persist_op> ops;
  std::vector<std::pair<std::uint64_t, bytes>> entries;
};
/// Client requests admitted by a gateway, for the engine (`ev::client_requests`).
struct request_batch {
  std::vector<client_request> requests;
};
/// `ready.committed`, in order, for the state machine.
struct commit_batch {
  std::vector<committed_entry> entries;
};
/// The state machine applied entry `index`; its state root after it (`ev::executed`).
struct executed_msg {
  std::uint64_t index = 0;
  digest state_root{};
};
struct executed_list {
  std::vector<executed_msg> entries;
};
/// What executing one committed entry produced, for the gateway.
struct outcome_batch {
  std::uint64_t index = 0;
  std::vector<smr::request_outcome> outcomes;
};
/// The engine's status plus counters the replica keeps.
struct replica_status {
  engine_status engine;
  std::uint64_t committed_txs = 0;
};
/// The state machine's status.
struct state_status {
  std::uint64_t applied_index = 0;
  digest state_root{};
  std::size_t keys = 0;
};
/// A snapshot the state machine holds at an index (catch-up serving); `found` false if none.
struct snapshot_answer {
  bool found = false;
  digest root{};
  std::shared_ptr<const bytes> data;
};
/// A fetched snapshot to install: it must restore to `root` at `index`.
struct install_request {
  std::uint64_t index = 0;
  digest root{};
  bytes snapshot;
};
struct install_answer {
  bool ok = false;
  std::string error;
  /// The installed state's exactly-once table (ev::state_installed::client_seqs).
  std::vector<std::pair<public_key, std::uint64_t>> client_seqs;
};
/// A client's exactly-once record, as the state machine holds it now.
struct session_answer {
  bool known = false;
  smr::client_session session;
};
/// A local read.
struct read_answer {
  std::optional<std::string> value;
  std::uint64_t applied_index = 0;
};
/// Per-peer counts gathered by a replica since its last report to the monitor.
struct peer_observation {
  replica_id peer{0};
  std::uint64_t messages = 0;
  std::uint64_t signature_failures = 0;
  std::uint64_t rejected = 0;
  /// Link checks (secure transport): sequence gaps or reorders and clocks outside the window
  /// on this peer's connections. Local suspicion only; never a safety decision.
  std::uint64_t link_anomalies = 0;
};
struct observations {
  std::vector<peer_observation> peers;
};
/// Equivocation reported by the engine (already verified by it).
struct evidence_report {
  bft::evidence ev;
};
/// The validator monitor's view of the set.
struct health_report {
  std::uint32_t active = 0;
  std::uint32_t total = 0;
  std::uint32_t byzantine = 0;
  std::vector<validator_health> validators;
};
/// A client's final answer: `replies` holds f + 1 (or more) matching replies when `ok`.
struct final_receipt {
  bool ok = false;
  std::string error;
  client_reply reply;
  std::uint32_t matching = 0;
};
/// Every replica's status reply (or why it has none).
struct cluster_status {
  std::vector<std::optional<client_reply>> replies;
  std::vector<std::string> errors;
};
/// A list of transactions for the client actor to sign and submit as one request.
struct tx_list {
  std::vector<bytes> txs;
};

// ---- interfaces ----

/// The published face of a replica: link handshakes, authenticated peer frames (the reply
/// returns one credit to the sending link) and client calls.
using acceptor_actor = caf::typed_actor<caf::replies_to<hello_atom, frame>::with<frame>,
                                        caf::replies_to<peer_atom, frame>::with<ack_atom>,
                                        caf::replies_to<batch_atom, frame>::with<ack_atom>,
                                        caf::replies_to<client_atom, frame>::with<frame>>;

/// Hosts one engine; applies its `ready` values in order. Owner: the node or cluster.
using replica_actor =
    caf::typed_actor<caf::reacts_to<frame_atom, frame>, caf::reacts_to<batch_atom, frame>,
                     caf::reacts_to<tick_atom, std::uint64_t>,
                     caf::reacts_to<submit_atom, request_batch>, caf::reacts_to<flush_atom>,
                     caf::replies_to<status_atom>::with<replica_status>>;

/// Makes `ready.persist` durable; the reply means "durable".
using store_actor =
    caf::typed_actor<caf::replies_to<persist_atom, persist_batch>::with<persisted_atom>>;

/// One per (replica, peer): outbound queue, transport, handshake, reconnection.
using link_actor = caf::typed_actor<caf::reacts_to<frame_atom, frame>,
                                    caf::reacts_to<link_up_atom, acceptor_actor>,
                                    caf::reacts_to<link_fail_atom, std::string>,
                                    caf::reacts_to<reconnect_atom>, caf::reacts_to<flush_atom>>;

/// Client calls in, receipts out.
using gateway_actor =
    caf::typed_actor<caf::replies_to<client_atom, frame>::with<frame>,
                     caf::reacts_to<outcome_atom, outcome_batch>, caf::reacts_to<sweep_atom>>;

/// The replicated KV application. Replies to a commit with the state root after each entry
/// (the replica feeds them back as `ev::executed`); sends outcomes to its subscribers.
using state_machine_actor =
    caf::typed_actor<caf::replies_to<commit_atom, commit_batch>::with<executed_list>,
                     caf::reacts_to<subscribe_atom, gateway_actor>,
                     caf::replies_to<read_atom, std::string>::with<read_answer>,
                     caf::replies_to<session_atom, public_key>::with<session_answer>,
                     caf::replies_to<status_atom>::with<state_status>,
                     caf::replies_to<snapshot_atom, std::uint64_t>::with<snapshot_answer>,
                     caf::replies_to<install_atom, install_request>::with<install_answer>>;

/// Per-validator liveness, counts, evidence; the health report.
using monitor_actor = caf::typed_actor<caf::reacts_to<observe_atom, observations>,
                                       caf::reacts_to<evidence_atom, evidence_report>,
                                       caf::replies_to<health_atom>::with<health_report>>;

/// A client of the whole cluster: signs requests with its key, calls every replica, and
/// answers once f + 1 replies match. One request in flight at a time (exactly-once order).
using client_actor = caf::typed_actor<caf::replies_to<submit_atom, tx_list>::with<final_receipt>,
                                      caf::replies_to<status_atom>::with<cluster_status>>;

} // namespace bft::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bft::actors::persist_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bft::actors::request_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bft::actors::commit_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bft::actors::executed_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bft::actors::executed_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bft::actors::outcome_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bft::actors::replica_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bft::actors::state_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bft::actors::session_answer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bft::actors::snapshot_answer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bft::actors::install_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bft::actors::install_answer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bft::actors::read_answer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bft::actors::observations)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bft::actors::evidence_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bft::actors::health_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bft::actors::final_receipt)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bft::actors::cluster_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bft::actors::tx_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bft::public_key)
