// Asio reports boost::system::error_code; the io layer speaks std::error_code.
#pragma once

#include <boost/system/error_code.hpp>
#include <system_error>

namespace libchan::detail::io {

/// Operating system errors keep their number in std::system_category, so
/// that `ec == std::errc::connection_refused` holds.
inline std::error_code to_std(const boost::system::error_code& ec) noexcept {
  if (!ec) return {};
  if (ec.category() == boost::system::system_category())
    return {ec.value(), std::system_category()};
  if (ec.category() == boost::system::generic_category())
    return {ec.value(), std::generic_category()};
  return ec;
}

}  // namespace libchan::detail::io
