#include <doctest/doctest.h>

#include "actors/probes.hpp"

using namespace bft;
using namespace bft::actors;

TEST_CASE("probes expose bft_ metrics in the text format /metrics serves") {
  metrics m;
  replica_probe r(m, replica_id{2});
  r.on_committed(1, 25);
  r.on_status(3, 7);
  r.on_received(0x0101);
  r.on_rejected(true);
  acceptor_probe a(m, replica_id{2});
  a.on_dropped("oversized");
  link_probe l(m, replica_id{2}, replica_id{1});
  l.on_state(link_probe::state::up);
  gateway_probe g(m, replica_id{2});
  g.on_commit_latency(0.02);
  auto text = m.scrape();
  CHECK(text.find("bft_committed_transactions_total{replica=\"2\"} 25") != std::string::npos);
  CHECK(text.find("bft_view{replica=\"2\"} 3") != std::string::npos);
  CHECK(text.find("bft_view_changes_total{replica=\"2\"} 3") != std::string::npos);
  CHECK(text.find("bft_signature_failures_total{replica=\"2\"} 1") != std::string::npos);
  CHECK(text.find("bft_link_state{peer=\"1\",replica=\"2\"} 3") != std::string::npos);
  CHECK(text.find("bft_commit_latency_seconds_count{replica=\"2\"} 1") != std::string::npos);
  CHECK(a.dropped("oversized") == 1);
  CHECK(a.dropped("unauthenticated") == 0);
  for (auto pos = text.find("\nbft"); pos != std::string::npos; pos = text.find("\n", pos + 1)) {
    auto line = text.substr(pos + 1, 4);
    if (line.empty() || line[0] == '#') continue;
    CHECK(line == "bft_");
  }
}

namespace {
std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}
} // namespace

TEST_CASE("message metrics are labelled with the frame type's name; unnamed types stay bounded") {
  metrics m;
  replica_probe r(m, replica_id{2});
  r.on_received(0x0101);
  r.on_received(0x0101);
  r.on_sent(0x0202, 3);
  r.on_sent(0x0106, 1);
  auto text = m.scrape();
  CHECK(text.find("bft_messages_received_total{replica=\"2\",type=\"pre_prepare\"} 2") !=
        std::string::npos);
  CHECK(text.find("bft_messages_sent_total{replica=\"2\",type=\"vote\"} 3") != std::string::npos);
  CHECK(text.find("bft_messages_sent_total{replica=\"2\",type=\"new_view\"} 1") !=
        std::string::npos);
  CHECK(text.find("type=\"0x0101\"") == std::string::npos);

  // A hostile peer sends 100 distinct unnamed types, each twice.
  for (int round = 0; round < 2; ++round)
    for (std::uint16_t t = 0x7f00; t < 0x7f00 + 100; ++t) r.on_received(t);
  text = m.scrape();
  CHECK(count_of(text, "bft_messages_received_total{replica=\"2\",type=\"0x7f") ==
        replica_probe::max_unknown_types);
  CHECK(text.find("bft_messages_received_total{replica=\"2\",type=\"0x7f00\"} 2") !=
        std::string::npos);
  auto rest = 2 * (100 - replica_probe::max_unknown_types);
  CHECK(text.find("bft_messages_received_total{replica=\"2\",type=\"other\"} " +
                  std::to_string(rest)) != std::string::npos);
  // Named types keep their names after the cap.
  r.on_received(0x0102);
  CHECK(m.scrape().find("type=\"prepare\"") != std::string::npos);
}

TEST_CASE("frame_type_label names engine and actor-layer frames, and prints others in hex") {
  CHECK(frame_type_label(0x0101) == "pre_prepare");
  CHECK(frame_type_label(0x010C) == "probe");
  CHECK(frame_type_label(0x0201) == "proposal");
  CHECK(frame_type_label(0x0203) == "new_view");
  CHECK(frame_type_label(0x4801) == "hello");
  CHECK(frame_type_label(0x4c02) == "client_reply");
  CHECK(frame_type_label(0x5903) == "sync_chunk");
  CHECK(frame_type_label(0x7f01) == "0x7f01");
  CHECK(frame_type_label(0) == "0x0000");
}
