// The bytes a session has queued for the connection, as a list of chunks.
//
// The first chunk is never appended to once a second one could be: the span
// a driver got from front() stays valid while it writes, even when the
// engine queues more frames meanwhile (an async write and a read run side by
// side on the same strand).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <utility>
#include <vector>

namespace libchan::detail::engine {

class output_queue {
 public:
  /// The next bytes to write: the rest of the first chunk.
  std::span<const std::uint8_t> front() const noexcept {
    if (chunks_.empty()) return {};
    const auto& c = chunks_.front().bytes;
    return {c.data() + front_pos_, c.size() - front_pos_};
  }

  /// Bytes queued and not yet consumed.
  std::size_t size() const noexcept { return size_; }
  /// Offsets in the whole output of the session: of front(), and of the
  /// next byte to be appended.
  std::uint64_t front_offset() const noexcept { return consumed_total_; }
  std::uint64_t end_offset() const noexcept { return consumed_total_ + size_; }
  bool empty() const noexcept { return size_ == 0; }
  /// Queued bytes that answer the peer (replies, resets, pongs): a peer that
  /// keeps asking and never reads makes these grow.
  std::size_t reply_bytes() const noexcept { return reply_bytes_; }

  /// Appends through `pack(std::vector<std::uint8_t>&)`, which appends one
  /// or more whole frames.
  template <class Pack>
  void append(Pack&& pack, bool reply) {
    chunk& c = tail();
    const std::size_t before = c.bytes.size();
    std::forward<Pack>(pack)(c.bytes);
    const std::size_t added = c.bytes.size() - before;
    size_ += added;
    if (reply) {
      c.reply_bytes += added;
      reply_bytes_ += added;
    }
  }

  /// Drops `n` written bytes from the front (at most size()).
  void consume(std::size_t n) {
    n = std::min(n, size_);
    consumed_total_ += n;
    while (n > 0) {
      chunk& c = chunks_.front();
      const std::size_t k = std::min(n, c.bytes.size() - front_pos_);
      front_pos_ += k;
      size_ -= k;
      n -= k;
      if (front_pos_ == c.bytes.size()) pop_front();
    }
  }

 private:
  struct chunk {
    std::vector<std::uint8_t> bytes;
    std::size_t reply_bytes = 0;
  };

  // Keep one emptied buffer of moderate size, so steady traffic does not
  // allocate per write.
  static constexpr std::size_t spare_capacity_limit = 256u << 10;

  chunk& tail() {
    // Never grow the first chunk: its bytes may be in flight.
    if (chunks_.size() < 2) {
      chunks_.emplace_back();
      chunks_.back().bytes = std::move(spare_);
      spare_.clear();
    }
    return chunks_.back();
  }

  void pop_front() {
    chunk& c = chunks_.front();
    reply_bytes_ -= c.reply_bytes;
    if (c.bytes.capacity() <= spare_capacity_limit && spare_.capacity() == 0) {
      c.bytes.clear();
      spare_ = std::move(c.bytes);
    }
    chunks_.pop_front();
    front_pos_ = 0;
  }

  std::deque<chunk> chunks_;
  std::vector<std::uint8_t> spare_;
  std::size_t front_pos_ = 0;
  std::size_t size_ = 0;
  std::size_t reply_bytes_ = 0;
  std::uint64_t consumed_total_ = 0;
};

}  // namespace libchan::detail::engine
