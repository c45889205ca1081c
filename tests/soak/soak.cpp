// The soak test: a client and a server, in two processes, keep thousands of
// channels busy on one session for minutes, and check that nothing is lost
// and nothing leaks.
//
//   libchan_soak [--duration S] [--channels N] [--seed N] [--url URL] ...
//
// The program is the client; it starts itself again as the server
// (`libchan_soak serve ...`), dials it and, on every channel, sends requests
// that each carry a fresh reply Sender (nested request/reply); some carry a
// byte stream whose checksum the server returns, or which it echoes back
// through a stream in the reply. Random channels are closed and replaced,
// and now and then the whole session is closed and dialled again. Every
// reply is matched to its request by channel id and sequence number, every
// reply channel must end right after its one reply, and every checksum must
// match. Both processes' memory, descriptors and threads are sampled each
// second: after the warm-up they must stay flat, and once everything is
// closed the server must be back to the descriptors and threads it had
// before the first session. `--help` lists the options.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "libchan/libchan.hpp"
#include "support/test_certs.hpp"
#include "tools/process.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Stats = std::map<std::string, std::int64_t>;

// ---------------------------------------------------------------- messages

struct Reply {
  std::int64_t id = 0;         // the channel's id and the request's sequence
  std::int64_t seq = 0;        //   number, echoed
  std::uint64_t len = 0;       // bytes the server read from the request's stream
  std::uint64_t sum = 0;       // and their checksum
  libchan::ByteStream data;    // "echo": the same bytes back
  std::optional<Stats> stats;  // "stats": the server's counters
  LIBCHAN_FIELDS(id, seq, len, sum, data, stats)
};

struct Request {
  std::string op;  // "ping", "sum", "echo" or "stats"
  std::int64_t id = 0;
  std::int64_t seq = 0;  // 0, 1, 2, ... on each channel
  std::uint64_t len = 0;
  libchan::ByteStream data;
  libchan::Sender<Reply> ret;
  LIBCHAN_FIELDS(op, id, seq, len, data, ret)
};

constexpr std::uint64_t fnv_basis = 0xcbf29ce484222325ull;

std::uint64_t fnv1a(std::uint64_t h, std::span<const std::byte> data) {
  for (auto b : data) h = (h ^ std::to_integer<std::uint64_t>(b)) * 0x100000001b3ull;
  return h;
}

// Reads a stream to its end: byte count and checksum.
std::pair<std::uint64_t, std::uint64_t> drain(libchan::ByteStream& s, std::error_code& ec,
                                              std::vector<std::byte>* keep = nullptr) {
  std::vector<std::byte> buf(16u << 10);
  std::uint64_t n = 0, h = fnv_basis;
  for (;;) {
    std::size_t got = s.read_some(buf, ec);
    if (ec || got == 0) break;
    std::span<const std::byte> part(buf.data(), got);
    h = fnv1a(h, part);
    n += got;
    if (keep) keep->insert(keep->end(), part.begin(), part.end());
  }
  return {n, h};
}

// ----------------------------------------------------------------- options

struct Options {
  std::string url = "tcp://127.0.0.1:0";
  double duration = 600;  // seconds of load, after the channels are set up
  std::size_t channels = 10000;
  std::uint64_t seed = 1;
  int workers = 4;  // client threads; each keeps `batch` requests in flight
  int batch = 32;
  double stream_share = 0.2;  // requests carrying a byte stream (half of them echoed)
  double close_share = 0.01;  // picks that close the channel and open a new one
  std::size_t max_stream = 32u << 10;
  double redial_every = 150;  // seconds between session re-dials; 0: never
  double warmup = 0.2;        // share of the run before memory must be flat
  double rss_growth = 0.2;    // allowed RSS growth after warm-up: 20 % ...
  double rss_slack_mib = 16;  //   ... plus 16 MiB
  int server_threads = 4;
  std::string cert, key, ca;  // serve: TLS files (the client makes them)
};

void usage(FILE* to) {
  std::fputs(
      "usage: libchan_soak [options]        run the soak (client; starts the server)\n"
      "       libchan_soak serve [options]  the server half (prints its address)\n"
      "options:\n"
      "  --duration S        seconds of load after setup (600)\n"
      "  --channels N        channels kept open on the session (10000)\n"
      "  --seed N            random seed (1)\n"
      "  --url URL           where the server listens: tcp://127.0.0.1:0 (default),\n"
      "                      unix://@name, unix:///path, ws://127.0.0.1:0/soak, tls://, wss://\n"
      "  --workers N         client threads (4)\n"
      "  --batch N           requests in flight per client thread (32)\n"
      "  --stream-share F    share of requests carrying a byte stream (0.2)\n"
      "  --close-share F     share of picks closing their channel (0.01)\n"
      "  --max-stream BYTES  largest byte stream (32768)\n"
      "  --redial-every S    close and re-dial the session every S seconds, the first time\n"
      "                      halfway through the warm-up; 0: never (150)\n"
      "  --warmup F          share of the run before memory must be flat (0.2)\n"
      "  --rss-growth F      RSS allowed above the warm-up's, as a share (0.2)\n"
      "  --rss-slack MIB     plus this many MiB (16)\n"
      "  --server-threads N  server threads handling requests (4)\n",
      to);
}

// Parses argv from `first`; exits 2 on a bad option.
Options parse(int argc, char** argv, int first) {
  Options o;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage(stdout);
      std::exit(0);
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "libchan_soak: %s needs a value\n", a.c_str());
      std::exit(2);
    }
    std::string v = argv[++i];
    try {
      if (a == "--duration")
        o.duration = std::stod(v);
      else if (a == "--channels")
        o.channels = std::stoul(v);
      else if (a == "--seed")
        o.seed = std::stoull(v);
      else if (a == "--url")
        o.url = v;
      else if (a == "--workers")
        o.workers = std::stoi(v);
      else if (a == "--batch")
        o.batch = std::stoi(v);
      else if (a == "--stream-share")
        o.stream_share = std::stod(v);
      else if (a == "--close-share")
        o.close_share = std::stod(v);
      else if (a == "--max-stream")
        o.max_stream = std::stoul(v);
      else if (a == "--redial-every")
        o.redial_every = std::stod(v);
      else if (a == "--warmup")
        o.warmup = std::stod(v);
      else if (a == "--rss-growth")
        o.rss_growth = std::stod(v);
      else if (a == "--rss-slack")
        o.rss_slack_mib = std::stod(v);
      else if (a == "--server-threads")
        o.server_threads = std::stoi(v);
      else if (a == "--cert")
        o.cert = v;
      else if (a == "--key")
        o.key = v;
      else if (a == "--ca")
        o.ca = v;
      else
        throw std::invalid_argument("unknown option");
    } catch (const std::exception&) {
      std::fprintf(stderr, "libchan_soak: bad option %s %s\n", a.c_str(), v.c_str());
      usage(stderr);
      std::exit(2);
    }
  }
  if (o.channels < 1 || o.workers < 1 || o.batch < 1 || o.server_threads < 1 || o.max_stream < 1 ||
      o.duration <= 0) {
    std::fprintf(stderr, "libchan_soak: counts and the duration must be positive\n");
    std::exit(2);
  }
  return o;
}

bool is_tls(const std::string& url) { return url.starts_with("tls:") || url.starts_with("wss:"); }

libchan::SessionOptions session_options(const Options& o) {
  libchan::SessionOptions s;
  const std::size_t in_flight = static_cast<std::size_t>(o.workers) * o.batch;
  // Every channel is a stream; each request in flight adds its reply
  // channel and up to two byte streams. Kept tight on purpose: streams a
  // session failed to release would soon hit this limit.
  s.limits.max_concurrent_streams = o.channels + 4 * in_flight + 1024;
  // A burst of channels (the setup, a re-dial) arrives faster than accepts.
  s.limits.accept_backlog = o.channels + 1024;
  // Stream bytes of requests whose turn has not come sit unconsumed; the
  // budget must hold all of them, or a reader could wait behind them.
  s.limits.max_unconsumed = std::max<std::size_t>(8u << 20, 2 * in_flight * o.max_stream);
  if (is_tls(o.url)) {
    s.tls.certificate_file = o.cert;
    s.tls.private_key_file = o.key;
    s.tls.ca_file = o.ca;
  }
  return s;
}

// ------------------------------------------------------------ /proc samples

struct Usage {
  std::int64_t rss_kib = 0, fds = 0, threads = 0;
};

std::int64_t count_entries(const std::string& dir) {
  std::int64_t n = 0;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
  }
  return n;
}

// Memory, descriptors and threads of process `pid` ("self" for this one).
Usage usage_of(const std::string& pid) {
  Usage u;
  std::ifstream status("/proc/" + pid + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("VmRSS:")) u.rss_kib = std::atoll(line.c_str() + 6);
  u.fds = count_entries("/proc/" + pid + "/fd");
  if (pid == "self") --u.fds;  // the directory being read
  u.threads = count_entries("/proc/" + pid + "/task");
  return u;
}

double mib(std::int64_t kib) { return static_cast<double>(kib) / 1024.0; }

// ------------------------------------------------------------------ server

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

// ------------------------------------------------------------------ client

std::string format(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

class Client {
 public:
  explicit Client(Options o) : opts_(std::move(o)), chans_(opts_.channels) {}

  int run(const std::string& self) {
    ::signal(SIGPIPE, SIG_IGN);
    std::optional<test_certs::pki_files> pki;
    std::vector<std::string> args{"serve",
                                  "--url",
                                  opts_.url,
                                  "--channels",
                                  std::to_string(opts_.channels),
                                  "--workers",
                                  std::to_string(opts_.workers),
                                  "--batch",
                                  std::to_string(opts_.batch),
                                  "--max-stream",
                                  std::to_string(opts_.max_stream),
                                  "--server-threads",
                                  std::to_string(opts_.server_threads)};
    if (is_tls(opts_.url)) {
      pki.emplace();
      args.insert(args.end(),
                  {"--cert", pki->server_certificate, "--key", pki->server_key, "--ca", pki->ca});
      opts_.cert = pki->client_certificate;
      opts_.key = pki->client_key;
      opts_.ca = pki->ca;
    }
    server_ = std::make_unique<tool_test::Process>(self, args);
    server_pid_ = std::to_string(server_->pid());
    if (!server_->wait_for_stdout("\n", 60s)) fail("the server did not start listening");
    std::string out = server_->out();
    if (!out.starts_with("listening ")) fail("the server said: " + out);
    address_ = out.substr(10, out.find('\n') - 10);
    server_base_ = usage_of(server_pid_);
    client_base_ = usage_of("self");

    auto setup_start = Clock::now();
    connect();
    double setup_s = seconds_since(setup_start);
    std::printf("soak: %zu channels open on %s in %.1f s; running %.0f s\n", opts_.channels,
                address_.c_str(), setup_s, opts_.duration);
    std::fflush(stdout);

    start_ = Clock::now();
    for (int w = 0; w < opts_.workers; ++w) workers_.emplace_back([this, w] { work(w); });
    sampler_ = std::thread([this] { sample_loop(); });
    drive();
    // The end's usage, taken while the load still runs.
    auto end_client = usage_of("self");
    auto end_server = usage_of(server_pid_);
    double ran = seconds_since(start_);
    {
      std::lock_guard lock(gate_mutex_);
      stop_ = true;
    }
    gate_cv_.notify_all();
    for (auto& t : workers_) t.join();

    // Flat after warm-up: the end against the warm-up's highest values.
    Usage warm_client, warm_server, first_client, first_server;
    {
      std::lock_guard lock(samples_mutex_);
      for (auto& s : samples_) {
        if (s.t > opts_.warmup * opts_.duration) break;
        max_into(warm_client, s.client);
        max_into(warm_server, s.server);
      }
      if (!samples_.empty()) {
        first_client = samples_.front().client;
        first_server = samples_.front().server;
      }
    }
    if (warm_client.rss_kib == 0) warm_client = end_client, warm_server = end_server;
    check_flat("client", warm_client, end_client);
    check_flat("server", warm_server, end_server);

    // Everything closed: the server must drop back to where it started.
    close_session();
    sampling_.store(false);
    sampler_.join();
    wait_for_baseline("after the last session");
    auto outcome = server_->wait(60s);
    std::string summary = line_starting(outcome.out, "summary ");
    if (outcome.exit_code != 0 || summary.empty())
      fail(format("the server exited with %d%s: %s", outcome.exit_code,
                  outcome.timed_out ? " (killed: it did not end within 60 s)" : "",
                  first_line(outcome.err).c_str()));
    auto server_requests = field(summary, "requests");
    if (server_requests != requests_)
      fail(format("the server answered %lld requests, the client got %lld replies",
                  static_cast<long long>(server_requests),
                  static_cast<long long>(requests_.load())));
    if (field(summary, "ends") != closes_)
      fail(format("the client closed %lld channels, the server saw %lld clean ends",
                  static_cast<long long>(closes_.load()),
                  static_cast<long long>(field(summary, "ends"))));

    std::printf(
        "soak: ok: %.0f s, %zu channels, %lld requests (%.0f/s), %lld streams (%.1f MiB), "
        "%lld channel closes, %lld re-dials\n",
        ran, opts_.channels, static_cast<long long>(requests_.load()), requests_ / ran,
        static_cast<long long>(streams_.load()), bytes_ / 1048576.0,
        static_cast<long long>(random_closes_.load()), static_cast<long long>(redials_));
    print_usage("client", first_client, warm_client, end_client, client_base_);
    print_usage("server", first_server, warm_server, end_server, server_base_);
    std::printf(
        "soak: server back to %lld fds, %lld threads after closing (before: %lld, %lld)\n",
        static_cast<long long>(server_final_.fds), static_cast<long long>(server_final_.threads),
        static_cast<long long>(server_base_.fds), static_cast<long long>(server_base_.threads));
    return 0;
  }

 private:
  struct Chan {
    libchan::Sender<Request> tx;
    std::int64_t id = 0;
    std::int64_t seq = 0;
  };

  struct Pending {
    Chan* chan = nullptr;
    std::int64_t id = 0, seq = 0;
    std::string op = "ping";
    libchan::Receiver<Reply> rx;
    libchan::ByteStream mine;
    std::uint64_t len = 0, sum = 0;
  };

  struct Sample {
    double t;
    Usage client, server;
  };

  // Prints the reason and ends the run (and the server) with status 1.
  [[noreturn]] void fail(const std::string& reason) {
    static std::atomic<bool> failing{false};
    if (failing.exchange(true)) {
      for (;;) std::this_thread::sleep_for(1h);  // another thread is reporting
    }
    std::fflush(stdout);
    std::fprintf(stderr, "soak: FAIL: %s\n", reason.c_str());
    if (server_) {
      std::string err = server_->err();
      if (!err.empty()) std::fprintf(stderr, "soak: the server wrote:\n%s", err.c_str());
      ::kill(server_->pid(), SIGKILL);
    }
    std::fflush(stderr);
    std::_Exit(1);
  }

  static double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  }
  static void max_into(Usage& to, const Usage& u) {
    to.rss_kib = std::max(to.rss_kib, u.rss_kib);
    to.fds = std::max(to.fds, u.fds);
    to.threads = std::max(to.threads, u.threads);
  }
  static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }
  static std::string line_starting(const std::string& text, const std::string& prefix) {
    auto at = text.find(prefix);
    if (at == std::string::npos) return {};
    return text.substr(at, text.find('\n', at) - at);
  }
  static std::int64_t field(const std::string& summary, const std::string& key) {
    auto at = summary.find(" " + key + "=");
    return at == std::string::npos ? -1 : std::atoll(summary.c_str() + at + key.size() + 2);
  }

  void touch() { last_progress_.store(Clock::now().time_since_epoch().count()); }

  void check_flat(const char* who, const Usage& warm, const Usage& end) {
    double bound = mib(warm.rss_kib) * (1 + opts_.rss_growth) + opts_.rss_slack_mib;
    if (mib(end.rss_kib) > bound)
      fail(
          format("%s RSS grew after warm-up: %.1f MiB at the end, %.1f MiB in warm-up, bound "
                 "%.1f MiB",
                 who, mib(end.rss_kib), mib(warm.rss_kib), bound));
    if (end.fds > warm.fds)
      fail(format("%s descriptors grew after warm-up: %lld at the end, at most %lld in warm-up",
                  who, static_cast<long long>(end.fds), static_cast<long long>(warm.fds)));
    if (end.threads > warm.threads)
      fail(format("%s threads grew after warm-up: %lld at the end, at most %lld in warm-up", who,
                  static_cast<long long>(end.threads), static_cast<long long>(warm.threads)));
  }

  void print_usage(const char* who, const Usage& first, const Usage& warm, const Usage& end,
                   const Usage& base) {
    std::printf(
        "soak: %s RSS %.1f MiB at start, %.1f in warm-up, %.1f at the end; fds %lld -> %lld, "
        "threads %lld -> %lld (before the session: %lld fds, %lld threads)\n",
        who, mib(first.rss_kib), mib(warm.rss_kib), mib(end.rss_kib),
        static_cast<long long>(first.fds), static_cast<long long>(end.fds),
        static_cast<long long>(first.threads), static_cast<long long>(end.threads),
        static_cast<long long>(base.fds), static_cast<long long>(base.threads));
  }

  // Dials, opens the control channel and every channel, and does one
  // request on each so that the server holds them all.
  void connect() {
    touch();
    std::error_code ec;
    session_ = libchan::dial(address_, session_options(opts_), ec);
    if (ec) fail("dial " + address_ + ": " + ec.message());
    control_ = Chan{session_.open_sender<Request>(ec), next_id_++, 0};
    if (ec) fail("open the control channel: " + ec.message());
    ++opened_;
    for (auto& c : chans_) {
      c = Chan{session_.open_sender<Request>(ec), next_id_++, 0};
      if (ec)
        fail(format("open channel %lld: %s", static_cast<long long>(c.id), ec.message().c_str()));
      ++opened_;
    }
    std::vector<std::thread> setup;
    for (int w = 0; w < opts_.workers; ++w)
      setup.emplace_back([this, w] {
        std::mt19937_64 rng(opts_.seed * 7919 + w);
        std::vector<std::size_t> picks;
        for (std::size_t i = w; i < chans_.size(); i += opts_.workers) {
          picks.push_back(i);
          if (picks.size() == static_cast<std::size_t>(opts_.batch) ||
              i + opts_.workers >= chans_.size()) {
            batch(rng, picks, false);
            picks.clear();
          }
        }
      });
    for (auto& t : setup) t.join();
    Stats s = server_stats();
    if (s["open"] != static_cast<std::int64_t>(chans_.size()) + 1)
      fail(format("the server holds %lld channels after setup, expected %zu",
                  static_cast<long long>(s["open"]), chans_.size() + 1));
  }

  // Closes every channel, waits for the server to see each end, closes the
  // session and checks that the server is back to its descriptors and threads.
  void close_session() {
    for (auto& c : chans_) {
      c.tx.close();
      ++closes_;
    }
    auto deadline = Clock::now() + 120s;
    for (;;) {
      Stats s = server_stats();
      if (s["open"] == 1) break;
      if (Clock::now() > deadline)
        fail(format("the server still holds %lld channels 120 s after they were closed",
                    static_cast<long long>(s["open"] - 1)));
      std::this_thread::sleep_for(100ms);
    }
    control_.tx.close();
    ++closes_;
    session_.close();
    session_ = {};
  }

  void wait_for_baseline(const char* when) {
    auto deadline = Clock::now() + 60s;
    for (;;) {
      server_final_ = usage_of(server_pid_);
      if (server_final_.fds <= server_base_.fds && server_final_.threads <= server_base_.threads)
        return;
      if (Clock::now() > deadline)
        fail(format("server not back to %lld fds and %lld threads %s: %lld fds, %lld threads",
                    static_cast<long long>(server_base_.fds),
                    static_cast<long long>(server_base_.threads), when,
                    static_cast<long long>(server_final_.fds),
                    static_cast<long long>(server_final_.threads)));
      std::this_thread::sleep_for(50ms);
    }
  }

  Stats server_stats() {
    auto [rx, tx] = libchan::pipe<Reply>();
    std::error_code ec;
    control_.tx.send(Request{"stats", control_.id, control_.seq++, 0, {}, std::move(tx)}, ec);
    if (ec) fail("stats request: " + ec.message());
    auto reply = rx.receive_for(60s, ec);
    if (ec || !reply || !reply->stats)
      fail("stats request: " + (ec ? ec.message() : std::string("no stats in the reply")));
    touch();
    return *reply->stats;
  }

  // Sends one request on each picked channel, then takes and checks each
  // reply. `churn` lets a pick close its channel and open another first.
  void batch(std::mt19937_64& rng, const std::vector<std::size_t>& picks, bool churn) {
    std::uniform_real_distribution<double> coin(0, 1);
    std::uniform_int_distribution<std::size_t> size(1, opts_.max_stream);
    std::vector<Pending> pending;
    pending.reserve(picks.size());
    std::error_code ec;
    for (std::size_t i : picks) {
      Chan& c = chans_[i];
      if (churn && coin(rng) < opts_.close_share) {
        c.tx.close();
        ++closes_;
        ++random_closes_;
        c = Chan{session_.open_sender<Request>(ec), next_id_++, 0};
        if (ec) fail(format("open a channel: %s", ec.message().c_str()));
        ++opened_;
      }
      Pending p;
      p.chan = &c;
      p.id = c.id;
      p.seq = c.seq;
      double r = coin(rng);
      if (r < opts_.stream_share) p.op = r < opts_.stream_share / 2 ? "sum" : "echo";
      auto [rx, tx] = libchan::pipe<Reply>();
      p.rx = std::move(rx);
      Request req{p.op, c.id, c.seq, 0, {}, std::move(tx)};
      std::vector<std::byte> data;
      if (p.op != "ping") {
        p.len = size(rng);
        data.resize(p.len);
        std::uint64_t x = rng() | 1;
        for (auto& b : data) {
          x ^= x << 13;
          x ^= x >> 7;
          x ^= x << 17;
          b = static_cast<std::byte>(x);
        }
        p.sum = fnv1a(fnv_basis, data);
        auto [mine, theirs] = libchan::stream_pair(std::max<std::size_t>(p.len, 4096));
        p.mine = std::move(mine);
        req.len = p.len;
        req.data = std::move(theirs);
      }
      c.tx.send(std::move(req), ec);
      if (ec)
        fail(format("channel %lld request %lld: send: %s", static_cast<long long>(c.id),
                    static_cast<long long>(c.seq), ec.message().c_str()));
      ++c.seq;
      if (!data.empty()) {
        p.mine.write(data, ec);
        p.mine.close_write();
        if (ec)
          fail(format("channel %lld request %lld: writing the stream: %s",
                      static_cast<long long>(p.id), static_cast<long long>(p.seq),
                      ec.message().c_str()));
      }
      pending.push_back(std::move(p));
    }
    for (auto& p : pending) {
      const std::string where =
          format("channel %lld request %lld (%s)", static_cast<long long>(p.id),
                 static_cast<long long>(p.seq), p.op.c_str());
      auto reply = p.rx.receive_for(120s, ec);
      if (ec) fail(where + ": no reply: " + ec.message());
      if (!reply) fail(where + ": the reply channel ended without a reply");
      if (reply->id != p.id || reply->seq != p.seq)
        fail(format("%s: got the reply to channel %lld request %lld", where.c_str(),
                    static_cast<long long>(reply->id), static_cast<long long>(reply->seq)));
      if (p.op != "ping" && (reply->len != p.len || reply->sum != p.sum))
        fail(format("%s: the server read %llu bytes with checksum %016llx; sent %llu, %016llx",
                    where.c_str(), static_cast<unsigned long long>(reply->len),
                    static_cast<unsigned long long>(reply->sum),
                    static_cast<unsigned long long>(p.len),
                    static_cast<unsigned long long>(p.sum)));
      if (p.op == "echo") {
        if (!reply->data) fail(where + ": no stream in the reply");
        auto [n, h] = drain(reply->data, ec);
        if (ec) fail(where + ": reading the echo: " + ec.message());
        if (n != p.len || h != p.sum)
          fail(format("%s: the echo has %llu bytes with checksum %016llx; sent %llu, %016llx",
                      where.c_str(), static_cast<unsigned long long>(n),
                      static_cast<unsigned long long>(h), static_cast<unsigned long long>(p.len),
                      static_cast<unsigned long long>(p.sum)));
      }
      // Exactly one reply: the server's reply Sender is gone after it.
      auto more = p.rx.receive_for(120s, ec);
      if (ec) fail(where + ": after the reply: " + ec.message());
      if (more) fail(where + ": a second reply");
      ++requests_;
      if (p.op != "ping") {
        ++streams_;
        bytes_ += static_cast<std::int64_t>(p.len);
      }
      touch();
    }
  }

  // A client thread: batches on its own share of the channels until stopped.
  void work(int w) {
    std::mt19937_64 rng(opts_.seed * 1000003 + w);
    std::vector<std::size_t> mine;
    for (std::size_t i = w; i < chans_.size(); i += opts_.workers) mine.push_back(i);
    if (mine.empty()) return;
    std::uniform_int_distribution<std::size_t> any(0, mine.size() - 1);
    std::vector<std::size_t> picks;
    std::unordered_set<std::size_t> seen;
    const std::size_t n = std::min<std::size_t>(opts_.batch, mine.size());
    for (;;) {
      {
        std::unique_lock lock(gate_mutex_);
        gate_cv_.wait(lock, [&] { return stop_ || !paused_; });
        if (stop_) return;
        ++active_;
      }
      picks.clear();
      seen.clear();
      while (picks.size() < n) {  // distinct channels: replies are matched in order
        std::size_t i = mine[any(rng)];
        if (seen.insert(i).second) picks.push_back(i);
      }
      batch(rng, picks, true);
      {
        std::lock_guard lock(gate_mutex_);
        --active_;
      }
      gate_cv_.notify_all();
    }
  }

  // The main thread during the run: progress lines and re-dials.
  void drive() {
    // The first re-dial comes halfway through the warm-up: what a second
    // session sets up once (the io pool deals sessions out to its threads,
    // each with its own reactor and malloc arena) belongs to the warm-up.
    double next_progress = 10;
    double next_redial = opts_.redial_every > 0 ? opts_.warmup * opts_.duration / 2 : 1e300;
    std::int64_t last_requests = 0;
    double last_t = 0;
    for (;;) {
      double t = seconds_since(start_);
      if (t >= opts_.duration) return;
      if (t >= next_redial && opts_.duration - t > opts_.redial_every / 4) {
        redial();
        next_redial += opts_.redial_every;
      }
      if (t >= next_progress) {
        auto c = usage_of("self");
        auto s = usage_of(server_pid_);
        std::int64_t r = requests_;
        std::printf(
            "soak: %4.0f s  %lld requests (%.0f/s)  %lld streams  %lld closes  %lld re-dials  "
            "RSS client %.1f MiB server %.1f MiB  fds %lld/%lld  threads %lld/%lld\n",
            t, static_cast<long long>(r), (r - last_requests) / (t - last_t),
            static_cast<long long>(streams_.load()), static_cast<long long>(random_closes_.load()),
            static_cast<long long>(redials_), mib(c.rss_kib), mib(s.rss_kib),
            static_cast<long long>(c.fds), static_cast<long long>(s.fds),
            static_cast<long long>(c.threads), static_cast<long long>(s.threads));
        std::fflush(stdout);
        last_requests = r;
        last_t = t;
        next_progress += 10;
      }
      std::this_thread::sleep_for(100ms);
    }
  }

  void redial() {
    {
      std::unique_lock lock(gate_mutex_);
      paused_ = true;
      gate_cv_.wait(lock, [&] { return active_ == 0; });
    }
    close_session();
    wait_for_baseline("after a session closed");
    connect();
    ++redials_;
    {
      std::lock_guard lock(gate_mutex_);
      paused_ = false;
    }
    gate_cv_.notify_all();
  }

  // Each second: both processes' usage, and a watchdog on progress.
  void sample_loop() {
    while (sampling_.load()) {
      Sample s{seconds_since(start_), usage_of("self"), usage_of(server_pid_)};
      {
        std::lock_guard lock(samples_mutex_);
        samples_.push_back(s);
      }
      auto idle = Clock::now().time_since_epoch() - Clock::duration(last_progress_.load());
      if (idle > 180s) fail("no request completed for 180 s");
      std::this_thread::sleep_for(1s);
    }
  }

  Options opts_;
  std::vector<Chan> chans_;
  Chan control_;
  std::unique_ptr<tool_test::Process> server_;
  std::string server_pid_, address_;
  libchan::Session session_;
  Usage server_base_, client_base_, server_final_;
  Clock::time_point start_;
  std::atomic<std::int64_t> next_id_{0}, opened_{0}, closes_{0}, random_closes_{0}, requests_{0},
      streams_{0}, bytes_{0};
  std::int64_t redials_ = 0;
  std::atomic<Clock::rep> last_progress_{0};

  std::mutex gate_mutex_;  // workers run batches only while not paused
  std::condition_variable gate_cv_;
  bool paused_ = false, stop_ = false;
  int active_ = 0;
  std::vector<std::thread> workers_;

  std::atomic<bool> sampling_{true};
  std::thread sampler_;
  std::mutex samples_mutex_;
  std::vector<Sample> samples_;
};

std::string self_path() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "/proc/self/exe";
  return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc > 1 && std::string(argv[1]) == "serve") {
      Server server(parse(argc, argv, 2));
      return server.run();
    }
    Client client(parse(argc, argv, 1));
    return client.run(self_path());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "soak: FAIL: %s\n", e.what());
    return 1;
  }
}
