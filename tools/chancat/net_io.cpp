#include "net_io.hpp"

namespace chancat {

NetIo::NetIo() : work_(boost::asio::make_work_guard(context_)) {
  std::packaged_task<void()> run([this] { context_.run(); });
  finished_ = run.get_future();
  thread_ = std::thread(std::move(run));
}

NetIo::~NetIo() { drain(default_drain); }

void NetIo::drain(std::chrono::milliseconds limit) {
  if (!thread_.joinable()) return;
  // Without the guard, run() returns once the sessions' last operations end.
  work_.reset();
  if (finished_.wait_for(limit) != std::future_status::ready) context_.stop();
  thread_.join();
}

}  // namespace chancat
