#include "crypto/key_file.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

namespace bft::crypto {
namespace {

constexpr std::string_view format_tag = "bft-ed25519-v1";

std::string errno_text(int e) { return std::strerror(e); }

/// A fixed-size character buffer that is wiped when it goes out of scope (secret material).
template <std::size_t N>
struct wiped_buffer {
  std::array<char, N> data{};
  std::size_t size = 0;
  wiped_buffer() = default;
  wiped_buffer(const wiped_buffer&) = delete;
  wiped_buffer& operator=(const wiped_buffer&) = delete;
  ~wiped_buffer() { sodium_memzero(data.data(), data.size()); }
  bool append(std::string_view s) {
    if (s.size() > N - size) return false;
    std::memcpy(data.data() + size, s.data(), s.size());
    size += s.size();
    return true;
  }
  [[nodiscard]] std::string_view view() const { return {data.data(), size}; }
};

/// Closes a file descriptor when it goes out of scope.
struct fd_guard {
  int fd = -1;
  explicit fd_guard(int f) : fd(f) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
  int release() {
    int f = fd;
    fd = -1;
    return f;
  }
};

bool write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    auto n = ::write(fd, s.data(), s.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    s.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

/// Moves `from` to `to` without replacing an existing `to`.
int rename_no_replace(const char* from, const char* to) {
  if (::renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  // The file system cannot rename without replacing: link (which fails if `to` exists), then
  // drop the temporary name.
  if (::link(from, to) != 0) return -1;
  ::unlink(from);
  return 0;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Decodes exactly out.size() bytes of hex; false on a wrong length or a non-hex character.
template <std::size_t N>
bool decode_hex(std::string_view hex, std::array<std::uint8_t, N>& out) {
  if (hex.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return true;
}

template <std::size_t N, std::size_t M>
bool append_hex(wiped_buffer<M>& buf, const std::array<std::uint8_t, N>& b) {
  static constexpr char digits[] = "0123456789abcdef";
  for (auto c : b) {
    char pair[2] = {digits[c >> 4], digits[c & 0xf]};
    if (!buf.append({pair, 2})) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

/// The three fields of a key file, as views into the (wiped) file buffer.
struct key_file_fields {
  std::optional<std::string_view> format, public_key, secret_key;
};

result<key_file_fields> parse_fields(const std::string& name, std::string_view text) {
  key_file_fields f;
  std::size_t line_no = 0;
  auto bad = [&](const std::string& what) {
    return error{errc::malformed, name + ": line " + std::to_string(line_no) + ": " + what +
                                      " (expected a bft key file: format, public_key, secret_key)"};
  };
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    auto line = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty() || line.front() == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string_view::npos) return bad("expected name = \"value\"");
    auto key = trim(line.substr(0, eq));
    auto value = trim(line.substr(eq + 1));
    if (value.size() < 2 || value.front() != '"' || value.back() != '"' ||
        value.substr(1, value.size() - 2).find('"') != std::string_view::npos)
      return bad("the value of '" + std::string(key) + "' must be one quoted string");
    value = value.substr(1, value.size() - 2);
    std::optional<std::string_view>* slot = nullptr;
    if (key == "format")
      slot = &f.format;
    else if (key == "public_key")
      slot = &f.public_key;
    else if (key == "secret_key")
      slot = &f.secret_key;
    else
      return bad("unknown field '" + std::string(key) + "'");
    if (*slot) return bad("duplicate field '" + std::string(key) + "'");
    *slot = value;
  }
  auto missing = [&](const char* field) {
    return error{errc::malformed, name + ": missing field '" + field + "' (not a bft key file?)"};
  };
  if (!f.format) return missing("format");
  if (*f.format != format_tag)
    return error{errc::malformed, name + ": format: expected \"" + std::string(format_tag) +
                                      "\", found \"" + std::string(*f.format) + "\""};
  if (!f.public_key) return missing("public_key");
  if (!f.secret_key) return missing("secret_key");
  return f;
}

/// Reads the whole file into `buf`; checks it is a regular file and, if `check_mode`, that
/// group and others have no access.
result<void> read_key_text(const std::filesystem::path& path, bool check_mode,
                           wiped_buffer<max_key_file_bytes + 1>& buf) {
  const auto name = path.string();
  int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (raw < 0) return error{errc::io_error, name + ": cannot open: " + errno_text(errno)};
  fd_guard fd(raw);
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0)
    return error{errc::io_error, name + ": cannot stat: " + errno_text(errno)};
  if (!S_ISREG(st.st_mode)) return error{errc::io_error, name + ": not a regular file"};
  if (check_mode && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return error{errc::insecure_key_file, name + ": mode " + mode +
                                              " lets group or others access the secret key; "
                                              "run chmod 600 " +
                                              name};
  }
  while (buf.size < buf.data.size()) {
    auto n = ::read(fd.fd, buf.data.data() + buf.size, buf.data.size() - buf.size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return error{errc::io_error, name + ": cannot read: " + errno_text(errno)};
    }
    if (n == 0) break;
    buf.size += static_cast<std::size_t>(n);
  }
  if (buf.size > max_key_file_bytes)
    return error{errc::malformed, name + ": larger than " + std::to_string(max_key_file_bytes) +
                                      " bytes (not a bft key file?)"};
  return {};
}

} // namespace

result<void> write_file_atomically(const std::filesystem::path& path, std::string_view content,
                                   unsigned mode, bool overwrite) {
  const auto name = path.string();
  if (!path.has_filename()) return error{errc::io_error, name + ": not a file name"};
  auto dir = path.parent_path();
  if (dir.empty()) dir = ".";
  std::string tmp_name = ".";
  tmp_name.append(path.filename().string()).append(".tmp-XXXXXX");
  std::string tmp = (dir / tmp_name).string();
  int raw = ::mkostemp(tmp.data(), O_CLOEXEC); // O_CREAT | O_EXCL, mode 0600
  if (raw < 0) return error{errc::io_error, name + ": cannot create: " + errno_text(errno)};
  fd_guard fd(raw);
  auto fail = [&](const std::string& what, int e) {
    if (fd.fd >= 0) ::close(fd.release());
    ::unlink(tmp.c_str());
    return error{errc::io_error, name + ": " + what + ": " + errno_text(e)};
  };
  if (::fchmod(fd.fd, static_cast<mode_t>(mode)) != 0) return fail("cannot set mode", errno);
  if (!write_all(fd.fd, content)) return fail("cannot write", errno);
  if (::fsync(fd.fd) != 0) return fail("cannot sync", errno);
  if (::close(fd.release()) != 0) return fail("cannot close", errno);
  if (overwrite) {
    if (::rename(tmp.c_str(), name.c_str()) != 0) return fail("cannot rename into place", errno);
  } else if (rename_no_replace(tmp.c_str(), name.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    if (e == EEXIST)
      return error{errc::io_error, name + ": already exists; refusing to replace it"};
    return error{errc::io_error, name + ": cannot move into place: " + errno_text(e)};
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    // The file is complete and in place; a failed directory sync only weakens durability
    // across a power loss, so it is not reported as an error.
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

result<void> write_key_file(const std::filesystem::path& path, const key_pair& kp) {
  // Check the pair before writing it, so a file that cannot load back is never written.
  std::array<std::uint8_t, 32> derived_pub{};
  crypto_sign_ed25519_sk_to_pk(derived_pub.data(), kp.sec.bytes().data());
  if (sodium_memcmp(derived_pub.data(), kp.pub.data(), derived_pub.size()) != 0)
    return error{errc::malformed, path.string() + ": public key does not match the secret key"};
  wiped_buffer<512> text;
  bool ok = text.append("# bft ed25519 key pair: keep secret (mode 0600)\nformat = \"") &&
            text.append(format_tag) && text.append("\"\npublic_key = \"") &&
            append_hex(text, kp.pub) && text.append("\"\nsecret_key = \"") &&
            append_hex(text, kp.sec.bytes()) && text.append("\"\n");
  BFT_ASSERT(ok, "key file text fits its buffer");
  return write_file_atomically(path, text.view(), 0600, false);
}

result<key_pair> load_key_file(const std::filesystem::path& path) {
  init_sodium();
  const auto name = path.string();
  wiped_buffer<max_key_file_bytes + 1> buf;
  if (auto r = read_key_text(path, true, buf); !r) return r.error();
  return parse_key_file(buf.view(), name);
}

result<key_pair> parse_key_file(std::string_view text, const std::string& name) {
  init_sodium();
  auto fields = parse_fields(name, text);
  if (!fields) return fields.error();
  key_pair kp;
  if (!decode_hex(*fields->public_key, kp.pub))
    return error{errc::malformed, name + ": public_key: must be 64 hex digits"};
  if (!decode_hex(*fields->secret_key, kp.sec.bytes()))
    return error{errc::malformed, name + ": secret_key: must be 128 hex digits"};
  // libsodium's secret key is the seed followed by the public key; rebuild it from the seed
  // and require both halves and the public_key field to agree.
  std::array<std::uint8_t, 32> seed{};
  std::memcpy(seed.data(), kp.sec.bytes().data(), seed.size());
  auto derived = key_pair_from_seed(seed);
  sodium_memzero(seed.data(), seed.size());
  if (sodium_memcmp(derived.sec.bytes().data(), kp.sec.bytes().data(), kp.sec.bytes().size()) != 0)
    return error{errc::malformed,
                 name + ": secret_key: its public half does not match its seed (corrupt key)"};
  if (derived.pub != kp.pub)
    return error{errc::malformed, name + ": public_key: does not match secret_key"};
  return kp;
}

result<public_key> load_public_key(const std::filesystem::path& path) {
  const auto name = path.string();
  wiped_buffer<max_key_file_bytes + 1> buf;
  if (auto r = read_key_text(path, false, buf); !r) return r.error();
  auto fields = parse_fields(name, buf.view());
  if (!fields) return fields.error();
  public_key pub{};
  if (!decode_hex(*fields->public_key, pub))
    return error{errc::malformed, name + ": public_key: must be 64 hex digits"};
  return pub;
}

} // namespace bft::crypto
