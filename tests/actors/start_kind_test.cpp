// How `bft node` reads its data directory at start: first start, restart, or amnesia guard.
#include <doctest/doctest.h>

#include "actors/runner.hpp"

using bft::actors::classify_start;

TEST_CASE("a data directory marked by bft init starts without the amnesia guard and keeps its "
          "marker while its store is empty") {
  auto k = classify_start(/*store_empty=*/true, /*marked=*/true, /*fresh=*/false);
  CHECK_FALSE(k.recovering);
  // A node stopped before it wrote a record signed nothing: it starts again as a first start.
  CHECK_FALSE(k.remove_marker);
}

TEST_CASE("an empty data directory without the marker starts with the amnesia guard") {
  auto k = classify_start(true, false, false);
  CHECK(k.recovering);
  CHECK_FALSE(k.remove_marker);
}

TEST_CASE("bft node --fresh starts an unmarked empty data directory without the guard") {
  auto k = classify_start(true, false, true);
  CHECK_FALSE(k.recovering);
}

TEST_CASE("a store that holds records starts unguarded and drops a leftover marker") {
  auto k = classify_start(false, true, false);
  CHECK_FALSE(k.recovering);
  CHECK(k.remove_marker);
  auto plain = classify_start(false, false, false);
  CHECK_FALSE(plain.recovering);
  CHECK_FALSE(plain.remove_marker);
}
