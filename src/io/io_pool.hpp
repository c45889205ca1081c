// Where sessions run: libchan's internal io pool (one or two threads, each
// running its own io_context, started on first use and joined at exit), or
// the application's own io_context. Also how blocking calls find out that
// they were made on an io thread, where waiting would deadlock.
#pragma once

#include <boost/asio/io_context.hpp>
#include <system_error>

namespace libchan::detail::io {

/// One of the internal pool's io_contexts, each call the next in turn:
/// whatever is made on it (a session, a listener) stays on that context and
/// its one thread. Starts the threads on first use.
boost::asio::io_context& default_context();

/// `user` if set, else the internal pool's.
boost::asio::io_context& context_for(boost::asio::io_context* user);

/// True on a thread of the internal pool, or on one running `user`.
bool on_io_thread(boost::asio::io_context* user) noexcept;

/// The error blocking calls report on an io thread.
std::error_code blocking_call_error() noexcept;
inline constexpr const char* blocking_call_text = "blocking call on an io thread would deadlock";

}  // namespace libchan::detail::io
