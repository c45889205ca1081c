// The libchan side of each workload, over a session or in process.
#pragma once

#include "harness.hpp"
#include "libchan/libchan.hpp"

namespace netbench::chan {

/// The server's part of o.workload on an accepted session.
void serve(const Options& o, libchan::Session& s);
/// The client's part of o.workload on a dialed session.
void drive(const Options& o, libchan::Session& s);
/// Both parts as two threads of this process, over in-process pipes.
void run_inproc(const Options& o);

/// Waits (at most the timeout) until the peer ends the session, so that
/// nothing the peer still reads is cut off by our exit.
void wait_for_end(const Options& o, libchan::Session& s);

}  // namespace netbench::chan
