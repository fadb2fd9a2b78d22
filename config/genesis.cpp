#include "config/genesis.hpp"

#include <map>

#include "config/address.hpp"
#include "config/toml_reader.hpp"
#include "crypto/key_file.hpp"

namespace bft::config {

std::string_view to_string(protocol_kind p) {
  switch (p) {
  case protocol_kind::pbft: return "pbft";
  case protocol_kind::hotstuff: return "hotstuff";
  }
  return "unknown";
}

std::optional<protocol_kind> parse_protocol(std::string_view s) {
  if (s == "pbft") return protocol_kind::pbft;
  if (s == "hotstuff") return protocol_kind::hotstuff;
  return std::nullopt;
}

std::optional<std::string> chain_id_problem(std::string_view id) {
  auto valid = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  };
  if (id.empty()) return "must not be empty";
  if (id.size() > max_chain_id_length)
    return "must be at most " + std::to_string(max_chain_id_length) + " characters";
  for (char c : id)
    if (!valid(c)) return "may hold only letters, digits, '-', '_' and '.'";
  return std::nullopt;
}

namespace {

result<protocol_params> read_params(detail::table_reader& root, const std::string& file) {
  protocol_params p;
  const auto* node = root.node("params");
  if (node == nullptr) return p;
  const auto* t = node->as_table();
  if (t == nullptr)
    return root.fail(
        "params",
        std::string("expected a table ([params]), found ").append(detail::type_name(node->type())));
  detail::table_reader r(*t, file, "params.");
  const protocol_params d;
  auto batch_size = r.integer("batch_size", 1, 1'000'000, d.batch_size);
  if (!batch_size) return batch_size.error();
  auto batch_delay = r.integer("batch_delay_ms", 0, 60'000, d.batch_delay_ms);
  if (!batch_delay) return batch_delay.error();
  auto tick = r.integer("tick_ms", 1, 60'000, d.tick_ms);
  if (!tick) return tick.error();
  auto timeout = r.integer("base_timeout_ticks", 1, 1'000'000, d.base_timeout_ticks);
  if (!timeout) return timeout.error();
  auto checkpoint = r.integer("checkpoint_interval", 1, 1'000'000'000, d.checkpoint_interval);
  if (!checkpoint) return checkpoint.error();
  if (auto u = r.no_unknown_fields(); !u) return u.error();
  p.batch_size = *batch_size;
  p.batch_delay_ms = *batch_delay;
  p.tick_ms = *tick;
  p.base_timeout_ticks = *timeout;
  p.checkpoint_interval = *checkpoint;
  return p;
}

result<std::vector<validator>> read_validators(detail::table_reader& root,
                                               const std::string& file) {
  const auto* node = root.node("validators");
  if (node == nullptr) return root.fail("validators", "missing required field ([[validators]])");
  const auto* arr = node->as_array();
  if (arr == nullptr)
    return root.fail("validators",
                     std::string("expected an array of tables ([[validators]]), found ")
                         .append(detail::type_name(node->type())));
  std::vector<validator> out;
  std::map<std::uint32_t, std::size_t> ids; // id -> index of its first use
  std::map<public_key, std::size_t> keys;   // key -> index of its first use
  std::map<std::string, std::size_t> addrs; // address -> index of its first use
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const std::string prefix = "validators[" + std::to_string(i) + "]";
    const auto* t = (*arr)[i].as_table();
    if (t == nullptr)
      return root.fail(
          prefix,
          std::string("expected a table, found ").append(detail::type_name((*arr)[i].type())));
    detail::table_reader r(*t, file, prefix + ".");
    auto id = r.integer("id", 0, UINT32_MAX);
    if (!id) return id.error();
    auto key_hex = r.string("public_key");
    if (!key_hex) return key_hex.error();
    auto address = r.string("address");
    if (!address) return address.error();
    auto weight = r.integer("weight", 1, max_weight, 1);
    if (!weight) return weight.error();
    if (auto u = r.no_unknown_fields(); !u) return u.error();

    validator v;
    v.id = replica_id{static_cast<std::uint32_t>(*id)};
    bytes raw;
    if (key_hex->size() != 64 || !from_hex(*key_hex, raw))
      return r.fail("public_key", "must be 64 hex digits (an ed25519 public key)");
    std::copy(raw.begin(), raw.end(), v.key.begin());
    if (auto hp = parse_host_port(*address); !hp) return r.fail("address", hp.error().detail);
    v.address = *address;
    v.weight = *weight;

    if (auto [it, fresh] = ids.emplace(v.id.value(), i); !fresh)
      return r.fail("id", std::to_string(v.id.value()) + " is already used by validators[" +
                              std::to_string(it->second) + "]");
    if (auto [it, fresh] = keys.emplace(v.key, i); !fresh)
      return r.fail("public_key", "already used by validators[" + std::to_string(it->second) + "]");
    if (auto [it, fresh] = addrs.emplace(v.address, i); !fresh)
      return r.fail("address", "already used by validators[" + std::to_string(it->second) + "]");
    out.push_back(std::move(v));
  }
  if (out.size() < min_validators)
    return root.fail("validators", std::to_string(out.size()) + " listed, at least " +
                                       std::to_string(min_validators) +
                                       " are needed (n = 3f + 1 with f >= 1)");
  return out;
}

} // namespace

result<genesis> parse_genesis(std::string_view text, const std::string& file) {
  auto table = detail::parse_toml(text, file);
  if (!table) return table.error();
  detail::table_reader root(*table, file, "");
  genesis g;
  auto chain_id = root.string("chain_id");
  if (!chain_id) return chain_id.error();
  if (auto problem = chain_id_problem(*chain_id)) return root.fail("chain_id", *problem);
  g.chain_id = *chain_id;

  auto protocol = root.string("protocol");
  if (!protocol) return protocol.error();
  auto kind = parse_protocol(*protocol);
  if (!kind)
    return root.fail("protocol",
                     "unknown protocol \"" + *protocol + "\" (expected \"pbft\" or \"hotstuff\")");
  g.protocol = *kind;

  auto params = read_params(root, file);
  if (!params) return params.error();
  g.params = *params;

  auto validators = read_validators(root, file);
  if (!validators) return validators.error();
  g.validators = std::move(*validators);

  if (auto u = root.no_unknown_fields(); !u) return u.error();
  // The quorum math must accept the set (it also rejects a total weight that overflows).
  if (auto vs = validator_set::make(g.validators); !vs)
    return root.fail("validators", vs.error().detail);
  return g;
}

result<genesis> load_genesis(const std::filesystem::path& path) {
  auto text = detail::read_text_file(path, max_genesis_bytes);
  if (!text) return text.error();
  auto g = parse_genesis(*text, path.string());
  if (!g) return g.error();
  g->source = path;
  return g;
}

std::string to_toml(const genesis& g) {
  const protocol_params& p = g.params;
  std::string out = "# bft genesis: the network every replica of this chain agrees on\n";
  out += "chain_id = " + detail::toml_quote(g.chain_id) + "\n";
  out += "protocol = " + detail::toml_quote(to_string(g.protocol)) + "\n\n";
  out += "[params]\n";
  out += "batch_size = " + std::to_string(p.batch_size) + "\n";
  out += "batch_delay_ms = " + std::to_string(p.batch_delay_ms) + "\n";
  out += "tick_ms = " + std::to_string(p.tick_ms) + "\n";
  out += "base_timeout_ticks = " + std::to_string(p.base_timeout_ticks) + "\n";
  out += "checkpoint_interval = " + std::to_string(p.checkpoint_interval) + "\n";
  for (const auto& v : g.validators) {
    out += "\n[[validators]]\n";
    out += "id = " + std::to_string(v.id.value()) + "\n";
    out += "public_key = " + detail::toml_quote(to_hex(v.key)) + "\n";
    out += "address = " + detail::toml_quote(v.address) + "\n";
    out += "weight = " + std::to_string(v.weight) + "\n";
  }
  return out;
}

result<void> write_genesis(const std::filesystem::path& path, const genesis& g, bool overwrite) {
  auto text = to_toml(g);
  if (auto check = parse_genesis(text, path.string()); !check) return check.error();
  return crypto::write_file_atomically(path, text, 0644, overwrite);
}

result<validator_set> make_validator_set(const genesis& g) {
  return validator_set::make(g.validators);
}

result<engine_config> make_engine_config(const genesis& g, replica_id self) {
  auto vs = make_validator_set(g);
  if (!vs) return vs.error();
  if (!vs->contains(self))
    return error{errc::invalid_config, "replica " + std::to_string(self.value()) +
                                           " is not a validator in " +
                                           (g.source.empty() ? "genesis" : g.source.string())};
  if (g.params.tick_ms == 0) return error{errc::invalid_config, "params.tick_ms: must be > 0"};
  engine_config c;
  c.chain_id = g.chain_id;
  c.epoch = epoch{0};
  c.self = self;
  c.validators = std::move(*vs);
  c.batch_size = g.params.batch_size;
  c.batch_delay_ticks = (g.params.batch_delay_ms + g.params.tick_ms - 1) / g.params.tick_ms;
  c.base_timeout_ticks = g.params.base_timeout_ticks;
  c.checkpoint_interval = g.params.checkpoint_interval;
  return c;
}

} // namespace bft::config
