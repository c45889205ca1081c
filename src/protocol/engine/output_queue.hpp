// The bytes a session has queued for the connection, as a list of chunks.
//
// The first chunk is never appended to once a second one could be: the span
// a driver got from front() stays valid while it writes, even when the
// engine queues more frames meanwhile (an async write and a read run side by
// side on the same strand).
//
// A DATA frame queued last may take more payload of its stream while no
// byte of it is being written: writes queued back to back on one stream
// travel as one frame, which costs the peer one frame instead of many.
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

  /// Appends a DATA frame's 8-byte header (from `pack_header`) and payload.
  /// Unless `fin`, extend_data() may add to it later.
  template <class PackHeader>
  void append_data(std::uint32_t stream, bool fin, std::span<const std::uint8_t> payload,
                   PackHeader&& pack_header) {
    chunk& c = tail();
    const std::size_t header_at = c.bytes.size();
    std::forward<PackHeader>(pack_header)(c.bytes);
    c.bytes.insert(c.bytes.end(), payload.begin(), payload.end());
    size_ += c.bytes.size() - header_at;
    last_data_ = fin ? open_data{} : open_data{stream, c.serial, header_at, end_offset()};
  }

  /// Adds `payload` to the DATA frame of `stream` queued last, if no frame
  /// followed it, none of its bytes can be in a write yet (it is not in the
  /// first chunk), and its payload stays within `max_payload`. False if not.
  bool extend_data(std::uint32_t stream, std::span<const std::uint8_t> payload,
                   std::size_t max_payload) {
    if (last_data_.stream != stream || stream == 0 || chunks_.size() < 2) return false;
    chunk& c = chunks_.back();
    if (c.serial != last_data_.serial || end_offset() != last_data_.end) return false;
    std::uint8_t* header = c.bytes.data() + last_data_.header_at;
    const std::size_t length =
        (std::size_t{header[5]} << 16) | (std::size_t{header[6]} << 8) | std::size_t{header[7]};
    if (length + payload.size() > max_payload) return false;
    const std::size_t grown = length + payload.size();
    header[5] = static_cast<std::uint8_t>(grown >> 16);
    header[6] = static_cast<std::uint8_t>(grown >> 8);
    header[7] = static_cast<std::uint8_t>(grown);
    c.bytes.insert(c.bytes.end(), payload.begin(), payload.end());
    size_ += payload.size();
    last_data_.end = end_offset();
    return true;
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
    std::uint64_t serial = 0;  ///< names the chunk for last_data_
  };
  /// The DATA frame extend_data() may add to; stream 0 when none.
  struct open_data {
    std::uint32_t stream = 0;
    std::uint64_t serial = 0;   ///< of its chunk
    std::size_t header_at = 0;  ///< in its chunk
    std::uint64_t end = 0;      ///< end_offset() right after it
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
      c.serial = ++serials_;
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
  std::uint64_t serials_ = 0;
  open_data last_data_;
};

}  // namespace libchan::detail::engine
