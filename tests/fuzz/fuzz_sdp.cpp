// libFuzzer target for the SDP parser (sipkit::sdp).
//
// Any input: parse must not crash, read out of bounds or leak (ASan/UBSan catch that).
// Accepted input: the owning copy must serialize to SDP that parses back to an equal
// session, and serializing that again must give the same bytes (canonical form is a fixed
// point). A mismatch traps, so the fuzzer records the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sipkit/sdp/session.hpp"
#include "sipkit/sdp/session_view.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  static sipkit::sdp::session_view view;  // large; reuse instead of a fresh stack frame
  if (sipkit::sdp::parse(input, view)) return 0;

  const sipkit::sdp::session first(view);
  const std::string text = first.serialize();

  sipkit::sdp::session second;
  if (sipkit::sdp::parse(text, second)) __builtin_trap();  // our own output must parse
  if (!(second == first)) __builtin_trap();                // and mean the same
  if (second.serialize() != text) __builtin_trap();        // and be canonical
  return 0;
}
