#include <doctest/doctest.h>

#include <caf/all.hpp>

#include "actors/spawn.hpp"
#include "protocols/common/codec.hpp"

using namespace bft;
using namespace bft::actors;

namespace {
caf::actor_system_config& registered_config() {
  static caf::actor_system_config cfg;
  static bool done = false;
  if (!done) {
    register_types(cfg);
    done = true;
  }
  return cfg;
}
} // namespace

TEST_CASE("a frame round-trips through CAF's binary serializer, alone and in a message") {
  caf::actor_system sys{registered_config()};
  frame f{3, std::string("\x00\x01payload\xff", 10)};
  std::vector<char> buf;
  {
    caf::binary_serializer sink{sys, buf};
    REQUIRE_FALSE(sink(f));
  }
  frame back;
  {
    caf::binary_deserializer source{sys, buf};
    REQUIRE_FALSE(source(back));
  }
  CHECK(back.from == 3);
  CHECK(back.data == f.data);

  // As a message, the way BASP carries it: (peer_atom, frame), by its registered name.
  auto msg = caf::make_message(peer_atom::value, f);
  std::vector<char> mbuf;
  {
    caf::binary_serializer sink{sys, mbuf};
    REQUIRE_FALSE(sink(msg));
  }
  caf::message mback;
  {
    caf::binary_deserializer source{sys, mbuf};
    REQUIRE_FALSE(source(mback));
  }
  REQUIRE(mback.match_elements<peer_atom, frame>());
  CHECK(mback.get_as<frame>(1).data == f.data);
  CHECK(mback.get_as<frame>(1).from == 3);
}

TEST_CASE("a frame whose length prefix claims more than the input holds fails to decode") {
  caf::actor_system sys{registered_config()};
  // from = 1, then a string length prefix of about 4 GiB and only 3 bytes of data.
  std::vector<char> buf{1, 0, 0, 0};
  std::vector<char> huge_len{'\xff', '\xff', '\xff', '\x0f'}; // varbyte ~ 2^32
  buf.insert(buf.end(), huge_len.begin(), huge_len.end());
  buf.insert(buf.end(), {'a', 'b', 'c'});
  frame back;
  caf::binary_deserializer source{sys, buf};
  CHECK(source(back)); // an error, and no 4 GiB allocation
  CHECK(back.data.size() < 16);
}

TEST_CASE("the frame type is registered under one name") {
  caf::actor_system sys{registered_config()};
  CHECK(std::string(frame_type_name) == "bft::frame");
  CHECK(sys.types().portable_name(0, &typeid(frame)) == "bft::frame");
}
