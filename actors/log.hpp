#pragma once
/// Logging for the actor layer (design section 9): spdlog, one named logger per component
/// ("replica", "link", "acceptor", "state", "monitor", "gateway", "client", "node", "cluster"),
/// never the default logger. Lines read subject-verb-object with key=value fields.
#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace bft::actors {

/// The logger of a component, created on first use (stderr, colour when a terminal).
/// Thread-safe.
std::shared_ptr<spdlog::logger> component_logger(const std::string& name);

/// Sets the level of every component logger ("trace", "debug", "info", "warn", "error", "off").
void set_log_level(const std::string& level);

/// Decides whether a repeated log line may be written: at most once per `interval` per key,
/// counting what it suppressed in between. Not thread-safe; one actor owns each instance.
class rate_limiter {
public:
  explicit rate_limiter(std::chrono::milliseconds interval = std::chrono::seconds(1))
      : interval_(interval) {}
  /// True if a line for `key` may be logged now; `suppressed` receives how many were held
  /// back since the last allowed one.
  bool allow(const std::string& key, std::uint64_t& suppressed);

private:
  struct slot {
    std::chrono::steady_clock::time_point last{};
    std::uint64_t held = 0;
    bool used = false;
  };
  std::chrono::milliseconds interval_;
  std::map<std::string, slot> slots_;
};

} // namespace bft::actors
