// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/): a few small,
// valid inputs per target, so that each run starts from inputs that decode. Deterministic;
// run by hand after a wire format changes: build-fuzz/tests/fuzz/fuzz_seeds tests/fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>

#include "actors/catchup.hpp"
#include "actors/wire.hpp"
#include "config/genesis.hpp"
#include "config/node_config.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/sha3.hpp"
#include "protocols/common/recovery.hpp"
#include "protocols/hotstuff/messages.hpp"
#include "protocols/hotstuff/replica.hpp"
#include "protocols/hotstuff/safety.hpp"
#include "protocols/pbft/log_record.hpp"
#include "protocols/pbft/probe.hpp"
#include "protocols/pbft/replica.hpp"
#include "protocols/smr/kv_state_machine.hpp"
#include "protocols/smr/kv_tx.hpp"
#include "tests/fuzz/catchup.hpp"
#include "tests/fuzz/engine_frames.hpp"

namespace {

using namespace bft;
namespace fs = std::filesystem;

fs::path root_dir;

void write(const std::string& target, const std::string& name, byte_view b) {
  auto dir = root_dir / target;
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}
void write(const std::string& target, const std::string& name, std::string_view s) {
  write(target, name, as_bytes(s));
}
/// A selector byte, then the value (targets that fuzz several decoders).
void write_sel(const std::string& target, const std::string& name, std::uint8_t sel, byte_view b) {
  bytes out{sel};
  out.insert(out.end(), b.begin(), b.end());
  write(target, name, out);
}

digest filled(std::uint8_t v) {
  digest d{};
  d.fill(v);
  return d;
}

client_request request(std::uint64_t seq) {
  const crypto::fake_signer client(1000);
  client_request r;
  r.client_seq = seq;
  r.txs.push_back(smr::kv_tx::put("k" + std::to_string(seq), "v").encode());
  actors::sign_request(r, client, "fuzz", epoch{0});
  return r;
}

void pbft_seeds() {
  using namespace bft::pbft;
  const signing_context ctx{"fuzz", epoch{0}};
  const crypto::fake_signer s1(1), s2(2);
  pre_prepare pp{view_number{0}, seq_number{1}, {}, replica_id{0}, nullptr, {}};
  auto b = std::make_shared<batch>(batch{request(1)});
  pp.d = batch_digest(*b);
  pp.requests = b;
  sign(pp, ctx, s1);
  write("pbft_messages", "pre_prepare", encode(pp));
  vote v{msg_type::commit, view_number{0}, seq_number{1}, pp.d, replica_id{1}, {}};
  sign(v, ctx, s2);
  write("pbft_messages", "commit", encode(v));
  checkpoint c{seq_number{2}, filled(3), replica_id{1}, {}};
  sign(c, ctx, s2);
  write("pbft_messages", "checkpoint", encode(c));
  view_change vc;
  vc.new_view = view_number{1};
  vc.from = replica_id{1};
  vc.stable = {seq_number{2}, filled(3), {{replica_id{1}, c.sig}}};
  vc.prepared.push_back({view_number{0}, seq_number{3}, pp.d, pp.sig, {{replica_id{2}, v.sig}}});
  sign(vc, ctx, s2);
  write("pbft_messages", "view_change", encode(vc));
  new_view nv;
  nv.view = view_number{1};
  nv.from = replica_id{1};
  nv.view_changes.push_back(encode(vc));
  nv.entries.push_back({seq_number{3}, pp.d, pp.sig});
  sign(nv, ctx, s2);
  write("pbft_messages", "new_view", encode(nv));
  write("pbft_messages", "request_relay", encode(request_relay{{request(2)}}));
  write("pbft_messages", "batch_reply", encode(batch_reply{pp.d, b}));
  write("pbft_messages", "probe",
        encode_probe(probe_type, {replica_id{1}, 3, view_number{2}, true, 9, false}));
  recovery::status_report rep{replica_id{1}, 7, 2, 9, encode(nv)};
  const recovery::frame_signing fsig{"req", "rep", "fuzz", epoch{0}};
  write("pbft_messages", "status_report", fsig.seal(replica::status_report_type, rep, s2));

  log_record rec{true, view_number{0}, pp.d, pp.sig, false, vc.prepared[0]};
  rec.cert->seq = seq_number{7};
  write_sel("pbft_records", "log_record", 0, rec.encode());
  write_sel("pbft_records", "view_record", 1, view_record{view_number{3}, true}.encode());
  write_sel("pbft_records", "transfer_record", 2, transfer_record{4, filled(5), 2}.encode());
  write_sel("pbft_records", "stable", 3, encode_stable(vc.stable));
  write_sel("pbft_records", "stored_batch", 4, encode_batch(*b));
  write_sel("pbft_records", "guard", 5, recovery::guard_state{true, 4, 9}.encode());
}

void hotstuff_seeds() {
  using namespace bft::hotstuff;
  const sign_context ctx{"fuzz", epoch{0}};
  const crypto::fake_signer s2(2);
  block b;
  b.parent = genesis_block()->hash;
  b.height = bft::height{1};
  b.view = view_number{1};
  b.proposer = replica_id{1};
  b.justify = genesis_qc();
  b.requests.push_back(request(1));
  auto prop = encode_new_proposal(b, s2, ctx);
  write("hotstuff_messages", "proposal", prop);
  auto v = encode_vote(b.hash, view_number{1}, bft::height{1}, replica_id{1}, s2, ctx);
  write("hotstuff_messages", "vote", v);
  quorum_cert qc{
      b.hash, view_number{1}, bft::height{1}, {{replica_id{1}, {}}, {replica_id{2}, {}}}};
  write("hotstuff_messages", "new_view",
        encode_new_view({view_number{2}, replica_id{1}, qc, v}, s2, ctx));
  write("hotstuff_messages", "block_request",
        encode_block_request({replica_id{1}, b.hash, 4}, s2, ctx));
  write("hotstuff_messages", "block_response",
        encode_block_response(
            {replica_id{1}, b.hash, 0, {std::make_shared<const block>(b), genesis_block()}}, s2,
            ctx));
  codec::writer proof;
  qc.encode(proof);
  const recovery::frame_signing fsig{"req", "rep", "fuzz", epoch{0}};
  write("hotstuff_messages", "status_report",
        fsig.seal(replica::status_report_type, {replica_id{1}, 7, 2, 1, proof.take()}, s2));

  safety_record rec = safety_record::genesis();
  rec.last_voted_view = view_number{1};
  rec.high_qc = qc;
  write_sel("hotstuff_records", "safety", 0, rec.encode());
  codec::writer w;
  b.encode(w);
  write_sel("hotstuff_records", "block", 1, w.data());
  write_sel("hotstuff_records", "guard", 2, recovery::guard_state{false, 0, 0}.encode());
}

/// Runs a four-replica cluster of one engine for a few rounds and keeps, as one script, the
/// frames that replicas 1-3 sent to replica 0 (with a tick between rounds).
void engine_seeds() {
  namespace ef = bft::fuzz::engine_frames;
  for (std::uint8_t e = 0; e < protocols().size(); ++e) {
    const auto& entry = ef::engine_of(e);
    std::vector<std::unique_ptr<crypto::fake_signer>> signers;
    std::vector<std::unique_ptr<engine>> engines;
    const crypto::fake_verifier verifier;
    for (std::uint32_t i = 0; i < ef::replicas; ++i) {
      signers.push_back(std::make_unique<crypto::fake_signer>(i + 1));
      engines.push_back(entry.make_engine(ef::config(replica_id{i}), *signers[i], verifier, {}));
    }
    bytes script{e};
    std::vector<std::pair<std::uint32_t, outbound>> queue; // sender, message
    auto collect = [&](std::uint32_t from, ready r) {
      for (auto& m : r.messages) queue.emplace_back(from, std::move(m));
    };
    for (std::uint32_t i = 0; i < ef::replicas; ++i)
      collect(i, engines[i]->step(ev::client_requests{{request(1), request(2)}, true}));
    for (int round = 0; round < 6 && script.size() < 6000; ++round) {
      for (std::uint32_t i = 0; i < ef::replicas; ++i) collect(i, engines[i]->step(ev::tick{}));
      script.push_back(0); // a tick for replica 0
      auto now = std::move(queue);
      queue.clear();
      for (auto& [from, m] : now) {
        for (std::uint32_t to = 0; to < ef::replicas; ++to) {
          if (to == from || (m.to && m.to->value() != to)) continue;
          if (to == 0 && script.size() + m.frame.size() < 6000)
            ef::append_step(script, static_cast<std::uint8_t>(from), m.frame);
          collect(to, engines[to]->step(ev::received{replica_id{from}, m.frame}));
        }
      }
    }
    write("engine_frames", std::string(entry.name), script);
  }
}

void catchup_seeds() {
  using namespace bft::actors;
  namespace fc = bft::fuzz::catchup;
  bytes snapshot(300, 0x42);
  auto served = make_served(fc::index, fc::root(), std::make_shared<const bytes>(snapshot), 128);
  write("catchup", "request", encode_sync(sync_request{fc::index, manifest_chunk}));
  write("catchup", "manifest", encode_sync(served.manifest));
  write("catchup", "chunk", encode_sync(answer(&served, {fc::index, 2})));
  write("catchup", "unavailable", encode_sync(sync_unavailable{fc::index}));
  // A whole session: the manifest from peer 1, then its three chunks.
  bytes script;
  fc::append_step(script, 1, encode_sync(served.manifest));
  for (std::uint32_t k = 0; k < 3; ++k)
    fc::append_step(script, 1, encode_sync(answer(&served, {fc::index, k})));
  write("catchup", "session", script);
  // A regression input: a manifest whose size wrapped the chunk count to 0 (catchup_test.cpp).
  bytes wraps;
  fc::append_step(wraps, 1, encode_sync(sync_manifest{fc::index, fc::root(), ~0ull, 2, {}}));
  write("catchup", "manifest_wraps", wraps);
}

void wire_seeds() {
  using namespace bft::actors;
  hello h;
  h.step = 2;
  h.chain_id = "fuzz";
  h.id = replica_id{1};
  h.fresh = filled(1);
  h.echo = filled(2);
  write_sel("actor_wire", "hello", 0, as_bytes(h.encode()));
  client_call call;
  call.what = client_call::kind::submit;
  call.request = request(3);
  write_sel("actor_wire", "call_submit", 1, as_bytes(call.encode()));
  call = {};
  call.what = client_call::kind::read;
  call.key = "k1";
  write_sel("actor_wire", "call_read", 1, as_bytes(call.encode()));
  client_reply rep;
  rep.what = client_reply::kind::receipt;
  rep.client_seq = 3;
  rep.results.push_back({smr::kv_status::ok, std::string("v")});
  write_sel("actor_wire", "reply_receipt", 2, as_bytes(rep.encode()));
  rep = {};
  rep.what = client_reply::kind::status;
  rep.validators.push_back({replica_id{1}, true, 10, 0, 0});
  write_sel("actor_wire", "reply_status", 2, as_bytes(rep.encode()));
  write_sel("actor_wire", "reply_error", 2, as_bytes(client_reply::failure("no").encode()));
  std::string batch;
  append_to_batch(batch, as_bytes(std::string_view("frame one")));
  append_to_batch(batch, as_bytes(std::string_view("2")));
  write_sel("actor_wire", "batch", 3, as_bytes(batch));
}

void kv_seeds() {
  using namespace bft::smr;
  write_sel("kv", "put", 0, kv_tx::put("key", "value").encode());
  write_sel("kv", "cas", 0, kv_tx::cas("key", std::string("old"), "new").encode());
  write_sel("kv", "result", 1, kv_result{kv_status::cas_mismatch, std::string("cur")}.encode());
  kv_state_machine sm;
  committed_entry e{1, {}, {request(1), request(2)}};
  (void)sm.apply(e);
  write("kv_snapshot", "two_requests", sm.snapshot());
}

void config_seeds() {
  using namespace bft::config;
  genesis g;
  g.chain_id = "fuzz-net";
  for (std::uint32_t i = 0; i < 4; ++i)
    g.validators.push_back({replica_id{i}, crypto::fake_public_key(i + 1),
                            "127.0.0.1:" + std::to_string(7000 + i), 1});
  write("genesis", "pbft", to_toml(g));
  g.protocol = protocol_kind::hotstuff;
  g.params.batch_size = 8;
  g.validators[3].weight = 2;
  write("genesis", "hotstuff_weights", to_toml(g));
  node_config c;
  c.id = replica_id{2};
  c.key_file = "node-2.key";
  c.data_dir = "data-2";
  c.listen = "127.0.0.1:7002";
  c.metrics = "127.0.0.1:7102";
  c.level = log_level::debug;
  write("node_config", "node", to_toml(c));
  c.metrics.clear();
  c.genesis_file = "../genesis.toml";
  write("node_config", "no_metrics", to_toml(c));
}

void key_file_seeds() {
  auto kp = crypto::key_pair_from_seed(std::array<std::uint8_t, 32>{7});
  const std::string fields = "format = \"bft-ed25519-v1\"\npublic_key = \"" + to_hex(kp.pub) +
                             "\"\nsecret_key = \"" + to_hex(kp.sec.bytes()) + "\"\n";
  write("key_file", "plain", fields);
  write("key_file", "commented", "# bft ed25519 key pair: keep secret (mode 0600)\n\n" + fields);
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_seeds <corpus dir>\n";
    return 2;
  }
  root_dir = argv[1];
  pbft_seeds();
  hotstuff_seeds();
  engine_seeds();
  catchup_seeds();
  wire_seeds();
  kv_seeds();
  config_seeds();
  key_file_seeds();
  return 0;
}
