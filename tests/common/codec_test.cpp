#include <doctest/doctest.h>

#include "protocols/common/codec.hpp"
#include "protocols/common/request.hpp"

using namespace bft;
using namespace bft::codec;

namespace {
client_request sample_request() {
  client_request r;
  for (std::size_t i = 0; i < r.client.size(); ++i) r.client[i] = static_cast<std::uint8_t>(i);
  r.client_seq = 0x0102030405060708ULL;
  r.txs = {bytes{'a', 'b'}, bytes{}, bytes{0xff}};
  r.sig.fill(0x5a);
  return r;
}
bytes encode_sample() {
  writer w;
  w.header({7, 1});
  sample_request().encode(w);
  return w.take();
}
result<client_request> decode_sample(byte_view b) {
  reader r(b);
  r.expect({7, 1});
  auto req = client_request::decode(r);
  if (auto f = r.finish(); !f) return f.error();
  return req;
}
} // namespace

TEST_CASE("integers are little-endian and fixed-width (golden bytes)") {
  writer w;
  w.u8(0x01);
  w.u16(0x0203);
  w.u32(0x04050607);
  w.u64(0x08090a0b0c0d0e0fULL);
  w.id(replica_id{0x11223344});
  CHECK(w.data() == bytes{0x01, 0x03, 0x02, 0x07, 0x06, 0x05, 0x04, 0x0f, 0x0e, 0x0d, 0x0c, 0x0b,
                          0x0a, 0x09, 0x08, 0x44, 0x33, 0x22, 0x11});
}

TEST_CASE("byte strings carry a u32 length prefix (golden bytes)") {
  writer w;
  w.header({0x0102, 3});
  w.str("hi", 16);
  CHECK(w.data() == bytes{0x02, 0x01, 0x03, 0x00, 0x02, 0x00, 0x00, 0x00, 'h', 'i'});
}

TEST_CASE("a client request round-trips through the codec") {
  auto b = encode_sample();
  auto back = decode_sample(b);
  REQUIRE(back);
  CHECK(*back == sample_request());
}

TEST_CASE("decoding every truncation of a sample message fails cleanly") {
  auto b = encode_sample();
  for (std::size_t len = 0; len < b.size(); ++len) {
    auto r = decode_sample(byte_view(b.data(), len));
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::truncated);
  }
}

TEST_CASE("decoding rejects trailing bytes, wrong type and wrong version") {
  auto b = encode_sample();
  b.push_back(0);
  CHECK(decode_sample(b).error() == errc::trailing_bytes);
  b.pop_back();
  auto wrong_type = b;
  wrong_type[0] = 8;
  CHECK(decode_sample(wrong_type).error() == errc::wrong_type);
  auto wrong_version = b;
  wrong_version[2] = 2;
  CHECK(decode_sample(wrong_version).error() == errc::wrong_version);
}

TEST_CASE("a length prefix over the stated maximum is oversized, checked before allocation") {
  writer w;
  w.u32(0xffffffffu); // claims 4 GiB
  reader r(w.data());
  auto b = r.blob(1024);
  CHECK(b.empty());
  CHECK(r.error_code() == errc::oversized);

  writer w2;
  w2.u32(1000); // within max, but the input has no such bytes
  reader r2(w2.data());
  (void)r2.blob(4096);
  CHECK(r2.error_code() == errc::truncated);
}

TEST_CASE("a count larger than the input could hold is refused") {
  writer w;
  w.u32(1'000'000);
  reader r(w.data());
  CHECK(r.count(10'000'000, 4) == 0);
  CHECK(r.error_code() == errc::truncated);
}

TEST_CASE("booleans have exactly one encoding") {
  bytes two{2};
  reader r(two);
  (void)r.boolean();
  CHECK(r.error_code() == errc::malformed);
}

TEST_CASE("signing bytes are domain separated by tag, chain and epoch") {
  bytes body{1, 2, 3};
  auto a = signing_bytes("bft/pbft/prepare/v1", "chain-a", epoch{0}, body);
  CHECK(a != signing_bytes("bft/pbft/commit/v1", "chain-a", epoch{0}, body));
  CHECK(a != signing_bytes("bft/pbft/prepare/v1", "chain-b", epoch{0}, body));
  CHECK(a != signing_bytes("bft/pbft/prepare/v1", "chain-a", epoch{1}, body));
}

TEST_CASE("hex round trip") {
  bytes b{0x00, 0xab, 0xff};
  CHECK(to_hex(b) == "00abff");
  bytes back;
  REQUIRE(from_hex("00ABff", back));
  CHECK(back == b);
  CHECK_FALSE(from_hex("abc", back));
  CHECK_FALSE(from_hex("zz", back));
}

TEST_CASE("a request's encoded size is exactly what encode writes, and its body is that less the "
          "signature") {
  auto r = sample_request();
  r.txs.push_back(bytes(512, 0x33));
  writer w;
  w.u8(0xee); // encoded after other bytes, as in a batch or a block
  r.encode(w);
  CHECK(w.size() == 1 + r.encoded_size());
  CHECK(r.body().size() + 64 == r.encoded_size());
  CHECK(bytes(w.data().begin() + 1, w.data().end() - 64) == r.body());
}

TEST_CASE("reserving room in a writer changes no byte it writes") {
  writer plain;
  writer sized;
  sized.reserve(3);
  for (std::uint32_t i = 0; i < 1000; ++i) {
    sized.reserve(i % 7); // any pattern of reservations, even tiny and repeated ones
    plain.u32(i);
    sized.u32(i);
    plain.blob(bytes(i % 13, 0x42), 64);
    sized.blob(bytes(i % 13, 0x42), 64);
  }
  CHECK(sized.data() == plain.data());
  writer w;
  w.u8(1);
  w.reserve(100);
  CHECK(w.data() == bytes{1});
}
