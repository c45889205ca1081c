// chancat's stderr: notes (-v), the progress line of byte transfers (only
// on a terminal), and errors. Lines never interleave: one lock guards all.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace chancat {

class Console {
 public:
  /// `progress`: draw the progress line (pass stderr-is-a-terminal and not
  /// --quiet); `verbose`: print notes.
  Console(bool progress, bool verbose) : progress_(progress), verbose_(verbose) {}

  /// True if stderr is a terminal.
  static bool stderr_is_terminal() noexcept;

  /// "chancat: <text>" on stderr, with -v only.
  void note(const std::string& text);
  /// "chancat: <text>" on stderr, always.
  void error(const std::string& text);

  /// One byte transfer shown on the progress line; safe to use from any
  /// thread. Ends when destroyed.
  class Transfer {
   public:
    Transfer(Transfer&& other) noexcept : console_(std::exchange(other.console_, nullptr)) {}
    Transfer& operator=(Transfer&&) = delete;
    ~Transfer();
    void add(std::uint64_t bytes);

   private:
    friend class Console;
    explicit Transfer(Console* c) : console_(c) {}
    Console* console_;
  };
  /// Starts a transfer named `label`, of `total` bytes if known.
  Transfer begin(const std::string& label, std::optional<std::uint64_t> total);

 private:
  using clock = std::chrono::steady_clock;
  void draw_locked(bool force);
  void clear_locked();

  const bool progress_, verbose_;
  std::mutex mutex_;
  // The transfers running now, together.
  int active_ = 0;
  std::string label_;
  std::uint64_t done_ = 0, total_ = 0;
  bool total_known_ = true;
  clock::time_point started_, drawn_;
  bool line_shown_ = false;
};

/// "1.5 MiB", "512 B".
std::string human_bytes(double bytes);

}  // namespace chancat
