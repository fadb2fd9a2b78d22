#pragma once
/// ed25519 key pair files, and the atomic file write they (and config/) use.
///
/// Format (text, one `name = "value"` per line, `#` comments; a TOML subset):
///
///     # bft ed25519 key pair: keep secret (mode 0600)
///     format = "bft-ed25519-v1"
///     public_key = "<64 hex digits>"
///     secret_key = "<128 hex digits: libsodium's seed followed by the public key>"
///
/// A key file is written with mode 0600, atomically (temporary file, fsync, link or rename,
/// fsync of the directory), so a crash never leaves a half-written key. Loading refuses a file
/// that group or others may access, malformed content, and a public key that does not match
/// the secret key. Every error names the file. Secret bytes read or written pass only through
/// buffers that are wiped before they are freed.
///
/// Free functions; thread-safe (they share no state).
#include <filesystem>
#include <string_view>

#include "crypto/ed25519.hpp"
#include "protocols/common/errors.hpp"

namespace bft::crypto {

/// Largest key file accepted (a real one is about 300 bytes).
inline constexpr std::size_t max_key_file_bytes = 4096;

/// Writes `content` to `path` atomically with permission bits `mode`: a temporary file in the
/// same directory (created with O_EXCL, mode 0600, then fchmod to `mode`), fsync, then
/// link (when `overwrite` is false: fails with "already exists" if `path` exists) or rename
/// (when `overwrite` is true), then fsync of the directory. On any failure nothing is left at
/// `path` nor beside it. Errors are `errc::io_error` with a detail that names the file.
result<void> write_file_atomically(const std::filesystem::path& path, std::string_view content,
                                   unsigned mode, bool overwrite);

/// Writes `kp` to a new key file at `path` with mode 0600. Refuses to replace an existing file.
result<void> write_key_file(const std::filesystem::path& path, const key_pair& kp);

/// Loads a key pair. Errors (each detail names the file):
///  - `errc::insecure_key_file`: the file's mode gives group or others any access;
///  - `errc::malformed`: not a key file, bad hex, wrong lengths, or the public key does not
///    match the secret key;
///  - `errc::io_error`: missing, unreadable, not a regular file.
result<key_pair> load_key_file(const std::filesystem::path& path);

/// Parses the text of a key file (what `load_key_file` reads, without its file checks); `name`
/// is the file name errors give. Errors are `errc::malformed`, as `load_key_file`'s.
result<key_pair> parse_key_file(std::string_view text, const std::string& name);
/// Reads only the public key of a key file (no permission check: the public key is not
/// secret). The file must still be well formed.
result<public_key> load_public_key(const std::filesystem::path& path);

} // namespace bft::crypto
