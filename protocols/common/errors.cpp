#include "protocols/common/errors.hpp"

#include "protocols/common/bytes.hpp"

namespace bft {
namespace {
class category final : public std::error_category {
public:
  const char* name() const noexcept override { return "bft"; }
  std::string message(int c) const override {
    switch (static_cast<errc>(c)) {
    case errc::ok: return "ok";
    case errc::truncated: return "input is truncated";
    case errc::oversized: return "input exceeds its maximum size";
    case errc::wrong_type: return "wrong message type";
    case errc::wrong_version: return "unsupported message version";
    case errc::trailing_bytes: return "trailing bytes after the message";
    case errc::malformed: return "malformed input";
    case errc::bad_signature: return "signature does not verify";
    case errc::unknown_signer: return "signer is not a validator";
    case errc::duplicate_signer: return "duplicate signer in certificate";
    case errc::no_quorum: return "not enough voting weight for a quorum";
    case errc::invalid_config: return "invalid configuration";
    case errc::io_error: return "i/o error";
    case errc::insecure_key_file: return "secret key file is readable by group or others";
    }
    return "unknown error";
  }
};
} // namespace

const std::error_category& bft_category() noexcept {
  static const category c;
  return c;
}

std::string to_hex(byte_view b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(b.size() * 2);
  for (auto c : b) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0xf]);
  }
  return out;
}

bool from_hex(std::string_view hex, bytes& out) {
  if (hex.size() % 2 != 0) return false;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  bytes tmp;
  tmp.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = nib(hex[i]), lo = nib(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    tmp.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  out = std::move(tmp);
  return true;
}

} // namespace bft
