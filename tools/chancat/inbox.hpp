// Shows received messages: one line each on stdout (JSON, or msgpack hex),
// channel ends and streams numbered as placeholders, streams handed to
// --save. Used for the messages of the receiving role and for replies.
#pragma once

#include <cstdint>

#include "libchan/session.hpp"
#include "libchan/value.hpp"
#include "options.hpp"
#include "streams.hpp"

namespace chancat {

class Inbox {
 public:
  /// `saver` may be null (no --save).
  Inbox(const Options& options, StreamSaver* saver) : options_(options), saver_(saver) {}

  /// Prints `message` and starts saving its streams (they are taken out of
  /// it). Channel ends stay in the message. Throws Failure.
  void show(libchan::Value& message, libchan::Dialect dialect);

  /// Messages shown so far.
  std::uint64_t shown() const noexcept { return shown_; }

 private:
  const Options& options_;
  StreamSaver* saver_;
  std::uint64_t last_id_ = 0;  // placeholder ids: one sequence for the whole run
  std::uint64_t shown_ = 0;
};

}  // namespace chancat
