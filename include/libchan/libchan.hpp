// libchan for C++: Go-style channels within a process and across networks.
// Including this header gives the whole public API.
#pragma once

#include "libchan/byte_stream.hpp"
#include "libchan/channel.hpp"
#include "libchan/codec.hpp"
#include "libchan/convert.hpp"
#include "libchan/copy.hpp"
#include "libchan/error.hpp"
#include "libchan/fd.hpp"
#include "libchan/fields.hpp"
#include "libchan/pipe.hpp"
#include "libchan/select.hpp"
#include "libchan/session.hpp"
#include "libchan/value.hpp"
