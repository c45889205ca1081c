// Bytes of a stream received and not read yet, kept as a few large chunks:
// one allocation per chunk instead of one per 512 bytes (std::deque), and
// one copy in and one copy out.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <span>
#include <vector>

namespace libchan::detail::session {

class byte_queue {
 public:
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  void append(std::span<const std::uint8_t> data) {
    if (data.empty()) return;
    if (chunks_.empty() || room(chunks_.back()) < data.size()) new_chunk(data.size());
    auto& tail = chunks_.back();
    tail.insert(tail.end(), data.begin(), data.end());
    size_ += data.size();
  }

  /// Moves up to out.size() bytes from the front into `out`.
  std::size_t take(std::span<std::byte> out) noexcept {
    std::size_t done = 0;
    while (done < out.size() && !chunks_.empty()) {
      auto& front = chunks_.front();
      const std::size_t k = std::min(out.size() - done, front.size() - front_pos_);
      std::memcpy(out.data() + done, front.data() + front_pos_, k);
      done += k;
      front_pos_ += k;
      if (front_pos_ == front.size()) pop_front();
    }
    size_ -= done;
    return done;
  }

  void clear() noexcept {
    chunks_.clear();
    front_pos_ = 0;
    size_ = 0;
  }

 private:
  // Small appends share a chunk; a large one gets a chunk of its own size.
  static constexpr std::size_t chunk_size = 64u << 10;
  static constexpr std::size_t max_spares = 4;

  static std::size_t room(const std::vector<std::uint8_t>& c) noexcept {
    return c.capacity() - c.size();
  }

  void new_chunk(std::size_t at_least) {
    if (!spares_.empty() && spares_.back().capacity() >= at_least) {
      chunks_.push_back(std::move(spares_.back()));
      spares_.pop_back();
      return;
    }
    chunks_.emplace_back().reserve(std::max(at_least, chunk_size));
  }

  void pop_front() noexcept {
    auto& front = chunks_.front();
    // A few emptied chunks are kept, so steady traffic does not allocate.
    if (spares_.size() < max_spares && front.capacity() <= 4 * chunk_size) {
      front.clear();
      spares_.push_back(std::move(front));
    }
    chunks_.pop_front();
    front_pos_ = 0;
  }

  std::deque<std::vector<std::uint8_t>> chunks_;
  std::vector<std::vector<std::uint8_t>> spares_;
  std::size_t front_pos_ = 0;
  std::size_t size_ = 0;
};

}  // namespace libchan::detail::session
