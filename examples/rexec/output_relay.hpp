// Where the remote command's stdout or stderr arrives on the client.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "libchan/libchan.hpp"

namespace remote_exec {

/// A pipe whose write end travels to the server as a byte stream and whose
/// read end this process copies to `target` (1 or 2). The pipe tells the
/// client when all output has arrived: its end of file comes once the
/// server (or, with descriptor passing, the command itself) closed it.
class OutputRelay {
 public:
  explicit OutputRelay(int target);
  ~OutputRelay();
  OutputRelay(const OutputRelay&) = delete;
  OutputRelay& operator=(const OutputRelay&) = delete;

  /// The write end, as a duplex stream like the one Go's client sends
  /// (reading it ends at once). Call once.
  libchan::ByteStream take_stream();

  /// Waits until everything written to the stream has been copied; false
  /// if that takes longer than `timeout`.
  bool wait_for(std::chrono::milliseconds timeout);

 private:
  // Shared with the copying thread, which may outlive this object when the
  // client gives up waiting.
  struct Copy {
    int target;
    libchan::Fd read_end;
    std::promise<void> done;
  };
  static void run(const std::shared_ptr<Copy>& copy);

  libchan::Fd write_end_;
  std::future<void> finished_;
  std::thread thread_;
};

}  // namespace remote_exec
