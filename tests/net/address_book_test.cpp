#include "net/address_book.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include "../crypto/temp_dir.hpp"
#include "crypto/ed25519.hpp"
#include "protocols/common/codec.hpp"

using namespace bft;
using net::address_book;
using net::address_record;
using net::offer_outcome;

namespace {

const std::string chain = "bft-test";

crypto::ed25519_signer signer_of(std::uint8_t i) {
  std::array<std::uint8_t, 32> seed{};
  seed.fill(static_cast<std::uint8_t>(i + 1));
  return crypto::ed25519_signer(crypto::key_pair_from_seed(seed));
}

/// Four genesis validators, id i at 10.0.0.i:7000, with the keys of `signer_of(i)`.
validator_set genesis_validators() {
  std::vector<validator> vs;
  for (std::uint8_t i = 0; i < 4; ++i)
    vs.push_back({replica_id{i}, signer_of(i).key(), "10.0.0." + std::to_string(i) + ":7000", 1});
  auto set = validator_set::make(std::move(vs));
  REQUIRE(set);
  return *set;
}

address_book make_book() {
  return address_book(chain, genesis_validators(), std::make_shared<crypto::ed25519_verifier>());
}

address_record record(std::uint32_t id, std::string host, std::uint16_t port, std::uint64_t seq,
                      std::optional<std::uint8_t> key = std::nullopt) {
  address_record r;
  r.chain_id = chain;
  r.id = replica_id{id};
  r.host = std::move(host);
  r.port = port;
  r.sequence = seq;
  r.sign(signer_of(key.value_or(static_cast<std::uint8_t>(id))));
  return r;
}

std::string address_of(const address_book& b, std::uint32_t id) {
  auto a = b.address_of(replica_id{id});
  return a ? a->host + ":" + std::to_string(a->port) : "none";
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

} // namespace

TEST_CASE("the genesis addresses are the sequence-0 fallback and are never gossiped") {
  auto book = make_book();
  CHECK(address_of(book, 2) == "10.0.0.2:7000");
  CHECK(book.sequence_of(replica_id{2}) == 0u);
  CHECK_FALSE(book.address_of(replica_id{9}));
  CHECK(book.records().empty());
  CHECK(book.encoded_records().empty());
}

TEST_CASE("a moved validator's signed record replaces its genesis address") {
  auto book = make_book();
  CHECK(book.offer(record(1, "node1.example.org", 7100, 5)) == offer_outcome::accepted);
  CHECK(address_of(book, 1) == "node1.example.org:7100");
  CHECK(book.sequence_of(replica_id{1}) == 5u);
  CHECK(address_of(book, 0) == "10.0.0.0:7000"); // the others keep theirs
  REQUIRE(book.records().size() == 1);
  CHECK(book.records()[0] == record(1, "node1.example.org", 7100, 5));
}

TEST_CASE("the newest record wins, and an equal or older sequence is dropped as stale") {
  auto book = make_book();
  REQUIRE(book.offer(record(3, "10.1.0.3", 7000, 10)) == offer_outcome::accepted);
  CHECK(book.offer(record(3, "10.2.0.3", 7000, 10)) == offer_outcome::stale);
  CHECK(book.offer(record(3, "10.2.0.3", 7000, 9)) == offer_outcome::stale);
  CHECK(address_of(book, 3) == "10.1.0.3:7000");
  CHECK(book.offer(record(3, "10.3.0.3", 7001, 11)) == offer_outcome::accepted);
  CHECK(address_of(book, 3) == "10.3.0.3:7001");
  // A signed sequence 0 is no newer than the genesis address.
  CHECK(book.offer(record(2, "10.9.9.9", 7000, 0)) == offer_outcome::stale);
  CHECK(address_of(book, 2) == "10.0.0.2:7000");
  auto c = book.counters();
  CHECK(c.accepted == 2);
  CHECK(c.stale == 3);
  CHECK(c.refused() == 3);
}

TEST_CASE("a record of an id outside genesis is dropped as unknown_validator") {
  auto book = make_book();
  CHECK(book.offer(record(7, "10.0.0.7", 7000, 1, 0)) == offer_outcome::unknown_validator);
  CHECK_FALSE(book.address_of(replica_id{7}));
  CHECK(book.counters().unknown_validator == 1);
}

TEST_CASE("a record not signed by the validator's genesis key is dropped as bad_signature") {
  auto book = make_book();
  SUBCASE("signed by another validator") {
    CHECK(book.offer(record(1, "10.6.6.6", 7000, 50, 2)) == offer_outcome::bad_signature);
  }
  SUBCASE("changed after signing") {
    auto r = record(1, "10.1.1.1", 7000, 50);
    r.port = 7001;
    CHECK(book.offer(r) == offer_outcome::bad_signature);
    r = record(1, "10.1.1.1", 7000, 50);
    r.sequence = 51;
    CHECK(book.offer(r) == offer_outcome::bad_signature);
  }
  SUBCASE("a zero signature") {
    auto r = record(1, "10.1.1.1", 7000, 50);
    r.sig = {};
    CHECK(book.offer(r) == offer_outcome::bad_signature);
  }
  CHECK(address_of(book, 1) == "10.0.0.1:7000");
  CHECK(book.counters().bad_signature >= 1);
  CHECK(book.counters().accepted == 0);
}

TEST_CASE("a record signed for another chain is dropped as wrong_chain") {
  auto book = make_book();
  address_record r;
  r.chain_id = "other-chain";
  r.id = replica_id{1};
  r.host = "10.6.6.6";
  r.port = 7000;
  r.sequence = 50;
  r.sign(signer_of(1));
  CHECK(r.verify(crypto::ed25519_verifier{}, signer_of(1).key())); // valid, just elsewhere
  CHECK(book.offer(r) == offer_outcome::wrong_chain);
  // Relabelling it for our chain breaks the signature: the chain id is in the signed bytes.
  r.chain_id = chain;
  CHECK(book.offer(r) == offer_outcome::bad_signature);
  CHECK(address_of(book, 1) == "10.0.0.1:7000");
  CHECK(book.counters().wrong_chain == 1);
}

TEST_CASE("an address record round-trips through its encoding") {
  for (const auto& host : {std::string("10.0.0.1"), std::string("::1"),
                           std::string("node-3.example.org"), std::string(253, 'a')}) {
    auto r = record(2, host, 65535, std::numeric_limits<std::uint64_t>::max());
    auto enc = r.encode();
    CHECK(enc.size() <= net::max_record_bytes);
    auto back = address_record::decode(enc);
    REQUIRE(back);
    CHECK(*back == r);
    CHECK(back->verify(crypto::ed25519_verifier{}, genesis_validators()));
  }
  CHECK(record(2, "::1", 7000, 1).address() == "[::1]:7000");
}

TEST_CASE("truncated, padded and oversized encodings are refused") {
  const auto enc = record(2, "10.0.0.22", 7000, 3).encode();
  for (std::size_t n = 0; n < enc.size(); ++n) {
    auto r = address_record::decode(std::string_view(enc).substr(0, n));
    REQUIRE_FALSE(r);
    CHECK((r.error() == errc::truncated || r.error() == errc::oversized));
  }
  auto padded = address_record::decode(enc + '\0');
  REQUIRE_FALSE(padded);
  CHECK(padded.error() == errc::trailing_bytes);
  auto huge = address_record::decode(enc + std::string(net::max_record_bytes, '\0'));
  REQUIRE_FALSE(huge);
  CHECK(huge.error() == errc::oversized);

  auto book = make_book();
  CHECK(book.offer_encoded(enc.substr(0, enc.size() - 1)) == offer_outcome::malformed);
  CHECK(book.offer_encoded(enc + "x") == offer_outcome::malformed);
  CHECK(book.offer_encoded("") == offer_outcome::malformed);
  CHECK(book.offer_encoded(enc) == offer_outcome::accepted);
  CHECK(book.counters().malformed == 3);
}

TEST_CASE("a length prefix over its limit is refused before anything is allocated") {
  codec::writer w;
  w.header({net::address_record_type, 1});
  w.str(chain, 64);
  w.u32(2);
  w.u32(0xffffffffu); // the host's length prefix: 4 GiB claimed in a 20-byte input
  auto r = address_record::decode(std::string(w.data().begin(), w.data().end()));
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::oversized);

  codec::writer long_host;
  long_host.header({net::address_record_type, 1});
  long_host.str(chain, 64);
  long_host.u32(2);
  long_host.str(std::string(254, 'a'), 254);
  long_host.u16(7000);
  long_host.u64(1);
  long_host.raw(signature{});
  auto l = address_record::decode(std::string(long_host.data().begin(), long_host.data().end()));
  REQUIRE_FALSE(l);
  CHECK(l.error() == errc::oversized);
}

TEST_CASE("a record whose host or port could not be dialled is malformed") {
  auto book = make_book();
  for (const auto& [host, port] : std::vector<std::pair<std::string, std::uint16_t>>{
           {"", 7000}, {"10.0.0.1", 0}, {"bad host", 7000}, {"a]:1", 7000}, {"x/y", 7000}}) {
    CAPTURE(host);
    auto r = record(1, host, port, 5);
    CHECK(book.offer(r) == offer_outcome::malformed);
    // Encoded by hand (encode() would take it), decoding refuses it too.
    auto d = address_record::decode(r.encode());
    REQUIRE_FALSE(d);
    CHECK(d.error() == errc::malformed);
  }
  auto wrong_type = record(1, "10.0.0.1", 7000, 5).encode();
  wrong_type[0] = '\x02';
  CHECK(book.offer_encoded(wrong_type) == offer_outcome::malformed);
  CHECK(book.counters().malformed == 6);
  CHECK(address_of(book, 1) == "10.0.0.1:7000");
}

TEST_CASE("a restarted validator signs a newer record and its peers find it by gossip") {
  auto node1 = make_book(); // validator 1's own book
  auto peer = make_book();  // validator 0's book
  const auto s1 = signer_of(1);

  // First start: the wall clock gives the sequence.
  auto first = node1.publish_own(replica_id{1}, s1, {"10.1.0.1", 7000}, 1'000);
  REQUIRE(first);
  CHECK(first->sequence == 1'000);
  for (const auto& e : node1.encoded_records())
    CHECK(peer.offer_encoded(e) == offer_outcome::accepted);
  CHECK(address_of(peer, 1) == "10.1.0.1:7000");

  // Restart on a new address with a clock that went back: the held sequence + 1 wins.
  auto moved = node1.publish_own(replica_id{1}, s1, {"10.2.0.1", 7002}, 10);
  REQUIRE(moved);
  CHECK(moved->sequence == 1'001);
  for (const auto& e : node1.encoded_records())
    CHECK(peer.offer_encoded(e) == offer_outcome::accepted);
  CHECK(address_of(peer, 1) == "10.2.0.1:7002");
  // The old record, replayed by anyone, no longer moves it back.
  CHECK(peer.offer(*first) == offer_outcome::stale);
  CHECK(address_of(peer, 1) == "10.2.0.1:7002");

  CHECK(node1.next_sequence(replica_id{1}, 5'000).value() == 5'000);
  CHECK(node1.next_sequence(replica_id{1}, 0).value() == 1'002);
  CHECK_FALSE(node1.next_sequence(replica_id{9}, 0));
}

TEST_CASE("publish_own refuses a signer without the validator's key and an undiallable address") {
  auto book = make_book();
  auto wrong = book.publish_own(replica_id{1}, signer_of(2), {"10.1.0.1", 7000}, 1);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error() == errc::invalid_config);
  CHECK_FALSE(book.publish_own(replica_id{1}, signer_of(1), {"bad host", 7000}, 1));
  CHECK_FALSE(book.publish_own(replica_id{8}, signer_of(1), {"10.1.0.1", 7000}, 1));
  CHECK(book.records().empty());

  REQUIRE(book.offer(record(1, "10.1.0.1", 7000, std::numeric_limits<std::uint64_t>::max())) ==
          offer_outcome::accepted);
  CHECK_FALSE(book.next_sequence(replica_id{1}, 1));
  CHECK_FALSE(book.publish_own(replica_id{1}, signer_of(1), {"10.1.0.2", 7000}, 1));
}

TEST_CASE("save then load restores every signed record, verified again") {
  test::temp_dir dir;
  const auto file = dir / "addresses";
  auto book = make_book();
  REQUIRE(book.offer(record(1, "10.1.0.1", 7001, 7)) == offer_outcome::accepted);
  REQUIRE(book.offer(record(3, "::1", 7003, 9)) == offer_outcome::accepted);
  REQUIRE(book.save(file));

  auto text = read_text(file);
  CHECK(text.rfind(std::string(net::book_file_version_line) + "\n", 0) == 0);
  CHECK(std::count(text.begin(), text.end(), '\n') == 3);

  auto restarted = make_book();
  auto summary = restarted.load(file);
  REQUIRE(summary);
  CHECK(summary->found);
  CHECK(summary->records.accepted == 2);
  CHECK(summary->records.refused() == 0);
  CHECK(restarted.records() == book.records());
  CHECK(address_of(restarted, 3) == "::1:7003");
  CHECK(address_of(restarted, 0) == "10.0.0.0:7000");

  // Saving again replaces the file (atomically, no temporary left beside it).
  REQUIRE(restarted.offer(record(1, "10.1.0.1", 7001, 8)) == offer_outcome::accepted);
  REQUIRE(restarted.save(file));
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                      std::filesystem::directory_iterator{}) == 1);
  auto again = make_book();
  REQUIRE(again.load(file));
  CHECK(again.sequence_of(replica_id{1}) == 8u);
}

TEST_CASE("a tampered record in the file is dropped on load, and the others are kept") {
  test::temp_dir dir;
  const auto file = dir / "addresses";
  auto book = make_book();
  REQUIRE(book.offer(record(1, "10.1.0.1", 7001, 7)) == offer_outcome::accepted);
  REQUIRE(book.offer(record(2, "10.1.0.2", 7002, 7)) == offer_outcome::accepted);
  REQUIRE(book.save(file));

  auto text = read_text(file);
  auto lines_start = text.find('\n') + 1;
  // Point validator 1 at an attacker's port: the record's port bytes sit before sequence
  // and signature (8 + 64 bytes), i.e. 2 * 74 hex digits from the end of the line.
  auto line_end = text.find('\n', lines_start);
  auto port_hex = line_end - 2 * (64 + 8 + 2);
  text[port_hex] = text[port_hex] == '0' ? '1' : '0';
  // And append a line that is not hex, one for another chain, and one too long.
  address_record other;
  other.chain_id = "other-chain";
  other.id = replica_id{3};
  other.host = "10.6.6.6";
  other.port = 7000;
  other.sequence = 99;
  other.sign(signer_of(3));
  text += "not hex\n" + to_hex(as_bytes(other.encode())) + "\n";
  text += std::string(4 * net::max_record_bytes, 'a') + "\n"; // hex, but too long a record
  write_text(file, text);

  auto restarted = make_book();
  auto summary = restarted.load(file);
  REQUIRE(summary);
  CHECK(summary->records.accepted == 1);
  CHECK(summary->records.bad_signature == 1);
  CHECK(summary->records.malformed == 2);
  CHECK(summary->records.wrong_chain == 1);
  CHECK(address_of(restarted, 1) == "10.0.0.1:7000"); // genesis, not the tampered port
  CHECK(address_of(restarted, 2) == "10.1.0.2:7002");
  CHECK(address_of(restarted, 3) == "10.0.0.3:7000");
  CHECK(restarted.counters() == summary->records);
}

TEST_CASE("a missing file is a first start, and a garbage file is an error that changes nothing") {
  test::temp_dir dir;
  auto book = make_book();
  REQUIRE(book.offer(record(1, "10.1.0.1", 7001, 7)) == offer_outcome::accepted);
  const auto before = book.records();

  auto missing = book.load(dir / "absent");
  REQUIRE(missing);
  CHECK_FALSE(missing->found);

  SUBCASE("wrong version line") {
    write_text(dir / "garbage", "hello\n" + to_hex(as_bytes(record(2, "10.9.0.2", 1, 5).encode())));
    auto r = book.load(dir / "garbage");
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::malformed);
    CHECK(r.error().message().find("garbage") != std::string::npos);
  }
  SUBCASE("an empty file") {
    write_text(dir / "garbage", "");
    CHECK_FALSE(book.load(dir / "garbage"));
  }
  SUBCASE("larger than the limit") {
    write_text(dir / "garbage", std::string(net::book_file_version_line) + "\n" +
                                    std::string(net::max_book_file_bytes, 'a'));
    auto r = book.load(dir / "garbage");
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::malformed);
  }
  SUBCASE("a directory") {
    std::filesystem::create_directory(dir / "garbage");
    auto r = book.load(dir / "garbage");
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::io_error);
  }
  CHECK(book.records() == before);
  CHECK(address_of(book, 2) == "10.0.0.2:7000");
}

TEST_CASE("bootstrap addresses are kept in order, once each, and must be diallable") {
  auto book = make_book();
  CHECK(book.bootstrap().empty());
  REQUIRE(book.add_bootstrap({"seed.example.org", 7000}));
  REQUIRE(book.add_bootstrap({"::1", 7001}));
  REQUIRE(book.add_bootstrap({"seed.example.org", 7000}));
  auto bad = book.add_bootstrap({"bad host", 7000});
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == errc::invalid_config);
  CHECK_FALSE(book.add_bootstrap({"10.0.0.1", 0}));
  auto b = book.bootstrap();
  REQUIRE(b.size() == 2);
  CHECK(b[0].host == "seed.example.org");
  CHECK(b[1].host == "::1");
  CHECK(b[1].port == 7001);
}

TEST_CASE("offers from several threads keep the newest record and count every offer") {
  auto book = make_book();
  std::vector<std::string> encoded;
  for (std::uint64_t seq = 1; seq <= 40; ++seq)
    encoded.push_back(record(2, "10.2.0." + std::to_string(seq), 7000, seq).encode());
  auto offer_all = [&](bool reverse) {
    for (std::size_t i = 0; i < encoded.size(); ++i)
      (void)book.offer_encoded(encoded[reverse ? encoded.size() - 1 - i : i]);
  };
  std::thread a(offer_all, false);
  std::thread b(offer_all, true);
  a.join();
  b.join();
  CHECK(book.sequence_of(replica_id{2}) == 40u);
  CHECK(address_of(book, 2) == "10.2.0.40:7000");
  auto c = book.counters();
  CHECK(c.accepted + c.stale == 80);
  CHECK(c.accepted >= 1);
}
