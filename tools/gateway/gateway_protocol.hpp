// The messages between chan-gateway's forwarder and its gateway service.
//
// A client opens a channel to the gateway and sends a Request naming the
// TCP address it wants; the gateway answers once on Ret with a Reply that
// holds either a duplex byte stream connected to that address, or an
// error in words. Field names follow Go libchan's style, so a Go or
// jschan program can use the gateway with a struct of the same shape.
#pragma once

#include <optional>
#include <string>

#include "libchan/libchan.hpp"

namespace gateway {

struct Reply {
  libchan::ByteStream stream;        // "Stream": the connection; nil on failure
  std::optional<std::string> error;  // "Error": why there is no connection; nil on success
  LIBCHAN_FIELDS((stream, "Stream"), (error, "Error"))
};

struct Request {
  std::string address;           // "Addr": "host:port", "[v6 address]:port"
  libchan::Sender<Reply> reply;  // "Ret"
  LIBCHAN_FIELDS((address, "Addr"), (reply, "Ret"))
};

}  // namespace gateway
