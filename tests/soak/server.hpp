// The server half of the soak (`libchan_soak serve`): answers every request
// on every channel of every session it accepts.
#pragma once

#include "soak/options.hpp"

namespace soak {

// Listens on `o.url`, prints "listening ADDRESS", serves until stdin ends,
// then prints a "summary" line of its counters. Returns 0 if no request
// failed, 1 otherwise; throws what listen throws.
int serve(const Options& o);

}  // namespace soak
