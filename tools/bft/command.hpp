#pragma once
/// Sub-command registry of the `bft` binary. Each `cmd_<name>.cpp` in tools/bft registers its
/// sub-command with a static `command_registrar`, so adding a command touches one new file.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace bft::cli {

/// Exit status for bad usage or bad input files (missing, malformed, loose permissions).
inline constexpr int exit_bad_input = 2;

/// Thrown by a command to end with one line on stderr and an exit status.
struct command_error {
  std::string message;
  int status = exit_bad_input;
};

/// Adds a sub-command to `app`; sets the callback that runs it and returns its exit status
/// through `status`.
using register_fn = std::function<void(CLI::App& app, int& status)>;

struct command_entry {
  std::string name;
  register_fn reg;
};

std::vector<command_entry>& registry();

struct command_registrar {
  command_registrar(std::string name, register_fn fn) {
    registry().push_back({std::move(name), std::move(fn)});
  }
};

} // namespace bft::cli
