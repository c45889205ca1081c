// In-process channels: values are moved from sender to receiver, never
// serialized, and each is delivered exactly once.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

#include "libchan/channel.hpp"
#include "libchan/detail/pipe_state.hpp"

namespace libchan {

/// A pair of ends of one in-process channel. Structured bindings give the
/// receiver first, as Go's libchan.Pipe() does: `auto [rx, tx] = pipe<T>();`
template <class T>
struct PipeEnds {
  Receiver<T> receiver;
  Sender<T> sender;
};

/// A rendezvous channel, like Go's unbuffered chan: send() returns once a
/// receiver has taken the value.
template <class T = Value>
PipeEnds<T> pipe() {
  auto state = std::make_shared<detail::pipe_state<T>>(0);
  return {Receiver<T>(state), Sender<T>(state)};
}

/// A channel holding up to `capacity` values before send() blocks.
/// buffered_pipe<T>(0) is the same as pipe<T>().
template <class T = Value>
PipeEnds<T> buffered_pipe(std::size_t capacity) {
  auto state = std::make_shared<detail::pipe_state<T>>(capacity);
  return {Receiver<T>(state), Sender<T>(state)};
}

}  // namespace libchan
