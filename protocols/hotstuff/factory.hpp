#pragma once
/// Builds a HotStuff engine for a driver (replica actor, simulator, tests).
#include <memory>

#include "crypto/signer.hpp"
#include "protocols/common/engine.hpp"

namespace bft::hotstuff {

/// A Chained HotStuff replica restored from `state` (empty for a fresh start). `s` and `v`
/// must outlive the engine. Throws std::invalid_argument on a bad config or a corrupt record.
std::unique_ptr<bft::engine> make_engine(const engine_config& cfg, const crypto::signer& s,
                                         const crypto::verifier& v, const persisted_state& state);

} // namespace bft::hotstuff
