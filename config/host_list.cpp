#include "config/host_list.hpp"

#include <algorithm>
#include <cctype>

#include "config/toml_reader.hpp"

namespace bft::config {
namespace {

bft::error bad(const std::string& origin, std::string_view entry, std::string_view what) {
  std::string msg = origin;
  msg.append(": \"").append(entry).append("\" ").append(what);
  return error{errc::invalid_config, std::move(msg)};
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

/// `HOST[:PORT]`: a bare host ("10.0.0.1", "[::1]") takes `default_port`.
result<host_port> parse_host_entry(std::string_view entry, std::uint16_t default_port,
                                   const std::string& origin) {
  std::string text(entry);
  const bool bracketed = !text.empty() && text.front() == '[';
  if ((bracketed && text.back() == ']') ||
      (!bracketed && text.find(':') == std::string::npos && !text.empty()))
    text.append(":").append(std::to_string(default_port));
  auto hp = parse_host_port(text);
  if (!hp) {
    // parse_host_port quotes the text it saw; name the entry as written instead.
    auto why = hp.error().detail;
    auto open = why.find(" (");
    return bad(origin, entry,
               "is not host[:port]" + (open == std::string::npos ? "" : why.substr(open)));
  }
  if (is_wildcard_host(hp->host))
    return bad(origin, entry, "is a wildcard address; give the address others dial");
  return hp;
}

std::string key_of(const host_port& hp) {
  std::string host = hp.host;
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return to_string(host_port{host, hp.port});
}

/// Each non-blank line of a file without its `#` comment, with its origin "file:line".
result<std::vector<std::pair<std::string, std::string>>> lines_of(const std::filesystem::path& p) {
  auto text = detail::read_text_file(p, max_host_list_bytes);
  if (!text) return text.error();
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t line = 0;
  for (std::size_t at = 0; at <= text->size();) {
    auto end = text->find('\n', at);
    if (end == std::string::npos) end = text->size();
    std::string_view l(text->data() + at, end - at);
    ++line;
    if (auto hash = l.find('#'); hash != std::string_view::npos) l = l.substr(0, hash);
    l = trim(l);
    if (!l.empty()) out.emplace_back(std::string(l), p.string() + ":" + std::to_string(line));
    at = end + 1;
  }
  if (out.empty()) return error{errc::invalid_config, p.string() + ": lists no entry"};
  return out;
}

/// Refuses the second use of an address among `entries` (origin and entry in the message).
template <typename Entry>
result<void> no_duplicate_addresses(const std::vector<Entry>& entries) {
  for (std::size_t i = 0; i < entries.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (key_of(entries[i].address) == key_of(entries[j].address))
        return bad(entries[i].origin, to_string(entries[i].address),
                   "is listed twice (first as entry " + std::to_string(j) + ", " +
                       entries[j].origin + ")");
  return {};
}

result<validator_entry> parse_validator(std::string_view entry, std::uint16_t default_port,
                                        const std::string& origin) {
  auto at = entry.find('@');
  if (at == std::string_view::npos) return bad(origin, entry, "is not PUBKEY@HOST[:PORT]");
  validator_entry v;
  auto hex = entry.substr(0, at);
  bytes raw;
  if (hex.size() != 64 || !from_hex(std::string(hex), raw))
    return bad(origin, entry, "has a bad public key: must be 64 hex digits (bft keygen prints it)");
  std::copy(raw.begin(), raw.end(), v.key.begin());
  auto hp = parse_host_entry(entry.substr(at + 1), default_port, origin);
  if (!hp) return hp.error();
  v.address = std::move(*hp);
  v.origin = origin;
  return v;
}

result<std::vector<validator_entry>> checked(std::vector<validator_entry> out) {
  for (std::size_t i = 0; i < out.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (out[i].key == out[j].key)
        return bad(out[i].origin, to_hex(out[i].key),
                   "is listed twice as a public key (first as entry " + std::to_string(j) + ", " +
                       out[j].origin + ")");
  if (auto d = no_duplicate_addresses(out); !d) return d.error();
  return out;
}

} // namespace

result<std::vector<host_entry>> parse_host_list(std::string_view list, std::uint16_t default_port,
                                                const std::string& origin) {
  std::vector<host_entry> out;
  for (std::size_t at = 0; at <= list.size();) {
    auto end = list.find(',', at);
    if (end == std::string_view::npos) end = list.size();
    auto entry = trim(list.substr(at, end - at));
    if (entry.empty()) return bad(origin, list, "has an empty entry");
    auto hp = parse_host_entry(entry, default_port, origin);
    if (!hp) return hp.error();
    out.push_back({std::move(*hp), origin});
    at = end + 1;
  }
  if (auto d = no_duplicate_addresses(out); !d) return d.error();
  return out;
}

result<std::vector<host_entry>> load_host_file(const std::filesystem::path& path,
                                               std::uint16_t default_port) {
  auto lines = lines_of(path);
  if (!lines) return lines.error();
  std::vector<host_entry> out;
  for (const auto& [text, origin] : *lines) {
    auto hp = parse_host_entry(text, default_port, origin);
    if (!hp) return hp.error();
    out.push_back({std::move(*hp), origin});
  }
  if (auto d = no_duplicate_addresses(out); !d) return d.error();
  return out;
}

result<std::vector<validator_entry>>
parse_validator_entries(const std::vector<std::string>& entries, std::uint16_t default_port,
                        const std::string& origin) {
  std::vector<validator_entry> out;
  for (const auto& e : entries) {
    auto v = parse_validator(trim(e), default_port, origin);
    if (!v) return v.error();
    out.push_back(std::move(*v));
  }
  return checked(std::move(out));
}

result<std::vector<validator_entry>> load_validator_file(const std::filesystem::path& path,
                                                         std::uint16_t default_port) {
  auto lines = lines_of(path);
  if (!lines) return lines.error();
  std::vector<validator_entry> out;
  for (const auto& [text, origin] : *lines) {
    auto v = parse_validator(text, default_port, origin);
    if (!v) return v.error();
    out.push_back(std::move(*v));
  }
  return checked(std::move(out));
}

} // namespace bft::config
