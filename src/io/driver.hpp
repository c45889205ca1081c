// Runs one channel_session over one connection, on one strand: bytes read
// go into feed(), output is written as it appears, a timer drives
// keepalive, and the end of either side ends the other.
//
// Ownership: the driver owns the session and the connection. The session
// holds the driver only weakly (as its driver_hooks), and the driver holds
// itself alive only through the operations it has in flight, so once the
// connection is closed and the last handle (session_handle) lets go,
// everything is freed.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "io/transport.hpp"
#include "session/channel_session.hpp"

namespace libchan::detail::io {

using strand = boost::asio::strand<boost::asio::io_context::executor_type>;

class session_driver final : public session::driver_hooks,
                             public std::enable_shared_from_this<session_driver> {
 public:
  /// How long a closing session may take to write its last bytes and hear
  /// the peer's end of stream before the socket is closed regardless.
  static constexpr std::chrono::milliseconds close_linger{1000};
  /// How long close() waits for data that waits for the peer's window,
  /// when keepalive_timeout does not say.
  static constexpr std::chrono::milliseconds default_close_flush{5000};
  /// How long a waiting thread reads the connection itself before it
  /// sleeps and leaves reading to the io thread: long enough for an answer
  /// on a local network, short enough that a thread that waits long costs
  /// one extra wake-up, and that a wait completed by something else than
  /// input (a local close) is noticed soon.
  static constexpr std::chrono::milliseconds inline_read_window{20};

  /// Starts driving `conn`, which must be bound to `ex`.
  static std::shared_ptr<session_driver> start(std::unique_ptr<connection> conn, strand ex,
                                               const session::options& opts);
  ~session_driver() override;

  /// Any thread, no lock held: posts a round of work to the strand.
  void on_activity() override;
  /// Any thread, no lock held: writes the pending output from the calling
  /// thread when the connection can and no write is under way (see
  /// driver_hooks::flush_now).
  void flush_now() override;
  /// Any thread, no lock held: reads and feeds input from the calling
  /// thread until `w` is ready, for up to inline_read_window (see
  /// driver_hooks::read_while_waiting), when the connection can and no
  /// other thread does so already.
  void read_while_waiting(const wait_target& w, steady_time deadline) override;
  /// Any thread: closes the session gracefully (data send accepted, then
  /// FIN on our channels, then GOAWAY, within keepalive_timeout), then the
  /// connection.
  void close();
  /// Any thread: runs `fn(reason)` on the strand once the session ended.
  void on_end(std::function<void(std::error_code)> fn);

  const std::shared_ptr<session::channel_session>& session() const noexcept { return session_; }
  const strand& get_strand() const noexcept { return strand_; }
  /// Fixed at start; any thread.
  const std::string& peer_address() const noexcept { return peer_address_; }
  const std::string& local_address() const noexcept { return local_address_; }
  const std::string& peer_identity() const noexcept { return peer_identity_; }
  /// The session's end detail, with the connection's error if there was one.
  std::string end_message() const;

  session_driver(std::unique_ptr<connection> conn, strand ex);  // use start()

 private:
  // Everything below runs on the strand, but for read_available(),
  // make_room() and feed_input(), which run under read_mutex_ on any thread.
  enum class read_outcome { bytes, nothing, end };
  /// Reads what the connection holds into rbuf_ (connections that can read
  /// now); an end an inline reader met comes first.
  read_outcome read_available(std::error_code& ec);
  /// Keeps unread input in front of rbuf_ and room behind it.
  void make_room();
  /// Counts `n` bytes read behind rend_, adapting the next read's size.
  void note_read(std::size_t n);
  void pump();
  std::size_t feed_input();  // bytes the session took
  void flush_output();
  /// Takes up to max_write bytes of output into `chunks`, returning how
  /// many hold bytes. With descriptors: one chunk, and in `fds` those that
  /// must go with its first byte. Under the write lock, or as the writer,
  /// who also starts watching the output (output_watch::start).
  std::size_t take_write(std::vector<std::vector<std::uint8_t>>& chunks,
                         std::vector<session::outgoing_descriptor>& fds,
                         session::output_watch watch = session::output_watch::unchanged);
  // Writes wviews_, with wfds_ attached to the first byte; on_write follows.
  void start_write();
  void start_read();
  void on_read(std::error_code ec, std::size_t n);
  void on_readable(std::error_code ec);
  void after_read(read_outcome outcome, std::error_code ec);
  // After a thread fed input it read itself: sees to what that caused (its
  // own write while it waits on, the io thread's once it is done waiting)
  // and tells the io thread of an end.
  void after_inline_feed(bool done_waiting);
  void on_write(std::error_code ec);
  void arm_keepalive();
  void on_session_end();
  void maybe_finish();
  void close_now();
  // Calls into the session with the self-call marker set (see on_activity).
  template <class Fn>
  auto call(Fn&& fn);

  std::unique_ptr<connection> conn_;
  strand strand_;
  std::shared_ptr<session::channel_session> session_;
  boost::asio::steady_timer timer_;
  std::string peer_address_, local_address_, peer_identity_;

  std::atomic<bool> posted_{false};
  mutable std::mutex io_error_mutex_;
  std::string io_error_;  // the connection's error, for end_message()

  // Reading: on the strand, and (connections that can read now) on a
  // thread waiting for input (read_while_waiting). read_mutex_ keeps the
  // bytes in order: a read and the feeding of what it brought happen under
  // it, and so does everything about rbuf_. Taken before write_mutex_ and
  // the session's lock, never after.
  const bool inline_reads_;
  std::mutex read_mutex_;
  std::condition_variable pollers_gone_;
  int pollers_ = 0;                              // threads in read_while_waiting
  bool parked_ = false;                          // the io thread stopped reading for them
  bool read_stop_ = false;                       // ended, closed or at the end of input
  std::optional<std::error_code> deferred_end_;  // met by an inline read, for the strand
  std::unique_ptr<std::uint8_t[]> rbuf_;
  std::size_t rcap_;                 // rbuf_'s size
  std::size_t rpos_ = 0, rend_ = 0;  // input read, not yet taken by the session
  std::size_t read_size_;            // bytes asked of a read; see note_read
  std::size_t asked_ = 0;            // by the last read
  // The write in flight: the session's output chunks, moved out, not
  // copied (one chunk when it carries descriptors; see take_write).
  std::vector<std::vector<std::uint8_t>> wchunks_;
  std::vector<boost::asio::const_buffer> wviews_;
  // Descriptor passing, when the connection and the options allow it:
  // descriptors read with the bytes in rbuf_, and those going with wchunks_
  // (closed once that write completed).
  bool pass_fds_ = false;
  std::vector<Fd> rfds_;
  std::vector<session::outgoing_descriptor> wfds_;
  std::vector<int> wfd_numbers_;
  std::uint64_t timer_gen_ = 0;
  std::optional<steady_time> armed_;
  std::vector<std::function<void(std::error_code)>> end_callbacks_;
  bool reading_ = false;
  // Writes start on the strand or in flush_now(), on any thread: the lock
  // keeps them one at a time and in order.
  std::mutex write_mutex_;
  bool writing_ = false;                   // an async write is in flight
  bool no_more_writes_ = false;            // shut down or closed
  std::vector<std::uint8_t> inline_rest_;  // taken by flush_now(), not written yet
  std::vector<std::vector<std::uint8_t>> inline_chunks_;
  std::vector<boost::asio::const_buffer> inline_views_;
  // Descriptors flush_now() took; kept for the io thread if none went.
  std::vector<session::outgoing_descriptor> inline_fds_;
  std::vector<int> inline_fd_numbers_;
  std::vector<std::uint8_t> rest_in_flight_;  // inline_rest_, being written (strand)
  bool eof_ = false, io_failed_ = false;
  bool ended_ = false, shutdown_sent_ = false, closed_ = false;
};

}  // namespace libchan::detail::io
