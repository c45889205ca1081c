#include "soak/client.hpp"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "soak/messages.hpp"
#include "soak/resources.hpp"
#include "support/test_certs.hpp"
#include "tools/process.hpp"

namespace soak {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

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
    std::string why = flat_failure(who, warm, end, opts_.rss_growth, opts_.rss_slack_mib);
    if (!why.empty()) fail(why);
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

}  // namespace

int run_client(Options o, const std::string& self) {
  Client client(std::move(o));
  return client.run(self);
}

}  // namespace soak
