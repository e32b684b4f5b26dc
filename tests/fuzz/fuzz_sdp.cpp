// libFuzzer target for the SDP parser (sipkit::sdp), lenient (the default) and strict.
//
// Any input: parse must not crash, read out of bounds or leak (ASan/UBSan catch that), in
// either mode. Accepted input: the owning copy must serialize to SDP that parses back to an
// equal session, and serializing that again must give the same bytes (canonical form is a
// fixed point), extension lines (unknown type letters) included. The two modes must agree:
// strict accepts exactly what lenient accepts without extension lines, with the same fields.
// The GB/T 28181 readings of y= and f= run on every accepted input and must not crash.
// A mismatch traps, so the fuzzer records the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sipkit/sdp/gb28181.hpp"
#include "sipkit/sdp/session.hpp"
#include "sipkit/sdp/session_view.hpp"

namespace {

bool has_extensions(const sipkit::sdp::session_view& v) {
  if (!v.extensions().empty()) return true;
  for (const auto& m : v.media()) {
    if (!v.extensions(m).empty()) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace sdp = sipkit::sdp;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  static sdp::session_view view;  // large; reuse instead of a fresh stack frame
  static sdp::session_view strict_view;
  const bool strict_ok = !sdp::parse(input, strict_view, sdp::parse_options::strict());
  if (sdp::parse(input, view)) {
    if (strict_ok) __builtin_trap();  // strict never accepts more than lenient
    return 0;
  }
  if (strict_ok == has_extensions(view)) __builtin_trap();  // they differ only on those lines

  const sdp::session first(view);
  if (strict_ok && !(sdp::session(strict_view) == first)) __builtin_trap();
  const std::string text = first.serialize();

  sdp::session second;
  if (sdp::parse(text, second)) __builtin_trap();  // our own output must parse
  if (!(second == first)) __builtin_trap();        // and mean the same
  if (second.serialize() != text) __builtin_trap();  // and be canonical

  // Typed readings are data-driven: malformed lines give errors, never crashes.
  (void)sdp::gb28181::ssrc_of(view);
  (void)sdp::gb28181::media_format_of(first);
  for (const auto& m : view.media()) {
    (void)sdp::gb28181::ssrc_of(view, m);
    (void)sdp::gb28181::media_format_of(view, m);
  }
  return 0;
}
