// The receiving role: take the channels the peer opens, print what arrives
// on them, answer requests (--reply, --echo).
#pragma once

#include <cstdint>
#include <optional>

#include "activity.hpp"
#include "console.hpp"
#include "inbox.hpp"
#include "libchan/session.hpp"
#include "options.hpp"
#include "streams.hpp"

namespace chancat {

/// Channels read at once; the peer's further channels wait in the session's
/// accept backlog.
constexpr std::size_t max_open_channels = 64;

/// Receives on `session` until every channel the peer opened has ended (at
/// least one), the peer ends the session, or --count messages were shown
/// (inbox.shown() counts over every session). `reply` is the --reply
/// message. Waits for --save to finish. Throws Failure.
void receive_on(libchan::Session& session, const Options& options,
                const std::optional<libchan::Value>& reply, Inbox& inbox, StreamSaver* saver,
                Console& console, Activity& activity);

}  // namespace chancat
