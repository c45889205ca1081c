// Error codes of libchan: one std::error_category for every layer.
#pragma once

#include <string>
#include <system_error>

namespace libchan {

/// Every failure libchan reports. End of channel is not among them: a
/// receive that reaches the end returns an empty optional instead.
enum class errc {
  closed = 1,        ///< the other end of the channel or stream is gone
  disconnected,      ///< the session carrying the channel was lost
  timed_out,         ///< a deadline passed before the operation completed
  cancelled,         ///< the operation was cancelled by the application
  limit_exceeded,    ///< input broke a configured limit (the message names it)
  protocol_error,    ///< the peer broke the wire protocol
  decode_error,      ///< a message could not be decoded (truncated, malformed)
  type_mismatch,     ///< a value does not have the type the program asked for
  wrong_direction,   ///< e.g. writing to a read-only byte stream
  not_supported,     ///< the transport or codec cannot carry this value
  auth_failed,       ///< authentication or certificate verification failed
  invalid_argument,  ///< the call itself was malformed
  empty_handle,      ///< the Sender, Receiver or ByteStream holds nothing
};

/// The category shared by all libchan error codes ("libchan").
const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// A std::system_error carrying a libchan code, with extra context in what().
class Error : public std::system_error {
 public:
  using std::system_error::system_error;
  explicit Error(errc e) : std::system_error(make_error_code(e)) {}
  Error(errc e, const std::string& what) : std::system_error(make_error_code(e), what) {}
  Error(errc e, const char* what) : std::system_error(make_error_code(e), what) {}
};

/// Throws Error for a set error code; does nothing otherwise.
inline void throw_if(const std::error_code& ec) {
  if (ec) throw std::system_error(ec);
}

}  // namespace libchan

template <>
struct std::is_error_code_enum<libchan::errc> : std::true_type {};
