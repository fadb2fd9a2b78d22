// bft version
#include <cstdio>

#include "tools/bft/command.hpp"

namespace {
const bft::cli::command_registrar reg("version", [](CLI::App& app, int& status) {
  auto* cmd = app.add_subcommand("version", "print the version of bft");
  cmd->callback([&status] {
    std::printf("bft %s\n", BFT_VERSION);
    status = 0;
  });
});
} // namespace
