#include <doctest/doctest.h>

#include <sys/stat.h>

#include <fstream>
#include <map>

#include "config/node_config.hpp"
#include "crypto/key_file.hpp"
#include "tests/config/config_text.hpp"
#include "tests/crypto/temp_dir.hpp"

using namespace bft;
using namespace bft::config;
namespace fs = std::filesystem;

namespace {

/// A node file's text; `changes` maps a field to its new value line ("" removes the field).
std::string node_text(const std::map<std::string, std::string>& changes = {}) {
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"id", "0"},
      {"key_file", "\"node-0.key\""},
      {"data_dir", "\"data-0\""},
      {"listen", "\"127.0.0.1:7000\""},
      {"metrics", "\"127.0.0.1:7100\""},
      {"log_level", "\"debug\""}};
  std::string out;
  for (const auto& [name, value] : fields) {
    auto it = changes.find(name);
    if (it == changes.end())
      out += name + " = " + value + "\n";
    else if (!it->second.empty())
      out += name + " = " + it->second + "\n";
  }
  for (const auto& [name, value] : changes) {
    bool known = false;
    for (const auto& f : fields) known = known || f.first == name;
    if (!known) out += name + " = " + value + "\n";
  }
  return out;
}

std::string node_error(const std::string& text) {
  auto c = parse_node_config(text, "node-0.toml", "/etc/bft");
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error() == errc::invalid_config);
  CHECK(c.error().detail.find('\n') == std::string::npos);
  return c.error().detail;
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p);
  out << text;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

/// A directory with genesis.toml (4 validators, keys key_of(i)), node-0.toml and node-0.key
/// holding the key of validator `key_index`.
struct node_dir {
  test::temp_dir dir;
  explicit node_dir(std::size_t key_index = 0, std::uint32_t id = 0) {
    write_text(dir / "genesis.toml", test::genesis_text(4));
    std::array<std::uint8_t, 32> seed{};
    seed[0] = static_cast<std::uint8_t>(key_index + 1);
    REQUIRE(
        crypto::write_key_file(dir / "node-0.key", crypto::key_pair_from_seed(seed)).has_value());
    write_text(dir / "node-0.toml", node_text({{"id", std::to_string(id)}}));
  }
};

} // namespace

TEST_CASE("relative paths in a node file resolve against the file's directory") {
  auto c =
      parse_node_config(node_text({{"data_dir", "\"/var/lib/bft\""}}), "node-0.toml", "/etc/bft");
  REQUIRE(c.has_value());
  CHECK(c->id == replica_id{0});
  CHECK(c->key_file == fs::path("/etc/bft/node-0.key"));
  CHECK(c->data_dir == fs::path("/var/lib/bft"));
  CHECK(c->genesis_file == fs::path("/etc/bft/genesis.toml"));
  CHECK(c->listen == "127.0.0.1:7000");
  CHECK(c->metrics == "127.0.0.1:7100");
  CHECK(c->level == log_level::debug);

  test::temp_dir dir;
  fs::create_directory(dir / "net");
  write_text(dir / "net" / "node-0.toml", node_text({{"genesis", "\"../shared/g.toml\""}}));
  auto loaded = load_node_config(dir / "net" / "node-0.toml");
  REQUIRE(loaded.has_value());
  CHECK(loaded->source == dir / "net" / "node-0.toml");
  CHECK(loaded->key_file == dir / "net" / "node-0.key");
  CHECK(loaded->data_dir == dir / "net" / "data-0");
  CHECK(loaded->genesis_file == dir / "shared" / "g.toml");
}

TEST_CASE("optional node fields take their documented defaults") {
  auto c = parse_node_config(node_text({{"metrics", ""}, {"log_level", ""}}), "n.toml", "/x");
  REQUIRE(c.has_value());
  CHECK(c->metrics.empty());
  CHECK(c->level == log_level::info);
  CHECK(c->genesis_file == fs::path("/x/genesis.toml"));
}

TEST_CASE("a node file written by write_node_config loads back equal") {
  test::temp_dir dir;
  node_config c;
  c.id = replica_id{3};
  c.key_file = "keys/node-3.key";
  c.data_dir = "/srv/data-3";
  c.listen = "[::1]:9003";
  c.metrics = "0.0.0.0:9103";
  c.level = log_level::warn;
  REQUIRE(write_node_config(dir / "node-3.toml", c).has_value());
  auto back = load_node_config(dir / "node-3.toml");
  REQUIRE(back.has_value());
  CHECK(back->id == c.id);
  CHECK(back->key_file == dir / "keys" / "node-3.key");
  CHECK(back->data_dir == fs::path("/srv/data-3"));
  CHECK(back->listen == c.listen);
  CHECK(back->metrics == c.metrics);
  CHECK(back->level == log_level::warn);
  CHECK_FALSE(write_node_config(dir / "node-3.toml", c).has_value()); // no silent replace
}

TEST_CASE("node error: missing fields are named") {
  CHECK(node_error(node_text({{"id", ""}})) == "node-0.toml: id: missing required field");
  CHECK(node_error(node_text({{"key_file", ""}})) ==
        "node-0.toml: key_file: missing required field");
  CHECK(node_error(node_text({{"data_dir", ""}})) ==
        "node-0.toml: data_dir: missing required field");
  CHECK(node_error(node_text({{"listen", ""}})) == "node-0.toml: listen: missing required field");
  CHECK(node_error(node_text({{"key_file", "\"\""}})) ==
        "node-0.toml: key_file: must not be empty");
}

TEST_CASE("node error: wrong types are named") {
  CHECK(node_error(node_text({{"id", "\"zero\""}})) ==
        "node-0.toml: id: expected an integer, found a string");
  CHECK(node_error(node_text({{"listen", "7000"}})) ==
        "node-0.toml: listen: expected a string, found an integer");
  CHECK(node_error(node_text({{"log_level", "true"}})) ==
        "node-0.toml: log_level: expected a string, found a boolean");
  CHECK(node_error(node_text({{"id", "-1"}})) == "node-0.toml: id: must be >= 0");
}

TEST_CASE("node error: bad listen and metrics addresses are named") {
  CHECK(starts_with(node_error(node_text({{"listen", "\"localhost\""}})),
                    "node-0.toml: listen: \"localhost\" is not host:port"));
  CHECK(starts_with(node_error(node_text({{"listen", "\"127.0.0.1:99999\""}})),
                    "node-0.toml: listen: \"127.0.0.1:99999\" is not host:port"));
  CHECK(starts_with(node_error(node_text({{"metrics", "\"127.0.0.1:0\""}})),
                    "node-0.toml: metrics: \"127.0.0.1:0\" is not host:port"));
  CHECK(node_error(node_text({{"metrics", "\"127.0.0.1:7000\""}})) ==
        "node-0.toml: metrics: must differ from listen");
}

TEST_CASE("node error: an unknown log level is named") {
  CHECK(starts_with(node_error(node_text({{"log_level", "\"verbose\""}})),
                    "node-0.toml: log_level: unknown level \"verbose\""));
}

TEST_CASE("node error: an unknown field is named") {
  CHECK(node_error(node_text({{"listne", "\"127.0.0.1:1\""}})) ==
        "node-0.toml: listne: unknown field");
}

TEST_CASE("node error: unparsable TOML names the file and line") {
  auto e = node_error("id = 0\nkey_file = node-0.key\n");
  CHECK(starts_with(e, "node-0.toml:2:"));
}

TEST_CASE("node error: a missing node file is named") {
  test::temp_dir dir;
  auto c = load_node_config(dir / "node-9.toml");
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error() == errc::io_error);
  CHECK(starts_with(c.error().detail, (dir / "node-9.toml").string() + ": cannot open"));
}

TEST_CASE("a node whose files agree loads as a bundle with its key") {
  node_dir d;
  auto b = load_node(d.dir / "node-0.toml");
  REQUIRE(b.has_value());
  CHECK(b->node.id == replica_id{0});
  CHECK(b->genesis.validators.size() == 4);
  CHECK(b->key.pub == test::key_of(0));
  auto c = make_engine_config(b->genesis, b->node.id);
  REQUIRE(c.has_value());
  CHECK(c->self == replica_id{0});
}

TEST_CASE("node error: a node id that is not in the genesis is named") {
  node_dir d(0, 7);
  auto b = load_node(d.dir / "node-0.toml");
  REQUIRE_FALSE(b.has_value());
  CHECK(b.error() == errc::invalid_config);
  CHECK(b.error().detail == (d.dir / "node-0.toml").string() + ": id: 7 is not a validator in " +
                                (d.dir / "genesis.toml").string());
}

TEST_CASE("node error: a key that is not the genesis key of the node's id is named") {
  node_dir d(2, 0); // node 0 holds validator 2's key
  auto b = load_node(d.dir / "node-0.toml");
  REQUIRE_FALSE(b.has_value());
  CHECK(starts_with(b.error().detail, (d.dir / "node-0.toml").string() + ": key_file: "));
  CHECK(b.error().detail.find("validators[0].public_key") != std::string::npos);
}

TEST_CASE("node error: a node key readable by others is refused when the node loads") {
  node_dir d;
  REQUIRE(::chmod((d.dir / "node-0.key").c_str(), 0644) == 0);
  auto b = load_node(d.dir / "node-0.toml");
  REQUIRE_FALSE(b.has_value());
  CHECK(b.error() == errc::insecure_key_file);
  CHECK(starts_with(b.error().detail, (d.dir / "node-0.key").string() + ": mode 0644"));
}

TEST_CASE("node error: a genesis the node names but that is missing is named") {
  node_dir d;
  fs::remove(d.dir / "genesis.toml");
  auto b = load_node(d.dir / "node-0.toml");
  REQUIRE_FALSE(b.has_value());
  CHECK(starts_with(b.error().detail, (d.dir / "genesis.toml").string() + ": cannot open"));
}

TEST_CASE("the network fields of a node file take their documented defaults") {
  auto c = parse_node_config(node_text(), "n.toml", "/x");
  REQUIRE(c.has_value());
  CHECK(c->transport == transport_kind::secure);
  CHECK_FALSE(c->allow_public_basp);
  CHECK(c->advertise.empty());
  CHECK(c->bootstrap.empty());
  CHECK(c->clock_window_s == 300);
}

TEST_CASE("the network fields of a node file are read as written") {
  auto c = parse_node_config(node_text({{"transport", "\"basp\""},
                                        {"allow_public_basp", "true"},
                                        {"advertise", "\"10.0.0.1:7000\""},
                                        {"bootstrap", "[\"10.0.0.2:7000\", \"[::1]:7003\"]"},
                                        {"clock_window_s", "30"}}),
                             "n.toml", "/x");
  REQUIRE(c.has_value());
  CHECK(c->transport == transport_kind::basp);
  CHECK(c->allow_public_basp);
  CHECK(c->advertise == "10.0.0.1:7000");
  CHECK(c->bootstrap == std::vector<std::string>{"10.0.0.2:7000", "[::1]:7003"});
  CHECK(c->clock_window_s == 30);
}

TEST_CASE("a node file with every network field loads back equal") {
  test::temp_dir dir;
  node_config c;
  c.id = replica_id{1};
  c.key_file = "node.key";
  c.data_dir = "data";
  c.listen = "0.0.0.0:7000";
  c.transport = transport_kind::basp;
  c.allow_public_basp = true;
  c.advertise = "host-b.example:7000";
  c.bootstrap = {"host-a.example:7000", "[2001:db8::1]:7000"};
  c.clock_window_s = 45;
  REQUIRE(write_node_config(dir / "node.toml", c).has_value());
  auto back = load_node_config(dir / "node.toml");
  REQUIRE(back.has_value());
  CHECK(back->transport == c.transport);
  CHECK(back->allow_public_basp);
  CHECK(back->advertise == c.advertise);
  CHECK(back->bootstrap == c.bootstrap);
  CHECK(back->clock_window_s == 45);
  CHECK(to_toml(*back).find("transport = \"basp\"") != std::string::npos);

  node_config plain = c; // defaults write the transport and window, and nothing optional
  plain.transport = transport_kind::secure;
  plain.allow_public_basp = false;
  plain.advertise.clear();
  plain.bootstrap.clear();
  plain.clock_window_s = 300;
  auto text = to_toml(plain);
  CHECK(text.find("transport = \"secure\"") != std::string::npos);
  CHECK(text.find("clock_window_s = 300") != std::string::npos);
  CHECK(text.find("advertise") == std::string::npos);
  CHECK(text.find("bootstrap") == std::string::npos);
  CHECK(text.find("allow_public_basp") == std::string::npos);
}

TEST_CASE("node error: bad network fields are named") {
  CHECK(node_error(node_text({{"transport", "\"tls\""}})) ==
        "node-0.toml: transport: unknown transport \"tls\" (expected \"secure\" or \"basp\")");
  CHECK(node_error(node_text({{"transport", "1"}})) ==
        "node-0.toml: transport: expected a string, found an integer");
  CHECK(node_error(node_text({{"allow_public_basp", "true"}})) ==
        "node-0.toml: allow_public_basp: applies only to transport = \"basp\"");
  CHECK(node_error(node_text({{"transport", "\"basp\""}, {"allow_public_basp", "\"yes\""}})) ==
        "node-0.toml: allow_public_basp: expected a boolean, found a string");
  CHECK(starts_with(node_error(node_text({{"advertise", "\"10.0.0.1\""}})),
                    "node-0.toml: advertise: \"10.0.0.1\" is not host:port (missing port)"));
  CHECK(node_error(node_text({{"advertise", "\"0.0.0.0:7000\""}})) ==
        "node-0.toml: advertise: \"0.0.0.0:7000\" is a wildcard address; give the address peers "
        "dial");
  CHECK(node_error(node_text({{"bootstrap", "\"10.0.0.2:7000\""}})) ==
        "node-0.toml: bootstrap: expected an array of strings, found a string");
  CHECK(node_error(node_text({{"bootstrap", "[\"10.0.0.2:7000\", 7]"}})) ==
        "node-0.toml: bootstrap[1]: expected a string, found an integer");
  CHECK(starts_with(node_error(node_text({{"bootstrap", "[\"a:1\", \"b\"]"}})),
                    "node-0.toml: bootstrap[1]: \"b\" is not host:port"));
  CHECK(node_error(node_text({{"bootstrap", "[\"a:1\", \"b:2\", \"a:1\"]"}})) ==
        "node-0.toml: bootstrap[2]: \"a:1\" is already listed as bootstrap[0]");
  CHECK(node_error(node_text({{"clock_window_s", "0"}})) ==
        "node-0.toml: clock_window_s: must be > 0");
  CHECK(node_error(node_text({{"clock_window_s", "86401"}})) ==
        "node-0.toml: clock_window_s: must be at most 86400, found 86401");
}

TEST_CASE("node error: a folder holding another host's key names whose key it is") {
  node_dir d(2, 0); // node 0 holds validator 2's key
  auto b = load_node(d.dir / "node-0.toml");
  REQUIRE_FALSE(b.has_value());
  CHECK(b.error().detail == (d.dir / "node-0.toml").string() +
                                ": key_file: " + (d.dir / "node-0.key").string() +
                                " holds the key of validator 2 (127.0.0.1:7002, another host), "
                                "not validators[0].public_key of " +
                                (d.dir / "genesis.toml").string() + " (id 0)");
  node_dir stray(9, 0); // a key no validator has
  b = load_node(stray.dir / "node-0.toml");
  REQUIRE_FALSE(b.has_value());
  CHECK(b.error().detail.find(" holds no validator's key, not validators[0].public_key") !=
        std::string::npos);
}

TEST_CASE("config check warns when the advertised address is not the genesis address") {
  auto g = parse_genesis(test::genesis_text(4), "genesis.toml");
  REQUIRE(g.has_value());
  g->source = "genesis.toml";
  auto warnings = [&](const std::map<std::string, std::string>& changes) {
    auto c = parse_node_config(node_text(changes), "node-0.toml", "/x");
    REQUIRE(c.has_value());
    c->source = "node-0.toml";
    return address_warnings(*c, *g);
  };
  CHECK(warnings({}).empty()); // listen 127.0.0.1:7000 is validators[0].address
  CHECK(warnings({{"listen", "\"0.0.0.0:7000\""}, {"metrics", ""}}).empty());
  CHECK(warnings({{"advertise", "\"127.0.0.1:7000\""}}).empty());
  CHECK(warnings({{"listen", "\"0.0.0.0:7005\""}, {"metrics", ""}}) ==
        std::vector<std::string>{"node-0.toml: listen: \"0.0.0.0:7005\" is not "
                                 "validators[0].address \"127.0.0.1:7000\" of genesis.toml and no "
                                 "advertise is set; peers dial the genesis address"});
  CHECK(warnings({{"advertise", "\"10.0.0.9:7000\""}}) ==
        std::vector<std::string>{"node-0.toml: advertise: \"10.0.0.9:7000\" is not "
                                 "validators[0].address \"127.0.0.1:7000\" of genesis.toml; peers "
                                 "dial the genesis address until they learn the new one"});
}
