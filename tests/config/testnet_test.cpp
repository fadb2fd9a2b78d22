#include <doctest/doctest.h>

#include <sys/stat.h>

#include <fstream>
#include <set>

#include "config/testnet.hpp"
#include "tests/crypto/temp_dir.hpp"

using namespace bft;
using namespace bft::config;
namespace fs = std::filesystem;

namespace {

std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return static_cast<unsigned>(st.st_mode & 07777);
}

} // namespace

TEST_CASE("a generated network loads back: every node with its genesis and key") {
  for (auto protocol : {protocol_kind::pbft, protocol_kind::hotstuff}) {
    for (std::size_t n : {4u, 7u}) {
      CAPTURE(n);
      test::temp_dir tmp;
      auto dir = tmp / "net";
      testnet_spec spec;
      spec.replicas = n;
      spec.protocol = protocol;
      spec.base_port = 9000;
      auto files = write_testnet(dir, spec);
      REQUIRE(files.has_value());
      std::set<std::string> expect{"genesis.toml"};
      for (std::size_t i = 0; i < n; ++i) {
        expect.insert("node-" + std::to_string(i) + ".toml");
        expect.insert("node-" + std::to_string(i) + ".key");
      }
      CHECK(listing(dir) == expect);
      CHECK(listing(tmp.path()) == std::set<std::string>{"net"}); // no staging left behind

      auto g = load_genesis(dir / "genesis.toml");
      REQUIRE(g.has_value());
      CHECK(g->protocol == protocol);
      CHECK(g->chain_id == "bft-local");
      REQUIRE(g->validators.size() == n);
      for (std::size_t i = 0; i < n; ++i) {
        CAPTURE(i);
        auto node_file = dir / ("node-" + std::to_string(i) + ".toml");
        CHECK(files->node_files[i] == node_file);
        CHECK(mode_of(files->key_files[i]) == 0600);
        auto b = load_node(node_file);
        REQUIRE(b.has_value());
        CHECK(b->node.id == replica_id{static_cast<std::uint32_t>(i)});
        CHECK(b->node.listen == "127.0.0.1:" + std::to_string(9000 + i));
        CHECK(b->node.metrics == "127.0.0.1:" + std::to_string(9100 + i));
        CHECK(b->node.data_dir == dir / ("data-" + std::to_string(i)));
        CHECK(g->validators[i].address == b->node.listen);
        CHECK(g->validators[i].key == b->key.pub);
        auto c = make_engine_config(b->genesis, b->node.id);
        REQUIRE(c.has_value());
        CHECK(c->validators.size() == n);
      }
    }
  }
}

TEST_CASE("a generated network can be moved: its node files use relative paths") {
  test::temp_dir tmp;
  REQUIRE(write_testnet(tmp / "a", testnet_spec{}).has_value());
  fs::rename(tmp / "a", tmp / "b");
  CHECK(load_node(tmp / "b" / "node-3.toml").has_value());
}

TEST_CASE("generating a network refuses bad parameters and creates nothing") {
  test::temp_dir tmp;
  auto dir = tmp / "x" / "net";
  testnet_spec three;
  three.replicas = 3;
  auto r = write_testnet(dir, three);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().detail == "replicas: must be between 4 and 100, found 3");
  testnet_spec many;
  many.replicas = 101;
  CHECK_FALSE(write_testnet(dir, many).has_value());
  testnet_spec high;
  high.base_port = 65500;
  auto h = write_testnet(dir, high);
  REQUIRE_FALSE(h.has_value());
  CHECK(h.error().detail.find("base_port") == 0);
  testnet_spec bad_chain;
  bad_chain.chain_id = "no spaces please";
  auto c = write_testnet(dir, bad_chain);
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().detail.find("chain_id") != std::string::npos);
  CHECK(listing(tmp.path()).empty()); // not even the missing parent "x"
}

TEST_CASE("generating a network refuses a directory that already holds a genesis") {
  test::temp_dir tmp;
  {
    std::ofstream out(tmp / "genesis.toml");
    out << "mine\n";
  }
  auto r = write_testnet(tmp.path(), testnet_spec{});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().detail.find((tmp / "genesis.toml").string() + ": already exists") == 0);
  CHECK(listing(tmp.path()) == std::set<std::string>{"genesis.toml"});
}

TEST_CASE("generating into a non-empty directory adds the files, or nothing on a clash") {
  test::temp_dir tmp;
  {
    std::ofstream out(tmp / "README");
    out << "notes\n";
  }
  {
    std::ofstream out(tmp / "node-2.key");
    out << "someone else's key\n";
  }
  auto clash = write_testnet(tmp.path(), testnet_spec{});
  REQUIRE_FALSE(clash.has_value());
  CHECK(clash.error().detail.find((tmp / "node-2.key").string()) == 0);
  CHECK(listing(tmp.path()) == std::set<std::string>{"README", "node-2.key"});

  fs::remove(tmp / "node-2.key");
  auto ok = write_testnet(tmp.path(), testnet_spec{});
  REQUIRE(ok.has_value());
  CHECK(listing(tmp.path()).size() == 1 + 1 + 2 * 4);
  CHECK(load_node(tmp / "node-2.toml").has_value());
}
