// How each chan-gateway role runs: its accept loop on its own io_context,
// until that loop fails; and the Asio names both roles use.
#pragma once

#include <utility>  // before Asio's coroutine headers, which need std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <memory>
#include <string>

#include "gateway.hpp"

namespace gateway {

// The names both roles' coroutines use.
namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using SharedSession = std::shared_ptr<libchan::Session>;

/// Runs `loop` on `io`; the loop only ends by failing, so this logs
/// "cannot <what>: <why>" and returns the exit status 1.
inline int run_until_failure(asio::io_context& io, awaitable<void> loop, const std::string& what) {
  asio::co_spawn(io, std::move(loop), [what](std::exception_ptr error) {
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
