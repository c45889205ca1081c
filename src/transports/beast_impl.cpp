// Beast's compiled part, built once for the whole library
// (BOOST_BEAST_SEPARATE_COMPILATION is set on libchan_net).
#include <boost/beast/src.hpp>
