// copy: forward every message from a receiver to a sender.
#pragma once

#include <cstddef>

#include "libchan/channel.hpp"

namespace libchan {

/// Forwards messages from `from` to `to` until the end of `from`'s channel,
/// on the calling thread; returns how many were forwarded. Does not close
/// `to`. Stops at the first error, reporting it through `ec` (the count
/// is still returned). Works across any mix of transports.
template <class T>
std::size_t copy(Sender<T>& to, Receiver<T>& from, std::error_code& ec) {
  std::size_t count = 0;
  for (;;) {
    auto message = from.receive(ec);
    if (ec || !message) return count;
    to.send(std::move(*message), ec);
    if (ec) return count;
    ++count;
  }
}

/// As above; throws std::system_error on failure.
template <class T>
std::size_t copy(Sender<T>& to, Receiver<T>& from) {
  std::error_code ec;
  auto count = copy(to, from, ec);
  throw_if(ec);
  return count;
}

}  // namespace libchan
