// Descriptor passing in the session: deciding whether the peer takes
// descriptors, handing ours to the driver with the bytes that name them,
// and keeping the ones received until a message names them.
#include "session/descriptors.hpp"

#include <algorithm>
#include <cstdint>

#include "libchan/value.hpp"
#include "session/channel_session.hpp"

namespace libchan::detail::session {

bool holds_descriptor(const Value& v) noexcept {
  switch (v.kind()) {
    case Value::Kind::fd:
      return true;
    case Value::Kind::stream: {
      const auto& impl = std::get<ByteStream>(v.data()).impl();
      return impl && impl->native_handle() >= 0;
    }
    case Value::Kind::array:
      for (const auto& e : v.as_array())
        if (holds_descriptor(e)) return true;
      return false;
    case Value::Kind::map:
      for (const auto& e : v.as_map())
        if (holds_descriptor(e.key) || holds_descriptor(e.value)) return true;
      return false;
    default:
      return false;
  }
}

void channel_session::on_peer_settings(const spdy::settings_frame& f) {
  if (fd_passing_ != fd_passing::undecided) return;
  const auto* e = f.find(static_cast<spdy::setting_id>(descriptors::setting_id));
  decide_descriptors(e && e->value == descriptors::version);
}

void channel_session::watch_first_frame(std::span<const std::uint8_t> taken) {
  while (first_frame_bytes_ < sizeof first_frame_ && !taken.empty()) {
    first_frame_[first_frame_bytes_++] = taken.front();
    taken = taken.subspan(1);
  }
  if (first_frame_bytes_ < sizeof first_frame_) return;
  // A peer that announces does so in its first frame; once that frame is
  // whole, on_peer_settings decides. Any other first frame: it never will.
  constexpr auto settings = static_cast<std::uint16_t>(spdy::frame_type::settings);
  const bool is_settings = first_frame_[0] == (0x80 | spdy::protocol_version >> 8) &&
                           first_frame_[1] == (spdy::protocol_version & 0xFF) &&
                           first_frame_[2] == settings >> 8 && first_frame_[3] == (settings & 0xFF);
  if (!is_settings) decide_descriptors(false);
}

void channel_session::decide_descriptors(bool on) {
  if (fd_passing_ != fd_passing::undecided) return;
  fd_passing_ = on ? fd_passing::on : fd_passing::off;
  resume_parked();
}

bool channel_session::must_park_descriptors() const {
  return fd_passing_ == fd_passing::undecided || outgoing_fds_.size() >= opts_.max_queued_fds;
}

void channel_session::queue_descriptor(outgoing_descriptor descriptor, std::uint64_t mark) {
  // The write that carries the first byte of message `mark` carries it.
  outgoing_fds_.push_back(std::move(descriptor));
  outgoing_marks_.push_back(mark);
  ++fds_sent_;
}

void channel_session::resume_parked() {
  // In the order they were sent; those that must wait still park again,
  // and everything behind them with them.
  for (auto& u : std::exchange(parked_, {})) {
    if (u.value)
      send_message(u.ep, std::move(*u.value), std::move(u.done));
    else
      close_channel(u.ep);
  }
}

void channel_session::close_channel(const std::shared_ptr<endpoint>& ep) {
  for (const auto& u : parked_) {
    if (u.ep == ep) {
      parked_.push_back({ep, nullptr, nullptr});
      return;
    }
  }
  submit(ep, {}, true, false, nullptr);
}

bool channel_session::take_output(std::vector<std::uint8_t>& out, std::size_t max,
                                  std::vector<outgoing_descriptor>& fds, std::size_t max_fds,
                                  output_watch watch) {
  work_list work;
  {
    owner_lock lock(*this);
    auto pending = engine_->pending_output();
    if (pending.empty()) return false;
    std::size_t n = std::min(pending.size(), max);
    engine_->take_marks(new_marks_);
    for (const auto& m : new_marks_) place_mark(m);
    new_marks_.clear();
    if (!outgoing_fds_.empty()) {
      // Descriptors are numbered in the order they arrive, so the write
      // that carries a message's first byte carries its descriptors and
      // every one before them. Those of messages further on, or not in the
      // output yet, wait: a burst of messages does not send its
      // descriptors far ahead of the messages naming them.
      const std::uint64_t start = engine_->output_offset();
      const std::size_t room = max_fds > fds.size() ? max_fds - fds.size() : 0;
      std::size_t k = descriptors_due(start + n, room);
      if (k > room) {
        // End the write before the first message whose descriptors do not
        // fit; if that message comes first, send a share of the
        // descriptors before it with a single byte. Placed marks are in
        // output order: the first at or past the one that does not fit
        // starts earliest.
        std::uint64_t cut = UINT64_MAX;
        for (const auto& m : placed_marks_) {
          if (m.mark >= outgoing_marks_[room]) {
            cut = m.offset;
            break;
          }
        }
        if (cut > start) {
          n = static_cast<std::size_t>(std::min<std::uint64_t>(n, cut - start));
          k = descriptors_due(start + n, room);
        } else {
          if (!out.empty() || room == 0) return false;
          n = 1;
          k = room;
        }
      }
      for (std::size_t i = 0; i < k; ++i) {
        fds.push_back(std::move(outgoing_fds_.front()));
        outgoing_fds_.pop_front();
        outgoing_marks_.pop_front();
      }
      // Marks whose descriptors all went are of no more use.
      while (!placed_marks_.empty() &&
             (outgoing_marks_.empty() || placed_marks_.front().mark < outgoing_marks_.front()))
        placed_marks_.pop_front();
    }
    out.insert(out.end(), pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(n));
    engine_->consume_output(n);
    // Descriptors went: senders that waited for room among them go on.
    if (!parked_.empty() && !must_park_descriptors()) resume_parked();
    if (watch == output_watch::start) output_watched_ = true;
    work.swap(deferred_);
  }
  if (!work.empty()) finish_unlocked(work);
  return true;
}

void channel_session::place_mark(engine::spdy_session::output_mark m) {
  if (outgoing_marks_.empty() || m.mark < outgoing_marks_.front()) return;
  // Output order: a mark placed late (its message dropped) counts from the
  // latest place, so that the offsets never decrease.
  if (!placed_marks_.empty()) m.offset = std::max(m.offset, placed_marks_.back().offset);
  placed_marks_.push_back(m);
}

std::size_t channel_session::descriptors_due(std::uint64_t end, std::size_t enough) const {
  std::size_t k = 0;
  for (const auto& m : placed_marks_) {
    if (m.offset >= end || k > enough) break;
    if (m.mark < outgoing_marks_.front()) continue;  // went already
    // Past the last descriptor of this mark: marks never decrease.
    auto past = std::upper_bound(outgoing_marks_.begin(), outgoing_marks_.end(), m.mark);
    k = std::max(k, static_cast<std::size_t>(past - outgoing_marks_.begin()));
  }
  return k;
}

void channel_session::receive_descriptors(std::vector<Fd>& fds) {
  std::vector<Fd> dropped;
  run([&] {
    // Not announced, or too late: nobody will name them.
    if (!opts_.pass_descriptors || ended_) return;
    for (auto& fd : fds) unclaimed_fds_.emplace(fds_received_++, std::move(fd));
    // Past the bound the oldest go. They are most likely named by messages
    // that nobody will decode: those on their way to a channel closed here
    // meanwhile, which the engine drops with the stream. Our senders keep
    // the rest close behind the messages naming them (docs/protocol.md).
    std::size_t over = 0;
    while (unclaimed_fds_.size() > opts_.max_unclaimed_fds) {
      auto oldest = unclaimed_fds_.begin();
      last_dropped_fd_ = oldest->first;
      dropped.push_back(std::move(oldest->second));
      unclaimed_fds_.erase(oldest);
      ++over;
    }
    if (over > 0)
      note_error("closed " + std::to_string(over) +
                 " received descriptors that no message named, past max_unclaimed_fds (" +
                 std::to_string(opts_.max_unclaimed_fds) + ")");
  });
  fds.clear();  // closes what was not kept
}

Fd channel_session::claim_descriptor(std::uint64_t index, std::error_code& ec, std::string& why) {
  auto it = unclaimed_fds_.find(index);
  if (it == unclaimed_fds_.end()) {
    ec = errc::protocol_error;
    why = "descriptor " + std::to_string(index) +
          (index >= fds_received_
               ? " named before it arrived (" + std::to_string(fds_received_) + " received)"
           : last_dropped_fd_ && index <= *last_dropped_fd_
               ? " named twice, or too late: it may have been closed with those past "
                 "max_unclaimed_fds (" +
                     std::to_string(opts_.max_unclaimed_fds) + ")"
               : " named twice");
    return {};
  }
  Fd fd = std::move(it->second);
  unclaimed_fds_.erase(it);
  ++fds_claimed_;
  return fd;
}

void channel_session::buffer_descriptors(std::size_t n) {
  buffered_fds_ += n;
  if (n > 0 && buffered_fds_ >= opts_.max_buffered_fds) engine_->hold_input(true);
}

void channel_session::unbuffer_descriptors(std::size_t n) {
  buffered_fds_ -= std::min(n, buffered_fds_);
  if (n > 0 && buffered_fds_ < opts_.max_buffered_fds) engine_->hold_input(false);
}

}  // namespace libchan::detail::session
