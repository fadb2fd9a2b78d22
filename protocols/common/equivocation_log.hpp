#pragma once
/// One rule written once: the first signed statement per slot is remembered, and a second
/// one with different content from the same key is equivocation. PBFT (pre-prepares,
/// prepares, commits, checkpoints, view changes), HotStuff (proposals, votes) and the
/// simulator's K4 (honest keys never sign two things for one slot) all keep one of these.
#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>

#include "protocols/common/bytes.hpp"
#include "protocols/common/engine.hpp"
#include "protocols/common/ids.hpp"

namespace bft {

/// A slot a key signs at most one statement for: (signer, phase, view, seq). `phase` is the
/// engine's message kind; `seq` is 0 where the phase has none (HotStuff keys by view only).
struct signed_slot {
  std::uint32_t signer = 0;
  std::uint8_t phase = 0;
  std::uint64_t view = 0;
  std::uint64_t seq = 0;
  friend auto operator<=>(const signed_slot&, const signed_slot&) = default;
};

class equivocation_log {
public:
  /// What observe() found for one statement.
  struct observation {
    bool first = false;    ///< the slot was empty: this statement is now its first
    bool conflict = false; ///< the slot holds a statement with different content
    /// The first time a slot conflicts: proof made of the stored frame and this one. Later
    /// conflicts on the same slot carry no new evidence (nullopt) but still set `conflict`.
    std::optional<bft::evidence> evidence;
    const digest* first_content = nullptr; ///< the slot's first content (never null after)
  };

  /// Records `content` (and `frame`, the signed bytes that prove it) as the slot's first
  /// statement if it has none; otherwise compares. `frame` may be empty where no proof is kept
  /// (the simulator's K4 checks digests only).
  observation observe(const signed_slot& s, const digest& content, byte_view frame) {
    observation o;
    auto it = slots_.lower_bound(s);
    if (it == slots_.end() || it->first != s) { // the frame is copied only when it is kept
      it = slots_.emplace_hint(it, s, entry{content, bytes(frame.begin(), frame.end()), false});
      o.first = true;
      o.first_content = &it->second.content;
      return o;
    }
    o.first_content = &it->second.content;
    if (it->second.content == content) return o;
    o.conflict = true;
    if (!it->second.reported) {
      it->second.reported = true;
      o.evidence =
          bft::evidence{replica_id{s.signer}, it->second.frame, bytes(frame.begin(), frame.end())};
    }
    return o;
  }

  /// Whether the slot holds a first statement.
  [[nodiscard]] bool contains(const signed_slot& s) const { return slots_.count(s) != 0; }
  /// The slot's first content, or null: to look before a statement is checked well enough
  /// to be recorded (observe records).
  [[nodiscard]] const digest* first(const signed_slot& s) const {
    auto it = slots_.find(s);
    return it == slots_.end() ? nullptr : &it->second.content;
  }

  /// Forget slots the predicate selects (views or sequence numbers left behind), keeping the
  /// record bounded. Iterates in slot order.
  template <class Pred>
  std::size_t forget_if(Pred&& pred) {
    std::size_t n = 0;
    for (auto it = slots_.begin(); it != slots_.end();) {
      if (pred(it->first)) {
        it = slots_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }

  [[nodiscard]] std::size_t size() const { return slots_.size(); }
  void clear() { slots_.clear(); }

private:
  struct entry {
    digest content{};
    bytes frame;
    bool reported = false;
  };
  std::map<signed_slot, entry> slots_;
};

} // namespace bft
