#include "libchan/error.hpp"

namespace libchan {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "libchan"; }

  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::closed:
        return "the other end of the channel or stream was closed";
      case errc::disconnected:
        return "the session carrying this channel was disconnected";
      case errc::timed_out:
        return "the operation timed out";
      case errc::cancelled:
        return "the operation was cancelled";
      case errc::limit_exceeded:
        return "a configured limit was exceeded";
      case errc::protocol_error:
        return "the peer violated the libchan protocol";
      case errc::decode_error:
        return "the message could not be decoded";
      case errc::type_mismatch:
        return "the value does not have the expected type";
      case errc::wrong_direction:
        return "the operation is not allowed in this direction";
      case errc::not_supported:
        return "the operation is not supported here";
      case errc::auth_failed:
        return "authentication failed";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::empty_handle:
        return "the handle is empty (moved from or default-constructed)";
    }
    return "unknown libchan error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  // Never destroyed: libchan's io threads may still make and compare error
  // codes while a program's statics are being destroyed at exit.
  static const category* instance = new category;
  return *instance;
}

}  // namespace libchan
