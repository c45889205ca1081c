// What the tests of the programs share besides running them (process.hpp).
#pragma once

#include <algorithm>
#include <string>

#include "libchan/libchan.hpp"
#include "net/net_support.hpp"
#include "tools/process.hpp"

namespace tool_test {

/// A directory for socket and data files, removed with the object.
using net_test::temp_dir;

/// Whether this build has a transport for `scheme`.
inline bool has_scheme(const std::string& scheme) {
  auto schemes = libchan::TransportRegistry::defaults().schemes();
  return std::find(schemes.begin(), schemes.end(), scheme) != schemes.end();
}

}  // namespace tool_test
