// What every connection shares.
#include "io/transport.hpp"

#include <boost/asio/post.hpp>

namespace libchan::detail::io {

void connection::async_handshake(steady_time, handshake_handler done) {
  boost::asio::post(get_executor(), [done = std::move(done)] { done({}); });
}

}  // namespace libchan::detail::io
