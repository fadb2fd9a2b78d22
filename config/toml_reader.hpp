#pragma once
/// Internal to config/: reads fields of a toml++ table with one-line errors that name the
/// file and the field (`genesis.toml: validators[2].weight: must be > 0`), and reports
/// fields it does not know (typos must not become silent defaults). Not thread-safe; one
/// reader per table, used during one load.
#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/common/errors.hpp"

namespace bft::config::detail {

/// "a string", "an integer", ... for messages.
std::string_view type_name(toml::node_type t);

/// The whole text of a file (at most `max_bytes`), or an io_error naming the file.
result<std::string> read_text_file(const std::filesystem::path& path, std::size_t max_bytes);

/// Parses TOML text; on failure, an invalid_config error `<file>:<line>:<col>: ...`.
result<toml::table> parse_toml(std::string_view text, const std::string& file);

/// `s` as a TOML basic string, quoted and escaped.
std::string toml_quote(std::string_view s);

/// Reads the fields of one table; remembers which were read, so unknown ones can be reported.
class table_reader {
public:
  /// `file`: name shown in errors; `prefix`: the table's path with a trailing dot ("params.",
  /// "validators[2].") or empty for the root table.
  table_reader(const toml::table& t, std::string file, std::string prefix)
      : table_(t), file_(std::move(file)), prefix_(std::move(prefix)) {}

  /// An error about field `key` of this table.
  [[nodiscard]] bft::error fail(std::string_view key, std::string_view what) const;

  result<std::string> string(std::string_view key);
  result<std::optional<std::string>> optional_string(std::string_view key);
  /// An integer in [min, max]; `fallback` (if set) when the field is absent.
  result<std::uint64_t> integer(std::string_view key, std::uint64_t min, std::uint64_t max,
                                std::optional<std::uint64_t> fallback = std::nullopt);
  /// A boolean; `fallback` when the field is absent.
  result<bool> boolean(std::string_view key, bool fallback);
  /// An array of strings; empty when the field is absent.
  result<std::vector<std::string>> string_array(std::string_view key);
  /// The node at `key` (nullptr if absent); marks it as known.
  const toml::node* node(std::string_view key);
  /// An error for the unknown field that comes first in the file.
  result<void> no_unknown_fields() const;

private:
  const toml::table& table_;
  std::string file_;
  std::string prefix_;
  std::set<std::string, std::less<>> known_;
};

} // namespace bft::config::detail
