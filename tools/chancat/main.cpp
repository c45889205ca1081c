// chancat: netcat for libchan channels. See docs/chancat.md.
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>

#include "activity.hpp"
#include "console.hpp"
#include "failure.hpp"
#include "inbox.hpp"
#include "json_lines.hpp"
#include "libchan/session.hpp"
#include "net_io.hpp"
#include "options.hpp"
#include "receive_role.hpp"
#include "send_role.hpp"
#include "streams.hpp"

namespace chancat {
namespace {

libchan::SessionOptions session_options(const Options& o, NetIo& io) {
  libchan::SessionOptions s;
  s.dialect = o.dialect;
  s.tls = o.tls;
  s.io_context = io.context();
  if (o.timeout) s.connect_timeout = *o.timeout;
  return s;
}

// Everything chancat does once the command line is understood.
class Run {
 public:
  Run(const Options& options, Console& console)
      : options_(options),
        console_(console),
        saver_(options.save_dir
                   ? std::make_unique<StreamSaver>(*options.save_dir, console, activity_)
                   : nullptr),
        inbox_(options, saver_.get()) {
    // Whatever is wrong with the input shows before any connection is made.
    if (options.role == Role::send) source_.emplace(options);
    if (options.reply) {
      std::string error;
      reply_ = parse_message(*options.reply, error);
      if (!reply_) throw Failure(Exit::usage, "--reply: " + error);
    }
    if (options.attach)
      attachment_ = std::make_unique<Attachment>(*options.attach, console, activity_);
  }

  void operator()() {
    {
      auto opts = session_options(options_, io_);
      if (options_.mode == Mode::dial)
        dial_and_play(opts);
      else
        listen_and_play(opts);
    }
    // Sessions and listener are closed: let their last bytes go out.
    io_.drain(NetIo::default_drain);
  }

 private:
  void dial_and_play(const libchan::SessionOptions& opts) {
    libchan::Session session;
    try {
      session = libchan::dial(options_.url, opts);
    } catch (const std::system_error& e) {
      throw failure_naming(e, "dial");
    }
    console_.note("connected to " + session.peer_address());
    play(session);
  }

  void listen_and_play(const libchan::SessionOptions& opts) {
    libchan::Listener listener;
    try {
      listener = libchan::listen(options_.url, opts);
    } catch (const std::system_error& e) {
      throw failure_naming(e, "listen");
    }
    console_.note("listening on " + listener.local_address());
    listener.on_refused([this](std::error_code, const std::string& detail) {
      console_.error("refused a connection: " + detail);
    });
    do {
      std::error_code ec;
      auto session =
          options_.timeout ? listener.accept_for(*options_.timeout, ec) : listener.accept(ec);
      if (ec == libchan::errc::timed_out)
        throw Failure(Exit::timeout, "no session within " + duration_text(*options_.timeout));
      if (ec) throw failure_for(ec, "accepting on " + listener.local_address());
      if (!session) throw Failure(Exit::connection, listener.local_address() + " closed");
      activity_.touch();
      if (source_) source_->rewind();
      play(session);
    } while (options_.keep_open && !count_reached());
  }

  void play(libchan::Session& session) {
    console_.note("session with " + session.peer_address());
    if (options_.role == Role::send)
      send_on(session, options_, *source_, attachment_.get(), inbox_, activity_, sent_);
    else
      receive_on(session, options_, reply_, inbox_, saver_.get(), console_, activity_);
    if (saver_ && options_.role == Role::send) saver_->wait(options_.timeout);  // replies
    session.close();
    console_.note("session with " + session.peer_address() + " closed");
  }

  // The failure of dial() or listen(), with the URL in it.
  Failure failure_naming(const std::system_error& e, const std::string& operation) const {
    auto f = failure_for(e);
    std::string text = f.what();
    if (text.find(options_.url) != std::string::npos) return f;
    return Failure(f.code(), operation + " " + options_.url + ": " + text);
  }

  bool count_reached() const {
    if (!options_.count) return false;
    return (options_.role == Role::send ? sent_ : inbox_.shown()) >= *options_.count;
  }

  const Options& options_;
  Console& console_;
  Activity activity_;
  // Declared before everything that uses a session, so destroyed last.
  NetIo io_;
  std::unique_ptr<StreamSaver> saver_;
  Inbox inbox_;
  std::optional<MessageSource> source_;
  std::optional<libchan::Value> reply_;
  std::unique_ptr<Attachment> attachment_;
  std::uint64_t sent_ = 0;
};

int run(int argc, char** argv) {
  std::optional<Options> options;
  try {
    options = parse_options(argc, argv);
  } catch (const Failure& f) {
    std::fprintf(stderr, "chancat: %s\n", one_line(f.what()).c_str());
    return static_cast<int>(f.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chancat: %s\n", one_line(e.what()).c_str());
    return static_cast<int>(Exit::usage);
  }
  if (!options) return 0;  // --help
  Console console(Console::stderr_is_terminal() && !options->quiet, options->verbose);
  try {
    Run run(*options, console);
    run();
    return 0;
  } catch (const Failure& f) {
    console.error(one_line(f.what()));
    return static_cast<int>(f.code());
  } catch (const std::system_error& e) {
    auto f = failure_for(e);
    console.error(f.what());
    return static_cast<int>(f.code());
  } catch (const std::exception& e) {
    console.error(one_line(e.what()));
    return static_cast<int>(Exit::connection);
  }
}

}  // namespace
}  // namespace chancat

int main(int argc, char** argv) { return chancat::run(argc, argv); }
