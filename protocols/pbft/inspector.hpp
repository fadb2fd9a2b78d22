#pragma once
/// The PBFT protocol inspector (protocols/common/protocol_inspector.hpp): what a PBFT frame
/// commits its signer to, and the Byzantine variants the simulator injects. Stateless, pure;
/// safe to share once built.
#include <memory>

#include "protocols/common/protocol_inspector.hpp"

namespace bft::pbft {

/// Statements: pre-prepare, prepare, commit (view, seq, batch digest), checkpoint (seq, state
/// digest; view 0), view-change and new-view (new view, seq 0, SHA3 of the signed bytes).
[[nodiscard]] std::unique_ptr<bft::protocol_inspector> make_inspector();

} // namespace bft::pbft
