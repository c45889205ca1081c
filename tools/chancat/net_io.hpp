// The io of chancat's sessions runs on an io_context and thread of its own
// (SessionOptions::io_context), so that before exiting chancat can wait for
// closed sessions to write their last bytes: libchan's internal pool cuts
// off whatever still runs at exit.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <future>
#include <optional>
#include <thread>

namespace chancat {

class NetIo {
 public:
  static constexpr std::chrono::milliseconds default_drain{3000};

  NetIo();
  /// Drains with the default limit.
  ~NetIo();
  NetIo(const NetIo&) = delete;
  NetIo& operator=(const NetIo&) = delete;

  boost::asio::io_context* context() noexcept { return &context_; }

  /// Call once every Session and Listener is gone: waits until their io has
  /// finished (the last bytes written, the connections closed), at most
  /// `limit`; then stops the io. Idempotent.
  void drain(std::chrono::milliseconds limit);

 private:
  boost::asio::io_context context_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::future<void> finished_;
  std::thread thread_;
};

}  // namespace chancat
