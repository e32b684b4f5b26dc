// An owning SIP message that code builds, edits and serializes.
//
//   auto req = sipkit::parser::message::request("OPTIONS", "sip:bob@example.com");
//   req.add(header_id::via, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds");
//   req.add(header_id::max_forwards, "70");
//   ...
//   std::string wire = req.serialize();
//
// Storage: one heap block holding the header table and, after it, the text. `from_view()`
// copies the parsed bytes into it once (one allocation) and keeps offsets; edits append
// new text and update the offsets, so earlier text is never moved within the block (the
// block itself moves when it grows). std::string_views returned by accessors and the
// fields() span stay valid until the next mutating call.
//
// Serialization: an unmodified message made by from_view() serializes to exactly the
// bytes it was parsed from. Otherwise it is written in canonical form: "Name: value"
// with the long header names, headers in their order, and Content-Length always present
// and computed from the body (RFC 3261 §20.14; required on streams).
//
// Typed views: top_via(), from(), to() and cseq() run the grammar at most once per header.
// A message made by from_view() keeps the views its parse made; any other message parses
// a header on the first call and keeps the result in spare capacity of its buffer (never
// moving it, so earlier views stay valid). An edit of one of these headers forgets its
// view; a copy keeps them. The record takes about 240 bytes of the buffer.
//
// Thread safety: none; one message belongs to one thread at a time. The typed accessors
// write their record, so even two const calls on one message must not run concurrently.
// Errors: accessors returning typed views return std::nullopt when the header is
// absent or does not parse.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "sipkit/parser/headers.hpp"
#include "sipkit/parser/message_view.hpp"

namespace sipkit::parser {

class message {
 public:
  /// Offset/length into the message buffer.
  struct span {
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
  };
  struct field {
    header_id id = header_id::extension;
    span name;
    span value;
  };

  message() = default;
  static message request(std::string_view method, std::string_view request_uri);
  /// Like request(method, request_uri), with room for exactly `bytes` more bytes of text
  /// and `headers` headers instead of the usual slack: for a message built to be kept (one
  /// allocation at the size it will use). Edits beyond that room reallocate.
  static message request(std::string_view method, std::string_view request_uri,
                         std::size_t bytes, std::size_t headers);
  static message response(int status_code, std::string_view reason = {});
  /// Like response(status_code, reason), with room for exactly `bytes` more bytes of text
  /// and `headers` headers instead of the usual slack: for a message built to be kept (one
  /// allocation at the size it will use). Edits beyond that room reallocate.
  static message response(int status_code, std::string_view reason, std::size_t bytes,
                          std::size_t headers);
  /// Copy a parsed message (bytes copied once).
  static message from_view(const message_view& view);

  bool is_request() const noexcept { return status_code_ == 0; }
  bool is_response() const noexcept { return status_code_ != 0; }
  std::string_view method_text() const noexcept { return text(method_); }
  sipkit::parser::method method() const noexcept { return lookup_method(text(method_)); }
  std::string_view request_uri() const noexcept { return text(uri_); }
  int status_code() const noexcept { return status_code_; }
  std::string_view reason_phrase() const noexcept { return text(reason_); }
  /// "SIP/2.0" as written; a UAS answers 505 to anything else (RFC 3261 §8.2.2... §21.5.7).
  std::string_view sip_version() const noexcept { return text(version_); }
  void set_request_uri(std::string_view uri);
  void set_status(int code, std::string_view reason = {});

  /// The header table, in order; valid until the next mutating call.
  std::span<const field> fields() const noexcept { return {buf_.begin(), buf_.count()}; }
  std::string_view name_of(const field& f) const noexcept { return text(f.name); }
  std::string_view value_of(const field& f) const noexcept { return text(f.value); }

  /// First value of a header, or nullopt.
  std::optional<std::string_view> get(header_id id) const noexcept;
  std::optional<std::string_view> get(std::string_view name) const noexcept;
  std::size_t count(header_id id) const noexcept;

  /// Append a header at the end (known header: canonical long name).
  void add(header_id id, std::string_view value);
  void add(std::string_view name, std::string_view value);
  /// Insert before all others with the same id (a new top Via, RFC 3261 §8.1.1.7).
  void push_front(header_id id, std::string_view value);
  /// Replace all headers with this id by one header.
  void set(header_id id, std::string_view value);
  void set(std::string_view name, std::string_view value);
  /// Remove all headers with this id/name; returns how many were removed.
  std::size_t remove(header_id id);
  std::size_t remove(std::string_view name);
  /// Remove only the first header with this id (the top Via on a proxy's response path).
  bool remove_first(header_id id);

  std::string_view body() const noexcept { return text(body_); }
  /// Sets the body and, when `content_type` is not empty, the Content-Type header.
  void set_body(std::string_view body, std::string_view content_type = {});

  // Typed views of single values, parsed from the stored text on first use and kept (see
  // "Typed views" above). Views into this message's buffer.
  std::optional<via_view> top_via() const;
  std::optional<name_addr_view> from() const;
  std::optional<name_addr_view> to() const;
  std::optional<cseq_view> cseq() const;
  std::string_view call_id() const noexcept;

  bool modified() const noexcept { return modified_; }
  /// Reallocate the buffer and the header table at the size they use, for a message that
  /// is kept a long time (a lingering transaction's). The typed-view record goes too when
  /// nothing was written after it (the views are then parsed on each call, as the buffer
  /// has no spare capacity to keep them in). Views taken before are invalidated.
  void shrink_to_fit();
  /// Make room for `bytes` more bytes of text and `headers` more headers in one allocation,
  /// so that the edits that follow do not reallocate. Views taken before are invalidated
  /// when it reallocates.
  void reserve(std::size_t bytes, std::size_t headers);
  std::string serialize() const;
  /// Append the serialized form to `out` (lets a transport reuse one buffer).
  void serialize_to(std::string& out) const;

 private:
  friend message make_response(const message_view&, int, std::string_view, std::string_view);
  friend message make_response(const message&, int, std::string_view, std::string_view);
  static constexpr std::uint32_t k_no_record = 0xFFFFFFFFu;

  /// The header table and the text in one heap block: the table first (so that it is
  /// aligned), the text after it. Copies are made at the exact size used; moves steal.
  class storage {
   public:
    storage() noexcept = default;
    storage(const storage& other);
    storage(storage&& other) noexcept;
    storage& operator=(const storage& other);
    storage& operator=(storage&& other) noexcept;
    ~storage();

    char* data() noexcept { return mem_ ? mem_ + table_bytes() : nullptr; }
    const char* data() const noexcept { return mem_ ? mem_ + table_bytes() : ""; }
    std::size_t size() const noexcept { return size_; }
    std::size_t capacity() const noexcept { return cap_; }
    /// May reallocate; `p` may point into this block.
    void append(const char* p, std::size_t n) {
      if (n <= std::size_t{cap_} - size_) {
        // n == 0 with no block yet: data() is null, and memcpy must not see it.
        if (n != 0) std::memcpy(data() + size_, p, n);
        size_ = static_cast<std::uint32_t>(size_ + n);
        return;
      }
      grow_text(p, n);
    }
    /// Within the spare capacity only (the caller checks): never moves the text.
    void append_zeros(std::size_t n) noexcept;
    void truncate(std::size_t n) noexcept { size_ = static_cast<std::uint32_t>(n); }

    field* begin() noexcept { return reinterpret_cast<field*>(mem_); }
    field* end() noexcept { return begin() + count_; }
    const field* begin() const noexcept { return reinterpret_cast<const field*>(mem_); }
    const field* end() const noexcept { return begin() + count_; }
    std::size_t count() const noexcept { return count_; }
    std::size_t slots() const noexcept { return slots_; }
    void push_back(field f) {
      if (count_ == slots_) grow_table();
      begin()[count_++] = f;
    }
    void insert(std::size_t at, field f);
    void erase(field* first, field* last) noexcept;

    /// Capacities of at least `text` bytes and `table` fields.
    void reserve(std::size_t text, std::size_t table);
    /// A new block of exactly `text` bytes and `table` fields (at least what is used).
    void reallocate(std::size_t text, std::size_t table);

   private:
    std::size_t table_bytes() const noexcept { return std::size_t{slots_} * sizeof(field); }
    void grow_text(const char* p, std::size_t n);
    void grow_table();
    /// A block of `text` and `table` with this one's contents, then `extra` appended.
    void move_to(std::size_t text, std::size_t table, const char* extra, std::size_t n);
    char* mem_ = nullptr;
    std::uint32_t size_ = 0, cap_ = 0, count_ = 0, slots_ = 0;
  };

  std::string_view text(span s) const noexcept { return {buf_.data() + s.offset, s.length}; }
  span append(std::string_view s);
  field make_field(header_id id, std::string_view name, std::string_view value);
  const field* first_field(header_id id, std::uint16_t& index) const noexcept;
  template <class Request>
  static message respond_to(const Request& request, int code, std::string_view reason,
                            std::string_view to_tag, std::string_view to_value, bool to_has_tag);
  /// make_response: a To header `to_value;tag=tag` built in place.
  void add_to_with_tag(std::string_view to_value, std::string_view tag);
  /// An edit of header `id` (or of the list order of its headers): its typed view goes.
  void forget_typed(header_id id) noexcept;
  bool reserve_typed() const;
  void keep_typed(const message_view& view);
  /// make_response: the Via, From, To and CSeq it copied have the request's typed views
  /// (To with `to_tag` appended when it added one), so the response needs no parse either.
  template <class Request>
  void adopt_typed(const Request& request, std::string_view to_tag);
  template <class View, class Record>
  std::optional<View> typed(header_id id, std::size_t record_offset,
                            parse_error (*parse)(std::string_view, View&)) const;

  // The typed-view record (src/parser/typed_cache.hpp) is appended to buf_ by const
  // accessors, within its capacity: hence mutable.
  mutable storage buf_;
  span method_, uri_, reason_, version_, body_;
  int status_code_ = 0;
  mutable std::uint32_t typed_at_ = k_no_record;  ///< offset of the record in buf_
  span original_;  ///< bytes of the parsed message while unmodified
  bool modified_ = true;
  mutable std::uint8_t typed_ = 0;  ///< detail::typed_bit entries kept, and which hold a value
};

/// Default reason phrase for a status code (RFC 3261 §21), "" for unknown codes.
std::string_view default_reason(int status_code) noexcept;

/// A response to `request` as RFC 3261 §8.2.6 builds it: Via (all), From, To, Call-ID
/// and CSeq copied; a To tag added when `to_tag` is not empty and To has none.
message make_response(const message_view& request, int status_code, std::string_view reason = {},
                      std::string_view to_tag = {});
message make_response(const message& request, int status_code, std::string_view reason = {},
                      std::string_view to_tag = {});

}  // namespace sipkit::parser
