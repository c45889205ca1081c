// The client half of the soak, which runs the test: it starts the server,
// keeps its channels busy, re-dials, and checks replies and resources.
#pragma once

#include <string>

#include "soak/options.hpp"

namespace soak {

// Starts `self serve ...` as the server and runs the soak against it;
// prints progress and the result on stdout. Returns 0 when every check
// passed; on a failure prints the reason on stderr, kills the server and
// exits the process with status 1.
int run_client(Options o, const std::string& self);

}  // namespace soak
