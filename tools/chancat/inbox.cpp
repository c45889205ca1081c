#include "inbox.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <utility>
#include <vector>

#include "json_lines.hpp"

namespace chancat {
namespace {

using libchan::Value;

// Calls `fn` for each channel end, stream and descriptor, depth first, in
// the order of the message.
void for_each_resource(Value& v, const std::function<void(Value&)>& fn) {
  switch (v.kind()) {
    case Value::Kind::array:
      for (auto& e : v.as_array()) for_each_resource(e, fn);
      return;
    case Value::Kind::map:
      for (auto& e : v.as_map()) {
        for_each_resource(e.key, fn);
        for_each_resource(e.value, fn);
      }
      return;
    case Value::Kind::sender:
    case Value::Kind::receiver:
    case Value::Kind::stream:
    case Value::Kind::fd:
      return fn(v);
    default:
      return;
  }
}

}  // namespace

void Inbox::show(Value& message, libchan::Dialect dialect) {
  Placeholders placeholders;
  std::vector<std::pair<Value*, std::uint64_t>> to_save;
  for_each_resource(message, [&](Value& leaf) {
    Placeholder p{++last_id_, {}};
    bool readable =
        leaf.kind() == Value::Kind::fd || (leaf.kind() == Value::Kind::stream &&
                                           std::get<libchan::ByteStream>(leaf.data()).can_read());
    if (saver_ && readable) {
      p.file = saver_->create_file(p.id);
      to_save.emplace_back(&leaf, p.id);
    }
    placeholders.emplace(&leaf, std::move(p));
  });

  std::string line = options_.msgpack_hex ? to_msgpack_hex(message, placeholders, dialect)
                                          : to_json_line(message, placeholders);
  line.push_back('\n');
  if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size() || std::fflush(stdout) != 0)
    throw Failure(Exit::local_io, std::string("writing stdout: ") + std::strerror(errno));
  ++shown_;

  for (auto& [leaf, id] : to_save) {
    // A descriptor (unix://) is saved by reading it to the end, as a stream.
    auto stream =
        leaf->kind() == Value::Kind::fd
            ? libchan::ByteStream::from_fd(leaf->take_fd(), libchan::ByteStream::Mode::read_only)
            : leaf->take_stream();
    saver_->start(id, std::move(stream));
  }
}

}  // namespace chancat
