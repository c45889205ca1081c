#include "io/io_pool.hpp"

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <thread>
#include <vector>

#include "libchan/error.hpp"

namespace libchan::detail::io {
namespace {

thread_local bool pool_thread = false;

class io_pool {
 public:
  io_pool() : work_(boost::asio::make_work_guard(context_)) {
    // Sessions are short bursts of parsing between system calls: two threads
    // keep one busy session from holding up the rest without a thread per core.
    unsigned n = std::clamp(std::thread::hardware_concurrency(), 1u, 2u);
    for (unsigned i = 0; i < n; ++i)
      threads_.emplace_back([this] {
        pool_thread = true;
        context_.run();
      });
  }

  ~io_pool() {
    // At exit: whatever still runs is cut off; handlers still queued (and
    // the sessions they hold) are destroyed with the io_context.
    work_.reset();
    context_.stop();
    for (auto& t : threads_) {
      if (t.get_id() == std::this_thread::get_id())
        t.detach();  // exit() called from an io thread
      else
        t.join();
    }
  }

  boost::asio::io_context& context() noexcept { return context_; }

 private:
  boost::asio::io_context context_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

}  // namespace

boost::asio::io_context& default_context() {
  static io_pool pool;
  return pool.context();
}

boost::asio::io_context& context_for(boost::asio::io_context* user) {
  return user ? *user : default_context();
}

bool on_io_thread(boost::asio::io_context* user) noexcept {
  if (pool_thread) return true;
  return user && user->get_executor().running_in_this_thread();
}

std::error_code blocking_call_error() noexcept { return make_error_code(errc::invalid_argument); }

}  // namespace libchan::detail::io
