// The messages the libchan benchmarks send: typed structs, as an
// application would declare them.
#pragma once

#include "libchan/libchan.hpp"

namespace netbench::chan {

/// One-way, ping-pong and channels traffic.
struct Payload {
  libchan::Binary payload;
  LIBCHAN_FIELDS(payload)
};

/// reqrep_nested: every request carries a fresh channel for its reply.
struct Reply {
  libchan::Binary payload;
  LIBCHAN_FIELDS(payload)
};
struct Request {
  libchan::Binary payload;
  libchan::Sender<Reply> ret;
  LIBCHAN_FIELDS(payload, ret)
};

/// bulk: a byte stream to read, and a channel to say when all arrived.
struct BulkRequest {
  libchan::ByteStream data;
  libchan::Sender<libchan::Value> done;
  LIBCHAN_FIELDS(data, done)
};

}  // namespace netbench::chan
