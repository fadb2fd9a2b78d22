#pragma once
/// Strong id types: a `replica_id` cannot be passed where a `view_number` is expected.
#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>

namespace bft {

/// A number with a tag type, so ids of different kinds do not mix by accident.
template <class Tag, class Rep = std::uint64_t>
class strong_id {
public:
  using rep = Rep;
  constexpr strong_id() = default;
  constexpr explicit strong_id(Rep v) : value_(v) {}
  [[nodiscard]] constexpr Rep value() const { return value_; }
  constexpr auto operator<=>(const strong_id&) const = default;
  constexpr strong_id next() const { return strong_id{static_cast<Rep>(value_ + 1)}; }
  constexpr strong_id& operator++() {
    ++value_;
    return *this;
  }
  friend std::ostream& operator<<(std::ostream& os, strong_id id) { return os << id.value_; }

private:
  Rep value_{};
};

using replica_id = strong_id<struct replica_id_tag, std::uint32_t>;
using view_number = strong_id<struct view_number_tag>;
using seq_number = strong_id<struct seq_number_tag>;
using height = strong_id<struct height_tag>;
using epoch = strong_id<struct epoch_tag>;

} // namespace bft

template <class Tag, class Rep>
struct std::hash<bft::strong_id<Tag, Rep>> {
  std::size_t operator()(bft::strong_id<Tag, Rep> id) const noexcept {
    return std::hash<Rep>{}(id.value());
  }
};
