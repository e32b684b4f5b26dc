// Helpers shared by the SDP tests.
#pragma once

#include <string>
#include <string_view>

namespace sdp_test {

/// Writes test SDP readably: each '\n' in `lf` becomes CRLF, the canonical line ending.
inline std::string crlf(std::string_view lf) {
  std::string out;
  out.reserve(lf.size() + lf.size() / 16);
  for (char c : lf) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

}  // namespace sdp_test
