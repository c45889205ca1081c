// SessionOptions turned into the session layer's options.
#include "io/net.hpp"

namespace libchan::detail::io {

session::options session_options(const SessionOptions& o, engine::role side, failure& err) {
  session::options s;
  auto& e = s.engine;
  e.side = side;
  bool dialer = side == engine::role::dialer;
  switch (o.dialect) {
    case Dialect::automatic:
      e.wire = dialer ? engine::dialect::v0_2 : engine::dialect::detect;
      break;
    case Dialect::v0_1:
      e.wire = engine::dialect::v0_1;
      break;
    case Dialect::v0_2:
      e.wire = engine::dialect::v0_2;
      break;
    case Dialect::detect:
      if (dialer) {
        err = {make_error_code(errc::invalid_argument),
               "Dialect::detect is for listeners: a dialer speaks first and must pick v0_1 or "
               "v0_2"};
      }
      e.wire = engine::dialect::detect;
      break;
  }
  if (o.keepalive_interval.count() < 0 || o.keepalive_timeout.count() < 0)
    err = {make_error_code(errc::invalid_argument), "keepalive times must not be negative"};
  e.keepalive_interval = o.keepalive_interval;
  e.keepalive_timeout = o.keepalive_timeout;
  const auto& l = o.limits;
  e.limits.max_frame_size = l.max_frame_size;
  e.limits.max_send_frame = l.max_send_frame;
  e.limits.max_header_block = l.max_header_block;
  e.limits.max_header_block_decompressed = l.max_header_block_decompressed;
  e.limits.max_concurrent_streams = l.max_concurrent_streams;
  e.limits.max_unconsumed = l.max_unconsumed;
  e.limits.initial_window = l.initial_window;
  e.limits.max_output_queue = l.max_output_queue;
  s.codec = l.codec;
  s.max_pending_refs = l.max_pending_refs;
  s.accept_backlog = l.accept_backlog;
  s.max_fds_per_message = l.max_fds_per_message;
  s.max_unclaimed_fds = l.max_unclaimed_fds;
  s.max_queued_fds = l.max_queued_fds;
  s.max_buffered_fds = l.max_buffered_fds;
  // The driver keeps it only for connections that can pass descriptors.
  s.pass_descriptors = o.pass_descriptors;
  return s;
}

}  // namespace libchan::detail::io
