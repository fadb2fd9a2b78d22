#include <doctest/doctest.h>

#include <fstream>
#include <set>

#include "config/host_network.hpp"
#include "crypto/key_file.hpp"
#include "tests/config/config_text.hpp"
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

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p);
  out << text;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> addresses(const std::vector<host_entry>& hosts) {
  std::vector<std::string> out;
  for (const auto& h : hosts) out.push_back(to_string(h.address));
  return out;
}

std::string error_of(const bft::error& e) {
  CHECK(e.detail.find('\n') == std::string::npos);
  return e.detail;
}

host_network_spec four_hosts() {
  host_network_spec spec;
  auto hosts =
      parse_host_list("10.0.0.1,10.0.0.2:7001,node-c.example,[2001:db8::4]", 7000, "--hosts");
  REQUIRE(hosts.has_value());
  spec.hosts = *hosts;
  return spec;
}

} // namespace

TEST_CASE("a hosts list gives the default port to entries without one") {
  auto h = parse_host_list("a.example, 10.0.0.2:7005,[::1]", 7000, "--hosts");
  REQUIRE(h.has_value());
  CHECK(addresses(*h) == std::vector<std::string>{"a.example:7000", "10.0.0.2:7005", "[::1]:7000"});
  CHECK((*h)[0].origin == "--hosts");
}

TEST_CASE("hosts list error: an address listed twice is named with its first use") {
  auto h = parse_host_list("10.0.0.1,10.0.0.2,10.0.0.1:7000", 7000, "--hosts");
  REQUIRE_FALSE(h.has_value());
  CHECK(error_of(h.error()) ==
        "--hosts: \"10.0.0.1:7000\" is listed twice (first as entry 0, --hosts)");
  // The same host on two ports is two validators on one machine: allowed.
  CHECK(parse_host_list("10.0.0.1,10.0.0.1:7001", 7000, "--hosts").has_value());
}

TEST_CASE("hosts list error: malformed entries are named") {
  auto h = parse_host_list("10.0.0.1,,10.0.0.3", 7000, "--hosts");
  REQUIRE_FALSE(h.has_value());
  CHECK(error_of(h.error()) == "--hosts: \"10.0.0.1,,10.0.0.3\" has an empty entry");
  h = parse_host_list("10.0.0.1:x", 7000, "--hosts");
  REQUIRE_FALSE(h.has_value());
  CHECK(error_of(h.error()) ==
        "--hosts: \"10.0.0.1:x\" is not host[:port] (port must be a number)");
  h = parse_host_list("0.0.0.0", 7000, "--hosts");
  REQUIRE_FALSE(h.has_value());
  CHECK(error_of(h.error()) ==
        "--hosts: \"0.0.0.0\" is a wildcard address; give the address others dial");
}

TEST_CASE("a hosts file skips comments and blank lines and names lines in errors") {
  test::temp_dir dir;
  write_text(dir / "hosts.txt", "# the validators\n10.0.0.1\n\n  10.0.0.2:7001  # b\n10.0.0.1\n");
  auto h = load_host_file(dir / "hosts.txt", 7000);
  REQUIRE_FALSE(h.has_value());
  const std::string file = (dir / "hosts.txt").string();
  CHECK(error_of(h.error()) ==
        file + ":5: \"10.0.0.1:7000\" is listed twice (first as entry 0, " + file + ":2)");
  write_text(dir / "hosts.txt", "# the validators\n10.0.0.1\n\n  10.0.0.2:7001  # b\n");
  h = load_host_file(dir / "hosts.txt", 7000);
  REQUIRE(h.has_value());
  CHECK(addresses(*h) == std::vector<std::string>{"10.0.0.1:7000", "10.0.0.2:7001"});
  CHECK((*h)[1].origin == file + ":4");
}

TEST_CASE("validator entries: bad hex, a key twice and an address twice are named") {
  const std::string k0 = to_hex(test::key_of(0)), k1 = to_hex(test::key_of(1));
  auto v = parse_validator_entries({k0 + "@10.0.0.1", k1 + "@10.0.0.2:7001"}, 7000, "--validator");
  REQUIRE(v.has_value());
  CHECK((*v)[0].key == test::key_of(0));
  CHECK(to_string((*v)[1].address) == "10.0.0.2:7001");

  v = parse_validator_entries({"zz@10.0.0.1"}, 7000, "--validator");
  REQUIRE_FALSE(v.has_value());
  CHECK(error_of(v.error()) == "--validator: \"zz@10.0.0.1\" has a bad public key: must be 64 "
                               "hex digits (bft keygen prints it)");
  v = parse_validator_entries({k0}, 7000, "--validator");
  REQUIRE_FALSE(v.has_value());
  CHECK(error_of(v.error()) == "--validator: \"" + k0 + "\" is not PUBKEY@HOST[:PORT]");
  v = parse_validator_entries({k0 + "@a", k0 + "@b"}, 7000, "--validator");
  REQUIRE_FALSE(v.has_value());
  CHECK(error_of(v.error()) == "--validator: \"" + k0 +
                                   "\" is listed twice as a public key (first as entry 0, "
                                   "--validator)");
  v = parse_validator_entries({k0 + "@a", k1 + "@a:7000"}, 7000, "--validator");
  REQUIRE_FALSE(v.has_value());
  CHECK(error_of(v.error()) ==
        "--validator: \"a:7000\" is listed twice (first as entry 0, --validator)");
}

TEST_CASE("a host network gives each folder only its own key, the shared genesis and data/") {
  test::temp_dir tmp;
  auto spec = four_hosts();
  auto files = write_host_network(tmp / "net", spec);
  REQUIRE(files.has_value());
  CHECK(listing(tmp / "net") == std::set<std::string>{"host-0", "host-1", "host-2", "host-3"});
  const std::string genesis_text = read_text(tmp / "net" / "host-0" / "genesis.toml");
  const std::vector<std::string> advertised = {"10.0.0.1:7000", "10.0.0.2:7001",
                                               "node-c.example:7000", "[2001:db8::4]:7000"};
  for (std::uint32_t i = 0; i < 4; ++i) {
    CAPTURE(i);
    const auto folder = tmp / "net" / ("host-" + std::to_string(i));
    CHECK(listing(folder) ==
          std::set<std::string>{"data", "genesis.toml", "node.key", "node.toml"});
    CHECK(read_text(folder / "genesis.toml") == genesis_text);
    auto b = load_node(folder / "node.toml");
    REQUIRE(b.has_value()); // the key is the genesis key of the node's id
    CHECK(b->node.id == replica_id{i});
    CHECK(b->genesis.validators[i].address == advertised[i]);
    CHECK(b->node.advertise == advertised[i]);
    CHECK(address_warnings(b->node, b->genesis).empty());
  }
  auto n3 = load_node_config(tmp / "net" / "host-3" / "node.toml");
  REQUIRE(n3.has_value());
  CHECK(n3->listen == "[::]:7000");
  CHECK(n3->metrics == "[::]:7100");
  auto n1 = load_node_config(tmp / "net" / "host-1" / "node.toml");
  REQUIRE(n1.has_value());
  CHECK(n1->listen == "0.0.0.0:7001");
  CHECK(n1->transport == transport_kind::secure);
}

TEST_CASE("a host network can listen on the hosts' own addresses with BASP") {
  test::temp_dir tmp;
  auto spec = four_hosts();
  spec.node.listen_on_host = true;
  spec.node.transport = transport_kind::basp;
  auto files = write_host_network(tmp / "net", spec);
  REQUIRE(files.has_value());
  CHECK(files->nodes[0].listen == "10.0.0.1:7000");
  CHECK(files->nodes[0].metrics == "10.0.0.1:7100");
  CHECK(files->nodes[3].listen == "[2001:db8::4]:7000");
  CHECK(files->nodes[2].transport == transport_kind::basp);
}

TEST_CASE(
    "host network error: too few hosts, a port without room for metrics, an existing folder") {
  test::temp_dir tmp;
  auto spec = four_hosts();
  spec.hosts.pop_back();
  auto files = write_host_network(tmp / "net", spec);
  REQUIRE_FALSE(files.has_value());
  CHECK(error_of(files.error()) == "hosts: must list between 4 and 100 hosts, found 3");

  spec = four_hosts();
  spec.hosts[1].address.port = 65500;
  files = write_host_network(tmp / "net", spec);
  REQUIRE_FALSE(files.has_value());
  CHECK(error_of(files.error()) ==
        "--hosts: \"10.0.0.2:65500\": port must be at most 65435 (metrics use port + 100)");
  CHECK_FALSE(fs::exists(tmp / "net"));

  fs::create_directories(tmp / "net" / "host-2");
  files = write_host_network(tmp / "net", four_hosts());
  REQUIRE_FALSE(files.has_value());
  CHECK(error_of(files.error()) ==
        (tmp / "net" / "host-2").string() + ": already exists; refusing to replace it");
  CHECK(listing(tmp / "net") == std::set<std::string>{"host-2"}); // all or nothing
}

TEST_CASE("a node folder from a genesis and this host's key names the key where it lies") {
  test::temp_dir tmp;
  write_text(tmp / "genesis.toml", test::genesis_text(4));
  std::array<std::uint8_t, 32> seed{};
  seed[0] = 3; // key_of(2): validator 2, 127.0.0.1:7002
  fs::create_directories(tmp / "host");
  REQUIRE(crypto::write_key_file(tmp / "host" / "node.key", crypto::key_pair_from_seed(seed))
              .has_value());
  auto f = write_node_folder(tmp / "host", tmp / "genesis.toml", tmp / "host" / "node.key", {});
  REQUIRE(f.has_value());
  CHECK(f->node.id == replica_id{2});
  CHECK(f->node.key_file == fs::path("node.key"));
  CHECK(f->node.advertise == "127.0.0.1:7002");
  CHECK(f->node.listen == "0.0.0.0:7002");
  CHECK(listing(tmp / "host") ==
        std::set<std::string>{"data", "genesis.toml", "node.key", "node.toml"});
  CHECK(read_text(tmp / "host" / "genesis.toml") == read_text(tmp / "genesis.toml"));
  REQUIRE(load_node(tmp / "host" / "node.toml").has_value());

  // A key kept elsewhere is named by its absolute path, not copied.
  auto g = write_node_folder(tmp / "other", tmp / "genesis.toml", tmp / "host" / "node.key",
                             {transport_kind::basp, true});
  REQUIRE(g.has_value());
  CHECK(g->node.key_file == tmp / "host" / "node.key");
  CHECK(g->node.listen == "127.0.0.1:7002");
  CHECK_FALSE(fs::exists(tmp / "other" / "node.key"));

  // Twice into one folder: refused, nothing replaced.
  auto again = write_node_folder(tmp / "host", tmp / "genesis.toml", tmp / "host" / "node.key", {});
  REQUIRE_FALSE(again.has_value());
  CHECK(error_of(again.error()).find("already exists; refusing to replace it") !=
        std::string::npos);
}

TEST_CASE("node folder error: a key that is no validator's is named") {
  test::temp_dir tmp;
  write_text(tmp / "genesis.toml", test::genesis_text(4));
  std::array<std::uint8_t, 32> seed{};
  seed[0] = 9;
  auto kp = crypto::key_pair_from_seed(seed);
  REQUIRE(crypto::write_key_file(tmp / "stray.key", kp).has_value());
  auto f = write_node_folder(tmp / "host", tmp / "genesis.toml", tmp / "stray.key", {});
  REQUIRE_FALSE(f.has_value());
  CHECK(error_of(f.error()) == (tmp / "stray.key").string() + ": its public key " + to_hex(kp.pub) +
                                   " is no validator's in " + (tmp / "genesis.toml").string());
  CHECK_FALSE(fs::exists(tmp / "host"));
}

TEST_CASE("a hosts list must be exactly the validator addresses of the genesis") {
  auto g = parse_genesis(test::genesis_text(4), "genesis.toml");
  REQUIRE(g.has_value());
  g->source = "genesis.toml";
  auto all = parse_host_list("127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003", 7000,
                             "--hosts");
  REQUIRE(all.has_value());
  CHECK(check_hosts_in_genesis(*all, *g).has_value());

  auto unknown = *all;
  unknown[2].address.port = 7009;
  auto r = check_hosts_in_genesis(unknown, *g);
  REQUIRE_FALSE(r.has_value());
  CHECK(error_of(r.error()) == "--hosts: \"127.0.0.1:7009\" is an unknown host: no validator of "
                               "genesis.toml has that address");

  auto fewer = *all;
  fewer.pop_back();
  r = check_hosts_in_genesis(fewer, *g);
  REQUIRE_FALSE(r.has_value());
  CHECK(error_of(r.error()) ==
        "genesis.toml: validators[3].address \"127.0.0.1:7003\" is not in --hosts");
}
