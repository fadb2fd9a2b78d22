// libFuzzer target: the genesis parser (config/genesis.hpp, parse_genesis), which reads a file
// an operator was handed. Invariants: text that parses is written back (to_toml) as text that
// parses again to the same genesis; the validator set and every replica's engine parameters
// can be derived from it.
#include "config/genesis.hpp"
#include "tests/fuzz/fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bft;
  using namespace bft::config;
  if (size > max_genesis_bytes) return 0;
  auto g = parse_genesis(fuzz::input_text(data, size), "genesis.toml");
  if (!g) return 0;
  const auto text = to_toml(*g);
  auto again = parse_genesis(text, "genesis.toml");
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(to_toml(*again) == text);
  FUZZ_CHECK(again->chain_id == g->chain_id && again->protocol == g->protocol);
  FUZZ_CHECK(again->validators.size() == g->validators.size());
  auto vs = make_validator_set(*g);
  FUZZ_CHECK(vs.has_value());
  for (const auto& v : g->validators) FUZZ_CHECK(make_engine_config(*g, v.id).has_value());
  return 0;
}
