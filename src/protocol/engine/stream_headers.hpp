// The libchan headers of a stream (libchan-ref, libchan-parent-ref) and the
// SYN_REPLY headers of each dialect: building and reading them. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/spdy_session.hpp"
#include "spdy/header_block.hpp"

namespace libchan::detail::engine {

inline constexpr std::string_view ref_header = "libchan-ref";
inline constexpr std::string_view parent_ref_header = "libchan-parent-ref";

/// A decimal number without sign or spaces that fits 64 bits, or nothing.
std::optional<std::uint64_t> parse_decimal(std::string_view text) noexcept;

struct stream_refs {
  std::uint64_t ref = 0;
  std::optional<std::uint64_t> parent_ref;  ///< absent, or given as ""
};

/// Reads the libchan identity of a peer's stream. Other headers (jschan
/// sends :method, :path, ...) are ignored. Nothing, with `why` set, when
/// libchan-ref is missing or not a number, or libchan-parent-ref is neither
/// empty nor a number.
std::optional<stream_refs> read_stream_refs(const spdy::header_list& headers, std::string& why);

/// The headers of a SYN_STREAM we send: libchan-ref, and libchan-parent-ref
/// only when given. The same in both dialects.
spdy::header_list stream_headers(std::uint64_t ref, std::optional<std::uint64_t> parent_ref);

/// The SYN_REPLY headers: v0.2 ":status: 200", v0.1 "status: <code>".
spdy::header_list reply_headers(dialect wire, int status);

/// What the peer's first SYN_STREAM says about its dialect: a parent ref of
/// "0" marks a v0.1 top-level channel (Go v0.1.0, jschan); v0.2 sends none.
dialect detect_dialect(const spdy::header_list& headers) noexcept;

}  // namespace libchan::detail::engine
