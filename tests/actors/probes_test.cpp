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
