#include "protocols/sim/twins_schedule.hpp"

#include <string>
#include <vector>

#include "protocols/sim/rng.hpp"

// Twins schedules: the rounds of a scenario (enumerated, sampled or explicit), and their
// text form (parse and print).
namespace bft::sim {

using detail::drop_kind_letters;
using detail::drop_other_bit;
using detail::mix64;

std::vector<twins_round> twins_plan(const options& o) {
  if (!o.twins_scenario) return {};
  if (!o.twins_schedule.empty()) return o.twins_schedule;
  const std::uint32_t s = *o.twins_scenario;
  std::vector<twins_round> out;
  if (o.twins_sample_rules) {
    // Sampled rules: per round, no partition half of the time (rules steer single messages
    // best when everyone is connected), else one of the 15; a leader among the 4 keys; and 0
    // to twins_max_sampled_rules rules, each withholding a non-empty set of the kinds p, v, n,
    // f from a non-empty set of sender instances to a non-empty set of receiver instances.
    rng draw(mix64(mix64(s) ^ (std::uint64_t{o.twins_rounds} << 40) ^ 0x5a3b'1e5eULL));
    for (std::uint32_t r = 0; r < o.twins_rounds; ++r) {
      twins_round x;
      x.partition =
          draw.chance(500) ? 0 : static_cast<std::uint32_t>(draw.between(1, twins_partitions));
      x.leader = static_cast<std::uint32_t>(draw.below(4));
      const auto rules = draw.below(twins_max_sampled_rules + 1);
      for (std::uint64_t k = 0; k < rules; ++k) {
        twins_drop d;
        d.kinds = static_cast<std::uint8_t>(draw.between(1, 15));
        d.from = static_cast<std::uint8_t>(draw.between(1, 31));
        d.to = static_cast<std::uint8_t>(draw.between(1, 31));
        x.drops.push_back(d);
      }
      out.push_back(std::move(x));
    }
    return out;
  }
  if (o.twins_rounds == twins_enumerated_rounds) {
    // The enumeration: scenario s is three base-15 digits, one partition per round; the
    // twinned replica leads every round.
    std::uint32_t rest = s;
    for (std::uint32_t r = 0; r < twins_enumerated_rounds; ++r) {
      out.push_back({rest % twins_partitions + 1, 0, {}});
      rest /= twins_partitions;
    }
    return out;
  }
  // Sampled deep Twins: the same choices per round (one of the 15 partitions) plus the leader
  // of the round (one of the 4 keys, 0 being the twins), drawn from the scenario number with
  // the simulator's own generator, so `--rounds R --scenario K` replays what the sample ran.
  rng draw(mix64(mix64(s) ^ (std::uint64_t{o.twins_rounds} << 40) ^ 0x7717'5eedULL));
  for (std::uint32_t r = 0; r < o.twins_rounds; ++r) {
    twins_round x;
    x.partition = static_cast<std::uint32_t>(draw.between(1, twins_partitions));
    x.leader = static_cast<std::uint32_t>(draw.below(4));
    out.push_back(x);
  }
  return out;
}

namespace {

/// "KINDS FROM>TO" (see parse_twins_schedule) to a rule; nullopt if malformed.
std::optional<twins_drop> parse_drop(std::string_view s) {
  twins_drop d;
  std::size_t i = 0;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '*') {
      d.kinds = 0xff;
    } else if (c == 'o') {
      d.kinds |= drop_other_bit;
    } else if (auto k = drop_kind_letters.find(c); k != std::string_view::npos) {
      d.kinds |= static_cast<std::uint8_t>(1u << k);
    } else {
      break;
    }
  }
  auto set = [&](std::uint8_t& out) {
    const std::size_t start = i;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '4'; ++i)
      out |= static_cast<std::uint8_t>(1u << (s[i] - '0'));
    return i > start;
  };
  if (d.kinds == 0 || !set(d.from) || i >= s.size() || s[i] != '>') return std::nullopt;
  ++i;
  if (!set(d.to) || i != s.size()) return std::nullopt;
  return d;
}

std::string to_string(const twins_drop& d) {
  std::string out;
  if (d.kinds == 0xff) {
    out = "*";
  } else {
    for (std::size_t k = 0; k < drop_kind_letters.size(); ++k)
      if (d.kinds & (1u << k)) out += drop_kind_letters[k];
    if (d.kinds & drop_other_bit) out += 'o';
  }
  for (int i = 0; i < 5; ++i)
    if (d.from & (1u << i)) out += static_cast<char>('0' + i);
  out += '>';
  for (int i = 0; i < 5; ++i)
    if (d.to & (1u << i)) out += static_cast<char>('0' + i);
  return out;
}

} // namespace

std::optional<std::vector<twins_round>> parse_twins_schedule(std::string_view s) {
  std::vector<twins_round> out;
  while (!s.empty()) {
    const auto comma = s.find(',');
    auto item = s.substr(0, comma);
    std::vector<twins_drop> drops;
    if (auto slash = item.find('/'); slash != std::string_view::npos) {
      auto rules = item.substr(slash + 1);
      item = item.substr(0, slash);
      while (true) {
        const auto next = rules.find('/');
        auto d = parse_drop(rules.substr(0, next));
        if (!d) return std::nullopt;
        drops.push_back(*d);
        if (next == std::string_view::npos) break;
        rules.remove_prefix(next + 1);
      }
    }
    const auto colon = item.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto number = [](std::string_view d) -> std::optional<std::uint32_t> {
      if (d.empty() || d.size() > 3) return std::nullopt;
      std::uint32_t v = 0;
      for (char c : d) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint32_t>(c - '0');
      }
      return v;
    };
    auto mask = number(item.substr(0, colon));
    auto leader = number(item.substr(colon + 1));
    if (!mask || !leader || *mask > twins_partitions || *leader > 3) return std::nullopt;
    out.push_back({*mask, *leader, std::move(drops)});
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
    if (s.empty()) return std::nullopt; // a trailing comma
  }
  if (out.empty() || out.size() > twins_max_rounds) return std::nullopt;
  return out;
}

std::string to_string(const std::vector<twins_round>& rounds) {
  std::string out;
  for (const auto& r : rounds) {
    if (!out.empty()) out += ',';
    out += std::to_string(r.partition) + ":" + std::to_string(r.leader);
    for (const auto& d : r.drops) {
      out += '/';
      out += to_string(d);
    }
  }
  return out;
}

} // namespace bft::sim
