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

  /// Moves the unconsumed bytes of the first chunk into `out` (whose old
  /// storage the queue keeps for reuse) and drops them: no copy unless
  /// part of the chunk was consumed already. Returns how many.
  std::size_t take_front(std::vector<std::uint8_t>& out) {
    if (chunks_.empty()) return 0;
    chunk& c = chunks_.front();
    const std::size_t n = c.bytes.size() - front_pos_;
    out.clear();
    if (front_pos_ == 0) {
      out.swap(c.bytes);
    } else {
      out.assign(c.bytes.begin() + static_cast<std::ptrdiff_t>(front_pos_), c.bytes.end());
      c.bytes.clear();
    }
    consumed_total_ += n;
    size_ -= n;
    pop_front();
    return n;
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

  // A chunk takes frames until it holds this much; then the next one
  // starts: chunks stay small enough to be reused (no allocation, no page
  // faults in steady traffic), and a write gathers several.
  static constexpr std::size_t chunk_target = 128u << 10;
  // A new chunk starts this small and grows with what is queued: a session
  // of small messages never holds bulk-sized buffers.
  static constexpr std::size_t chunk_initial = 4u << 10;
  // Spares are kept up to this size: a target's worth plus one large frame,
  // with the slack of the vector's growth.
  static constexpr std::size_t max_spare_capacity = 2 * (chunk_target + (64u << 10) + 64);
  static constexpr std::size_t max_spares = 4;

  chunk& tail() {
    // Never grow the first chunk: its bytes may be in flight.
    if (chunks_.size() < 2 || chunks_.back().bytes.size() >= chunk_target) {
      chunk& c = chunks_.emplace_back();
      if (!spares_.empty()) {
        c.bytes = std::move(spares_.back());
        spares_.pop_back();
      } else {
        c.bytes.reserve(chunk_initial);
      }
    }
    return chunks_.back();
  }

  void pop_front() {
    chunk& c = chunks_.front();
    reply_bytes_ -= c.reply_bytes;
    const std::size_t capacity = c.bytes.capacity();
    if (capacity >= chunk_initial && capacity <= max_spare_capacity &&
        spares_.size() < max_spares) {
      c.bytes.clear();
      spares_.push_back(std::move(c.bytes));
    }
    chunks_.pop_front();
    front_pos_ = 0;
  }

  std::deque<chunk> chunks_;
  std::vector<std::vector<std::uint8_t>> spares_;
  std::size_t front_pos_ = 0;
  std::size_t size_ = 0;
  std::size_t reply_bytes_ = 0;
  std::uint64_t consumed_total_ = 0;
};

}  // namespace libchan::detail::engine
