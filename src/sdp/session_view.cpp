// Host code around the Ragel machine of grammar/sdp.rl: runs the pass, turns where it
// stopped into a parse_error that names the line, converts the recorded digit spans, and
// the typed lookups of session_view.
#include "sipkit/sdp/session_view.hpp"

#include <cstdint>
#include <limits>
#include <string_view>

#include "sdp/parse_state.hpp"

namespace sipkit::sdp {
namespace {

// Static reasons: parse_error::reason must point to storage that outlives the error.
std::string_view line_reason(char type) noexcept {
  switch (type) {
    case 'v':
      return "SDP v= line";
    case 'o':
      return "SDP o= line";
    case 's':
      return "SDP s= line";
    case 'i':
      return "SDP i= line";
    case 'u':
      return "SDP u= line";
    case 'e':
      return "SDP e= line";
    case 'p':
      return "SDP p= line";
    case 'c':
      return "SDP c= line";
    case 'b':
      return "SDP b= line";
    case 't':
      return "SDP t= line";
    case 'r':
      return "SDP r= line";
    case 'z':
      return "SDP z= line";
    case 'k':
      return "SDP k= line";
    case 'a':
      return "SDP a= line";
    case 'm':
      return "SDP m= line";
    default:
      return "SDP line";
  }
}

std::string_view out_of_order_reason(char type) noexcept {
  switch (type) {
    case 'v':
      return "SDP v= line (out of order)";
    case 'o':
      return "SDP o= line (out of order)";
    case 's':
      return "SDP s= line (out of order)";
    case 'i':
      return "SDP i= line (out of order)";
    case 'u':
      return "SDP u= line (out of order)";
    case 'e':
      return "SDP e= line (out of order)";
    case 'p':
      return "SDP p= line (out of order)";
    case 'c':
      return "SDP c= line (out of order)";
    case 'b':
      return "SDP b= line (out of order)";
    case 't':
      return "SDP t= line (out of order)";
    case 'r':
      return "SDP r= line (out of order)";
    case 'z':
      return "SDP z= line (out of order)";
    case 'k':
      return "SDP k= line (out of order)";
    case 'a':
      return "SDP a= line (out of order)";
    case 'm':
      return "SDP m= line (out of order)";
    // §5: an unknown type letter makes the whole description unusable.
    default:
      return "SDP line type (unknown or empty line)";
  }
}

std::size_t line_start(std::string_view text, std::size_t at) noexcept {
  while (at > 0 && text[at - 1] != '\n') --at;
  return at;
}

// The machine could not accept the byte at `at`. At the first byte of a line the type
// letter itself was not allowed there; anywhere else the line's own syntax broke.
parse_error syntax_error(std::string_view text, std::size_t at) noexcept {
  const std::size_t start = line_start(text, at);
  if (at == 0) return {errc::syntax, 0, "SDP v= line (missing)"};
  if (start == at) return {errc::syntax, at, out_of_order_reason(text[at])};
  return {errc::syntax, at, line_reason(text[start])};
}

// The input ended before the machine reached a final state: either inside a line (no line
// ending) or after complete lines with a required one (v, o, s, t) still missing.
parse_error early_end(std::string_view text, const parse_state& st) noexcept {
  const std::size_t end = text.size();
  if (end > 0 && text[end - 1] != '\n') {
    return {errc::syntax, end, line_reason(text[line_start(text, end)])};
  }
  if (st.version_text.data() == nullptr) return {errc::syntax, end, "SDP v= line (missing)"};
  if (st.v->origin().address.data() == nullptr) return {errc::syntax, end, "SDP o= line (missing)"};
  if (!st.seen_name) return {errc::syntax, end, "SDP s= line (missing)"};
  return {errc::syntax, end, "SDP t= line (missing)"};
}

template <class T>
bool to_number(std::string_view digits, T& out) noexcept {
  constexpr std::uint64_t max = std::numeric_limits<T>::max();
  std::uint64_t v = 0;
  for (char c : digits) {
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) return false;
    v = v * 10 + d;
  }
  out = static_cast<T>(v);
  return true;
}

// Keeps the overflow with the smallest offset, so the error names the first bad number.
struct first_overflow {
  const char* base;
  parse_error err{};

  template <class T>
  void convert(std::string_view digits, T& out, std::string_view reason) noexcept {
    if (to_number(digits, out)) return;
    const auto at = static_cast<std::size_t>(digits.data() - base);
    if (!err || at < err.offset) err = {errc::value_out_of_range, at, reason};
  }
};

template <class Attributes>
const attribute_view* find_in(const Attributes& attrs, std::string_view name) noexcept {
  for (const auto& a : attrs) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::optional<direction> direction_in(std::span<const attribute_view> attrs) noexcept {
  for (const auto& a : attrs) {
    if (auto d = direction_from_name(a.name)) return d;
  }
  return std::nullopt;
}

// The format a value of "a=rtpmap:" or "a=fmtp:" applies to: the text before the first space.
bool value_is_for(std::string_view value, std::string_view fmt) noexcept {
  return value.size() > fmt.size() && value.substr(0, fmt.size()) == fmt &&
         value[fmt.size()] == ' ';
}

}  // namespace

parse_error parse(std::string_view sdp, session_view& out, const parse_options& options) noexcept {
  parse_state st;
  st.v = &out;
  st.keep_unknown_lines = options.unknown_lines;
  st.reset_view();
  const auto* begin = reinterpret_cast<const unsigned char*>(sdp.data());
  st.base = begin;
  const machine_result r = run_sdp_machine(st, begin, begin + sdp.size());

  if (st.limit_error != errc::ok) {
    return {st.limit_error, static_cast<std::size_t>(st.limit_at - begin), st.limit_reason};
  }
  if (r.error) return syntax_error(sdp, static_cast<std::size_t>(r.stop - begin));
  if (!r.accepted) return early_end(sdp, st);

  // The grammar guarantees every span below holds 1+ ASCII digits.
  first_overflow conv{sdp.data()};
  conv.convert(st.version_text, out.version_, "SDP v= line");
  conv.convert(st.session_id_text, out.origin_.session_id, "SDP o= line");
  conv.convert(st.session_version_text, out.origin_.session_version, "SDP o= line");
  for (std::size_t i = 0; i < out.bandwidth_count_; ++i) {
    conv.convert(st.bandwidth_text[i], out.bandwidths_[i].value, "SDP b= line");
  }
  for (std::size_t i = 0; i < out.timing_count_; ++i) {
    conv.convert(st.start_text[i], out.timings_[i].start, "SDP t= line");
    conv.convert(st.stop_text[i], out.timings_[i].stop, "SDP t= line");
  }
  for (std::size_t i = 0; i < out.media_count_; ++i) {
    conv.convert(st.port_text[i], out.media_[i].port, "SDP m= line");
    if (st.port_count_text[i].data() != nullptr) {
      conv.convert(st.port_count_text[i], out.media_[i].port_count, "SDP m= line");
    }
  }
  return conv.err;
}

direction session_view::session_direction() const noexcept {
  return direction_in(attributes()).value_or(direction::sendrecv);
}

direction session_view::direction_of(const media_view& m) const noexcept {
  if (auto d = direction_in(attributes(m))) return *d;
  return session_direction();
}

const attribute_view* session_view::find_attribute(const media_view& m,
                                                   std::string_view name) const noexcept {
  return find_in(attributes(m), name);
}

const attribute_view* session_view::find_attribute(std::string_view name) const noexcept {
  return find_in(attributes(), name);
}

const extension_view* session_view::find_extension(const media_view& m,
                                                   char type) const noexcept {
  for (const auto& x : extensions(m)) {
    if (x.type == type) return &x;
  }
  return nullptr;
}

const extension_view* session_view::find_extension(char type) const noexcept {
  for (const auto& x : extensions()) {
    if (x.type == type) return &x;
  }
  return nullptr;
}

std::optional<rtpmap> session_view::find_rtpmap(const media_view& m,
                                                std::string_view fmt) const noexcept {
  for (const auto& a : attributes(m)) {
    if (a.name == "rtpmap" && value_is_for(a.value, fmt)) return parse_rtpmap(a.value);
  }
  return std::nullopt;
}

std::optional<fmtp> session_view::find_fmtp(const media_view& m,
                                            std::string_view fmt) const noexcept {
  for (const auto& a : attributes(m)) {
    if (a.name == "fmtp" && value_is_for(a.value, fmt)) return parse_fmtp(a.value);
  }
  return std::nullopt;
}

}  // namespace sipkit::sdp
