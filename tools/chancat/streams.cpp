#include "streams.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <span>

#include "options.hpp"

namespace chancat {
namespace {

constexpr std::size_t chunk_size = 256u << 10;

std::string system_text(int err) { return std::strerror(err); }

// Waits for the condition, failing with `what` after `timeout` of no
// progress at all (activity moves the deadline).
template <class Pred>
void wait_with_progress(std::unique_lock<std::mutex>& lock, std::condition_variable& cond,
                        Pred&& ready, const Activity& activity,
                        std::optional<std::chrono::milliseconds> timeout, const std::string& what) {
  if (!timeout) return cond.wait(lock, ready);
  while (!ready()) {
    auto deadline = activity.last() + *timeout;
    if (Activity::clock::now() >= deadline) throw Failure(Exit::timeout, what);
    cond.wait_until(lock, deadline);
  }
}

bool write_all(int fd, const std::byte* data, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return false;
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------
// Attachment

struct Attachment::Copy {
  Copy(Console& c, Activity& a) : console(c), activity(a) {}

  Console& console;
  Activity& activity;
  libchan::Fd file;
  libchan::Fd stop;  // an eventfd: wakes a read of stdin when chancat gives up
  std::string name;
  std::optional<std::uint64_t> size;
  libchan::ByteStream mine;

  std::mutex mutex;
  std::condition_variable changed;
  std::uint64_t sent = 0;
  bool written = false, writer_done = false, acknowledged = false;
  std::optional<Failure> failure;

  void fail(Failure f) {
    {
      std::lock_guard lock(mutex);
      if (!failure) failure = std::move(f);
    }
    changed.notify_all();
  }

  // Reads the file (or stdin) into the stream; poll() lets stop() interrupt
  // a read of a terminal or pipe that would otherwise block.
  void write_file() {
    auto transfer = console.begin("sending " + name, size);
    std::vector<std::byte> buffer(chunk_size);
    std::uint64_t total = 0;
    for (;;) {
      pollfd fds[2] = {{file.get(), POLLIN, 0}, {stop.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return fail(Failure(Exit::local_io, "reading " + name + ": " + system_text(errno)));
      }
      if (fds[1].revents) return;  // chancat is giving up
      ssize_t n = ::read(file.get(), buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0)
        return fail(Failure(Exit::local_io, "reading " + name + ": " + system_text(errno)));
      if (n == 0) break;
      std::error_code ec;
      mine.write(std::span(buffer.data(), static_cast<std::size_t>(n)), ec);
      if (ec) {
        return fail(Failure(Exit::connection, "sending " + name + ": the receiver stopped after " +
                                                  std::to_string(total) + " bytes (" +
                                                  ec.message() + ")"));
      }
      total += static_cast<std::size_t>(n);
      transfer.add(static_cast<std::uint64_t>(n));
      activity.touch();
    }
    {
      // Before close_write: the receiver's answer to it may come at once.
      std::lock_guard lock(mutex);
      sent = total;
      written = true;
    }
    mine.close_write();
    changed.notify_all();
  }

  // The receiver closes its end once it has read everything: that ends our
  // reading side. Whatever it writes to us is dropped.
  void await_receiver() {
    std::array<std::byte, 4096> sink;
    std::error_code ec;
    while (mine.read_some(sink, ec) > 0 && !ec) activity.touch();
    std::unique_lock lock(mutex);
    if (written) {
      acknowledged = true;
      lock.unlock();
      changed.notify_all();
      return;
    }
    lock.unlock();
    fail(Failure(Exit::connection, "sending " + name + ": the receiver closed the stream early" +
                                       (ec ? " (" + ec.message() + ")" : std::string())));
    mine.close();  // unblocks a write waiting for room
  }
};

Attachment::Attachment(const std::string& path, Console& console, Activity& activity)
    : copy_(std::make_shared<Copy>(console, activity)) {
  auto& c = *copy_;
  if (path == "-") {
    c.file = libchan::Fd(::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0));
    c.name = "stdin";
  } else {
    c.file = libchan::Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    c.name = std::filesystem::path(path).filename().string();
  }
  if (!c.file)
    throw Failure(Exit::usage, "--attach: cannot open '" + path + "': " + system_text(errno));
  struct stat st {};
  if (::fstat(c.file.get(), &st) == 0 && S_ISREG(st.st_mode))
    c.size = static_cast<std::uint64_t>(st.st_size);
  c.stop = libchan::Fd(::eventfd(0, EFD_CLOEXEC));
  if (!c.stop) throw Failure(Exit::local_io, "eventfd: " + system_text(errno));
  // Duplex, so that the receiver's close comes back to us as end of stream.
  auto [mine, theirs] = libchan::stream_pair();
  c.mine = std::move(mine);
  theirs_ = std::move(theirs);
}

Attachment::~Attachment() {
  if (!worker_.joinable()) return;
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(copy_->stop.get(), &one, sizeof one);
  copy_->mine.close();
  worker_.join();
}

libchan::ByteStream Attachment::take_end() { return std::move(theirs_); }

void Attachment::start() {
  worker_ = std::thread([copy = copy_] {
    std::thread receiver([&copy] { copy->await_receiver(); });
    copy->write_file();
    receiver.join();
    {
      std::lock_guard lock(copy->mutex);
      copy->writer_done = true;
    }
    copy->changed.notify_all();
  });
}

void Attachment::finish(std::optional<std::chrono::milliseconds> timeout) {
  if (!worker_.joinable()) return;
  auto& c = *copy_;
  {
    std::unique_lock lock(c.mutex);
    wait_with_progress(
        lock, c.changed, [&] { return c.writer_done || c.failure.has_value(); }, c.activity,
        timeout,
        "sending " + c.name + ": no progress for " +
            duration_text(timeout.value_or(std::chrono::milliseconds(0))));
    if (c.failure) throw *c.failure;
  }
  worker_.join();
}

// ---------------------------------------------------------------------------
// StreamSaver

struct StreamSaver::Job {
  std::uint64_t id = 0;
  std::string path;
  libchan::Fd file;
  libchan::ByteStream stream;
  std::shared_ptr<libchan::detail::stream_impl> handle;  // to close it from outside
  bool finished = false;
};

StreamSaver::StreamSaver(std::filesystem::path dir, Console& console, Activity& activity)
    : dir_(std::move(dir)), console_(console), activity_(activity) {}

StreamSaver::~StreamSaver() {
  {
    std::lock_guard lock(mutex_);
    for (auto& job : running_)
      if (job->handle) job->handle->close();
  }
  for (auto& t : threads_) t.join();
}

std::string StreamSaver::create_file(std::uint64_t id) {
  for (int k = 1; k < 1000; ++k) {
    std::string name = "stream-" + std::to_string(id) + (k == 1 ? "" : "-" + std::to_string(k));
    std::string path = (dir_ / name).string();
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
      std::lock_guard lock(mutex_);
      created_[id] = {path, libchan::Fd(fd)};
      return path;
    }
    if (errno != EEXIST)
      throw Failure(Exit::local_io, "--save: cannot create " + path + ": " + system_text(errno));
  }
  throw Failure(Exit::local_io, "--save: no free file name for stream " + std::to_string(id));
}

void StreamSaver::start(std::uint64_t id, libchan::ByteStream stream) {
  auto job = std::make_shared<Job>();
  job->id = id;
  job->handle = stream.impl();
  job->stream = std::move(stream);
  std::unique_lock lock(mutex_);
  auto it = created_.find(id);
  if (it == created_.end()) return;
  job->path = std::move(it->second.first);
  job->file = std::move(it->second.second);
  created_.erase(it);
  changed_.wait(lock, [&] {
    std::size_t n = 0;
    for (auto& j : running_) n += !j->finished;
    return n < max_running;
  });
  running_.push_back(job);
  threads_.emplace_back([this, job] { run(job); });
}

void StreamSaver::run(const std::shared_ptr<Job>& job) {
  auto name = std::filesystem::path(job->path).filename().string();
  std::optional<Failure> failure;
  {
    auto transfer = console_.begin("receiving " + name, std::nullopt);
    std::vector<std::byte> buffer(chunk_size);
    std::uint64_t total = 0;
    for (;;) {
      std::error_code ec;
      std::size_t n = job->stream.read_some(buffer, ec);
      if (ec) {
        failure = Failure(Exit::connection, "stream " + std::to_string(job->id) + " (" + job->path +
                                                ") cut off after " + std::to_string(total) +
                                                " bytes: " + ec.message());
        break;
      }
      if (n == 0) break;
      if (!write_all(job->file.get(), buffer.data(), n)) {
        failure = Failure(Exit::local_io, "writing " + job->path + ": " + system_text(errno));
        break;
      }
      total += n;
      transfer.add(n);
      activity_.touch();
    }
  }
  if (::close(job->file.release()) != 0 && !failure)
    failure = Failure(Exit::local_io, "writing " + job->path + ": " + system_text(errno));
  // Closing our end tells a sending chancat that everything arrived.
  job->stream.close();
  std::lock_guard lock(mutex_);
  job->finished = true;
  if (failure && !failure_) failure_ = std::move(failure);
  changed_.notify_all();
}

void StreamSaver::wait(std::optional<std::chrono::milliseconds> timeout) {
  {
    std::unique_lock lock(mutex_);
    wait_with_progress(
        lock, changed_,
        [&] {
          for (auto& j : running_)
            if (!j->finished) return false;
          return true;
        },
        activity_, timeout,
        "--save: no stream data for " +
            duration_text(timeout.value_or(std::chrono::milliseconds(0))));
    running_.clear();
    created_.clear();
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
  check();
}

void StreamSaver::check() {
  std::lock_guard lock(mutex_);
  if (failure_) throw *failure_;
}

}  // namespace chancat
