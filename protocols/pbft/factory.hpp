#pragma once
/// Builds the PBFT engine behind the common engine contract (protocols/common/engine.hpp).
#include <memory>

#include "crypto/signer.hpp"
#include "protocols/common/engine.hpp"

namespace bft::pbft {

/// A PBFT replica restored from `stored` (empty for a fresh start). The signer and verifier
/// must outlive the engine.
[[nodiscard]] std::unique_ptr<bft::engine> make_engine(const engine_config& cfg,
                                                       const crypto::signer& s,
                                                       const crypto::verifier& v,
                                                       const persisted_state& stored);

} // namespace bft::pbft
