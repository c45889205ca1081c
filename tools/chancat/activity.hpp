// When chancat last saw progress (a session, a message, stream bytes):
// --timeout measures silence from there.
#pragma once

#include <atomic>
#include <chrono>

namespace chancat {

class Activity {
 public:
  using clock = std::chrono::steady_clock;

  Activity() { touch(); }
  /// Any thread.
  void touch() noexcept { last_.store(clock::now().time_since_epoch().count()); }
  clock::time_point last() const noexcept {
    return clock::time_point(clock::duration(last_.load()));
  }

 private:
  std::atomic<clock::rep> last_{};
};

}  // namespace chancat
