// Private: the state the Ragel actions of grammar/sdp.rl write into.
//
// Actions only record positions. The open_* helpers hand out the next slot of a table (and
// extend the current section's slice of it); when a table is full they record the limit
// error and return nullptr, and the action stops the machine. Numbers are kept as digit
// spans here and converted by the host code (session_view.cpp) after the pass, so the
// actions never branch on values.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "sipkit/sdp/session_view.hpp"

namespace sipkit::sdp {

struct parse_state {
  using uchar = unsigned char;

  const uchar* base = nullptr;
  session_view* v = nullptr;

  // Marks.
  const uchar* mark = nullptr;
  const uchar* value_mark = nullptr;

  // Current targets of the shared field actions.
  connection_view* conn = nullptr;
  bandwidth_view* bw = nullptr;
  attribute_view* attr = nullptr;
  extension_view* ext = nullptr;

  // Extension-line positions: every line end is counted; `level_first_line` is the index of
  // the current level's first line (0 for v=, else the current m= line) and
  // `level_extensions` the extension lines of that level so far.
  bool keep_unknown_lines = true;
  std::uint32_t lines = 0;
  std::uint32_t level_first_line = 0;
  std::uint32_t level_extensions = 0;

  // Digit spans, converted after the pass (parallel to the view's tables).
  std::string_view version_text;
  std::string_view session_id_text;
  std::string_view session_version_text;
  std::array<std::string_view, session_view::max_bandwidths> bandwidth_text{};
  std::array<std::string_view, session_view::max_timings> start_text{};
  std::array<std::string_view, session_view::max_timings> stop_text{};
  std::array<std::string_view, session_view::max_media> port_text{};
  std::array<std::string_view, session_view::max_media> port_count_text{};
  bool seen_name = false;  // s= may be empty, so its span alone cannot say it was there

  // The first error an action stopped the machine for (a capacity, or an unknown line in
  // strict mode), if any.
  errc limit_error = errc::ok;
  const char* limit_reason = nullptr;
  const uchar* limit_at = nullptr;

  std::string_view span(const uchar* from, const uchar* to) const noexcept {
    return {reinterpret_cast<const char*>(from), static_cast<std::size_t>(to - from)};
  }

  bool fail(errc code, const char* reason, const uchar* at) noexcept {
    if (limit_error == errc::ok) {
      limit_error = code;
      limit_reason = reason;
      limit_at = at;
    }
    return false;
  }
  bool fail_limit(const char* reason, const uchar* at) noexcept {
    return fail(errc::too_many_headers, reason, at);
  }

  // Clears the scalars and counts of a view about to be filled; stale table entries past
  // the counts are never read, so they are left alone (no 8 KiB memset per parse).
  void reset_view() noexcept {
    session_view& s = *v;
    s.version_ = 0;
    s.origin_ = origin_view{};
    s.name_ = s.information_ = s.uri_ = s.key_ = {};
    s.connection_ = connection_view{};
    s.has_connection_ = false;
    s.email_count_ = s.phone_count_ = s.timing_count_ = s.repeat_count_ = 0;
    s.media_count_ = s.fmt_count_ = s.connection_count_ = 0;
    s.bandwidth_count_ = s.session_bandwidths_ = 0;
    s.attribute_count_ = s.session_attributes_ = 0;
    s.extension_count_ = s.session_extensions_ = 0;
  }

  // Field targets.
  origin_view& origin() noexcept { return v->origin_; }
  void set_name(std::string_view s) noexcept {
    v->name_ = s;
    seen_name = true;
  }
  void set_session_information(std::string_view s) noexcept { v->information_ = s; }
  void set_uri(std::string_view s) noexcept { v->uri_ = s; }
  void set_session_key(std::string_view s) noexcept { v->key_ = s; }
  media_view& current_media() noexcept { return v->media_[v->media_count_ - 1]; }
  timing_view& current_timing() noexcept { return v->timings_[v->timing_count_ - 1]; }

  connection_view* session_connection() noexcept {
    v->has_connection_ = true;
    return &v->connection_;
  }

  // Slot allocation; `line` is the first byte of the line, for the error offset.
  bool open_email(const uchar* line) noexcept {
    if (v->email_count_ == session_view::max_emails) return fail_limit("SDP e= line", line);
    ++v->email_count_;
    return true;
  }
  std::string_view& last_email() noexcept { return v->emails_[v->email_count_ - 1]; }

  bool open_phone(const uchar* line) noexcept {
    if (v->phone_count_ == session_view::max_phones) return fail_limit("SDP p= line", line);
    ++v->phone_count_;
    return true;
  }
  std::string_view& last_phone() noexcept { return v->phones_[v->phone_count_ - 1]; }

  bool open_timing(const uchar* line) noexcept {
    if (v->timing_count_ == session_view::max_timings) return fail_limit("SDP t= line", line);
    timing_view& t = v->timings_[v->timing_count_++];
    t = timing_view{};
    t.repeat_range.first = v->repeat_count_;
    return true;
  }
  std::string_view& last_start_text() noexcept { return start_text[v->timing_count_ - 1]; }
  std::string_view& last_stop_text() noexcept { return stop_text[v->timing_count_ - 1]; }

  bool open_repeat(const uchar* line) noexcept {
    if (v->repeat_count_ == session_view::max_repeats) return fail_limit("SDP r= line", line);
    ++v->repeat_count_;
    ++current_timing().repeat_range.count;
    return true;
  }
  std::string_view& last_repeat() noexcept { return v->repeats_[v->repeat_count_ - 1]; }

  bool open_media(const uchar* line) noexcept {
    if (v->media_count_ == session_view::max_media) return fail_limit("SDP m= line", line);
    media_view& m = v->media_[v->media_count_++];
    m = media_view{};
    m.fmt_range.first = v->fmt_count_;
    m.connection_range.first = v->connection_count_;
    m.bandwidth_range.first = v->bandwidth_count_;
    m.attribute_range.first = v->attribute_count_;
    m.extension_range.first = v->extension_count_;
    level_first_line = lines;
    level_extensions = 0;
    return true;
  }
  std::string_view& last_port_text() noexcept { return port_text[v->media_count_ - 1]; }
  std::string_view& last_port_count_text() noexcept { return port_count_text[v->media_count_ - 1]; }

  bool open_fmt(const uchar* at) noexcept {
    if (v->fmt_count_ == session_view::max_fmts) return fail_limit("SDP m= line", at);
    ++v->fmt_count_;
    ++current_media().fmt_range.count;
    return true;
  }
  std::string_view& last_fmt() noexcept { return v->fmts_[v->fmt_count_ - 1]; }

  connection_view* open_media_connection(const uchar* line) noexcept {
    if (v->connection_count_ == session_view::max_connections) {
      fail_limit("SDP c= line", line);
      return nullptr;
    }
    ++current_media().connection_range.count;
    return &v->connections_[v->connection_count_++];
  }

  // b= and a= lines share one table between the session and the media sections; the
  // grammar only lets session-level lines come before the first m=, so "no media yet"
  // is exactly "session level".
  bandwidth_view* open_bandwidth(const uchar* line) noexcept {
    if (v->bandwidth_count_ == session_view::max_bandwidths) {
      fail_limit("SDP b= line", line);
      return nullptr;
    }
    if (v->media_count_ == 0) {
      ++v->session_bandwidths_;
    } else {
      ++current_media().bandwidth_range.count;
    }
    return &v->bandwidths_[v->bandwidth_count_++];
  }
  std::string_view& last_bandwidth_text() noexcept {
    return bandwidth_text[v->bandwidth_count_ - 1];
  }

  attribute_view* open_attribute(const uchar* line) noexcept {
    if (v->attribute_count_ == session_view::max_attributes) {
      fail_limit("SDP a= line", line);
      return nullptr;
    }
    if (v->media_count_ == 0) {
      ++v->session_attributes_;
    } else {
      ++current_media().attribute_range.count;
    }
    attribute_view* a = &v->attributes_[v->attribute_count_++];
    *a = attribute_view{};
    return a;
  }

  // `type` points at the line's type letter, which the grammar has checked is unknown.
  bool open_extension(const uchar* type) noexcept {
    if (!keep_unknown_lines) {
      return fail(errc::syntax, "SDP line type (unknown or empty line)", type);
    }
    if (v->extension_count_ == session_view::max_extensions) {
      return fail_limit("SDP line (unknown type)", type);
    }
    if (v->media_count_ == 0) {
      ++v->session_extensions_;
    } else {
      ++current_media().extension_range.count;
    }
    ext = &v->extensions_[v->extension_count_++];
    *ext = extension_view{};
    ext->type = static_cast<char>(*type);
    // Lines of this level before it, extension lines not counted; at most the line count,
    // which the table sizes keep far below 65536.
    ext->after = static_cast<std::uint16_t>(lines - level_first_line - level_extensions);
    ++level_extensions;
    return true;
  }
};

/// Runs the Ragel machine over [p, pe). `stop` is where it stopped (one past the byte
/// whose action broke off, on a limit error), `error` whether it hit a byte it could not
/// accept, `accepted` whether it ended in a final state.
struct machine_result {
  const unsigned char* stop = nullptr;
  bool accepted = false;
  bool error = false;
};

machine_result run_sdp_machine(parse_state& st, const unsigned char* p, const unsigned char* pe);

}  // namespace sipkit::sdp
