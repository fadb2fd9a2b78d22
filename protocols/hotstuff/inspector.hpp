#pragma once
/// What drivers may know about HotStuff frames without knowing their layout
/// (protocols/common/protocol_inspector.hpp): the statement a signed proposal or vote makes,
/// and the Byzantine variants the simulator's roles send. Pure and stateless.
#include <cstdint>
#include <memory>

#include "protocols/common/protocol_inspector.hpp"

namespace bft::hotstuff {

/// `statement::phase` numbers of HotStuff. Both are one per view (seq = 0): two proposals or
/// two votes of one key for one view with different block hashes are equivocation.
enum class phase : std::uint8_t {
  proposal = 1,
  vote = 2,
};

std::unique_ptr<bft::protocol_inspector> make_inspector();

} // namespace bft::hotstuff
