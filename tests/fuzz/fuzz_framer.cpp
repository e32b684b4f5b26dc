// libFuzzer target for the TCP/TLS stream framer (sipkit::parser, stream_framer.hpp).
//
// Input layout: the first 8 bytes choose the framer's limits and seed the chunking; the
// rest is the stream. The stream is fed twice, all at once and in chunks whose sizes come
// from the seed (1 byte up to a few hundred), and the two runs must agree exactly: the
// same messages in order, the same final error (code and offset), the same keep-alive
// count and the same buffered/offset state (stream_framer.hpp: "the result is the same
// whatever the chunking of the input"). A framed message that parses with
// framing::stream must be exactly as long as the framer said. Mismatches trap so
// libFuzzer keeps the input; crashes and out-of-bounds reads are caught by ASan/UBSan.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "sipkit/parser/message_view.hpp"
#include "sipkit/parser/stream_framer.hpp"

namespace sp = sipkit::parser;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

struct outcome {
  std::vector<std::string> messages;
  sp::parse_error last;  // need_more, or the error that stopped the stream
  std::size_t pings = 0;
  std::size_t buffered = 0;
  std::size_t stream_offset = 0;
};

/// Calls next() until it reports need_more or an error; true when the stream may go on.
bool drain(sp::stream_framer& f, outcome& out) {
  for (;;) {
    auto r = f.next();
    if (r.error) {
      out.last = r.error;
      return r.error.code == sp::errc::need_more;
    }
    check(!r.message.empty());
    out.messages.emplace_back(r.message);
  }
}

void finish(const sp::stream_framer& f, outcome& out) {
  out.pings = f.pings_received();
  out.buffered = f.buffered();
  out.stream_offset = f.stream_offset();
}

/// xorshift64: a deterministic chunk-size sequence from the input's seed bytes.
struct chunker {
  std::uint64_t state;
  std::size_t max_chunk;
  std::size_t next() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return 1 + static_cast<std::size_t>(state % max_chunk);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  // Small limits reach the message_too_large / body_too_large paths with small inputs.
  sp::parser_limits limits;
  limits.max_message_size = 64 + static_cast<std::size_t>(data[0]) * 32;  // 64 .. 8224
  limits.max_body_size = static_cast<std::size_t>(data[1]) * 16;          // 0 .. 4080
  if (data[2] & 1) limits = sp::parser_limits{};                          // or the defaults
  // The default options (bare-LF blank lines end a header block) or strict (CRLF CRLF only).
  const sp::parser_options options =
      (data[2] & 2) ? sp::parser_options::strict() : sp::parser_options{};
  static constexpr std::size_t max_chunks[] = {1, 2, 3, 7, 16, 64, 300};
  chunker chunks{0x9E3779B97F4A7C15ull ^ (static_cast<std::uint64_t>(data[3]) << 24 |
                                          static_cast<std::uint64_t>(data[4]) << 16 |
                                          static_cast<std::uint64_t>(data[5]) << 8 | data[6]),
                 max_chunks[data[7] % std::size(max_chunks)]};
  const std::string_view stream(reinterpret_cast<const char*>(data) + 8, size - 8);

  outcome whole;
  {
    sp::stream_framer f(limits, options);
    f.feed(stream);
    drain(f, whole);
    finish(f, whole);
  }

  outcome pieces;
  {
    sp::stream_framer f(limits, options);
    std::size_t pos = 0;
    while (pos < stream.size()) {
      const std::size_t n = std::min(chunks.next(), stream.size() - pos);
      f.feed(stream.substr(pos, n));
      pos += n;
      if (!drain(f, pieces)) break;
    }
    if (stream.empty()) drain(f, pieces);
    finish(f, pieces);
  }

  check(whole.messages == pieces.messages);
  check(whole.last.code == pieces.last.code);
  check(whole.last.offset == pieces.last.offset);
  check(whole.pings == pieces.pings);
  if (whole.last.code == sp::errc::need_more) {
    check(whole.buffered == pieces.buffered);
    check(whole.stream_offset == pieces.stream_offset);
  }

  // The framer and the one-pass parser must agree on where a message ends.
  static sp::message_view view;
  std::size_t total = 0;
  for (const auto& m : whole.messages) {
    total += m.size();
    if (!sp::parse_message(m, view, limits, sp::framing::stream, options)) {
      check(view.bytes().size() == m.size());
      check(view.content_length() == view.body().size());
    }
  }
  check(total <= stream.size());
  return 0;
}
