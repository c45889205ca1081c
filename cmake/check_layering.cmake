# Fails if the layers below the io layer include socket or Asio networking
# headers directly: core, codec and the protocol engine stay sans-IO.
file(GLOB_RECURSE sources ${SOURCE_DIR}/include/libchan/*.hpp ${SOURCE_DIR}/src/core/*
     ${SOURCE_DIR}/src/codec/*.?pp ${SOURCE_DIR}/src/protocol/*.?pp)
# websocket.hpp is the io layer's opt-in header for mounting libchan on a
# Beast HTTP server: it is meant to include Asio and Beast.
list(REMOVE_ITEM sources ${SOURCE_DIR}/include/libchan/websocket.hpp)
set(bad "")
foreach(f ${sources})
  file(STRINGS ${f} lines REGEX "^#include [<\"](sys/socket|netinet/|arpa/|boost/asio/ip/|boost/asio/(basic_socket|basic_stream_socket|io_context|ssl|local/)|boost/beast|openssl/)")
  if(lines)
    list(APPEND bad "${f}: ${lines}")
  endif()
endforeach()
if(bad)
  message(FATAL_ERROR "networking headers below the io layer:\n${bad}")
endif()
