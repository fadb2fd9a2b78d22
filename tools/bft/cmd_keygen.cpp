// bft keygen --out FILE | --show FILE
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "crypto/key_file.hpp"
#include "tools/bft/command.hpp"

namespace {

[[noreturn]] void fail(const bft::error& e) {
  throw bft::cli::command_error{e.detail.empty() ? e.message() : e.detail,
                                bft::cli::exit_bad_input};
}

const bft::cli::command_registrar reg("keygen", [](CLI::App& app, int& status) {
  auto* cmd = app.add_subcommand("keygen", "generate an ed25519 key pair file (mode 0600)");
  auto out = std::make_shared<std::string>();
  auto show = std::make_shared<std::string>();
  cmd->add_option("--out", *out,
                  "write a new key pair to FILE (a missing folder is created, mode 0700); never "
                  "replaces an existing file")
      ->type_name("FILE");
  cmd->add_option("--show", *show, "print the public key of the key pair in FILE")
      ->type_name("FILE");
  cmd->require_option(1);
  cmd->callback([&status, out, show] {
    if (!out->empty()) {
      // A missing folder is created private (0700): it is where this host's secret lives.
      const auto parent = std::filesystem::path(*out).parent_path();
      std::error_code ec;
      if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
        std::filesystem::create_directories(parent, ec);
        if (!ec)
          std::filesystem::permissions(parent, std::filesystem::perms::owner_all,
                                       std::filesystem::perm_options::replace, ec);
        if (ec)
          throw bft::cli::command_error{parent.string() +
                                        ": cannot create directory: " + ec.message()};
      }
      auto kp = bft::crypto::generate_key_pair();
      if (auto w = bft::crypto::write_key_file(*out, kp); !w) fail(w.error());
      std::printf("%s\n", bft::to_hex(kp.pub).c_str());
      std::fprintf(stderr, "bft keygen: wrote %s (mode 0600); its public key is above\n",
                   out->c_str());
    } else {
      auto kp = bft::crypto::load_key_file(*show);
      if (!kp) fail(kp.error());
      std::printf("%s\n", bft::to_hex(kp->pub).c_str());
    }
    status = 0;
  });
});

} // namespace
