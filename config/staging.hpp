#pragma once
/// Internal to config/: writes a set of files and folders into a directory all or nothing
/// (what `bft init` uses). Entries are staged in a temporary directory and moved into place
/// only when every one was written and synced; on failure nothing new is left. Free function;
/// callers must not run two writes into one directory at once.
#include <filesystem>
#include <functional>
#include <vector>

#include "protocols/common/errors.hpp"

namespace bft::config::detail {

/// Writes the entries of `stage` (an empty directory) and returns their top-level names.
using stage_fn =
    std::function<result<std::vector<std::filesystem::path>>(const std::filesystem::path& stage)>;

/// Creates `dir` (and missing parents) when absent, runs `fill` on a temporary directory and
/// publishes its entries into `dir`: one rename when `dir` did not exist, else each top-level
/// entry moved in without replacing anything (an existing name fails the whole write, naming
/// `dir/name`). Errors that name the staged copy name `dir` instead. Returns the normalised
/// `dir` ("net/" becomes "net").
result<std::filesystem::path> write_staged(const std::filesystem::path& dir, const stage_fn& fill);

/// The normalised form of `dir` that `write_staged` uses.
std::filesystem::path normalised_dir(const std::filesystem::path& dir);

} // namespace bft::config::detail
