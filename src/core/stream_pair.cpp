// In-process byte streams: two bounded one-way byte pipes, one per direction.
// A pipe whose reading end is sent over a session can be redirected: the
// bytes written go straight to the session's stream instead of through the
// ring and a pump. Likewise a pipe whose writing end is sent: its reader
// reads the session's stream itself (see core/stream_redirect.hpp).
#include "core/stream_redirect.hpp"

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <vector>

#include "libchan/byte_stream.hpp"

namespace libchan {
namespace detail {
namespace {

/// One direction: a bounded ring of bytes with blocking and callback waits.
class byte_pipe : public std::enable_shared_from_this<byte_pipe> {
 public:
  explicit byte_pipe(std::size_t capacity) : ring_(capacity) {}

  std::size_t read_some(std::span<std::byte> buffer, std::error_code& ec) {
    std::unique_lock lock(mutex_);
    readable_.wait(lock, [&] {
      return size_ > 0 || write_closed_ || read_closed_ || buffer.empty() || source_;
    });
    if (reads_source(buffer)) {
      auto source = source_;
      lock.unlock();
      return source->read_some(buffer, ec);
    }
    return finish_read(lock, buffer, ec);
  }

  void write(std::span<const std::byte> data, std::error_code& ec) {
    std::unique_lock lock(mutex_);
    while (!data.empty()) {
      writable_.wait(lock, [&] {
        return size_ < ring_.size() || read_closed_ || write_closed_ || direct() || source_;
      });
      if (read_closed_ || write_closed_ || source_) {
        ec = errc::closed;
        return;
      }
      if (direct()) {
        auto sink = sink_;
        lock.unlock();
        return sink->write(data, ec);
      }
      data = data.subspan(push(data));
      wake_reader(lock);
    }
    ec.clear();
  }

  void async_read_some(std::span<std::byte> buffer, stream_impl::io_handler done) {
    std::unique_lock lock(mutex_);
    if (reads_source(buffer)) {
      auto source = source_;
      lock.unlock();
      return source->async_read_some(buffer, std::move(done));
    }
    if (size_ > 0 || write_closed_ || read_closed_ || buffer.empty()) {
      std::error_code ec;
      std::size_t n = finish_read(lock, buffer, ec);
      return done(ec, n);
    }
    pending_read_ = {buffer, std::move(done)};
  }

  void async_write(std::span<const std::byte> data, stream_impl::io_handler done) {
    std::unique_lock lock(mutex_);
    if (read_closed_ || write_closed_ || source_) {  // as write(): nobody will read it
      lock.unlock();
      return done(errc::closed, 0);
    }
    if (direct()) {
      auto sink = sink_;
      lock.unlock();
      return sink->async_write(data, std::move(done));
    }
    pending_writes_.push_back({data, 0, std::move(done)});
    pump_writes(lock);
  }

  void close_write() {
    std::unique_lock lock(mutex_);
    if (write_closed_ || source_) return;  // a source reports its own end
    write_closed_ = true;
    writable_.notify_all();
    auto writes = std::exchange(pending_writes_, {});
    wake_reader(lock);
    auto sink = direct() ? sink_ : nullptr;  // else the flush passes it on
    lock.unlock();
    for (auto& w : writes) w.done(errc::closed, w.written);
    if (sink) sink->close_write();
  }

  // From now on every byte goes to `sink`: what the ring holds first (an
  // asynchronous flush), then each write straight from the writer. The end
  // of stream follows. The pipe's own reader is gone.
  void redirect(std::shared_ptr<stream_impl> sink) {
    std::unique_lock lock(mutex_);
    sink_ = std::move(sink);
    flushing_ = true;
    flush(lock);
  }

  // From now on, once the ring is empty, the reader reads `source` itself,
  // and writes into the pipe fail: nothing may come between the source's
  // bytes. False if the pipe has ended or already goes elsewhere.
  bool take_from(std::shared_ptr<stream_impl> source) {
    std::unique_lock lock(mutex_);
    if (write_closed_ || read_closed_ || sink_ || source_ || !pending_writes_.empty()) return false;
    source_ = std::move(source);
    readable_.notify_all();
    writable_.notify_all();
    // A read waiting on the empty ring goes to the source.
    auto read = std::exchange(pending_read_, {});
    lock.unlock();
    if (read.done) async_read_some(read.buffer, std::move(read.done));
    return true;
  }

  void close_read() {
    std::unique_lock lock(mutex_);
    if (sink_) return;  // the sink reads now; it reports its own end
    read_closed_ = true;
    size_ = 0;
    readable_.notify_all();
    writable_.notify_all();
    auto writes = std::exchange(pending_writes_, {});
    auto read = std::exchange(pending_read_, {});
    auto source = source_;
    lock.unlock();
    for (auto& w : writes) w.done(errc::closed, w.written);
    if (read.done) read.done(errc::closed, 0);
    // Its read in progress, if any, ends; what still comes is dropped.
    if (source) source->abandon_reads();
  }

 private:
  struct pending_read {
    std::span<std::byte> buffer;
    stream_impl::io_handler done;
  };
  struct pending_write {
    std::span<const std::byte> data;
    std::size_t written;
    stream_impl::io_handler done;
  };

  // Redirected, with the ring flushed: writers write to the sink themselves.
  bool direct() const noexcept { return sink_ && !flushing_; }

  // The ring is empty and a source gives the bytes: the read goes there.
  bool reads_source(std::span<std::byte> buffer) const noexcept {
    return source_ && size_ == 0 && !read_closed_ && !buffer.empty();
  }

  // Moves the ring's bytes to the sink, one write at a time, until it is
  // empty; then the writers go direct (and an end of stream is passed on).
  // Takes the lock; releases it.
  void flush(std::unique_lock<std::mutex>& lock) {
    if (size_ == 0 || read_closed_) {
      flushing_ = false;
      const bool end = write_closed_ && !read_closed_;
      writable_.notify_all();
      auto sink = sink_;
      lock.unlock();
      if (end) sink->close_write();
      return;
    }
    flush_buffer_.resize(size_);
    pop(flush_buffer_);
    writable_.notify_all();
    pump_writes(lock);  // async writes that waited for room go into the ring
    auto sink = sink_;
    lock.unlock();
    sink->async_write(flush_buffer_,
                      [this, keep = shared_from_this()](std::error_code ec, std::size_t) {
                        std::unique_lock relock(mutex_);
                        if (ec) fail_sink(relock);
                        flush(relock);
                      });
  }

  // The sink failed: writers get errc::closed, as with a reader gone.
  void fail_sink(std::unique_lock<std::mutex>& lock) {
    read_closed_ = true;
    size_ = 0;
    writable_.notify_all();
    auto writes = std::exchange(pending_writes_, {});
    lock.unlock();
    for (auto& w : writes) w.done(errc::closed, w.written);
    lock.lock();
  }

  std::size_t finish_read(std::unique_lock<std::mutex>& lock, std::span<std::byte> buffer,
                          std::error_code& ec) {
    ec.clear();
    if (read_closed_) {
      ec = errc::closed;
      return 0;
    }
    std::size_t n = pop(buffer);
    if (n > 0) {
      writable_.notify_all();
      pump_writes(lock);
    }
    return n;
  }

  std::size_t push(std::span<const std::byte> data) {
    std::size_t n = std::min(data.size(), ring_.size() - size_);
    for (std::size_t done = 0; done < n;) {
      std::size_t tail = (head_ + size_) % ring_.size();
      std::size_t chunk = std::min(n - done, ring_.size() - tail);
      std::memcpy(ring_.data() + tail, data.data() + done, chunk);
      size_ += chunk;
      done += chunk;
    }
    return n;
  }

  std::size_t pop(std::span<std::byte> buffer) {
    std::size_t n = std::min(buffer.size(), size_);
    for (std::size_t done = 0; done < n;) {
      std::size_t chunk = std::min(n - done, ring_.size() - head_);
      std::memcpy(buffer.data() + done, ring_.data() + head_, chunk);
      head_ = (head_ + chunk) % ring_.size();
      size_ -= chunk;
      done += chunk;
    }
    return n;
  }

  // Moves pending async writes into the ring; completes the finished ones.
  // Keeps the lock held on return.
  void pump_writes(std::unique_lock<std::mutex>& lock) {
    std::vector<pending_write> finished;
    bool pushed = false;
    while (!pending_writes_.empty() && size_ < ring_.size()) {
      auto& w = pending_writes_.front();
      std::size_t n = push(w.data.subspan(w.written));
      w.written += n;
      pushed = pushed || n > 0;
      if (w.written < w.data.size()) break;
      finished.push_back(std::move(w));
      pending_writes_.pop_front();
    }
    if (pushed) readable_.notify_all();
    pending_read read;
    if (pushed && pending_read_.done) {
      read = std::exchange(pending_read_, {});
    }
    if (finished.empty() && !read.done) return;
    lock.unlock();
    for (auto& w : finished) w.done({}, w.written);
    if (read.done) complete_read(std::move(read));
    lock.lock();
  }

  void complete_read(pending_read read) {
    std::unique_lock lock(mutex_);
    std::error_code ec;
    std::size_t n = finish_read(lock, read.buffer, ec);
    lock.unlock();
    read.done(ec, n);
  }

  // Wakes blocking and async readers. Holds the lock again on return.
  void wake_reader(std::unique_lock<std::mutex>& lock) {
    readable_.notify_all();
    auto read = std::exchange(pending_read_, {});
    if (!read.done) return;
    lock.unlock();
    complete_read(std::move(read));
    lock.lock();
  }

  std::mutex mutex_;
  std::condition_variable readable_;
  std::condition_variable writable_;
  std::vector<std::byte> ring_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  bool write_closed_ = false;
  bool read_closed_ = false;
  pending_read pending_read_;
  std::deque<pending_write> pending_writes_;
  std::shared_ptr<stream_impl> sink_;  // set once redirected
  bool flushing_ = false;              // the ring still goes to the sink
  std::vector<std::byte> flush_buffer_;
  std::shared_ptr<stream_impl> source_;  // set once the writing end was given away
};

/// One duplex end: reads from `in`, writes to `out`.
class pipe_stream final : public stream_impl {
 public:
  pipe_stream(std::shared_ptr<byte_pipe> in, std::shared_ptr<byte_pipe> out)
      : in_(std::move(in)), out_(std::move(out)) {}
  ~pipe_stream() override { close(); }

  std::size_t read_some(std::span<std::byte> buffer, std::error_code& ec) override {
    return in_->read_some(buffer, ec);
  }
  void write(std::span<const std::byte> data, std::error_code& ec) override {
    out_->write(data, ec);
  }
  void async_read_some(std::span<std::byte> buffer, io_handler done) override {
    in_->async_read_some(buffer, std::move(done));
  }
  void async_write(std::span<const std::byte> data, io_handler done) override {
    out_->async_write(data, std::move(done));
  }
  void close_write() noexcept override { out_->close_write(); }
  void redirect_reads(std::shared_ptr<stream_impl> sink) { in_->redirect(std::move(sink)); }
  bool redirect_writes(std::shared_ptr<stream_impl> source) {
    return out_->take_from(std::move(source));
  }
  // The reader of this end's pipe is gone: writers into it get errc::closed.
  void abandon_reads() override { in_->close_read(); }
  void close() noexcept override {
    if (closed_.exchange(true)) return;
    out_->close_write();
    in_->close_read();
  }

 private:
  std::shared_ptr<byte_pipe> in_;
  std::shared_ptr<byte_pipe> out_;
  std::atomic<bool> closed_{false};
};

}  // namespace

bool redirect_reads(const std::shared_ptr<stream_impl>& end, std::shared_ptr<stream_impl> sink) {
  auto* pipe = dynamic_cast<pipe_stream*>(end.get());
  if (!pipe) return false;
  pipe->redirect_reads(std::move(sink));
  return true;
}

bool redirect_writes(const std::shared_ptr<stream_impl>& end, std::shared_ptr<stream_impl> source) {
  auto* pipe = dynamic_cast<pipe_stream*>(end.get());
  return pipe && pipe->redirect_writes(std::move(source));
}

}  // namespace detail

std::pair<ByteStream, ByteStream> stream_pair(std::size_t buffer_size) {
  if (buffer_size == 0) throw Error(errc::invalid_argument, "stream_pair: buffer_size must be > 0");
  auto a_to_b = std::make_shared<detail::byte_pipe>(buffer_size);
  auto b_to_a = std::make_shared<detail::byte_pipe>(buffer_size);
  return {
      ByteStream(std::make_shared<detail::pipe_stream>(b_to_a, a_to_b), ByteStream::Mode::duplex),
      ByteStream(std::make_shared<detail::pipe_stream>(a_to_b, b_to_a), ByteStream::Mode::duplex)};
}

}  // namespace libchan
