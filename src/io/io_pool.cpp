#include "io/io_pool.hpp"

#include <openssl/ssl.h>
#include <algorithm>
#include <atomic>
#include <boost/asio/error.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <memory>
#include <thread>
#include <vector>

#include "libchan/error.hpp"

namespace libchan::detail::io {
namespace {

thread_local bool pool_thread = false;

// An io_context whose services can be shut down before it is destroyed.
class lane_context : public boost::asio::io_context {
 public:
  // One thread runs it; other threads still post to it, so Asio keeps its
  // locks (only the "unsafe" hints drop them).
  lane_context() : boost::asio::io_context(1) {}

  /// Destroys the handlers still queued, and with them the sessions they
  /// hold. May be called again; handlers posted meanwhile go then.
  void shut_down() { shutdown(); }
};

// One io_context per thread, sessions and listeners dealt out in turn. A
// session's handlers then always run on the same thread: no hand-over from
// one thread to the other between the steps of a message, and no contention
// for one scheduler's lock.
class io_pool {
 public:
  io_pool() {
    // Sessions are short bursts of parsing between system calls: two threads
    // keep one busy session from holding up the rest without a thread per core.
    unsigned n = std::clamp(std::thread::hardware_concurrency(), 1u, 2u);
    for (unsigned i = 0; i < n; ++i) lanes_.push_back(std::make_unique<lane>());
    for (auto& l : lanes_)
      l->thread = std::thread([&ctx = l->context] {
        pool_thread = true;
        ctx.run();
      });
  }

  // At exit: whatever still runs is cut off, and the handlers still queued
  // (and the sessions they hold) are destroyed. The contexts themselves are
  // never destroyed: a handler of one may own a socket of another, and a
  // socket must not outlive the context it was made on. Each round of
  // shutdowns destroys what the previous round posted to the other contexts.
  void stop() {
    for (auto& l : lanes_) {
      l->work.reset();
      l->context.stop();
    }
    for (auto& l : lanes_) {
      if (l->thread.get_id() == std::this_thread::get_id())
        l->thread.detach();  // exit() called from an io thread
      else
        l->thread.join();
    }
    for (int round = 0; round < 3; ++round)
      for (auto& l : lanes_) l->context.shut_down();
  }

  boost::asio::io_context& next() noexcept {
    if (lanes_.size() == 1) return lanes_.front()->context;
    return lanes_[next_.fetch_add(1, std::memory_order_relaxed) % lanes_.size()]->context;
  }

 private:
  struct lane {
    lane_context context;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work =
        boost::asio::make_work_guard(context);
    std::thread thread;
  };
  std::vector<std::unique_ptr<lane>> lanes_;
  std::atomic<std::size_t> next_{0};
};

// Deliberately never deleted (see io_pool::stop); stopped at exit.
io_pool& pool() {
  // OpenSSL frees the state it keeps per thread in an exit handler of its
  // own. Set it up first: exit handlers run in reverse order, so ours joins
  // the io threads (which may have done TLS) before OpenSSL cleans up.
  [[maybe_unused]] static const bool openssl_ready = OPENSSL_init_ssl(0, nullptr) == 1;
  // Likewise the error categories the io threads report with: made before
  // the stopper, destroyed after it.
  [[maybe_unused]] static const bool categories_ready = [] {
    libchan::error_category();
    boost::asio::error::get_misc_category();
    boost::asio::error::get_netdb_category();
    boost::asio::error::get_addrinfo_category();
    return true;
  }();
  static io_pool* p = new io_pool;
  static struct stopper {
    ~stopper() { p->stop(); }
  } at_exit;
  return *p;
}

}  // namespace

boost::asio::io_context& default_context() { return pool().next(); }

boost::asio::io_context& context_for(boost::asio::io_context* user) {
  return user ? *user : default_context();
}

bool on_io_thread(boost::asio::io_context* user) noexcept {
  if (pool_thread) return true;
  return user && user->get_executor().running_in_this_thread();
}

std::error_code blocking_call_error() noexcept { return make_error_code(errc::invalid_argument); }

}  // namespace libchan::detail::io
