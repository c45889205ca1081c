// Byte streams inside messages: a file (or stdin) sent with --attach, and
// received streams written to files with --save.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "activity.hpp"
#include "console.hpp"
#include "failure.hpp"
#include "libchan/byte_stream.hpp"
#include "libchan/fd.hpp"

namespace chancat {

/// Sends a file, or stdin, as a byte stream inside a message, and learns
/// when the receiver has read all of it: the stream is duplex, and the
/// receiver closing its end after the last byte ends our reading side.
class Attachment {
 public:
  /// Opens `path` ("-": stdin). Throws Failure(Exit::usage) if it cannot.
  Attachment(const std::string& path, Console& console, Activity& activity);
  /// Stops the copy if it still runs.
  ~Attachment();
  Attachment(const Attachment&) = delete;
  Attachment& operator=(const Attachment&) = delete;

  /// The end to put into the message; once.
  libchan::ByteStream take_end();
  /// Starts copying, once the message carrying the end is sent.
  void start();
  /// Waits until the receiver has read everything (or the session ended
  /// after the last byte was sent). Throws Failure: Exit::connection if the
  /// receiver gave up early, Exit::local_io if the file cannot be read,
  /// Exit::timeout after `timeout` without progress.
  void finish(std::optional<std::chrono::milliseconds> timeout);

 private:
  struct Copy;
  std::shared_ptr<Copy> copy_;
  libchan::ByteStream theirs_;
  std::thread worker_;
};

/// Writes received byte streams into files in a directory, each on a
/// thread of its own (at most `max_running` at once).
class StreamSaver {
 public:
  static constexpr std::size_t max_running = 32;

  StreamSaver(std::filesystem::path dir, Console& console, Activity& activity);
  /// Stops the copies that still run.
  ~StreamSaver();
  StreamSaver(const StreamSaver&) = delete;
  StreamSaver& operator=(const StreamSaver&) = delete;

  /// Creates the file for stream `id` (stream-ID, or stream-ID-2, ... if
  /// that exists) and returns its path. Throws Failure(Exit::local_io).
  std::string create_file(std::uint64_t id);
  /// Starts writing `stream` into the file created for `id`.
  void start(std::uint64_t id, libchan::ByteStream stream);
  /// Waits until every stream has ended. Throws the first failure: a file
  /// that could not be written (Exit::local_io) or a stream cut short
  /// (Exit::connection); Exit::timeout after `timeout` without progress.
  void wait(std::optional<std::chrono::milliseconds> timeout);
  /// Throws the first failure so far, if any.
  void check();

 private:
  struct Job;
  void run(const std::shared_ptr<Job>& job);

  std::filesystem::path dir_;
  Console& console_;
  Activity& activity_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::uint64_t, std::pair<std::string, libchan::Fd>> created_;
  std::vector<std::shared_ptr<Job>> running_;
  std::vector<std::thread> threads_;
  std::optional<Failure> failure_;
};

}  // namespace chancat
