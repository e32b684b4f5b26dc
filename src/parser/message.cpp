#include "sipkit/parser/message.hpp"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "parser/typed_cache.hpp"

namespace sipkit::parser {

// ------------------------------------------------------------------ storage

static_assert(alignof(message::field) <= alignof(std::max_align_t));

message::storage::storage(const storage& other) {
  if (other.mem_ == nullptr) return;
  // At the exact size used: what a kept copy wants.
  const std::size_t table = other.count_ * sizeof(field);
  mem_ = static_cast<char*>(::operator new(table + other.size_));
  if (table != 0) std::memcpy(mem_, other.mem_, table);
  if (other.size_ != 0) std::memcpy(mem_ + table, other.mem_ + other.table_bytes(), other.size_);
  size_ = cap_ = other.size_;
  count_ = slots_ = other.count_;
}

message::storage::storage(storage&& other) noexcept
    : mem_(std::exchange(other.mem_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      cap_(std::exchange(other.cap_, 0)),
      count_(std::exchange(other.count_, 0)),
      slots_(std::exchange(other.slots_, 0)) {}

message::storage& message::storage::operator=(const storage& other) {
  if (this != &other) {
    storage copy(other);
    *this = std::move(copy);
  }
  return *this;
}

message::storage& message::storage::operator=(storage&& other) noexcept {
  if (this != &other) {
    ::operator delete(mem_);
    mem_ = std::exchange(other.mem_, nullptr);
    size_ = std::exchange(other.size_, 0);
    cap_ = std::exchange(other.cap_, 0);
    count_ = std::exchange(other.count_, 0);
    slots_ = std::exchange(other.slots_, 0);
  }
  return *this;
}

message::storage::~storage() { ::operator delete(mem_); }

void message::storage::move_to(std::size_t text, std::size_t table, const char* extra,
                               std::size_t n) {
  // `extra` may point into the old block: copied before the old block is freed.
  char* mem = static_cast<char*>(::operator new(table * sizeof(field) + text));
  char* new_text = mem + table * sizeof(field);
  if (count_ != 0) std::memcpy(mem, mem_, count_ * sizeof(field));
  if (size_ != 0) std::memcpy(new_text, data(), size_);
  if (n != 0) std::memcpy(new_text + size_, extra, n);
  ::operator delete(mem_);
  mem_ = mem;
  size_ = static_cast<std::uint32_t>(size_ + n);
  cap_ = static_cast<std::uint32_t>(text);
  slots_ = static_cast<std::uint32_t>(table);
}

// Growth doubles, from at least this much: a built message's edits add a header at a time.
constexpr std::size_t k_min_text = 128;
constexpr std::size_t k_min_table = 8;

void message::storage::grow_text(const char* p, std::size_t n) {
  const std::size_t grown = std::min<std::size_t>(std::size_t{cap_} * 2, 0xFFFFFFFFu);
  move_to(std::max({size_ + n, grown, k_min_text}), slots_, p, n);
}

void message::storage::append_zeros(std::size_t n) noexcept {
  if (n == 0) return;
  std::memset(data() + size_, 0, n);
  size_ = static_cast<std::uint32_t>(size_ + n);
}

void message::storage::grow_table() {
  move_to(cap_, std::max<std::size_t>(std::size_t{slots_} * 2, k_min_table), nullptr, 0);
}

void message::storage::insert(std::size_t at, field f) {
  if (count_ == slots_) grow_table();
  field* pos = begin() + at;
  std::memmove(pos + 1, pos, (count_ - at) * sizeof(field));
  *pos = f;
  ++count_;
}

void message::storage::erase(field* first, field* last) noexcept {
  const std::size_t tail = static_cast<std::size_t>(end() - last);
  if (first != last && tail != 0) std::memmove(first, last, tail * sizeof(field));
  count_ = static_cast<std::uint32_t>(count_ - (last - first));
}

void message::storage::reserve(std::size_t text, std::size_t table) {
  if (text <= cap_ && table <= slots_) return;
  move_to(std::max<std::size_t>(text, cap_), std::max<std::size_t>(table, slots_), nullptr, 0);
}

void message::storage::reallocate(std::size_t text, std::size_t table) {
  move_to(std::max<std::size_t>(text, size_), std::max<std::size_t>(table, count_), nullptr, 0);
}

// ------------------------------------------------------------------ message

message::span message::append(std::string_view s) {
  if (buf_.size() + s.size() > 0xFFFFFFFFu) throw std::length_error("sipkit message too large");
  span out{static_cast<std::uint32_t>(buf_.size()), static_cast<std::uint32_t>(s.size())};
  buf_.append(s.data(), s.size());
  return out;
}

message::field message::make_field(header_id id, std::string_view name, std::string_view value) {
  field f;
  f.id = id;
  f.name = append(name);
  f.value = append(value);
  return f;
}

// Header table entries a built message reserves: a request or response the stack sends
// has 8 to 14 headers; one allocation instead of the five a growing vector makes.
constexpr std::size_t k_built_fields = 16;

message message::request(std::string_view method, std::string_view request_uri) {
  return request(method, request_uri, 512, k_built_fields);
}

message message::request(std::string_view method, std::string_view request_uri,
                         std::size_t bytes, std::size_t headers) {
  message m;
  const std::size_t line = method.size() + request_uri.size() + 7;
  if (bytes > 0xFFFFFFFFu - line) throw std::length_error("sipkit message too large");
  m.buf_.reallocate(line + bytes, headers);
  m.method_ = m.append(method);
  m.uri_ = m.append(request_uri);
  m.version_ = m.append("SIP/2.0");
  return m;
}

message message::response(int status_code, std::string_view reason) {
  return response(status_code, reason, 512, k_built_fields);
}

message message::response(int status_code, std::string_view reason, std::size_t bytes,
                          std::size_t headers) {
  message m;
  const std::string_view phrase = reason.empty() ? default_reason(status_code) : reason;
  if (bytes > 0xFFFFFFFFu - 7 - phrase.size()) throw std::length_error("sipkit message too large");
  m.buf_.reallocate(7 + phrase.size() + bytes, headers);
  m.version_ = m.append("SIP/2.0");
  m.set_status(status_code, reason);
  return m;
}

message message::from_view(const message_view& view) {
  message m;
  std::string_view bytes = view.bytes();
  // One allocation for the header table, the bytes and the typed-view record behind them.
  m.buf_.reallocate(bytes.size() + sizeof(detail::typed_record), view.headers().size());
  m.buf_.append(bytes.data(), bytes.size());
  auto rel = [&](std::string_view part) {
    if (part.empty()) return span{};
    return span{static_cast<std::uint32_t>(part.data() - bytes.data()),
                static_cast<std::uint32_t>(part.size())};
  };
  m.version_ = rel(view.sip_version());
  if (view.is_request()) {
    m.method_ = rel(view.method_text());
    m.uri_ = rel(view.request_uri().raw);
  } else {
    m.status_code_ = view.status_code();
    m.reason_ = rel(view.reason_phrase());
  }
  for (const auto& h : view.headers()) m.buf_.push_back({h.id, rel(h.name), rel(h.value)});
  m.body_ = rel(view.body());
  m.original_ = span{0, static_cast<std::uint32_t>(bytes.size())};
  m.modified_ = false;
  if (m.reserve_typed()) m.keep_typed(view);
  return m;
}

void message::shrink_to_fit() {
  std::size_t keep = buf_.size();
  if (typed_at_ != k_no_record && typed_at_ + sizeof(detail::typed_record) == buf_.size()) {
    keep = typed_at_;
    typed_at_ = k_no_record;
    typed_ = 0;
  }
  buf_.truncate(keep);
  // One allocation for both, and none when both are exact already.
  if (keep != buf_.capacity() || buf_.count() != buf_.slots()) buf_.reallocate(keep, buf_.count());
}

void message::reserve(std::size_t bytes, std::size_t headers) {
  if (buf_.size() + bytes > 0xFFFFFFFFu || buf_.count() + headers > 0xFFFFFFFFu)
    throw std::length_error("sipkit message too large");
  buf_.reserve(buf_.size() + bytes, buf_.count() + headers);
}

void message::set_request_uri(std::string_view uri) {
  uri_ = append(uri);
  modified_ = true;
}

void message::set_status(int code, std::string_view reason) {
  status_code_ = code;
  reason_ = append(reason.empty() ? default_reason(code) : reason);
  modified_ = true;
}

std::optional<std::string_view> message::get(header_id id) const noexcept {
  for (const auto& f : fields())
    if (f.id == id) return text(f.value);
  return std::nullopt;
}

std::optional<std::string_view> message::get(std::string_view name) const noexcept {
  header_id id = lookup_header(name);
  if (id != header_id::extension) return get(id);
  for (const auto& f : fields())
    if (f.id == header_id::extension && iequals(text(f.name), name)) return text(f.value);
  return std::nullopt;
}

std::size_t message::count(header_id id) const noexcept {
  return static_cast<std::size_t>(
      std::count_if(buf_.begin(), buf_.end(), [&](const field& f) { return f.id == id; }));
}

void message::forget_typed(header_id id) noexcept {
  const std::uint8_t bit = detail::typed_bit_of(id);
  typed_ = static_cast<std::uint8_t>(typed_ & ~(bit | detail::present(bit)));
}

void message::add(header_id id, std::string_view value) {
  forget_typed(id);
  buf_.push_back(make_field(id, header_name(id), value));
  modified_ = true;
}

void message::add_to_with_tag(std::string_view to_value, std::string_view tag) {
  // The three parts appended in place: the value is contiguous in the buffer.
  forget_typed(header_id::to);
  field f;
  f.id = header_id::to;
  f.name = append(header_name(header_id::to));
  f.value = append(to_value);
  f.value.length += append(";tag=").length;
  f.value.length += append(tag).length;
  buf_.push_back(f);
  modified_ = true;
}

void message::add(std::string_view name, std::string_view value) {
  header_id id = lookup_header(name);
  forget_typed(id);
  buf_.push_back(make_field(id, id == header_id::extension ? name : header_name(id), value));
  modified_ = true;
}

void message::push_front(header_id id, std::string_view value) {
  forget_typed(id);
  const auto at = static_cast<std::size_t>(
      std::find_if(buf_.begin(), buf_.end(), [&](const field& f) { return f.id == id; }) -
      buf_.begin());
  // The text first: appending may move the block, and the table with it.
  const field f = make_field(id, header_name(id), value);
  buf_.insert(at, f);
  modified_ = true;
}

void message::set(header_id id, std::string_view value) {
  forget_typed(id);
  const auto at = static_cast<std::size_t>(
      std::find_if(buf_.begin(), buf_.end(), [&](const field& f) { return f.id == id; }) -
      buf_.begin());
  if (at == buf_.count()) {
    add(id, value);
    return;
  }
  const span v = append(value);  // may move the block: the entry is found again after it
  field* it = buf_.begin() + at;
  it->value = v;
  buf_.erase(std::remove_if(it + 1, buf_.end(), [&](const field& f) { return f.id == id; }),
             buf_.end());
  modified_ = true;
}

void message::set(std::string_view name, std::string_view value) {
  header_id id = lookup_header(name);
  if (id != header_id::extension) return set(id, value);
  remove(name);
  add(name, value);
}

std::size_t message::remove(header_id id) {
  forget_typed(id);
  auto before = buf_.count();
  buf_.erase(std::remove_if(buf_.begin(), buf_.end(),
                               [&](const field& f) { return f.id == id; }),
                buf_.end());
  modified_ = modified_ || before != buf_.count();
  return before - buf_.count();
}

std::size_t message::remove(std::string_view name) {
  header_id id = lookup_header(name);
  if (id != header_id::extension) return remove(id);
  auto before = buf_.count();
  buf_.erase(std::remove_if(buf_.begin(), buf_.end(),
                               [&](const field& f) {
                                 return f.id == header_id::extension && iequals(text(f.name), name);
                               }),
                buf_.end());
  modified_ = modified_ || before != buf_.count();
  return before - buf_.count();
}

bool message::remove_first(header_id id) {
  forget_typed(id);
  auto it = std::find_if(buf_.begin(), buf_.end(), [&](const field& f) { return f.id == id; });
  if (it == buf_.end()) return false;
  buf_.erase(it, it + 1);
  modified_ = true;
  return true;
}

void message::set_body(std::string_view body, std::string_view content_type) {
  body_ = append(body);
  if (!content_type.empty()) set(header_id::content_type, content_type);
  modified_ = true;
}

const message::field* message::first_field(header_id id, std::uint16_t& index) const noexcept {
  const field* fields = buf_.begin();
  for (std::size_t i = 0; i < buf_.count(); ++i)
    if (fields[i].id == id) {
      index = static_cast<std::uint16_t>(i < 0xFFFF ? i : 0xFFFF);
      return &fields[i];
    }
  return nullptr;
}

bool message::reserve_typed() const {
  if (typed_at_ != k_no_record) return true;
  // Only into spare capacity: a const accessor must not move the buffer under the views
  // it handed out before. A message copied at its exact size parses on each call instead.
  if (buf_.capacity() - buf_.size() < sizeof(detail::typed_record) ||
      buf_.size() + sizeof(detail::typed_record) > 0xFFFFFFFEu)
    return false;
  typed_at_ = static_cast<std::uint32_t>(buf_.size());
  buf_.append_zeros(sizeof(detail::typed_record));
  return true;
}

template <class View, class Record>
std::optional<View> message::typed(header_id id, std::size_t record_offset,
                                   parse_error (*parse)(std::string_view, View&)) const {
  const std::uint8_t bit = detail::typed_bit_of(id);
  std::uint16_t index = 0;
  const field* f = first_field(id, index);
  if (f == nullptr) return std::nullopt;
  const std::string_view value = text(f->value);
  View out;
  if ((typed_ & bit) != 0) {
    if ((typed_ & detail::present(bit)) == 0) return std::nullopt;
    Record r;
    std::memcpy(&r, buf_.data() + typed_at_ + record_offset, sizeof r);
    detail::decode(r, value, out);
  } else {
    const bool ok = !parse(value, out);
    Record r{};
    if (reserve_typed() && (!ok || detail::encode(out, value, r))) {
      if (ok) std::memcpy(buf_.data() + typed_at_ + record_offset, &r, sizeof r);
      typed_ = static_cast<std::uint8_t>(typed_ | bit | (ok ? detail::present(bit) : 0));
    }
    if (!ok) return std::nullopt;
  }
  if constexpr (std::is_same_v<View, name_addr_view>) out.header = id;
  if constexpr (!std::is_same_v<View, cseq_view>) out.header_index = index;
  return out;
}

namespace {
parse_error parse_via_default(std::string_view v, via_view& out) { return parse_via(v, out); }
parse_error parse_addr_default(std::string_view v, name_addr_view& out) {
  return parse_name_addr(v, out);
}
}  // namespace

std::optional<via_view> message::top_via() const {
  return typed<via_view, detail::via_record>(header_id::via, offsetof(detail::typed_record, via),
                                             parse_via_default);
}

std::optional<name_addr_view> message::from() const {
  return typed<name_addr_view, detail::addr_record>(
      header_id::from, offsetof(detail::typed_record, from), parse_addr_default);
}

std::optional<name_addr_view> message::to() const {
  return typed<name_addr_view, detail::addr_record>(
      header_id::to, offsetof(detail::typed_record, to), parse_addr_default);
}

std::optional<cseq_view> message::cseq() const {
  return typed<cseq_view, detail::cseq_record>(header_id::cseq,
                                               offsetof(detail::typed_record, cseq), parse_cseq);
}

void message::keep_typed(const message_view& view) {
  // The views the parse already made, moved into the record: no grammar run later.
  const auto keep = [&](header_id id, std::size_t record_offset, const auto* typed,
                        auto record) {
    const std::uint8_t bit = detail::typed_bit_of(id);
    std::uint16_t index = 0;
    const field* f = first_field(id, index);
    if (f == nullptr) {
      typed_ = static_cast<std::uint8_t>(typed_ | bit);  // absent: "no value", known
      return;
    }
    if (typed == nullptr) return;  // left to the accessor (cannot happen after a parse)
    // The typed views point into the view's bytes; the field is the view's header at the
    // same index, so its value there is the base the offsets are taken from.
    if (!detail::encode(*typed, view.headers()[index].value, record)) return;
    std::memcpy(buf_.data() + typed_at_ + record_offset, &record, sizeof record);
    typed_ = static_cast<std::uint8_t>(typed_ | bit | detail::present(bit));
  };
  keep(header_id::via, offsetof(detail::typed_record, via), view.top_via(), detail::via_record{});
  keep(header_id::from, offsetof(detail::typed_record, from), view.from(),
       detail::addr_record{});
  keep(header_id::to, offsetof(detail::typed_record, to), view.to(), detail::addr_record{});
  keep(header_id::cseq, offsetof(detail::typed_record, cseq), view.cseq(), detail::cseq_record{});
}

std::string_view message::call_id() const noexcept { return get(header_id::call_id).value_or(""); }

std::string message::serialize() const {
  std::string out;
  serialize_to(out);
  return out;
}

void message::serialize_to(std::string& out) const {
  if (!modified_) {
    out.append(text(original_));
    return;
  }
  std::size_t estimate = 64 + body_.length;
  for (const auto& f : fields()) estimate += f.name.length + f.value.length + 4;
  out.reserve(out.size() + estimate);
  if (is_request()) {
    out.append(text(method_)).append(" ").append(text(uri_)).append(" SIP/2.0\r\n");
  } else {
    char code[4];
    auto r = std::to_chars(code, code + sizeof code, status_code_);
    out.append("SIP/2.0 ").append(code, r.ptr).append(" ").append(text(reason_)).append("\r\n");
  }
  for (const auto& f : fields()) {
    if (f.id == header_id::content_length) continue;
    std::string_view name = f.id == header_id::extension ? text(f.name) : header_name(f.id);
    out.append(name).append(": ").append(text(f.value)).append("\r\n");
  }
  char len[24];
  auto r = std::to_chars(len, len + sizeof len, body_.length);
  out.append("Content-Length: ").append(len, r.ptr).append("\r\n\r\n");
  out.append(text(body_));
}

std::string_view default_reason(int code) noexcept {
  switch (code) {
    case 100: return "Trying";
    case 180: return "Ringing";
    case 181: return "Call Is Being Forwarded";
    case 182: return "Queued";
    case 183: return "Session Progress";
    case 199: return "Early Dialog Terminated";
    case 200: return "OK";
    case 202: return "Accepted";
    case 204: return "No Notification";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Moved Temporarily";
    case 305: return "Use Proxy";
    case 380: return "Alternative Service";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Unsupported URI Scheme";
    case 420: return "Bad Extension";
    case 421: return "Extension Required";
    case 422: return "Session Interval Too Small";
    case 423: return "Interval Too Brief";
    case 480: return "Temporarily Unavailable";
    case 481: return "Call/Transaction Does Not Exist";
    case 482: return "Loop Detected";
    case 483: return "Too Many Hops";
    case 484: return "Address Incomplete";
    case 485: return "Ambiguous";
    case 486: return "Busy Here";
    case 487: return "Request Terminated";
    case 488: return "Not Acceptable Here";
    case 489: return "Bad Event";
    case 491: return "Request Pending";
    case 493: return "Undecipherable";
    case 500: return "Server Internal Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Server Time-out";
    case 505: return "Version Not Supported";
    case 513: return "Message Too Large";
    case 600: return "Busy Everywhere";
    case 603: return "Decline";
    case 604: return "Does Not Exist Anywhere";
    case 606: return "Not Acceptable";
    default: return "";
  }
}

template <class Request>
message message::respond_to(const Request& req, int code, std::string_view reason,
                            std::string_view to_tag, std::string_view to_value, bool to_has_tag) {
  // Sized once: the copied headers, the To tag, the typed-view record adopt_typed writes,
  // and the room a built message reserves for what the TU adds (Contact, a body ...).
  std::size_t bytes = 512 + sizeof(detail::typed_record) + 5 + to_tag.size() + to_value.size();
  std::size_t headers = k_built_fields;
  const auto counted = [](header_id id) {
    return id == header_id::via || id == header_id::from || id == header_id::call_id ||
           id == header_id::cseq;
  };
  if constexpr (std::is_same_v<Request, message_view>) {
    for (const auto& h : req.headers())
      if (counted(h.id)) bytes += header_name(h.id).size() + h.value.size(), ++headers;
  } else {
    for (const auto& f : req.fields())
      if (counted(f.id)) bytes += header_name(f.id).size() + f.value.length, ++headers;
  }
  message rsp;
  rsp.buf_.reserve(bytes, headers);
  rsp.version_ = rsp.append("SIP/2.0");
  rsp.set_status(code, reason);
  auto copy = [&](header_id id) {
    if constexpr (std::is_same_v<Request, message_view>) {
      for (const auto& h : req.headers())
        if (h.id == id) rsp.add(id, h.value);
    } else {
      for (const auto& f : req.fields())
        if (f.id == id) rsp.add(id, req.value_of(f));
    }
  };
  copy(header_id::via);
  copy(header_id::from);
  if (!to_value.empty()) {
    if (!to_tag.empty() && !to_has_tag) {
      rsp.add_to_with_tag(to_value, to_tag);
    } else {
      rsp.add(header_id::to, to_value);
    }
  }
  copy(header_id::call_id);
  copy(header_id::cseq);
  return rsp;
}


// One typed entry of a request, read from a message's record or encoded from a view.
template <class Record>
struct request_entry {
  bool known = false;    // false: leave the response's entry to its accessor
  bool present = false;  // known: the header has a typed value (else absent/invalid)
  Record record{};
};

template <class Record, class View>
request_entry<Record> entry_of_view(const message_view& request, header_id id, const View* typed) {
  request_entry<Record> e;
  const header_field_view* h = request.find(id);
  if (h == nullptr) {
    e.known = true;
    return e;
  }
  if (typed == nullptr) return e;
  e.known = e.present = detail::encode(*typed, h->value, e.record);
  return e;
}

template <class Request>
void message::adopt_typed(const Request& request, std::string_view to_tag) {
  if (!reserve_typed()) return;
  const auto put = [&](header_id id, std::size_t record_offset, const auto& e) {
    if (!e.known) return;
    const std::uint8_t bit = detail::typed_bit_of(id);
    if (e.present) std::memcpy(buf_.data() + typed_at_ + record_offset, &e.record, sizeof e.record);
    typed_ = static_cast<std::uint8_t>(typed_ | bit | (e.present ? detail::present(bit) : 0));
  };
  request_entry<detail::via_record> via;
  request_entry<detail::addr_record> from, to;
  request_entry<detail::cseq_record> cseq;
  if constexpr (std::is_same_v<Request, message_view>) {
    via = entry_of_view<detail::via_record>(request, header_id::via, request.top_via());
    from = entry_of_view<detail::addr_record>(request, header_id::from, request.from());
    to = entry_of_view<detail::addr_record>(request, header_id::to, request.to());
    cseq = entry_of_view<detail::cseq_record>(request, header_id::cseq, request.cseq());
  } else {
    const auto read = [&](header_id id, std::size_t record_offset, auto& e) {
      const std::uint8_t bit = detail::typed_bit_of(id);
      if ((request.typed_ & bit) == 0) return;
      e.known = true;
      e.present = (request.typed_ & detail::present(bit)) != 0;
      if (e.present)
        std::memcpy(&e.record, request.buf_.data() + request.typed_at_ + record_offset,
                    sizeof e.record);
    };
    read(header_id::via, offsetof(detail::typed_record, via), via);
    read(header_id::from, offsetof(detail::typed_record, from), from);
    read(header_id::to, offsetof(detail::typed_record, to), to);
    read(header_id::cseq, offsetof(detail::typed_record, cseq), cseq);
  }
  if (!to_tag.empty() && !to.present) to.known = false;  // what did not parse, the accessor says
  if (!to_tag.empty() && to.known) {
    // The To value is the request's followed by ";tag=" and the tag: the same views, with
    // raw and the header parameters reaching to the new end, and the tag at the end.
    const std::size_t added = 5 + to_tag.size();
    const std::size_t size = get(header_id::to).value_or("").size();
    auto& r = to.record;
    if (size < added || size >= 0xFFFF || r.raw.off != 0 || r.raw.len != size - added) {
      to.known = false;
    } else {
      const auto end = static_cast<std::uint16_t>(size);
      r.raw.len = end;
      if (r.params.off == 0xFFFF) r.params.off = static_cast<std::uint16_t>(size - added + 1);
      r.params.len = static_cast<std::uint16_t>(end - r.params.off);
      r.tag = {static_cast<std::uint16_t>(size - to_tag.size()),
               static_cast<std::uint16_t>(to_tag.size())};
    }
  }
  put(header_id::via, offsetof(detail::typed_record, via), via);
  put(header_id::from, offsetof(detail::typed_record, from), from);
  put(header_id::to, offsetof(detail::typed_record, to), to);
  put(header_id::cseq, offsetof(detail::typed_record, cseq), cseq);
}

message make_response(const message_view& request, int code, std::string_view reason,
                      std::string_view to_tag) {
  const auto* to = request.find(header_id::to);
  bool has_tag = request.to() != nullptr && !request.to()->tag.empty();
  message rsp =
      message::respond_to(request, code, reason, to_tag, to ? to->value : std::string_view{}, has_tag);
  rsp.adopt_typed(request, to != nullptr && !has_tag ? to_tag : std::string_view{});
  return rsp;
}

message make_response(const message& request, int code, std::string_view reason,
                      std::string_view to_tag) {
  auto to = request.to();
  auto to_value = request.get(header_id::to).value_or("");
  const bool has_tag = to && !to->tag.empty();
  message rsp = message::respond_to(request, code, reason, to_tag, to_value, has_tag);
  rsp.adopt_typed(request, !to_value.empty() && !has_tag ? to_tag : std::string_view{});
  return rsp;
}

}  // namespace sipkit::parser
