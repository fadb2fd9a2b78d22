// The PBFT replica's stored records alone (protocols/pbft/log_record.hpp): round trip, every
// truncation and trailing or garbled bytes rejected, key names; and the restart policy for a
// corrupt log record (engine.hpp, `persisted_state`).
#include <doctest/doctest.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "protocols/pbft/log_record.hpp"
#include "tests/pbft/harness.hpp"

using namespace bft;
using namespace bft::pbft;
using namespace bft::pbft::test;

namespace {

log_record sample_slot(cluster& c) {
  log_record r;
  r.has_pp = true;
  r.pp_view = view_number{2};
  r.d = digest{7};
  r.pp_sig = signature{9};
  r.committed = true;
  r.cert = make_cert(c, 1, 5, digest{7}, {1, 2});
  return r;
}

template <class T>
bool decodes_to(const result<T>& r, const T& v) {
  return r.has_value() && *r == v;
}

/// Every strict prefix of `b` and `b` plus a trailing byte fail to decode.
template <class Decode>
void check_rejects_damage(const bytes& b, Decode dec) {
  for (std::size_t k = 0; k < b.size(); ++k) {
    CAPTURE(k);
    CHECK_FALSE(dec(byte_view(b).first(k)).has_value());
  }
  auto longer = b;
  longer.push_back(0);
  CHECK_FALSE(dec(byte_view(longer)).has_value());
}

} // namespace

TEST_CASE("a log record round-trips, with and without a prepared certificate") {
  cluster c(4);
  auto r = sample_slot(c);
  auto back = log_record::decode(r.encode(), 5);
  REQUIRE(back);
  CHECK(*back == r);
  CHECK(back->cert->seq == seq_number{5}); // the seq comes from the key, not the bytes

  log_record bare;
  bare.has_pp = true;
  bare.pp_view = view_number{3};
  bare.d = null_digest;
  auto b2 = log_record::decode(bare.encode(), 8);
  REQUIRE(b2);
  CHECK(*b2 == bare);
  CHECK_FALSE(b2->cert);
}

TEST_CASE("a truncated, extended or garbled log record is rejected") {
  cluster c(4);
  const auto b = sample_slot(c).encode();
  check_rejects_damage(b, [](byte_view v) { return log_record::decode(v, 5); });
  auto garbled = b;
  garbled[0] = 2; // has_pp is a boolean: 0 or 1
  CHECK_FALSE(log_record::decode(garbled, 5).has_value());
}

TEST_CASE("a log record whose certificate's unused seq or state bytes are not zero is rejected") {
  // One encoding per record: encode() writes zeros there, and decode() took any bytes and
  // dropped them (found by tests/fuzz/pbft_records_fuzz.cpp: decode then encode differed).
  cluster c(4);
  const auto b = sample_slot(c).encode();
  const std::size_t unused_seq = 1 + 8 + 32 + 64 + 1 + 1 + 8 + 32 + 64; // then 8 + 32 bytes
  REQUIRE(b.size() > unused_seq + 40);
  for (std::size_t at : {unused_seq, unused_seq + 7, unused_seq + 8, unused_seq + 39}) {
    CAPTURE(at);
    auto garbled = b;
    garbled[at] ^= 1;
    auto r = log_record::decode(garbled, 5);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == errc::malformed);
  }
}

TEST_CASE("the view, transfer, stable-checkpoint and batch records round-trip and reject "
          "damage") {
  const view_record v{view_number{4}, true};
  CHECK(decodes_to(view_record::decode(v.encode()), v));
  check_rejects_damage(v.encode(), [](byte_view b) { return view_record::decode(b); });

  const transfer_record t{20, digest{3}, 12};
  CHECK(decodes_to(transfer_record::decode(t.encode()), t));
  check_rejects_damage(t.encode(), [](byte_view b) { return transfer_record::decode(b); });

  cluster c(4);
  checkpoint_proof p;
  p.seq = seq_number{10};
  p.state = digest{4};
  for (std::uint32_t i = 0; i < 3; ++i)
    p.sigs.push_back(
        signed_by{replica_id{i}, decode_checkpoint(make_ckpt(c, i, 10, digest{4}))->sig});
  CHECK(decodes_to(decode_stable(encode_stable(p)), p));
  check_rejects_damage(encode_stable(p), [](byte_view b) { return decode_stable(b); });

  client cl(7);
  const batch bt{cl.request(), cl.request()};
  const auto enc = encode_batch(bt);
  CHECK(decodes_to(decode_stored_batch(enc), bt));
  check_rejects_damage(enc, [](byte_view b) { return decode_stored_batch(b); });
}

TEST_CASE("record keys: names, sequence order, and parsing a log key back") {
  CHECK(std::string(view_key) == "pbft/view");
  CHECK(std::string(stable_key) == "pbft/stable");
  CHECK(std::string(vc_key) == "pbft/vc");
  CHECK(std::string(nv_key) == "pbft/nv");
  CHECK(std::string(transfer_key) == "pbft/transfer");
  CHECK(std::string(guard_key) == "pbft/guard");
  CHECK(log_key(5) == "pbft/log/00000000000000000005");
  CHECK(log_key(9) < log_key(10)); // keys sort by sequence number
  CHECK(log_key_seq(log_key(123456)) == 123456u);
  CHECK(log_key_seq(log_key(UINT64_MAX)) == UINT64_MAX);
  CHECK_FALSE(log_key_seq("pbft/log/"));
  CHECK_FALSE(log_key_seq("pbft/log/12x"));
  CHECK_FALSE(log_key_seq("pbft/batch/12"));
  CHECK_FALSE(log_key_seq("pbft/log/99999999999999999999999")); // overflows 64 bits
  const auto bk = batch_key(digest{0xab});
  CHECK(bk.starts_with(batch_key_prefix));
  CHECK(bk == "pbft/batch/ab" + std::string(62, '0'));
}

TEST_CASE("a corrupt log record, or a log key that names no sequence number, stops the "
          "engine with an error naming the log") {
  cluster c(4);
  client cl(7);
  c.submit(0, {cl.request()});
  c.deliver_all();
  const auto& stored = c.stores[1];
  auto first = std::find_if(stored.begin(), stored.end(),
                            [](const auto& kv) { return kv.first.starts_with(log_key_prefix); });
  REQUIRE(first != stored.end());
  auto expect_refused = [&](const persisted_state& damaged) {
    try {
      replica r(make_config(4, 1), *c.signers[1], c.verifier, damaged);
      FAIL("a corrupt record was accepted");
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()).find("pbft/log") != std::string::npos);
    }
  };
  auto truncated = stored;
  truncated[first->first].pop_back();
  expect_refused(truncated);
  auto badkey = stored;
  badkey["pbft/log/not-a-number"] = first->second;
  expect_refused(badkey);
  // The undamaged record restarts.
  replica ok(make_config(4, 1), *c.signers[1], c.verifier, stored);
  CHECK(ok.log_size() > 0);
}
