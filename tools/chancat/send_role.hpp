// The sending role: open a channel, send each input message on it, print
// the replies of --request, close the channel.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "activity.hpp"
#include "inbox.hpp"
#include "json_lines.hpp"
#include "libchan/session.hpp"
#include "options.hpp"
#include "streams.hpp"

namespace chancat {

/// The messages to send: every --data (parsed up front), else stdin lines
/// (parsed as they come). With --attach and no --data: one empty object.
class MessageSource {
 public:
  /// Throws Failure(Exit::usage) for --data that is not JSON.
  explicit MessageSource(const Options& options);

  /// The next message, or nothing at the end. Throws Failure(Exit::data)
  /// for a stdin line that is not JSON.
  std::optional<libchan::Value> next();
  /// Where the last message came from, e.g. "stdin line 3", "--data 2".
  std::string where() const;
  /// Starts the --data messages again (for the next session).
  void rewind() { next_data_ = 0; }

 private:
  std::vector<libchan::Value> data_;
  std::size_t next_data_ = 0;
  std::optional<LineReader> stdin_;
};

/// Sends on `session`. `sent` counts messages over every session (for
/// --count). `attachment` is null without --attach. Throws Failure.
void send_on(libchan::Session& session, const Options& options, MessageSource& source,
             Attachment* attachment, Inbox& inbox, Activity& activity, std::uint64_t& sent);

}  // namespace chancat
