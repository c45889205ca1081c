// Channel ends, byte streams and times inside messages: how each dialect
// writes them as msgpack extensions, and what a received one becomes.
#include <array>
#include <span>
#include <utility>

#include <boost/container/small_vector.hpp>

#include "codec/msgpack_detail.hpp"
#include "core/stream_redirect.hpp"
#include "libchan/detail/forward.hpp"
#include "session/channel_session.hpp"
#include "session/endpoints.hpp"

namespace libchan::detail::session {
namespace {

using engine::dialect;

// Extension types of dialect v0.2 (Go libchan master).
namespace v02 {
constexpr std::int8_t duplex_stream = 1;
constexpr std::int8_t stream_receiver_writes = 2;
constexpr std::int8_t stream_receiver_reads = 3;
constexpr std::int8_t sender = 4;    // the receiver of the message gets a Sender
constexpr std::int8_t receiver = 5;  // ... gets a Receiver
constexpr std::int8_t time = 6;
}  // namespace v02

// Extension types of dialect v0.1 (Go libchan v0.1.0, jschan).
namespace v01 {
constexpr std::int8_t channel = 1;  // [direction][ref]
constexpr std::int8_t stream = 2;   // [ref]
constexpr std::int8_t tcp_by_address = 4;
constexpr std::int8_t udp_by_address = 5;
// The direction byte names the end the *encoder* keeps.
constexpr std::uint8_t encoder_keeps_receiver = 0x02;  // the peer gets a Sender
constexpr std::uint8_t encoder_keeps_sender = 0x01;    // the peer gets a Receiver
}  // namespace v01

void put_ref(std::vector<std::uint8_t>& out, std::uint64_t ref) {
  int bytes = ref > 0xFFFFFFFFu ? 8 : 4;
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(ref >> (8 * i)));
}

bool get_ref(std::span<const std::uint8_t> in, std::uint64_t& ref) {
  if (in.size() != 4 && in.size() != 8) return false;
  ref = 0;
  for (auto b : in) ref = ref << 8 | b;
  return true;
}

// Reads `stream` to its end and drops the bytes. For a network stream
// whose local end let go (the application closed it, so the pump into it
// failed): bytes left unread would count against max_unconsumed and, past
// it, stop the whole session. Ends at once if `stream` ended already.
class drainer : public std::enable_shared_from_this<drainer> {
 public:
  static void start(std::shared_ptr<stream_impl> stream) {
    auto self = std::make_shared<drainer>(std::move(stream));
    self->loop_.post([self] { self->read(); });
  }
  explicit drainer(std::shared_ptr<stream_impl> stream) : stream_(std::move(stream)) {}

 private:
  void read() {
    stream_->async_read_some(buffer_,
                             [self = shared_from_this()](std::error_code ec, std::size_t n) {
                               if (ec || n == 0)
                                 return;  // the end: the stream closes with its session
                               self->loop_.post([self] { self->read(); });
                             });
  }

  std::shared_ptr<stream_impl> stream_;
  trampoline loop_;
  std::array<std::byte, 16384> buffer_;
};

}  // namespace

/// Encodes the leaves of one outgoing message: each channel end or stream
/// gets a new SPDY stream, and local ends are forwarded over it once the
/// message itself is on its way.
class channel_session::encoder final : public ExtensionHook {
 public:
  encoder(channel_session& s, endpoint& parent) : s_(s), parent_(parent) {}

  void encode_leaf(Value& leaf, std::int8_t& type, std::vector<std::uint8_t>& payload,
                   std::error_code& ec) override {
    bool v01 = s_.engine_->wire_dialect() == dialect::v0_1;
    switch (leaf.kind()) {
      case Value::Kind::time:
        if (v01) {
          ec = errc::not_supported;
          detail_ = "dialect v0.1 has no time type";
          return;
        }
        return plain_extensions().encode_leaf(leaf, type, payload, ec);
      case Value::Kind::sender: {
        auto ep = open(stream_role::inbound, /*channel=*/true, ec);
        if (!ep) return;
        auto local = leaf.take_sender().release();
        auto from = std::dynamic_pointer_cast<inbound_channel>(ep);
        actions_.push_back([from, local] { channel_forwarder<Value>::start(from, local); });
        return put(v01 ? v01::channel : v02::sender, v01::encoder_keeps_receiver, ep, type,
                   payload);
      }
      case Value::Kind::receiver: {
        auto ep = open(stream_role::outbound, true, ec);
        if (!ep) return;
        auto local = leaf.take_receiver().release();
        auto to = std::dynamic_pointer_cast<outbound_channel>(ep);
        actions_.push_back([to, local] { channel_forwarder<Value>::start(local, to); });
        return put(v01 ? v01::channel : v02::receiver, v01::encoder_keeps_sender, ep, type,
                   payload);
      }
      case Value::Kind::fd:
        if (s_.fd_passing_ == fd_passing::on) return put_descriptor(leaf, type, payload, ec);
        leaf = Value(ByteStream::from_fd(leaf.take_fd()));
        [[fallthrough]];
      case Value::Kind::stream: {
        if (s_.fd_passing_ == fd_passing::on && holds_descriptor(leaf))
          return put_descriptor(leaf, type, payload, ec);
        auto ep = open(stream_role::bytes, false, ec);
        if (!ep) return;
        auto local = leaf.take_stream();
        auto mode = local.mode();
        auto remote = std::dynamic_pointer_cast<net_stream>(ep);
        // The pumps own the local stream from now on.
        std::shared_ptr<stream_impl> impl = local.release();
        if (mode != ByteStream::Mode::write_only) {
          // An in-process stream needs no pump: its writer writes to the
          // network stream itself.
          actions_.push_back([impl, remote] {
            if (!redirect_reads(impl, remote)) byte_pump::start(impl, remote);
          });
        }
        if (mode != ByteStream::Mode::read_only) {
          // Nor does one whose reader can read the network stream itself
          // (once nobody reads, the stream drops what still comes).
          actions_.push_back([impl, remote] {
            if (!redirect_writes(impl, remote))
              byte_pump::start(remote, impl, [remote](std::error_code) { drainer::start(remote); });
          });
        }
        std::int8_t t = v01                                   ? v01::stream
                        : mode == ByteStream::Mode::duplex    ? v02::duplex_stream
                        : mode == ByteStream::Mode::read_only ? v02::stream_receiver_reads
                                                              : v02::stream_receiver_writes;
        type = t;
        payload.clear();
        put_ref(payload, ep->ref());
        return;
      }
      default:
        ec = errc::not_supported;
        detail_ = std::string("cannot send a ") + Value::kind_name(leaf.kind());
    }
  }

  Value decode_ext(std::int8_t, std::span<const std::uint8_t>, std::error_code& ec) override {
    ec = errc::not_supported;
    return {};
  }

  /// Starts the forwarders; call once the message has been submitted.
  std::vector<std::function<void()>> take_actions() { return std::move(actions_); }
  /// The descriptors of the message, numbered from the session's fds_sent_.
  std::vector<outgoing_descriptor>& descriptors() { return fds_; }
  /// Undoes the streams opened for a message that could not be sent.
  void abandon() {
    for (auto& ep : opened_) {
      s_.streams_.erase(ep->id());
      s_.engine_->reset_stream(ep->id(), spdy::rst_status::cancel);
    }
  }
  const std::string& detail() const { return detail_; }

 private:
  std::shared_ptr<endpoint> open(stream_role role, bool channel, std::error_code& ec) {
    bool v01 = s_.engine_->wire_dialect() == dialect::v0_1;
    auto ref = s_.next_ref();
    std::optional<std::uint64_t> parent;
    engine::stream_id associated = 0;
    if (!v01) {
      parent = parent_.ref();
    } else if (channel) {
      parent = parent_.ref();
      associated = parent_.id();
    }
    auto id = s_.engine_->open_stream(ref, parent, associated, ec);
    if (ec) {
      detail_ = "cannot open a stream for a nested value";
      return nullptr;
    }
    auto ep = make_endpoint(role, s_.weak_from_this(), ref, id);
    s_.streams_[id] = ep;
    opened_.push_back(ep);
    return ep;
  }

  // An Fd, or a ByteStream over a descriptor, as the descriptor itself.
  void put_descriptor(Value& leaf, std::int8_t& type, std::vector<std::uint8_t>& payload,
                      std::error_code& ec) {
    if (fds_.size() >= s_.opts_.max_fds_per_message) {
      ec = errc::limit_exceeded;
      detail_ = "message carries more than max_fds_per_message (" +
                std::to_string(s_.opts_.max_fds_per_message) + ") descriptors";
      return;
    }
    auto form = descriptors::form::fd;
    if (leaf.kind() == Value::Kind::fd) {
      Fd fd = leaf.take_fd();
      if (!fd) {
        ec = errc::empty_handle;
        detail_ = "cannot send an empty Fd";
        return;
      }
      fds_.emplace_back(std::move(fd));
    } else {
      auto stream = leaf.take_stream();
      form = stream.mode() == ByteStream::Mode::duplex      ? descriptors::form::duplex_stream
             : stream.mode() == ByteStream::Mode::read_only ? descriptors::form::read_only_stream
                                                            : descriptors::form::write_only_stream;
      fds_.emplace_back(stream.release());
    }
    type = descriptors::ext_type;
    payload.clear();
    payload.push_back(static_cast<std::uint8_t>(form));
    put_ref(payload, s_.fds_sent_ + fds_.size() - 1);
  }

  void put(std::int8_t t, std::uint8_t direction, const std::shared_ptr<endpoint>& ep,
           std::int8_t& type, std::vector<std::uint8_t>& payload) {
    type = t;
    payload.clear();
    if (t == v01::channel && s_.engine_->wire_dialect() == dialect::v0_1)
      payload.push_back(direction);
    put_ref(payload, ep->ref());
  }

  channel_session& s_;
  endpoint& parent_;
  std::vector<std::function<void()>> actions_;
  std::vector<std::shared_ptr<endpoint>> opened_;
  std::vector<outgoing_descriptor> fds_;
  std::string detail_;
};

/// Resolves the extensions of one received message to local objects bound
/// to the streams the peer opened for them (or will open).
class channel_session::decoder final : public ExtensionHook {
 public:
  explicit decoder(channel_session& s) : s_(s) {}

  void encode_leaf(Value&, std::int8_t&, std::vector<std::uint8_t>&, std::error_code& ec) override {
    ec = errc::not_supported;
  }

  Value decode_ext(std::int8_t type, std::span<const std::uint8_t> payload,
                   std::error_code&) override {
    // A bad reference is not reported to the codec: it would drop the ends
    // made for the references before it, under our lock. decode_message
    // refuses the message once it is whole instead.
    if (type == descriptors::ext_type && s_.opts_.pass_descriptors) return take_descriptor(payload);
    if (error_) return {};
    Value v = resolve(type, payload, error_);
    if (!error_) return v;
    if (detail_.empty()) detail_ = "malformed extension type " + std::to_string(type);
    return {};
  }

  /// The first bad reference of the message, if any; detail() says why.
  std::error_code error() const { return error_; }
  const std::string& detail() const { return detail_; }

 private:
  Value resolve(std::int8_t type, std::span<const std::uint8_t> payload, std::error_code& ec) {
    bool v01 = s_.engine_->wire_dialect() == dialect::v0_1;
    std::uint64_t ref = 0;
    stream_role role;
    auto mode = ByteStream::Mode::duplex;
    if (v01) {
      if (type == v01::channel && (payload.size() == 5 || payload.size() == 9)) {
        role = payload[0] == v01::encoder_keeps_receiver ? stream_role::outbound
                                                         : stream_role::inbound;
        if (payload[0] != v01::encoder_keeps_receiver && payload[0] != v01::encoder_keeps_sender)
          return fail(ec, "v0.1 channel reference with unknown direction");
        get_ref(payload.subspan(1), ref);
      } else if (type == v01::stream && get_ref(payload, ref)) {
        role = stream_role::bytes;
      } else if (type == v01::tcp_by_address || type == v01::udp_by_address) {
        // v0.1.0's hand-off of a connection accepted elsewhere: nothing here
        // can match it, so the field arrives empty.
        return Value();
      } else {
        return fail(ec, "unknown v0.1 extension type " + std::to_string(type));
      }
    } else {
      if (type == v02::time) return plain_extensions().decode_ext(type, payload, ec);
      if (type < v02::duplex_stream || type > v02::receiver || !get_ref(payload, ref))
        return fail(ec, "unknown v0.2 extension type " + std::to_string(type));
      switch (type) {
        case v02::sender:
          role = stream_role::outbound;
          break;
        case v02::receiver:
          role = stream_role::inbound;
          break;
        default:
          role = stream_role::bytes;
          mode = type == v02::duplex_stream           ? ByteStream::Mode::duplex
                 : type == v02::stream_receiver_reads ? ByteStream::Mode::read_only
                                                      : ByteStream::Mode::write_only;
      }
    }
    auto ep = s_.claim_ref(ref, static_cast<int>(role), ec);
    if (!ep) {
      return fail(ec, "reference " + std::to_string(ref) + ": " +
                          (ec == errc::limit_exceeded
                               ? "max_pending_refs (" + std::to_string(s_.opts_.max_pending_refs) +
                                     ") streams and references are pending"
                               : std::string("named twice")));
    }
    switch (role) {
      case stream_role::outbound:
        return Value(Sender<Value>(std::dynamic_pointer_cast<outbound_channel>(ep)));
      case stream_role::inbound:
        return Value(Receiver<Value>(std::dynamic_pointer_cast<inbound_channel>(ep)));
      default:
        return Value(ByteStream(std::dynamic_pointer_cast<net_stream>(ep), mode));
    }
  }

  // Named descriptors are claimed even in a message that is refused, so
  // that they close with it instead of waiting for a name forever.
  Value take_descriptor(std::span<const std::uint8_t> payload) {
    std::uint64_t index = 0;
    if (payload.empty() ||
        payload[0] > static_cast<std::uint8_t>(descriptors::form::write_only_stream) ||
        !get_ref(payload.subspan(1), index)) {
      if (!error_) fail(error_, "malformed descriptor reference");
      return {};
    }
    std::error_code ec;
    std::string why;
    Fd fd = s_.claim_descriptor(index, ec, why);
    if (!fd) {
      if (!error_) fail(error_ = ec, why);
      return {};
    }
    if (error_) return {};
    if (++fds_ > s_.opts_.max_fds_per_message) {
      error_ = errc::limit_exceeded;
      return fail(error_, "message names more than max_fds_per_message (" +
                              std::to_string(s_.opts_.max_fds_per_message) + ") descriptors");
    }
    switch (static_cast<descriptors::form>(payload[0])) {
      case descriptors::form::fd:
        return Value(std::move(fd));
      case descriptors::form::duplex_stream:
        return Value(ByteStream::from_fd(std::move(fd), ByteStream::Mode::duplex));
      case descriptors::form::read_only_stream:
        return Value(ByteStream::from_fd(std::move(fd), ByteStream::Mode::read_only));
      default:
        return Value(ByteStream::from_fd(std::move(fd), ByteStream::Mode::write_only));
    }
  }

  Value fail(std::error_code& ec, std::string why) {
    if (!ec) ec = errc::protocol_error;
    detail_ = std::move(why);
    return {};
  }

  channel_session& s_;
  std::error_code error_;
  std::string detail_;
  std::size_t fds_ = 0;  // descriptors named by the message so far
};

std::shared_ptr<endpoint> channel_session::claim_ref(std::uint64_t ref, int kind,
                                                     std::error_code& ec) {
  auto role = static_cast<stream_role>(kind);
  if (auto it = unclaimed_.find(ref); it != unclaimed_.end()) {
    auto waiting = std::static_pointer_cast<unclaimed_stream>(it->second);
    unclaimed_.erase(it);
    auto ep = make_endpoint(role, weak_from_this(), ref, waiting->id());
    if (auto s = streams_.find(ep->id()); s != streams_.end() && s->second == waiting)
      s->second = ep;
    waiting->replay_into(*ep);
    return ep;
  }
  if (awaited_.count(ref)) {
    ec = errc::protocol_error;  // named twice
    return nullptr;
  }
  if (unclaimed_.size() + awaited_.size() >= opts_.max_pending_refs) {
    ec = errc::limit_exceeded;
    return nullptr;
  }
  auto ep = make_endpoint(role, weak_from_this(), ref, 0);
  awaited_[ref] = ep;
  return ep;
}

void channel_session::send_message(const std::shared_ptr<endpoint>& parent, Value value,
                                   completion done) {
  if (ended_ || closing_) return complete_later(std::move(done), end_error());
  // Whether a descriptor goes as a descriptor or as a byte stream depends on
  // the peer, known from its first frame; and descriptors wait for room
  // among those queued. Later messages keep their order behind them.
  if (!parked_.empty() || (must_park_descriptors() && holds_descriptor(value))) {
    parked_.push_back({parent, std::make_shared<Value>(std::move(value)), std::move(done)});
    return;
  }
  encoder hook(*this, *parent);
  std::vector<std::uint8_t> bytes = take_encode_buffer();
  std::error_code ec;
  std::string detail;
  codec().encode(value, bytes, hook, ec, &detail);
  // After a failure the value may still hold channel ends of this session:
  // destroy it once the lock is released. After a success the hook has
  // taken every resource out and what is left is plain data.
  if (ec) defer([rest = std::make_shared<Value>(std::move(value))] {});
  if (ec) {
    hook.abandon();
    if (!hook.detail().empty())
      note_error("message on stream " + std::to_string(parent->id()) + ": " + hook.detail());
    return_encode_buffer(std::move(bytes));
    return complete_later(std::move(done), ec);
  }
  std::uint64_t mark = 0;
  if (!hook.descriptors().empty()) {
    mark = next_mark_++;
    for (auto& fd : hook.descriptors()) queue_descriptor(std::move(fd), mark);
  }
  bool v01 = engine_->wire_dialect() == dialect::v0_1;
  submit(parent, bytes, false, v01, std::move(done), mark);
  return_encode_buffer(std::move(bytes));
  for (auto& action : hook.take_actions()) defer(std::move(action));
}

namespace {

// Encodes what can be sent at once: plain data, and Fds when the
// connection passes descriptors (up to `max_fds`). Refuses every other
// extension leaf (channel ends, streams, and times too, which are rare
// enough) and takes nothing out of the value, so that a refusal leaves it
// as it was; the Fds are taken once the message is queued.
class immediate_only final : public ExtensionHook {
 public:
  immediate_only(std::size_t max_fds, std::uint64_t first_index)
      : max_fds_(max_fds), first_index_(first_index) {}

  void encode_leaf(Value& leaf, std::int8_t& type, std::vector<std::uint8_t>& payload,
                   std::error_code& ec) override {
    if (leaf.kind() != Value::Kind::fd || fds_.size() >= max_fds_) {
      ec = errc::not_supported;
      return;
    }
    // An empty Fd is an error that send_message() reports. Looking takes
    // it out; it goes back as it was.
    Fd fd = leaf.take_fd();
    const bool empty = !fd;
    leaf = Value(std::move(fd));
    if (empty) {
      ec = errc::not_supported;
      return;
    }
    type = descriptors::ext_type;
    payload.clear();
    payload.push_back(static_cast<std::uint8_t>(descriptors::form::fd));
    put_ref(payload, first_index_ + fds_.size());
    fds_.push_back(&leaf);
  }
  Value decode_ext(std::int8_t, std::span<const std::uint8_t>, std::error_code& ec) override {
    ec = errc::not_supported;
    return {};
  }

  /// The Fd leaves encoded, in descriptor order.
  std::span<Value* const> fds() const { return {fds_.data(), fds_.size()}; }

 private:
  std::size_t max_fds_;
  std::uint64_t first_index_;
  boost::container::small_vector<Value*, 4> fds_;
};

}  // namespace

std::vector<std::uint8_t> channel_session::take_encode_buffer() {
  // Taken, not borrowed: a nested call (a channel end dropped by the codec)
  // finds it empty and allocates its own.
  std::vector<std::uint8_t> bytes = std::exchange(encode_buffer_, {});
  bytes.clear();
  return bytes;
}

void channel_session::return_encode_buffer(std::vector<std::uint8_t>&& bytes) {
  if (bytes.capacity() <= max_kept_encode_buffer) encode_buffer_ = std::move(bytes);
}

bool channel_session::sends_at_once(endpoint& parent) const {
  return !ended_ && !closing_ && parked_.empty() && fd_passing_ != fd_passing::undecided &&
         parent.bound() && parent.blocked().empty();
}

void channel_session::submit_message(const endpoint& parent, std::span<const std::uint8_t> bytes,
                                     std::uint64_t mark, std::error_code& ec) {
  if (engine_->wire_dialect() == dialect::v0_1)
    engine_->submit_frame(parent.id(), bytes, false, ec, mark);
  else
    engine_->submit_data(parent.id(), bytes, false, ec, mark);
}

bool channel_session::try_send_message(endpoint& parent, Value& value) {
  if (!sends_at_once(parent)) return false;
  // Any failure, a leaf or a full output, leaves `value` untouched, and
  // send_message() starts over.
  immediate_only hook(fd_passing_ == fd_passing::on ? opts_.max_fds_per_message : 0, fds_sent_);
  std::vector<std::uint8_t> bytes = take_encode_buffer();
  std::error_code ec;
  codec().encode(value, bytes, hook, ec, nullptr);
  const std::uint64_t mark = hook.fds().empty() ? 0 : next_mark_;
  if (!ec && mark != 0 && must_park_descriptors()) ec = errc::limit_exceeded;
  if (!ec) submit_message(parent, bytes, mark, ec);
  return_encode_buffer(std::move(bytes));
  if (ec) return false;
  if (mark != 0) {
    ++next_mark_;
    for (Value* leaf : hook.fds()) queue_descriptor(outgoing_descriptor(leaf->take_fd()), mark);
  }
  value = Value();
  return true;
}

bool channel_session::try_send_plain(endpoint& parent, const plain_message& message) {
  if (!sends_at_once(parent)) return false;
  // The integers in the dialect's forms, as codec() would write them.
  const IntegerStyle style = engine_->wire_dialect() == dialect::v0_1
                                 ? IntegerStyle::unsigned_when_nonnegative
                                 : IntegerStyle::smallest_signed;
  std::vector<std::uint8_t> bytes = take_encode_buffer();
  std::error_code ec;
  if (msgpack_encode_plain(message, bytes, style)) submit_message(parent, bytes, 0, ec);
  const bool sent = !ec && !bytes.empty();
  return_encode_buffer(std::move(bytes));
  return sent;
}

std::size_t channel_session::decode_message(endpoint&, std::span<const std::uint8_t> input,
                                            Value& out, std::error_code& ec, std::string& detail) {
  decoder hook(*this);
  auto n = codec().decode(input, out, hook, ec, &detail);
  if (!ec && hook.error()) {
    // The message is whole but names a bad reference: refuse all of it.
    // The ends made for its other references go once the lock is released.
    ec = hook.error();
    detail = "msgpack: " + hook.detail();
    defer([dropped = std::make_shared<Value>(std::move(out))] {});
    out = Value();
    return 0;
  }
  if (ec && detail.empty()) detail = hook.detail();
  return n;
}

std::size_t channel_session::measure_plain(std::span<const std::uint8_t> input) const {
  return msgpack_measure_plain(input, opts_.codec);
}

void channel_session::decode_plain(std::span<const std::uint8_t> bytes, const CodecLimits& limits,
                                   Value& out, std::error_code& ec, std::string& detail) {
  // No extension type inside: the plain hook is never called.
  auto n = msgpack_decode(bytes, out, plain_extensions(), limits, ec, &detail);
  if (!ec && n != bytes.size()) {
    ec = errc::decode_error;
    detail = "msgpack: a measured message did not decode whole";
  }
}

bool channel_session::read_plain(std::span<const std::uint8_t> bytes, plain_destination& into) {
  // One list per thread: its storage is reused from message to message.
  thread_local std::vector<plain_item> items;
  if (!msgpack_plain_items(bytes, items)) return false;
  plain_items in(items);
  return into.read(in);
}

}  // namespace libchan::detail::session
