#include <doctest/doctest.h>

#include <sys/stat.h>

#include <fstream>
#include <string>

#include "crypto/ed25519.hpp"
#include "crypto/key_file.hpp"
#include "tests/crypto/temp_dir.hpp"

using namespace bft;
namespace fs = std::filesystem;

namespace {

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return static_cast<unsigned>(st.st_mode & 07777);
}

void write_raw(const fs::path& p, const std::string& text, unsigned mode = 0600) {
  {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
  }
  REQUIRE(::chmod(p.c_str(), mode) == 0);
}

std::string read_raw(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::size_t entries_in(const fs::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

/// `s` in double quotes (built by appending: g++ 12 warns falsely on "lit" + std::string&&).
std::string quoted(const std::string& s) {
  std::string q = "\"";
  q += s;
  q += '"';
  return q;
}

/// A valid key file's text with one line replaced (by field name) or removed (empty value).
std::string key_text_with(const std::string& field, const std::string& line) {
  auto kp = crypto::key_pair_from_seed(std::array<std::uint8_t, 32>{7});
  std::string out;
  for (const auto& [name, value] :
       {std::pair<std::string, std::string>{"format", "\"bft-ed25519-v1\""},
        {"public_key", quoted(to_hex(kp.pub))},
        {"secret_key", quoted(to_hex(kp.sec.bytes()))}}) {
    if (name == field)
      out += line.empty() ? "" : line + "\n";
    else
      out += name + " = " + value + "\n";
  }
  return out;
}

void check_malformed(const std::string& text, const std::string& expect_in_message) {
  test::temp_dir dir;
  auto p = dir / "node.key";
  write_raw(p, text);
  auto r = crypto::load_key_file(p);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == errc::malformed);
  CHECK(r.error().detail.find(p.string()) != std::string::npos);
  CHECK(r.error().detail.find(expect_in_message) != std::string::npos);
  INFO(r.error().message());
}

} // namespace

TEST_CASE("a key pair written to a key file loads back identical and still signs") {
  test::temp_dir dir;
  auto p = dir / "node.key";
  auto kp = crypto::generate_key_pair();
  REQUIRE(crypto::write_key_file(p, kp).has_value());
  auto loaded = crypto::load_key_file(p);
  REQUIRE(loaded.has_value());
  CHECK(loaded->pub == kp.pub);
  CHECK(loaded->sec.bytes() == kp.sec.bytes());
  crypto::ed25519_signer signer(*loaded);
  auto sig = signer.sign(as_bytes("hello"));
  CHECK(crypto::ed25519_verifier{}.verify(kp.pub, as_bytes("hello"), sig));
  auto pub = crypto::load_public_key(p);
  REQUIRE(pub.has_value());
  CHECK(*pub == kp.pub);
}

TEST_CASE("a key file is written with mode 0600 and leaves no temporary file beside it") {
  test::temp_dir dir;
  auto p = dir / "node.key";
  REQUIRE(crypto::write_key_file(p, crypto::generate_key_pair()).has_value());
  CHECK(mode_of(p) == 0600);
  CHECK(entries_in(dir.path()) == 1);
}

TEST_CASE("writing a key file never replaces an existing file") {
  test::temp_dir dir;
  auto p = dir / "node.key";
  write_raw(p, "precious\n", 0644);
  auto r = crypto::write_key_file(p, crypto::generate_key_pair());
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == errc::io_error);
  CHECK(r.error().detail.find(p.string()) != std::string::npos);
  CHECK(r.error().detail.find("already exists") != std::string::npos);
  CHECK(read_raw(p) == "precious\n");
  CHECK(entries_in(dir.path()) == 1);
}

TEST_CASE("writing a key file into a missing directory fails and names the file") {
  test::temp_dir dir;
  auto p = dir / "no-such-dir" / "node.key";
  auto r = crypto::write_key_file(p, crypto::generate_key_pair());
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == errc::io_error);
  CHECK(r.error().detail.find(p.string()) != std::string::npos);
}

TEST_CASE("a secret key file readable by group or others is refused, naming file and mode") {
  for (unsigned mode : {0640u, 0644u, 0604u, 0660u, 0610u}) {
    CAPTURE(mode);
    test::temp_dir dir;
    auto p = dir / "node.key";
    REQUIRE(crypto::write_key_file(p, crypto::generate_key_pair()).has_value());
    REQUIRE(::chmod(p.c_str(), mode) == 0);
    auto r = crypto::load_key_file(p);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == errc::insecure_key_file);
    CHECK(r.error().detail.find(p.string()) != std::string::npos);
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", mode);
    CHECK(r.error().detail.find(std::string("mode ") + octal) != std::string::npos);
    // The public half alone is not secret and still reads.
    CHECK(crypto::load_public_key(p).has_value());
  }
}

TEST_CASE("a secret key file with mode 0400 is accepted") {
  test::temp_dir dir;
  auto p = dir / "node.key";
  REQUIRE(crypto::write_key_file(p, crypto::generate_key_pair()).has_value());
  REQUIRE(::chmod(p.c_str(), 0400) == 0);
  CHECK(crypto::load_key_file(p).has_value());
}

TEST_CASE("a missing key file is an i/o error naming the file") {
  test::temp_dir dir;
  auto p = dir / "absent.key";
  auto r = crypto::load_key_file(p);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == errc::io_error);
  CHECK(r.error().detail.find(p.string()) != std::string::npos);
  auto d = crypto::load_key_file(dir.path());
  REQUIRE_FALSE(d.has_value());
  CHECK(d.error().detail.find("not a regular file") != std::string::npos);
}

TEST_CASE("malformed key files are refused with a message naming the file and the problem") {
  SUBCASE("empty file") { check_malformed("", "missing field 'format'"); }
  SUBCASE("not a key file") { check_malformed("hello world\n", "line 1"); }
  SUBCASE("unquoted value") {
    check_malformed(key_text_with("format", "format = bft-ed25519-v1"), "quoted string");
  }
  SUBCASE("wrong format tag") {
    check_malformed(key_text_with("format", "format = \"ssh-rsa\""), "format");
  }
  SUBCASE("unknown field") {
    check_malformed(key_text_with("format", "format = \"bft-ed25519-v1\"\ncolour = \"blue\""),
                    "unknown field 'colour'");
  }
  SUBCASE("duplicate field") {
    check_malformed(key_text_with("format", "format = \"bft-ed25519-v1\"\nformat = \"x\""),
                    "duplicate field 'format'");
  }
  SUBCASE("missing secret key") {
    check_malformed(key_text_with("secret_key", ""), "missing field 'secret_key'");
  }
  SUBCASE("short public key") {
    check_malformed(key_text_with("public_key", "public_key = \"abcd\""), "public_key");
  }
  SUBCASE("non-hex secret key") {
    check_malformed(key_text_with("secret_key", "secret_key = " + quoted(std::string(128, 'z'))),
                    "secret_key");
  }
  SUBCASE("public key of another pair") {
    auto other = crypto::key_pair_from_seed(std::array<std::uint8_t, 32>{9});
    check_malformed(key_text_with("public_key", "public_key = " + quoted(to_hex(other.pub))),
                    "public_key: does not match secret_key");
  }
  SUBCASE("secret key whose public half was altered") {
    auto kp = crypto::key_pair_from_seed(std::array<std::uint8_t, 32>{7});
    auto sec = kp.sec.bytes();
    sec[40] ^= 1;
    check_malformed(key_text_with("secret_key", "secret_key = " + quoted(to_hex(sec))),
                    "corrupt key");
  }
  SUBCASE("oversized file") {
    check_malformed(std::string(crypto::max_key_file_bytes + 1, '#'), "larger than");
  }
}

TEST_CASE("a key file's text parses without the file, with the same checks and errors") {
  auto parsed = crypto::parse_key_file(key_text_with("", ""), "node.key");
  REQUIRE(parsed.has_value());
  CHECK(parsed->pub == crypto::key_pair_from_seed(std::array<std::uint8_t, 32>{7}).pub);
  auto bad = crypto::parse_key_file(key_text_with("public_key", "public_key = \"00\""), "x.key");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error() == errc::malformed);
  CHECK(bad.error().detail.find("x.key: public_key") != std::string::npos);
}

TEST_CASE("write_file_atomically replaces only when asked and sets the mode") {
  test::temp_dir dir;
  auto p = dir / "genesis.toml";
  REQUIRE(crypto::write_file_atomically(p, "a = 1\n", 0644, false).has_value());
  CHECK(read_raw(p) == "a = 1\n");
  CHECK(mode_of(p) == 0644);
  auto refused = crypto::write_file_atomically(p, "a = 2\n", 0644, false);
  REQUIRE_FALSE(refused.has_value());
  CHECK(read_raw(p) == "a = 1\n");
  REQUIRE(crypto::write_file_atomically(p, "a = 3\n", 0644, true).has_value());
  CHECK(read_raw(p) == "a = 3\n");
  CHECK(entries_in(dir.path()) == 1);
}
