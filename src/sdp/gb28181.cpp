// GB/T 28181 y= and f= lines (gb28181.hpp): readings over the extension lines, and setters.
#include "sipkit/sdp/gb28181.hpp"

#include <array>
#include <charconv>
#include <limits>
#include <stdexcept>

namespace sipkit::sdp::gb28181 {
namespace {

constexpr std::string_view y_reason_length = "GB/T 28181 y= line (not 10 digits)";
constexpr std::string_view y_reason_range = "GB/T 28181 y= line (above 32 bits)";
constexpr std::string_view f_reason_start = "GB/T 28181 f= line (no leading v/)";
constexpr std::string_view f_reason_audio = "GB/T 28181 f= line (no a part)";
constexpr std::string_view f_reason_fields = "GB/T 28181 f= line (field count)";
constexpr std::string_view f_reason_digit = "GB/T 28181 f= line (not a number)";
constexpr std::string_view f_reason_range = "GB/T 28181 f= line (above 32 bits)";

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Reads `count` fields of `text` (offset `base` in the value) separated by '/'; an empty
// field is nullopt.
template <std::size_t N>
parse_error read_fields(std::string_view text, std::size_t base,
                        std::array<std::optional<std::uint32_t>, N>& out) noexcept {
  std::size_t at = 0;
  for (std::size_t i = 0; i < N; ++i) {
    std::size_t end = text.find('/', at);
    if (i + 1 < N) {
      if (end == std::string_view::npos) return {errc::syntax, base + text.size(), f_reason_fields};
    } else if (end != std::string_view::npos) {
      return {errc::syntax, base + end, f_reason_fields};
    } else {
      end = text.size();
    }
    const std::string_view field = text.substr(at, end - at);
    if (!field.empty()) {
      std::uint32_t v = 0;
      for (std::size_t k = 0; k < field.size(); ++k) {
        if (!is_digit(field[k])) return {errc::syntax, base + at + k, f_reason_digit};
      }
      const auto r = std::from_chars(field.data(), field.data() + field.size(), v);
      if (r.ec != std::errc{}) return {errc::value_out_of_range, base + at, f_reason_range};
      out[i] = v;
    }
    at = end + 1;
  }
  return {};
}

void append_field(std::string& out, const std::optional<std::uint32_t>& v) {
  out += '/';
  if (v) out += std::to_string(*v);
}

template <class T>
reading<T> read(const std::string_view* value,
                parse_error (*parse_fn)(std::string_view, T&) noexcept) noexcept {
  reading<T> r;
  if (value == nullptr) return r;
  T v{};
  r.error = parse_fn(*value, v);
  if (!r.error) r.value = v;
  return r;
}

// The first extension line of `type`: in the media section, else at session level.
const std::string_view* find_view(const session_view& s, const media_view* m, char type) noexcept {
  if (m != nullptr) {
    if (const extension_view* x = s.find_extension(*m, type)) return &x->value;
  }
  if (const extension_view* x = s.find_extension(type)) return &x->value;
  return nullptr;
}

const std::string_view* find_view(const session_view& s, char type) noexcept {
  for (const media_view& m : s.media()) {
    if (const extension_view* x = s.find_extension(m, type)) return &x->value;
  }
  return find_view(s, nullptr, type);
}

// Owning lookups return a view of the owning string, held in `slot`.
const std::string_view* find_owning(const session& s, const media_description* m, char type,
                                    std::string_view& slot) noexcept {
  const extension_line* x = m != nullptr ? m->find_extension(type) : nullptr;
  if (x == nullptr) x = s.find_extension(type);
  if (x == nullptr) return nullptr;
  slot = x->value;
  return &slot;
}

const std::string_view* find_owning(const session& s, char type, std::string_view& slot) noexcept {
  for (const media_description& m : s.media) {
    if (const extension_line* x = m.find_extension(type)) {
      slot = x->value;
      return &slot;
    }
  }
  return find_owning(s, nullptr, type, slot);
}

// Replaces the first line of `type`, or adds one at the end of the level: before a
// trailing line of `before` (y= goes ahead of f=, as in GB/T 28181's examples).
void put(std::vector<extension_line>& lines, char type, std::string value, char before) {
  for (auto& x : lines) {
    if (x.type == type) {
      x.value = std::move(value);
      return;
    }
  }
  auto at = lines.begin();
  while (at != lines.end() && !(at->type == before && at->after == extension_line::at_end)) ++at;
  lines.insert(at, extension_line{type, std::move(value), extension_line::at_end});
}

// The description's line of `type` goes where it already is (first media section with
// one, else the session level), else into the last media section, else the session level.
std::vector<extension_line>& home_of(session& s, char type) noexcept {
  for (media_description& m : s.media) {
    if (m.find_extension(type) != nullptr) return m.extensions;
  }
  if (s.find_extension(type) != nullptr || s.media.empty()) return s.extensions;
  return s.media.back().extensions;
}

}  // namespace

std::string ssrc::to_string() const {
  std::array<char, 10> digits{};
  std::uint32_t v = value;
  for (std::size_t i = digits.size(); i-- > 0;) {
    digits[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return {digits.data(), digits.size()};
}

ssrc ssrc::make(bool history, std::string_view domain_id, std::uint32_t stream) {
  if (domain_id.size() < 8) {
    throw std::invalid_argument("sipkit::sdp::gb28181::ssrc::make: domain ID shorter than 8");
  }
  if (stream > 9999) throw std::invalid_argument("sipkit::sdp::gb28181::ssrc::make: stream > 9999");
  std::uint32_t v = history ? 1 : 0;
  for (char c : domain_id.substr(3, 5)) {
    if (!is_digit(c)) {
      throw std::invalid_argument("sipkit::sdp::gb28181::ssrc::make: domain ID not digits");
    }
    v = v * 10 + static_cast<std::uint32_t>(c - '0');
  }
  return ssrc{v * 10000 + stream};
}

std::string media_format::to_string() const {
  std::string out = "v";
  append_field(out, video.codec);
  append_field(out, video.resolution);
  append_field(out, video.frame_rate);
  append_field(out, video.bitrate_type);
  append_field(out, video.bitrate);
  out += 'a';
  append_field(out, audio.codec);
  append_field(out, audio.bitrate);
  append_field(out, audio.sample_rate);
  return out;
}

parse_error parse_ssrc(std::string_view value, ssrc& out) noexcept {
  for (std::size_t i = 0; i < value.size() && i < 10; ++i) {
    if (!is_digit(value[i])) return {errc::syntax, i, y_reason_length};
  }
  if (value.size() != 10) return {errc::syntax, std::min<std::size_t>(value.size(), 10), y_reason_length};
  std::uint64_t v = 0;
  for (char c : value) v = v * 10 + static_cast<std::uint64_t>(c - '0');
  if (v > std::numeric_limits<std::uint32_t>::max()) return {errc::value_out_of_range, 0, y_reason_range};
  out.value = static_cast<std::uint32_t>(v);
  return {};
}

parse_error parse_media_format(std::string_view value, media_format& out) noexcept {
  if (value.substr(0, 2) != "v/") return {errc::syntax, 0, f_reason_start};
  // Fields are digits, so the first 'a' starts the audio part.
  const std::size_t a = value.find('a', 2);
  if (a == std::string_view::npos) return {errc::syntax, value.size(), f_reason_audio};
  std::array<std::optional<std::uint32_t>, 5> v{};
  if (a > 2) {
    if (auto err = read_fields(value.substr(2, a - 2), 2, v)) return err;
  }
  if (a + 1 >= value.size() || value[a + 1] != '/') return {errc::syntax, a + 1, f_reason_fields};
  std::array<std::optional<std::uint32_t>, 3> au{};
  if (auto err = read_fields(value.substr(a + 2), a + 2, au)) return err;
  out.video = {v[0], v[1], v[2], v[3], v[4]};
  out.audio = {au[0], au[1], au[2]};
  return {};
}

reading<ssrc> ssrc_of(const session_view& s, const media_view& m) noexcept {
  return read<ssrc>(find_view(s, &m, 'y'), &parse_ssrc);
}
reading<ssrc> ssrc_of(const session_view& s) noexcept {
  return read<ssrc>(find_view(s, 'y'), &parse_ssrc);
}
reading<ssrc> ssrc_of(const session& s, const media_description& m) noexcept {
  std::string_view slot;
  return read<ssrc>(find_owning(s, &m, 'y', slot), &parse_ssrc);
}
reading<ssrc> ssrc_of(const session& s) noexcept {
  std::string_view slot;
  return read<ssrc>(find_owning(s, 'y', slot), &parse_ssrc);
}

reading<media_format> media_format_of(const session_view& s, const media_view& m) noexcept {
  return read<media_format>(find_view(s, &m, 'f'), &parse_media_format);
}
reading<media_format> media_format_of(const session_view& s) noexcept {
  return read<media_format>(find_view(s, 'f'), &parse_media_format);
}
reading<media_format> media_format_of(const session& s, const media_description& m) noexcept {
  std::string_view slot;
  return read<media_format>(find_owning(s, &m, 'f', slot), &parse_media_format);
}
reading<media_format> media_format_of(const session& s) noexcept {
  std::string_view slot;
  return read<media_format>(find_owning(s, 'f', slot), &parse_media_format);
}

void set_ssrc(media_description& m, const ssrc& v) { put(m.extensions, 'y', v.to_string(), 'f'); }
void set_ssrc(session& s, const ssrc& v) { put(home_of(s, 'y'), 'y', v.to_string(), 'f'); }
void set_media_format(media_description& m, const media_format& f) {
  put(m.extensions, 'f', f.to_string(), 0);
}
void set_media_format(session& s, const media_format& f) {
  put(home_of(s, 'f'), 'f', f.to_string(), 0);
}

}  // namespace sipkit::sdp::gb28181
