// How each chan-gateway role runs: its accept loop on its own io_context,
// until that loop fails.
#pragma once

#include <utility>  // before Asio's coroutine headers, which need std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <string>

#include "gateway.hpp"

namespace gateway {

/// Runs `loop` on `io`; the loop only ends by failing, so this logs
/// "cannot <what>: <why>" and returns the exit status 1.
inline int run_until_failure(boost::asio::io_context& io, boost::asio::awaitable<void> loop,
                             const std::string& what) {
  boost::asio::co_spawn(io, std::move(loop), [what](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      log_line("cannot " + what + ": " + e.what());
    }
  });
  io.run();
  return 1;
}

}  // namespace gateway
