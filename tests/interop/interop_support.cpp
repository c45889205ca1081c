#include "interop/interop_support.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace interop {
namespace {

constexpr const char* install_hint = "run `npm ci --prefix tests/interop` (scripts/test does)";

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string check_tools() {
  std::error_code ec;
  child_process node({"node", "--version"}, script_dir, ec);
  if (ec)
    return "Node.js (`node`) was not found in PATH: install Node.js 20, then " +
           std::string(install_hint);
  auto version = node.read_line(10s);
  if (node.wait(10s) != 0 || !version || version->empty())
    return "`node --version` failed: " + node.error_output();
  auto manifest = std::filesystem::path(script_dir) / "node_modules" / "jschan" / "package.json";
  auto text = read_file(manifest);
  if (text.empty()) return "jschan is not installed: " + std::string(install_hint);
  if (text.find("\"version\": \"0.2.1\"") == std::string::npos)
    return "the installed jschan is not 0.2.1: " + std::string(install_hint);
  return {};
}

}  // namespace

std::string missing_tools() {
  static const std::string why = check_tools();  // once per test program
  return why;
}

std::unique_ptr<child_process> start_script(const std::string& script,
                                            const std::vector<std::string>& args) {
  std::vector<std::string> argv{"node", script};
  argv.insert(argv.end(), args.begin(), args.end());
  std::error_code ec;
  auto child = std::make_unique<child_process>(argv, script_dir, ec);
  if (ec) throw std::system_error(ec, "cannot start node " + script);
  return child;
}

unsigned wait_ready(child_process& child, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return 0;
    auto line = child.read_line(left);
    if (!line) return 0;
    if (line->rfind("ready ", 0) == 0) return static_cast<unsigned>(std::stoul(line->substr(6)));
  }
}

std::string describe(child_process& child) {
  std::string text = "\n--- its standard error ---\n" + child.error_output();
  // Whatever it printed and nobody read yet.
  text += "--- its unread output ---\n";
  while (auto line = child.read_line(0ms)) text += *line + "\n";
  return text;
}

unsigned port_of(const std::string& url) {
  auto colon = url.rfind(':');
  return colon == std::string::npos ? 0 : static_cast<unsigned>(std::stoul(url.substr(colon + 1)));
}

void run_jschan_client(unsigned port) {
  auto client = start_script("jschan_client.js", {std::to_string(port)});
  std::map<std::string, nlohmann::json> steps;
  while (auto line = client->read_line(20s)) {
    auto step = nlohmann::json::parse(*line, nullptr, false);
    if (step.is_discarded() || !step.contains("step")) continue;
    steps[step["step"].get<std::string>()] = step;
    if (step.contains("error")) ADD_FAILURE() << "jschan client: " << *line << describe(*client);
    if (step["step"] == "done" || step.contains("error")) break;
  }
  ASSERT_TRUE(steps.count("done")) << "the jschan client did not finish" << describe(*client);
  EXPECT_EQ(client->wait(10s), 0) << describe(*client);

  EXPECT_EQ(steps["request"]["reply"],
            nlohmann::json::parse(R"({"seq":4,"text":"re: hello","seen":[1,2,3]})"));
  auto replies = steps["requests"]["replies"];
  ASSERT_EQ(replies.size(), 5u) << replies;
  for (int i = 0; i < 5; ++i) {
    nlohmann::json expected{{"seq", 10 + i},
                            {"text", "re: n" + std::to_string(10 + i)},
                            {"seen", nlohmann::json::array()}};
    EXPECT_EQ(replies[i], expected);
  }
  EXPECT_EQ(steps["stream"]["echoed"], steps["stream"]["sent"]) << steps["stream"];
  EXPECT_EQ(steps["stream"]["same"], true) << steps["stream"];
  EXPECT_EQ(steps["push"]["seq"], 7) << steps["push"];
  EXPECT_EQ(steps["push"]["items"], nlohmann::json::parse(R"([{"n":1},{"n":2},{"n":3}])"))
      << steps["push"];
  EXPECT_EQ(steps["big"]["length"], 100000) << steps["big"];
  EXPECT_EQ(steps["big"]["same"], true) << steps["big"];
}

bridge_process::bridge_process(const std::vector<std::string>& args, const std::string& dial_url) {
  std::vector<std::string> argv{LIBCHAN_BRIDGE_EXE};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("tcp://127.0.0.1:0");
  argv.push_back(dial_url);
  std::error_code ec;
  child = std::make_unique<child_process>(argv, script_dir, ec);
  if (ec) throw std::system_error(ec, "cannot start " + argv[0]);
  auto line = child->read_line(10s);
  if (!line || line->rfind("listening ", 0) != 0)
    throw std::runtime_error("dialect_bridge did not start" + describe(*child));
  url = line->substr(10);
}

// ---- echo_service ----

struct echo_service::state {
  libchan::Listener listener;
  mutable std::mutex mutex;
  std::vector<std::shared_ptr<libchan::Session>> sessions;
  std::thread acceptor;
  std::vector<std::thread> threads;
  std::vector<std::int64_t> plain;
  libchan::Dialect dialect = libchan::Dialect::automatic;
  bool stopping = false;

  // Runs `fn` on a thread joined when the service ends.
  template <class Fn>
  void spawn(Fn&& fn) {
    std::lock_guard lock(mutex);
    if (stopping) return;
    threads.emplace_back(std::forward<Fn>(fn));
  }

  void serve_stream(std::int64_t seq, libchan::ByteStream stream, libchan::Sender<> ret) {
    std::vector<std::byte> buffer(16u << 10);
    std::uint64_t total = 0;
    std::error_code ec;
    for (;;) {
      std::size_t n = stream.read_some(buffer, ec);
      if (ec || n == 0) break;
      stream.write(std::span(buffer.data(), n), ec);
      if (ec) break;
      total += n;
    }
    stream.close_write();
    if (!ec) ret.send(libchan::make_map("seq", seq, "bytes", total), ec);
  }

  void serve_items(std::int64_t seq, libchan::Receiver<> items, libchan::Sender<> ret) {
    std::int64_t count = 0, sum = 0;
    std::error_code ec;
    while (auto item = items.receive(ec)) {
      ++count;
      if (auto* n = item->find("n")) sum += n->as_int();
    }
    if (!ec) ret.send(libchan::make_map("seq", seq, "count", count, "sum", sum), ec);
  }

  void serve_channel(libchan::Receiver<> channel) {
    std::vector<std::int64_t> seen;
    std::error_code ec;
    while (auto msg = channel.receive(ec)) {
      const auto* op = msg->find("op");
      const auto* seq_field = msg->find("seq");
      if (!op || !op->is_string() || !seq_field) continue;
      const std::int64_t seq = seq_field->as_int();
      auto take_ret = [&] {
        auto* ret = msg->find("ret");
        return ret ? ret->take_sender() : libchan::Sender<>();
      };
      if (op->as_string() == "plain") {
        seen.push_back(seq);
        std::lock_guard lock(mutex);
        plain.push_back(seq);
      } else if (op->as_string() == "request") {
        libchan::Value::Array list;
        for (auto s : seen) list.emplace_back(s);
        seen.clear();
        const auto* text = msg->find("text");
        take_ret().send(libchan::make_map("seq", seq, "text",
                                          "re: " + (text ? text->as_string() : std::string()),
                                          "seen", std::move(list)),
                        ec);
      } else if (op->as_string() == "stream") {
        spawn([this, seq, stream = msg->find("stream")->take_stream(), ret = take_ret()]() mutable {
          serve_stream(seq, std::move(stream), std::move(ret));
        });
      } else if (op->as_string() == "items") {
        spawn([this, seq, items = msg->find("items")->take_receiver(), ret = take_ret()]() mutable {
          serve_items(seq, std::move(items), std::move(ret));
        });
      } else if (op->as_string() == "push") {
        auto [items_rx, items_tx] = libchan::pipe<libchan::Value>();
        take_ret().send(libchan::make_map("seq", seq, "items", libchan::Value(std::move(items_rx))),
                        ec);
        for (int n = 1; n <= 3 && !ec; ++n) items_tx.send(libchan::make_map("n", n), ec);
        // items_tx closes here: the end of the channel follows the items.
      } else if (op->as_string() == "big") {
        auto data = std::move(*msg->find("data"));
        const auto length = data.as_string().size();
        take_ret().send(libchan::make_map("seq", seq, "length", length, "data", std::move(data)),
                        ec);
      }
      ec.clear();
    }
  }

  void serve_session(libchan::Session& session) {
    while (auto channel = session.accept_receiver()) {
      {
        std::lock_guard lock(mutex);
        dialect = session.dialect();
      }
      spawn([this, channel = std::move(channel)]() mutable { serve_channel(std::move(channel)); });
    }
  }

  void accept_loop() {
    while (auto session = listener.accept()) {
      auto owned = std::make_shared<libchan::Session>(std::move(session));
      {
        std::lock_guard lock(mutex);
        if (stopping) return;
        sessions.push_back(owned);
      }
      spawn([this, owned] { serve_session(*owned); });
    }
  }
};

}  // namespace interop

namespace interop {

echo_service::echo_service(libchan::Listener listener) : state_(std::make_shared<state>()) {
  address_ = listener.local_address();
  state_->listener = std::move(listener);
  state_->acceptor = std::thread([s = state_.get()] { s->accept_loop(); });
}

echo_service::~echo_service() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
    // Ends every blocking call of the serving threads with an error.
    for (auto& session : state_->sessions) session->close();
    threads = std::move(state_->threads);
  }
  state_->listener.close();
  state_->acceptor.join();
  for (auto& t : threads) t.join();
}

std::vector<std::int64_t> echo_service::plain_seen() const {
  std::lock_guard lock(state_->mutex);
  return state_->plain;
}

libchan::Dialect echo_service::last_dialect() const {
  std::lock_guard lock(state_->mutex);
  return state_->dialect;
}

}  // namespace interop
