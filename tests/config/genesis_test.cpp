#include <doctest/doctest.h>

#include <fstream>

#include "config/address.hpp"
#include "config/genesis.hpp"
#include "crypto/ed25519.hpp"
#include "tests/config/config_text.hpp"
#include "tests/crypto/temp_dir.hpp"

using namespace bft;
using namespace bft::config;
using bft::test::genesis_text;
using bft::test::validator_text;

namespace {

/// Parses `text` as "genesis.toml" and returns the one-line error, failing if it parses.
std::string genesis_error(const std::string& text) {
  auto g = parse_genesis(text, "genesis.toml");
  REQUIRE_FALSE(g.has_value());
  CHECK(g.error() == errc::invalid_config);
  CHECK(g.error().detail.find('\n') == std::string::npos);
  return g.error().detail;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

} // namespace

TEST_CASE("a genesis without a params table gets the default parameters and weight 1") {
  auto g = parse_genesis(genesis_text(4), "genesis.toml");
  REQUIRE(g.has_value());
  CHECK(g->chain_id == "test-chain");
  CHECK(g->protocol == protocol_kind::pbft);
  CHECK(g->params.batch_size == 400);
  CHECK(g->params.batch_delay_ms == 2);
  CHECK(g->params.tick_ms == 10);
  CHECK(g->params.base_timeout_ticks == 40);
  CHECK(g->params.checkpoint_interval == 100);
  REQUIRE(g->validators.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(g->validators[i].id == replica_id{static_cast<std::uint32_t>(i)});
    CHECK(g->validators[i].weight == 1);
    CHECK(g->validators[i].key == test::key_of(i));
  }
}

TEST_CASE("genesis parameters given in the params table override the defaults") {
  auto g = parse_genesis(genesis_text(4, "hotstuff",
                                      "[params]\nbatch_size = 10\nbatch_delay_ms = 25\n"
                                      "tick_ms = 5\nbase_timeout_ticks = 7\n"
                                      "checkpoint_interval = 16\n"),
                         "genesis.toml");
  REQUIRE(g.has_value());
  CHECK(g->protocol == protocol_kind::hotstuff);
  CHECK(g->params.batch_size == 10);
  CHECK(g->params.batch_delay_ms == 25);
  CHECK(g->params.tick_ms == 5);
  CHECK(g->params.base_timeout_ticks == 7);
  CHECK(g->params.checkpoint_interval == 16);
  auto c = make_engine_config(*g, replica_id{2});
  REQUIRE(c.has_value());
  CHECK(c->chain_id == "test-chain");
  CHECK(c->self == replica_id{2});
  CHECK(c->batch_size == 10);
  CHECK(c->batch_delay_ticks == 5); // 25 ms in 5 ms ticks
  CHECK(c->base_timeout_ticks == 7);
  CHECK(c->checkpoint_interval == 16);
  CHECK(c->validators.size() == 4);
}

TEST_CASE("the engine config rounds the batch delay up to whole ticks") {
  auto g = parse_genesis(genesis_text(4), "genesis.toml");
  REQUIRE(g.has_value());
  auto c = make_engine_config(*g, replica_id{0});
  REQUIRE(c.has_value());
  CHECK(c->batch_delay_ticks == 1); // 2 ms in 10 ms ticks
  g->params.batch_delay_ms = 0;
  CHECK(make_engine_config(*g, replica_id{0})->batch_delay_ticks == 0);
  g->params.batch_delay_ms = 21;
  CHECK(make_engine_config(*g, replica_id{0})->batch_delay_ticks == 3);
}

TEST_CASE("an engine config for a replica that is not a validator is refused") {
  auto g = parse_genesis(genesis_text(4), "genesis.toml");
  REQUIRE(g.has_value());
  auto c = make_engine_config(*g, replica_id{9});
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().detail.find("replica 9 is not a validator") != std::string::npos);
}

TEST_CASE("weighted validators give weighted quorums") {
  std::string vals = validator_text(0, 0, "", "weight = 3\n") +
                     validator_text(1, 1, "", "weight = 1\n") + validator_text(2, 2) +
                     validator_text(3, 3, "", "weight = 2\n") + validator_text(4, 4);
  auto g = parse_genesis(test::genesis_head() + vals, "genesis.toml");
  REQUIRE(g.has_value());
  CHECK(g->validators[0].weight == 3);
  CHECK(g->validators[2].weight == 1);
  CHECK(g->validators[3].weight == 2);
  auto vs = make_validator_set(*g);
  REQUIRE(vs.has_value());
  CHECK(vs->total_weight() == 8);
  CHECK(vs->quorum_weight() == 6); // more than two thirds of 8
  CHECK(vs->weight_of(replica_id{0}) == 3);
  CHECK(vs->is_quorum(vs->weight_of({replica_id{0}, replica_id{3}, replica_id{1}})));
  CHECK_FALSE(vs->is_quorum(vs->weight_of({replica_id{0}, replica_id{3}})));
}

TEST_CASE("a genesis written by write_genesis loads back equal") {
  test::temp_dir dir;
  auto g = parse_genesis(genesis_text(5, "hotstuff", "[params]\nbatch_size = 7\n"), "x");
  REQUIRE(g.has_value());
  g->validators[1].weight = 4;
  auto path = dir / "genesis.toml";
  REQUIRE(write_genesis(path, *g).has_value());
  auto back = load_genesis(path);
  REQUIRE(back.has_value());
  CHECK(back->source == path);
  CHECK(back->chain_id == g->chain_id);
  CHECK(back->protocol == g->protocol);
  CHECK(back->params.batch_size == 7);
  REQUIRE(back->validators.size() == 5);
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(back->validators[i].id == g->validators[i].id);
    CHECK(back->validators[i].key == g->validators[i].key);
    CHECK(back->validators[i].address == g->validators[i].address);
    CHECK(back->validators[i].weight == g->validators[i].weight);
  }
  // Never replaces an existing genesis unless asked.
  CHECK_FALSE(write_genesis(path, *g).has_value());
  CHECK(write_genesis(path, *g, true).has_value());
}

TEST_CASE("write_genesis refuses an invalid genesis and writes nothing") {
  test::temp_dir dir;
  auto g = parse_genesis(genesis_text(4), "x");
  REQUIRE(g.has_value());
  g->validators[2].weight = 0;
  auto path = dir / "genesis.toml";
  auto w = write_genesis(path, *g);
  REQUIRE_FALSE(w.has_value());
  CHECK(w.error().detail.find("validators[2].weight: must be > 0") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("genesis error: duplicate validator id names the validator and its id field") {
  std::string vals =
      validator_text(0, 0) + validator_text(1, 1) + validator_text(1, 2) + validator_text(3, 3);
  auto e = genesis_error(test::genesis_head() + vals);
  CHECK(starts_with(e, "genesis.toml: validators[2].id: "));
  CHECK(e.find("already used by validators[1]") != std::string::npos);
}

TEST_CASE("genesis error: duplicate public key names the validator and its public_key field") {
  std::string vals =
      validator_text(0, 0) + validator_text(1, 1) + validator_text(2, 2) + validator_text(3, 0);
  auto e = genesis_error(test::genesis_head() + vals);
  CHECK(starts_with(e, "genesis.toml: validators[3].public_key: "));
  CHECK(e.find("already used by validators[0]") != std::string::npos);
}

TEST_CASE("genesis error: fewer than 4 validators names the validators field") {
  auto e = genesis_error(genesis_text(3));
  CHECK(starts_with(e, "genesis.toml: validators: 3 listed, at least 4"));
  auto none = genesis_error(test::genesis_head() + "validators = []\n");
  CHECK(starts_with(none, "genesis.toml: validators: 0 listed"));
}

TEST_CASE("genesis error: zero weight") {
  std::string vals = validator_text(0, 0) + validator_text(1, 1) +
                     validator_text(2, 2, "", "weight = 0\n") + validator_text(3, 3);
  CHECK(genesis_error(test::genesis_head() + vals) ==
        "genesis.toml: validators[2].weight: must be > 0");
  std::string negative = validator_text(0, 0, "", "weight = -5\n") + validator_text(1, 1) +
                         validator_text(2, 2) + validator_text(3, 3);
  CHECK(genesis_error(test::genesis_head() + negative) ==
        "genesis.toml: validators[0].weight: must be > 0");
}

TEST_CASE("genesis error: unknown protocol") {
  auto e = genesis_error(genesis_text(4, "raft"));
  CHECK(starts_with(e, "genesis.toml: protocol: unknown protocol \"raft\""));
}

TEST_CASE("genesis error: bad validator address") {
  for (std::string addr : {"127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", ":7000", "127.0.0.1:70a",
                           "127.0.0.1:", "host name:7000", "::1:7000"}) {
    CAPTURE(addr);
    std::string vals = validator_text(0, 0) + validator_text(1, 1, "address = \"" + addr + "\"\n") +
                       validator_text(2, 2) + validator_text(3, 3);
    auto e = genesis_error(test::genesis_head() + vals);
    CHECK(starts_with(e, "genesis.toml: validators[1].address: \"" + addr + "\" is not host:port"));
  }
}

TEST_CASE("host:port parsing accepts names, IPv4, bracketed IPv6 and ports 1..65535") {
  auto a = parse_host_port("node-1.example.org:65535");
  REQUIRE(a.has_value());
  CHECK(a->host == "node-1.example.org");
  CHECK(a->port == 65535);
  auto b = parse_host_port("[::1]:1");
  REQUIRE(b.has_value());
  CHECK(b->host == "::1");
  CHECK(b->port == 1);
  CHECK_FALSE(parse_host_port("[::1]").has_value());
  CHECK_FALSE(parse_host_port("[]:80").has_value());
  CHECK_FALSE(parse_host_port("").has_value());
}

TEST_CASE("genesis error: duplicate address") {
  std::string vals = validator_text(0, 0) + validator_text(1, 1) +
                     validator_text(2, 2, "address = \"127.0.0.1:7000\"\n") + validator_text(3, 3);
  auto e = genesis_error(test::genesis_head() + vals);
  CHECK(starts_with(e, "genesis.toml: validators[2].address: already used by validators[0]"));
}

TEST_CASE("genesis error: missing fields are named") {
  SUBCASE("chain_id") {
    auto e = genesis_error("protocol = \"pbft\"\n" + test::validators_text(4));
    CHECK(e == "genesis.toml: chain_id: missing required field");
  }
  SUBCASE("protocol") {
    auto e = genesis_error("chain_id = \"c\"\n" + test::validators_text(4));
    CHECK(e == "genesis.toml: protocol: missing required field");
  }
  SUBCASE("validators") {
    auto e = genesis_error(test::genesis_head());
    CHECK(starts_with(e, "genesis.toml: validators: missing required field"));
  }
  SUBCASE("a validator's public key") {
    std::string vals = validator_text(0, 0) + "[[validators]]\nid = 1\naddress = \"h:1\"\n" +
                       validator_text(2, 2) + validator_text(3, 3);
    auto e = genesis_error(test::genesis_head() + vals);
    CHECK(e == "genesis.toml: validators[1].public_key: missing required field");
  }
  SUBCASE("a validator's id") {
    std::string vals = "[[validators]]\npublic_key = \"" + to_hex(test::key_of(0)) +
                       "\"\naddress = \"h:1\"\n" + validator_text(1, 1) + validator_text(2, 2) +
                       validator_text(3, 3);
    auto e = genesis_error(test::genesis_head() + vals);
    CHECK(e == "genesis.toml: validators[0].id: missing required field");
  }
  SUBCASE("a validator's address") {
    std::string vals = validator_text(0, 0) + validator_text(1, 1) + validator_text(2, 2) +
                       "[[validators]]\nid = 3\npublic_key = \"" + to_hex(test::key_of(3)) + "\"\n";
    auto e = genesis_error(test::genesis_head() + vals);
    CHECK(e == "genesis.toml: validators[3].address: missing required field");
  }
}

TEST_CASE("genesis error: wrong types are named with what was expected") {
  SUBCASE("id as a string") {
    std::string vals = validator_text(0, 0) + validator_text(1, 1, "id = \"one\"\n") +
                       validator_text(2, 2) + validator_text(3, 3);
    auto e = genesis_error(test::genesis_head() + vals);
    CHECK(e == "genesis.toml: validators[1].id: expected an integer, found a string");
  }
  SUBCASE("weight as a float") {
    std::string vals = validator_text(0, 0, "", "weight = 1.5\n") + validator_text(1, 1) +
                       validator_text(2, 2) + validator_text(3, 3);
    auto e = genesis_error(test::genesis_head() + vals);
    CHECK(e == "genesis.toml: validators[0].weight: expected an integer, found a float");
  }
  SUBCASE("chain_id as an integer") {
    auto e = genesis_error("chain_id = 5\nprotocol = \"pbft\"\n" + test::validators_text(4));
    CHECK(e == "genesis.toml: chain_id: expected a string, found an integer");
  }
  SUBCASE("params as a string") {
    auto e = genesis_error("chain_id = \"c\"\nprotocol = \"pbft\"\nparams = \"fast\"\n" +
                           test::validators_text(4));
    CHECK(starts_with(e, "genesis.toml: params: expected a table"));
  }
  SUBCASE("params.batch_size as a string") {
    auto e = genesis_error(genesis_text(4, "pbft", "[params]\nbatch_size = \"400\"\n"));
    CHECK(e == "genesis.toml: params.batch_size: expected an integer, found a string");
  }
  SUBCASE("validators as a table") {
    auto e = genesis_error(test::genesis_head() + "[validators]\nid = 0\n");
    CHECK(starts_with(e, "genesis.toml: validators: expected an array of tables"));
  }
}

TEST_CASE("genesis error: parameters out of range are named") {
  CHECK(genesis_error(genesis_text(4, "pbft", "[params]\ntick_ms = 0\n")) ==
        "genesis.toml: params.tick_ms: must be > 0");
  CHECK(genesis_error(genesis_text(4, "pbft", "[params]\nbatch_size = 0\n")) ==
        "genesis.toml: params.batch_size: must be > 0");
  CHECK(genesis_error(genesis_text(4, "pbft", "[params]\ncheckpoint_interval = 0\n")) ==
        "genesis.toml: params.checkpoint_interval: must be > 0");
  CHECK(starts_with(genesis_error(genesis_text(4, "pbft", "[params]\nbatch_delay_ms = -1\n")),
                    "genesis.toml: params.batch_delay_ms: must be >= 0"));
}

TEST_CASE("genesis error: a bad public key is named") {
  std::string vals = validator_text(0, 0) + validator_text(1, 1, "public_key = \"abcd\"\n") +
                     validator_text(2, 2) + validator_text(3, 3);
  auto e = genesis_error(test::genesis_head() + vals);
  CHECK(starts_with(e, "genesis.toml: validators[1].public_key: must be 64 hex digits"));
}

TEST_CASE("genesis error: a bad chain id is named") {
  auto e =
      genesis_error("chain_id = \"my chain\"\nprotocol = \"pbft\"\n" + test::validators_text(4));
  CHECK(starts_with(e, "genesis.toml: chain_id: may hold only"));
  auto empty = genesis_error("chain_id = \"\"\nprotocol = \"pbft\"\n" + test::validators_text(4));
  CHECK(empty == "genesis.toml: chain_id: must not be empty");
}

TEST_CASE("genesis error: an unknown field is named, so a typo is not a silent default") {
  CHECK(genesis_error(genesis_text(4, "pbft", "[params]\nbatch_sise = 10\n")) ==
        "genesis.toml: params.batch_sise: unknown field");
  CHECK(genesis_error("chainid = \"x\"\n" + genesis_text(4)) ==
        "genesis.toml: chainid: unknown field");
  std::string vals = validator_text(0, 0) + validator_text(1, 1) +
                     validator_text(2, 2, "", "wieght = 2\n") + validator_text(3, 3);
  CHECK(genesis_error(test::genesis_head() + vals) ==
        "genesis.toml: validators[2].wieght: unknown field");
}

TEST_CASE("genesis error: unparsable TOML names the file, line and column") {
  auto e = genesis_error("chain_id = \"c\"\nprotocol = pbft\n");
  CHECK(starts_with(e, "genesis.toml:2:"));
  CHECK(e.find("not valid TOML") != std::string::npos);
  auto unterminated = genesis_error("chain_id = \"c\n");
  CHECK(starts_with(unterminated, "genesis.toml:1:"));
}

TEST_CASE("genesis error: a missing or unreadable file is named") {
  test::temp_dir dir;
  auto missing = load_genesis(dir / "genesis.toml");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error() == errc::io_error);
  CHECK(missing.error().detail ==
        (dir / "genesis.toml").string() + ": cannot open: No such file or directory");
  auto a_dir = load_genesis(dir.path());
  REQUIRE_FALSE(a_dir.has_value());
  CHECK(a_dir.error().detail == dir.path().string() + ": not a regular file");
}

TEST_CASE("load_genesis names the file as the user gave it") {
  test::temp_dir dir;
  auto path = dir / "my-genesis.toml";
  {
    std::ofstream out(path);
    out << genesis_text(4, "pbft", "[params]\ntick_ms = 0\n");
  }
  auto g = load_genesis(path);
  REQUIRE_FALSE(g.has_value());
  CHECK(g.error().detail == path.string() + ": params.tick_ms: must be > 0");
}
