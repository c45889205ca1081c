#include "options.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <iostream>

#include "failure.hpp"
#include "tool_flags.hpp"

namespace chancat {
namespace {

constexpr const char* description =
    "chancat: netcat for libchan channels.\n"
    "\n"
    "chancat makes one libchan session, by dialing URL or by listening on it\n"
    "(tcp://host:port, unix:///path, unix://@name, and every other scheme\n"
    "libchan knows), and then plays one of two roles on it:\n"
    "\n"
    "  send     open a channel and send each input message on it, in order,\n"
    "           then close it. The default for dial.\n"
    "  receive  take every channel the peer opens and print each message that\n"
    "           arrives on them. The default for listen.\n"
    "\n"
    "--send and --recv pick the other role (listen --send, dial --recv).\n"
    "Messages are JSON: one per line on stdin, or one per --data; received\n"
    "messages are printed one per line on stdout. Channel ends and byte\n"
    "streams inside a message print as {\"$chan\": N, \"dir\": ...} and\n"
    "{\"$stream\": N, ...}, times as {\"$time\": \"RFC 3339\"}, bytes as\n"
    "{\"$bin\": \"base64\"}; input accepts $time, $bin, $map and $float.\n";

constexpr const char* footer =
    "Requests: with --request every message gets a new channel under --reply-key\n"
    "(a Sender) and chancat prints the first reply that comes back on it. A\n"
    "receiving chancat answers such requests with --reply JSON or --echo.\n"
    "\n"
    "Exit codes: 0 done, 1 usage, 2 connection or TLS error, 3 timeout,\n"
    "4 bad input or protocol error, 5 a local file or stdout could not be used.\n"
    "\n"
    "Examples:\n"
    "  chancat listen tcp://127.0.0.1:9323\n"
    "  echo '{\"op\": \"ls\"}' | chancat dial tcp://127.0.0.1:9323\n"
    "  chancat listen --echo unix:///tmp/echo.sock\n"
    "  chancat dial --request --data '{\"text\": \"hi\"}' unix:///tmp/echo.sock\n"
    "  chancat dial --attach big.iso tcp://host:9323     # receiver: --save DIR\n"
    "\n"
    "See docs/chancat.md for the whole story.";

// The top line of --help names the subcommands, which CLI11 would not.
class Formatter : public CLI::Formatter {
 public:
  std::string make_usage(const CLI::App* app, std::string name) const override {
    if (app->get_parent() == nullptr) return "Usage: chancat [OPTIONS] dial|listen URL\n";
    return CLI::Formatter::make_usage(app, std::move(name));
  }
};

[[noreturn]] void usage_error(const std::string& text) { throw Failure(Exit::usage, text); }

void require_readable(const std::string& option, const std::string& path) {
  if (::access(path.c_str(), R_OK) != 0)
    usage_error(option + ": cannot read '" + path + "': " + std::strerror(errno));
}

libchan::Dialect parse_dialect(const std::string& text) {
  if (auto dialect = tool_flags::dialect_named(text)) return *dialect;
  usage_error("--dialect: '" + text + "' is not one of auto, v0.1, v0.2");
}

// Rules between options that CLI11 cannot say by itself.
void check(const Options& o, const CLI::App& app) {
  auto given = [&](const char* name) { return app.count(name) > 0; };
  bool send = o.role == Role::send;
  if (given("--send") && given("--recv")) usage_error("--send and --recv exclude each other");
  if (send && (o.reply || o.echo))
    usage_error("--reply and --echo answer requests: use them when receiving (--recv)");
  if (!send && (!o.data.empty() || o.attach || o.request))
    usage_error("--data, --attach and --request are for sending (--send)");
  if (o.reply && o.echo) usage_error("--reply and --echo exclude each other");
  if (o.keep_open && o.mode != Mode::listen) usage_error("--keep-open is for listen");
  if (o.keep_open && send && o.data.empty())
    usage_error("--keep-open --send sends the --data messages to every session: give --data");
  if (o.keep_open && send && o.attach) usage_error("--keep-open --send cannot --attach");
  if (o.mode == Mode::dial && o.tls.require_client_certificate)
    usage_error("--require-client-cert is for listen");
  if (o.mode == Mode::listen && !o.tls.server_name.empty())
    usage_error("--server-name is for dial");
  if (o.tls.certificate_file.empty() != o.tls.private_key_file.empty())
    usage_error("--cert and --key go together");
  if (o.count && *o.count == 0) usage_error("--count must be at least 1");
  if (o.attach_key.empty() || o.reply_key.empty()) usage_error("field names must not be empty");
  if (o.attach && o.request && o.attach_key == o.reply_key)
    usage_error("--attach-key and --reply-key must differ");
  if (!o.tls.certificate_file.empty()) require_readable("--cert", o.tls.certificate_file);
  if (!o.tls.private_key_file.empty()) require_readable("--key", o.tls.private_key_file);
  if (!o.tls.ca_file.empty()) require_readable("--ca", o.tls.ca_file);
  if (o.attach && *o.attach != "-") {
    require_readable("--attach", *o.attach);
    std::error_code ec;
    if (std::filesystem::is_directory(*o.attach, ec))
      usage_error("--attach: '" + *o.attach + "' is a directory");
  }
  if (o.save_dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(*o.save_dir, ec))
      usage_error("--save: '" + o.save_dir->string() + "' is not a directory");
  }
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  std::size_t used = 0;
  double n = 0;
  try {
    n = std::stod(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  std::string unit = text.substr(used);
  double ms = 0;
  if (unit.empty() || unit == "s")
    ms = n * 1000;
  else if (unit == "ms")
    ms = n;
  else if (unit == "m")
    ms = n * 60'000;
  else if (unit == "h")
    ms = n * 3'600'000;
  else
    return std::nullopt;
  if (!std::isfinite(ms) || ms <= 0 || ms > 1e12) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(ms)));
}

std::string duration_text(std::chrono::milliseconds d) {
  auto ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

std::optional<Options> parse_options(int argc, const char* const* argv) {
  Options o;
  std::string dialect = "auto", timeout, save_dir;
  std::uint64_t count = 0;
  bool send = false, recv = false;

  CLI::App app(description, "chancat");
  app.footer(footer);
  app.formatter(std::make_shared<Formatter>());
  app.require_subcommand(1);
  app.fallthrough();
  app.set_help_flag("-h,--help", "Print this help and exit");

  auto* dial = app.add_subcommand("dial", "Connect to URL; sends unless --recv");
  dial->add_option("URL", o.url, "Where to connect, e.g. tcp://host:9323")
      ->type_name("")
      ->required();
  auto* listen = app.add_subcommand("listen", "Listen on URL; receives unless --send");
  listen->add_option("URL", o.url, "Where to listen; port 0 picks a free port (see -v)")
      ->type_name("")
      ->required();
  for (auto* sub : {dial, listen})
    sub->footer("Every option, the roles and the exit codes: chancat --help");

  const char* roles = "Roles";
  app.add_flag("--send", send, "Send (open a channel), also when listening")->group(roles);
  app.add_flag("--recv", recv, "Receive (take the peer's channels), also when dialing")
      ->group(roles);

  const char* sending = "Sending";
  app.add_option("-d,--data", o.data, "A message to send, as JSON; repeat for more (else stdin)")
      ->type_name("JSON")
      ->expected(1)
      ->allow_extra_args(false)  // one value per --data; what follows is not a message
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->group(sending);
  app.add_option("--attach", o.attach,
                 "Send FILE (or - for stdin) as a byte stream inside the first message")
      ->type_name("FILE")
      ->group(sending);
  app.add_option("--attach-key", o.attach_key, "The field that carries it")
      ->type_name("KEY")
      ->capture_default_str()
      ->group(sending);
  app.add_flag("--request", o.request,
               "Add a new reply channel to every message and print the reply")
      ->group(sending);
  app.add_option("--reply-key", o.reply_key, "The field of the reply channel")
      ->type_name("KEY")
      ->capture_default_str()
      ->group(sending);

  std::string linger;
  app.add_option("--linger", linger,
                 "After sending, wait this long for the peer to end the session (default 2s)")
      ->type_name("DURATION")
      ->group(sending);

  const char* receiving = "Receiving";
  app.add_option("--reply", o.reply, "Answer every request with this JSON message")
      ->type_name("JSON")
      ->group(receiving);
  app.add_flag("--echo", o.echo, "Answer every request with the request itself")->group(receiving);
  app.add_option("--save", save_dir, "Write received byte streams to files in DIR")
      ->type_name("DIR")
      ->group(receiving);

  const char* common = "Session";
  app.add_flag("--msgpack-hex", o.msgpack_hex, "Print messages as msgpack in hex, not JSON")
      ->group(common);
  app.add_flag("-k,--keep-open", o.keep_open, "listen: serve sessions one after another")
      ->group(common);
  app.add_option("-n,--count", count, "Stop after N messages (sent, or received and printed)")
      ->type_name("N")
      ->group(common);
  app.add_option("-t,--timeout", timeout,
                 "Give up (exit 3) after this long without progress, e.g. 5s, 500ms")
      ->type_name("DURATION")
      ->group(common);
  app.add_option("--dialect", dialect, "Wire dialect: auto, v0.1 or v0.2")
      ->type_name("NAME")
      ->capture_default_str()
      ->group(common);
  app.add_flag("-q,--quiet", o.quiet, "No progress bar")->group(common);
  app.add_flag("-v,--verbose", o.verbose, "Report the address and sessions on stderr")
      ->group(common);

  const char* tls = "TLS (tls://, wss://)";
  app.add_option("--cert", o.tls.certificate_file, "Our certificate chain (PEM)")
      ->type_name("FILE")
      ->group(tls);
  app.add_option("--key", o.tls.private_key_file, "Its private key (PEM)")
      ->type_name("FILE")
      ->group(tls);
  app.add_option("--ca", o.tls.ca_file, "Trust only these CAs (PEM); default: the system's")
      ->type_name("FILE")
      ->group(tls);
  app.add_flag("--require-client-cert", o.tls.require_client_certificate,
               "listen: refuse clients without a certificate signed by --ca")
      ->group(tls);
  app.add_option("--server-name", o.tls.server_name, "dial: the name to verify (default: URL host)")
      ->type_name("NAME")
      ->group(tls);
  bool insecure = false;
  app.add_flag("--insecure", insecure, "dial: do not verify the server (tests only)")->group(tls);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    app.exit(e, std::cout, std::cerr);
    return std::nullopt;
  } catch (const CLI::CallForAllHelp& e) {
    app.exit(e, std::cout, std::cerr);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    std::string text = e.what();
    if (text == "A subcommand is required") text = "say what to do: dial URL or listen URL";
    usage_error(one_line(text) + " (see chancat --help)");
  }

  o.mode = dial->parsed() ? Mode::dial : Mode::listen;
  o.role = send                   ? Role::send
           : recv                 ? Role::receive
           : o.mode == Mode::dial ? Role::send
                                  : Role::receive;
  o.dialect = parse_dialect(dialect);
  o.tls.verify_peer = !insecure;
  if (app.count("--count")) o.count = count;
  if (!save_dir.empty()) o.save_dir = save_dir;
  if (!timeout.empty()) {
    o.timeout = parse_duration(timeout);
    if (!o.timeout)
      usage_error("--timeout: '" + timeout + "' is not a duration (e.g. 5s, 500ms, 2m)");
  }
  if (!linger.empty()) {
    if (linger == "0") {
      o.linger = std::chrono::milliseconds(0);
    } else if (auto d = parse_duration(linger)) {
      o.linger = *d;
    } else {
      usage_error("--linger: '" + linger + "' is not a duration (e.g. 2s, 500ms, 0)");
    }
  }
  check(o, app);
  return o;
}

}  // namespace chancat
