// The session's lock. An application thread that sends in a loop holds it
// most of the time, in sections of a few hundred nanoseconds; the io thread
// takes it between them to collect the output. A plain mutex puts the io
// thread to sleep at once and makes the sender's next unlock a system call
// that wakes it. This one spins for a short while first (glibc's adaptive
// mutex), so a wait that lasts one section costs neither side a wake-up.
#pragma once

#include <pthread.h>

namespace libchan::detail::session {

class session_mutex {
 public:
  session_mutex() noexcept {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&m_, &attr);
    pthread_mutexattr_destroy(&attr);
  }
  ~session_mutex() { pthread_mutex_destroy(&m_); }
  session_mutex(const session_mutex&) = delete;
  session_mutex& operator=(const session_mutex&) = delete;

  void lock() noexcept { pthread_mutex_lock(&m_); }
  bool try_lock() noexcept { return pthread_mutex_trylock(&m_) == 0; }
  void unlock() noexcept { pthread_mutex_unlock(&m_); }

 private:
  pthread_mutex_t m_;
};

}  // namespace libchan::detail::session
