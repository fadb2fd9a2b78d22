// The `bft` command line: one binary, one sub-command per cmd_*.cpp file.
#include <algorithm>
#include <cstdio>

#include "tools/bft/command.hpp"

namespace bft::cli {
std::vector<command_entry>& registry() {
  static std::vector<command_entry> r;
  return r;
}
} // namespace bft::cli

int main(int argc, char** argv) {
  using namespace bft::cli;
  CLI::App app{"bft: a Byzantine fault-tolerant consensus engine (PBFT and chained HotStuff)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("bft ") + BFT_VERSION);
  int status = 0;
  auto& cmds = registry();
  std::sort(cmds.begin(), cmds.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (auto& c : cmds) c.reg(app, status);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return exit_bad_input;
  } catch (const command_error& e) {
    std::fprintf(stderr, "bft: %s\n", e.message.c_str());
    return e.status;
  }
  return status;
}
