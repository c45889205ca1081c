// chancat's command line.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "libchan/session.hpp"

namespace chancat {

/// How the session is made.
enum class Mode { dial, listen };

/// What chancat does on a session: open a channel and send on it, or take
/// the channels the peer opens and print what arrives on them.
enum class Role { send, receive };

struct Options {
  Mode mode = Mode::dial;
  std::string url;
  Role role = Role::send;

  // Sending.
  std::vector<std::string> data;      ///< --data messages, as JSON text
  std::optional<std::string> attach;  ///< a file path, or "-" for stdin
  std::string attach_key = "stream";
  bool request = false;
  std::string reply_key = "ret";

  // Receiving.
  std::optional<std::string> reply;  ///< --reply JSON
  bool echo = false;
  std::optional<std::filesystem::path> save_dir;

  // Both.
  bool msgpack_hex = false;
  bool keep_open = false;
  std::optional<std::uint64_t> count;
  std::optional<std::chrono::milliseconds> timeout;
  /// After sending: how long to wait for the peer to end the session.
  std::chrono::milliseconds linger{2000};
  bool quiet = false;
  bool verbose = false;

  libchan::Dialect dialect = libchan::Dialect::automatic;
  libchan::TlsOptions tls;
};

/// Parses the command line. Returns nothing when help was asked for (and
/// printed); throws Failure(Exit::usage) for anything that is not right.
std::optional<Options> parse_options(int argc, const char* const* argv);

/// "5s", "500ms", "2m", "1.5s", "1h"; a bare number is seconds. Nothing if
/// `text` is not a duration.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);

/// `d` as parse_duration() reads it: "5s", "1500ms".
std::string duration_text(std::chrono::milliseconds d);

}  // namespace chancat
