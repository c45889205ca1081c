#include "send_role.hpp"

#include <unistd.h>

#include <future>
#include <memory>

#include "libchan/codec.hpp"
#include "libchan/pipe.hpp"

namespace chancat {
namespace {

using libchan::Value;

// Why an operation on the session's channels failed, in words.
Failure channel_failure(const libchan::Session& session, const std::error_code& ec,
                        const std::string& what) {
  if (ec == libchan::errc::disconnected || session.closed()) {
    auto why = session.error_message();
    return Failure(Exit::connection,
                   one_line(what + ": the session ended" + (why.empty() ? "" : " (" + why + ")")));
  }
  if (ec == libchan::errc::closed)
    return Failure(Exit::connection, what + ": the peer closed the channel");
  // Of what JSON input can hold, only times need a dialect that has them.
  if (ec == libchan::errc::not_supported)
    return Failure(Exit::data, what +
                                   ": the session cannot carry this message (dialect v0.1 "
                                   "has no times)");
  return failure_for(ec, what);
}

void send_message(libchan::Session& session, libchan::Sender<Value>& tx, Value message,
                  std::optional<std::chrono::milliseconds> timeout, const std::string& what) {
  std::error_code ec;
  if (!timeout) {
    tx.send(std::move(message), ec);
  } else {
    auto done = std::make_shared<std::promise<std::error_code>>();
    auto result = done->get_future();
    tx.async_send(std::move(message), [done](std::error_code e) { done->set_value(e); });
    if (result.wait_for(*timeout) != std::future_status::ready)
      throw Failure(Exit::timeout, what + ": not sent within " + duration_text(*timeout) +
                                       " (the receiver does not read)");
    ec = result.get();
  }
  if (ec) throw channel_failure(session, ec, "sending " + what);
}

Value await_reply(libchan::Session& session, libchan::Receiver<Value>& replies,
                  std::optional<std::chrono::milliseconds> timeout, const std::string& what) {
  std::error_code ec;
  auto reply = timeout ? replies.receive_for(*timeout, ec) : replies.receive(ec);
  if (ec == libchan::errc::timed_out)
    throw Failure(Exit::timeout, "no reply to " + what + " within " + duration_text(*timeout));
  if (ec) throw channel_failure(session, ec, "waiting for the reply to " + what);
  if (!reply) {
    if (session.closed()) throw channel_failure(session, libchan::errc::disconnected, what);
    throw Failure(Exit::data, "no reply to " + what + ": the peer closed the reply channel");
  }
  return std::move(*reply);
}

}  // namespace

MessageSource::MessageSource(const Options& options) {
  for (std::size_t i = 0; i < options.data.size(); ++i) {
    std::string error;
    auto v = parse_message(options.data[i], error);
    if (!v) throw Failure(Exit::usage, "--data " + std::to_string(i + 1) + ": " + error);
    data_.push_back(std::move(*v));
  }
  if (data_.empty() && options.attach) data_.push_back(Value(Value::Map{}));
  if (data_.empty()) stdin_.emplace(STDIN_FILENO, libchan::CodecLimits::default_max_message_size);
}

std::optional<Value> MessageSource::next() {
  if (!stdin_) {
    if (next_data_ >= data_.size()) return std::nullopt;
    return data_[next_data_++].clone();
  }
  for (;;) {
    auto line = stdin_->next();
    if (!line) return std::nullopt;
    if (line->find_first_not_of(" \t") == std::string::npos) continue;  // blank lines
    std::string error;
    auto v = parse_message(*line, error);
    if (!v) throw Failure(Exit::data, where() + ": " + error);
    return v;
  }
}

std::string MessageSource::where() const {
  if (stdin_) return "stdin line " + std::to_string(stdin_->line_number());
  return "--data " + std::to_string(next_data_);
}

void send_on(libchan::Session& session, const Options& options, MessageSource& source,
             Attachment* attachment, Inbox& inbox, Activity& activity, std::uint64_t& sent) {
  std::error_code ec;
  auto tx = session.open_sender(ec);
  if (ec) throw channel_failure(session, ec, "opening a channel");
  bool attach_pending = attachment != nullptr;
  while (!options.count || sent < *options.count) {
    auto message = source.next();
    if (!message) break;
    auto what = source.where();
    if ((attach_pending || options.request) && !message->is_map())
      throw Failure(what.starts_with("--data") ? Exit::usage : Exit::data,
                    what + ": --attach and --request need a JSON object, to add a field to");
    if (attach_pending) (*message)[options.attach_key] = Value(attachment->take_end());
    std::optional<libchan::Receiver<Value>> replies;
    if (options.request) {
      auto [rx, reply_tx] = libchan::pipe<Value>();
      (*message)[options.reply_key] = Value(std::move(reply_tx));
      replies = std::move(rx);
    }
    send_message(session, tx, std::move(*message), options.timeout, what);
    activity.touch();
    if (attach_pending) {
      attachment->start();
      attach_pending = false;
    }
    ++sent;
    if (replies) {
      auto reply = await_reply(session, *replies, options.timeout, what);
      activity.touch();
      inbox.show(reply, session.dialect());
    }
  }
  tx.close();
  if (attachment) attachment->finish(options.timeout);
  // Closing the session now could cut off messages still on their way. A
  // receiving chancat ends the session once it has them all; other peers
  // get --linger. Replies already prove that the peer took every request.
  if (!options.request && options.linger.count() > 0) {
    auto ended = std::make_shared<std::promise<void>>();
    auto done = ended->get_future();
    session.on_close([ended](std::error_code) { ended->set_value(); });
    done.wait_for(options.linger);
  }
}

}  // namespace chancat
