// Asio's compiled part, built once for the whole library
// (BOOST_ASIO_SEPARATE_COMPILATION is set on libchan_net).
#include <boost/asio/impl/src.hpp>
