#include "console.hpp"

#include <unistd.h>

#include <cstdio>

namespace chancat {
namespace {

constexpr auto redraw_every = std::chrono::milliseconds(100);

std::string clock_text(double seconds) {
  auto s = static_cast<long long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  return buf;
}

}  // namespace

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

bool Console::stderr_is_terminal() noexcept { return ::isatty(STDERR_FILENO) == 1; }

void Console::note(const std::string& text) {
  if (!verbose_) return;
  error(text);
}

void Console::error(const std::string& text) {
  std::lock_guard lock(mutex_);
  clear_locked();
  std::fprintf(stderr, "chancat: %s\n", text.c_str());
  std::fflush(stderr);
}

Console::Transfer Console::begin(const std::string& label, std::optional<std::uint64_t> total) {
  std::lock_guard lock(mutex_);
  if (active_++ == 0) {
    // A new batch: the rate and the ETA start again.
    done_ = total_ = 0;
    total_known_ = true;
    started_ = clock::now();
    label_ = label;
  } else {
    label_ = std::to_string(active_) + " streams";
  }
  if (total)
    total_ += *total;
  else
    total_known_ = false;
  return Transfer(this);
}

Console::Transfer::~Transfer() {
  if (!console_) return;
  std::lock_guard lock(console_->mutex_);
  if (--console_->active_ == 0) console_->clear_locked();
}

void Console::Transfer::add(std::uint64_t bytes) {
  std::lock_guard lock(console_->mutex_);
  console_->done_ += bytes;
  console_->draw_locked(false);
}

void Console::draw_locked(bool force) {
  if (!progress_) return;
  auto now = clock::now();
  if (!force && line_shown_ && now - drawn_ < redraw_every) return;
  drawn_ = now;
  double elapsed = std::chrono::duration<double>(now - started_).count();
  double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0;
  std::string line = label_ + "  " + human_bytes(static_cast<double>(done_));
  if (total_known_ && total_ > 0) {
    line += " / " + human_bytes(static_cast<double>(total_));
    line += " (" + std::to_string(done_ * 100 / total_) + "%)";
  }
  line += "  " + human_bytes(rate) + "/s";
  if (total_known_ && rate > 0 && total_ > done_)
    line += "  ETA " + clock_text(static_cast<double>(total_ - done_) / rate);
  // \r and "erase line": the progress line is redrawn in place.
  std::fprintf(stderr, "\r\033[Kchancat: %s", line.c_str());
  std::fflush(stderr);
  line_shown_ = true;
}

void Console::clear_locked() {
  if (!line_shown_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  line_shown_ = false;
}

}  // namespace chancat
