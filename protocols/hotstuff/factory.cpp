#include "protocols/hotstuff/factory.hpp"

#include "protocols/hotstuff/replica.hpp"

namespace bft::hotstuff {

std::unique_ptr<bft::engine> make_engine(const engine_config& cfg, const crypto::signer& s,
                                         const crypto::verifier& v, const persisted_state& state) {
  return std::make_unique<replica>(cfg, s, v, state);
}

} // namespace bft::hotstuff
