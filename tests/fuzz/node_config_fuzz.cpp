// libFuzzer target: the node config parser (config/node_config.hpp, parse_node_config).
// Invariant: text that parses is written back (to_toml) as text that parses again, against
// the same directory, to the same config.
#include "config/node_config.hpp"
#include "tests/fuzz/fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bft;
  using namespace bft::config;
  if (size > max_node_config_bytes) return 0;
  const std::filesystem::path base = "/fuzz/net";
  auto c = parse_node_config(fuzz::input_text(data, size), "node.toml", base);
  if (!c) return 0;
  const auto text = to_toml(*c);
  auto again = parse_node_config(text, "node.toml", base);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(to_toml(*again) == text);
  FUZZ_CHECK(again->id == c->id && again->key_file == c->key_file &&
             again->data_dir == c->data_dir && again->genesis_file == c->genesis_file &&
             again->listen == c->listen && again->metrics == c->metrics &&
             again->level == c->level);
  return 0;
}
