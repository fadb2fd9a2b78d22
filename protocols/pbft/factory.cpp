#include "protocols/pbft/factory.hpp"

#include "protocols/pbft/replica.hpp"

namespace bft::pbft {

std::unique_ptr<bft::engine> make_engine(const engine_config& cfg, const crypto::signer& s,
                                         const crypto::verifier& v, const persisted_state& stored) {
  return std::make_unique<replica>(cfg, s, v, stored);
}

} // namespace bft::pbft
