// g++ 12 at -O2 takes ConvertPath::Scope (convert.hpp), which unlinks itself
// in its destructor, for a dangling pointer when the typed Receiver converts
// Request. A false positive in a core header; silenced here only.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
#include "soak/server.hpp"

#include <unistd.h>

#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "soak/messages.hpp"

namespace soak {
namespace {

namespace asio = boost::asio;

class Server {
 public:
  explicit Server(const Options& o) : opts_(o), guard_(io_.get_executor()) {}

  // Serves until stdin ends, then prints a summary line; 0 if no error.
  int run() {
    listener_ = libchan::listen(opts_.url, session_options(opts_));
    for (int i = 0; i < opts_.server_threads; ++i) threads_.emplace_back([this] { io_.run(); });
    accept_session();
    std::printf("listening %s\n", listener_.local_address().c_str());
    std::fflush(stdout);
    char buf[256];
    for (;;) {
      ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n == 0 || (n < 0 && errno != EINTR)) break;
    }
    Stats s = stats();
    std::printf("summary");
    for (auto& [k, v] : s) std::printf(" %s=%lld", k.c_str(), static_cast<long long>(v));
    std::printf("\n");
    std::fflush(stdout);
    listener_.close();
    {
      std::lock_guard lock(mutex_);
      sessions_.clear();
    }
    guard_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
    return errors_ == 0 ? 0 : 1;
  }

 private:
  struct Channel {
    explicit Channel(libchan::Receiver<Request> r) : rx(std::move(r)) {}
    libchan::Receiver<Request> rx;
    std::int64_t id = -1;
    std::int64_t next_seq = 0;
  };

  void error(const std::string& what) {
    if (++errors_ <= 20) {
      std::fprintf(stderr, "server: %s\n", what.c_str());
      std::fflush(stderr);
    }
  }

  Stats stats() {
    std::lock_guard lock(mutex_);
    return {
        {"requests", requests_},  {"streams", streams_},
        {"stream_bytes", bytes_}, {"ends", ends_},
        {"open", open_},          {"errors", errors_},
        {"sessions", accepted_},  {"live_sessions", static_cast<std::int64_t>(sessions_.size())}};
  }

  void accept_session() {
    listener_.async_accept(asio::bind_executor(io_, [this](std::error_code ec, libchan::Session s) {
      if (ec) error("accept: " + ec.message());
      if (!s) return;  // the listener was closed
      auto session = std::make_shared<libchan::Session>(std::move(s));
      {
        std::lock_guard lock(mutex_);
        sessions_[session.get()] = session;
        ++accepted_;
      }
      accept_channel(session);
      accept_session();
    }));
  }

  void accept_channel(const std::shared_ptr<libchan::Session>& session) {
    session->async_accept_receiver<Request>(asio::bind_executor(
        io_, [this, session](std::error_code ec, libchan::Receiver<Request> rx) {
          if (ec) error("accept_receiver: " + ec.message());
          if (!rx) {  // the session ended
            std::lock_guard lock(mutex_);
            sessions_.erase(session.get());
            return;
          }
          {
            std::lock_guard lock(mutex_);
            ++open_;
          }
          receive(std::make_shared<Channel>(std::move(rx)));
          accept_channel(session);
        }));
  }

  void receive(std::shared_ptr<Channel> c) {
    auto& rx = c->rx;
    rx.async_receive(asio::bind_executor(
        io_, [this, c = std::move(c)](std::error_code ec, std::optional<Request> req) {
          if (!ec && req && handle(*c, *req)) return receive(std::move(c));
          std::lock_guard lock(mutex_);
          --open_;
          if (ec) error("channel " + std::to_string(c->id) + ": receive: " + ec.message());
          if (!ec && !req) ++ends_;  // a clean end: the client closed it
        }));
  }

  // One request, answered on its reply channel; false after an error.
  bool handle(Channel& c, Request& req) {
    if (c.next_seq == 0) c.id = req.id;
    if (req.id != c.id || req.seq != c.next_seq) {
      error("channel " + std::to_string(c.id) + ": got request " + std::to_string(req.id) + "/" +
            std::to_string(req.seq) + ", expected " + std::to_string(c.id) + "/" +
            std::to_string(c.next_seq));
      return false;
    }
    ++c.next_seq;
    Reply reply;
    reply.id = req.id;
    reply.seq = req.seq;
    std::error_code ec;
    const std::string where = "channel " + std::to_string(c.id) + " request " +
                              std::to_string(req.seq) + " (" + req.op + "): ";
    if (req.op == "sum" || req.op == "echo") {
      std::vector<std::byte> data;
      auto [n, h] = drain(req.data, ec, req.op == "echo" ? &data : nullptr);
      if (ec) {
        error(where + "reading the stream: " + ec.message());
        return false;
      }
      reply.len = n;
      reply.sum = h;
      if (req.op == "echo") {
        // Written whole before the reply leaves: the buffer holds it all.
        auto [mine, theirs] = libchan::stream_pair(std::max<std::size_t>(data.size(), 4096));
        mine.write(data, ec);
        mine.close_write();
        if (ec) {
          error(where + "writing the echo: " + ec.message());
          return false;
        }
        reply.data = std::move(theirs);
      }  // destroying `mine` here: the reader still gets every byte, then the end
      std::lock_guard lock(mutex_);
      ++streams_;
      bytes_ += static_cast<std::int64_t>(n);
    } else if (req.op == "stats") {
      reply.stats = stats();
    } else if (req.op != "ping") {
      error(where + "unknown op");
      return false;
    }
    if (req.op != "stats") {
      std::lock_guard lock(mutex_);
      ++requests_;
    }
    req.ret.send(std::move(reply), ec);
    if (ec) {
      error(where + "sending the reply: " + ec.message());
      return false;
    }
    return true;  // `req.ret` is destroyed with `req`: the reply channel ends
  }

  Options opts_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
  libchan::Listener listener_;
  std::mutex mutex_;
  std::map<libchan::Session*, std::shared_ptr<libchan::Session>> sessions_;
  std::int64_t requests_ = 0, streams_ = 0, bytes_ = 0, ends_ = 0, open_ = 0, accepted_ = 0;
  std::atomic<std::int64_t> errors_{0};
};

}  // namespace

int serve(const Options& o) {
  Server server(o);
  return server.run();
}

}  // namespace soak
