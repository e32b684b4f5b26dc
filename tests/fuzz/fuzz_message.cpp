// libFuzzer target for the SIP message parser and the owning message (sipkit::parser).
//
// Any input: parse_message() in datagram and in stream framing, and the standalone header
// parsers, must not crash, read out of bounds or overflow (ASan/UBSan catch that).
// Accepted input, these properties must hold, or the target traps so libFuzzer keeps it:
//  1. stream framing is stricter than datagram framing: what it accepts, the datagram
//     parse accepts too, with the same message bytes and body;
//  2. message::from_view() serializes to exactly view.bytes() while unmodified, and its
//     typed accessors (parsed again from the stored text) agree with the view;
//  3. a modified copy (Max-Forwards set to 70) serializes in canonical form; that text
//     parses in both framings and keeps the start line, every header value in order,
//     Call-ID, CSeq, tags, Via branches and the body; Content-Length is the body size;
//  4. canonicalizing the re-parsed text again gives the same bytes (a fixed point);
//  5. the tolerances only widen: what parser_options::strict() accepts, the default
//     options accept too, with the same message bytes, headers and addresses.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sipkit/parser/headers.hpp"
#include "sipkit/parser/message.hpp"
#include "sipkit/parser/message_view.hpp"

namespace sp = sipkit::parser;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool same_address(const sp::name_addr_view* a, const sp::name_addr_view* b) {
  if (a == nullptr || b == nullptr) return a == b;
  return a->display_name == b->display_name && a->uri.raw == b->uri.raw && a->tag == b->tag &&
         a->params == b->params && a->star == b->star;
}

// Property 2: the owning accessors re-parse the stored header text on their own.
void check_owning_accessors(const sp::message_view& view, const sp::message& msg) {
  if (const sp::via_view* v = view.top_via()) {
    auto mv = msg.top_via();
    check(mv.has_value());
    check(mv->branch == v->branch && mv->host == v->host && mv->port == v->port &&
          mv->transport == v->transport && mv->has_rport == v->has_rport);
  }
  if (const sp::name_addr_view* f = view.from()) {
    auto mf = msg.from();
    check(mf.has_value());
    check(same_address(&*mf, f));
  }
  if (const sp::name_addr_view* t = view.to()) {
    auto mt = msg.to();
    check(mt.has_value());
    check(same_address(&*mt, t));
  }
  if (const sp::cseq_view* c = view.cseq()) {
    auto mc = msg.cseq();
    check(mc.has_value());
    check(mc->number == c->number && mc->method_text == c->method_text &&
          mc->method == c->method);
  }
  if (view.find(sp::header_id::call_id) != nullptr) check(msg.call_id() == view.call_id());
  check(msg.body() == view.body());
  check(msg.fields().size() == view.headers().size());
}

bool skipped_in_canonical(sp::header_id id) {
  return id == sp::header_id::content_length || id == sp::header_id::max_forwards;
}

// Property 3: the canonical re-serialization keeps everything but the edited header and
// Content-Length, which it recomputes.
void check_canonical(const sp::message_view& a, const sp::message_view& b) {
  check(a.is_request() == b.is_request());
  if (a.is_request()) {
    check(a.method_text() == b.method_text());
    check(a.method() == b.method());
    check(a.request_uri().raw == b.request_uri().raw);
    check(b.sip_version() == "SIP/2.0");
  } else {
    check(a.status_code() == b.status_code());
    check(a.reason_phrase() == b.reason_phrase());
  }
  check(a.call_id() == b.call_id());
  check((a.cseq() == nullptr) == (b.cseq() == nullptr));
  if (a.cseq() != nullptr)
    check(a.cseq()->number == b.cseq()->number && a.cseq()->method_text == b.cseq()->method_text);
  check(same_address(a.from(), b.from()));
  check(same_address(a.to(), b.to()));
  check(a.vias().size() == b.vias().size());
  for (std::size_t i = 0; i < a.vias().size(); ++i)
    check(a.vias()[i].branch == b.vias()[i].branch && a.vias()[i].host == b.vias()[i].host);
  check(a.addresses().size() == b.addresses().size());
  for (std::size_t i = 0; i < a.addresses().size(); ++i)
    check(same_address(&a.addresses()[i], &b.addresses()[i]));
  check(a.auths().size() == b.auths().size());
  check(a.body() == b.body());
  check(b.max_forwards() == 70u);
  check(b.content_length() == b.body().size());
  check(b.count(sp::header_id::content_length) == 1);

  // Every other header line, in order, same id and value; extension names as written.
  std::size_t j = 0;
  const auto bh = b.headers();
  for (const auto& h : a.headers()) {
    if (skipped_in_canonical(h.id)) continue;
    while (j < bh.size() && skipped_in_canonical(bh[j].id)) ++j;
    check(j < bh.size());
    check(bh[j].id == h.id && bh[j].value == h.value);
    if (h.id == sp::header_id::extension) check(bh[j].name == h.name);
    else check(bh[j].name == sp::header_name(h.id));
    ++j;
  }
  while (j < bh.size() && skipped_in_canonical(bh[j].id)) ++j;
  check(j == bh.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // A message_view is tens of KiB: keep them out of the fuzzer's stack frames.
  static sp::message_view view, stream_view, again, again_stream, strict_view;

  // Standalone header-value entry points (used by the owning message's accessors).
  {
    sp::via_view via;
    sp::name_addr_view addr;
    sp::cseq_view cseq;
    const bool via_ok = !sp::parse_via(input, via);
    const bool addr_ok = !sp::parse_name_addr(input, addr);
    (void)sp::parse_cseq(input, cseq);
    // Property 5 for the single values.
    const auto strict = sp::parser_options::strict();
    if (!sp::parse_via(input, via, {}, strict)) check(via_ok);
    if (!sp::parse_name_addr(input, addr, {}, strict)) check(addr_ok);
  }

  const bool stream_ok = !sp::parse_message(input, stream_view, {}, sp::framing::stream);
  const bool datagram_ok = !sp::parse_message(input, view, {}, sp::framing::datagram);
  // Property 1.
  if (stream_ok) {
    check(datagram_ok);
    check(stream_view.bytes() == view.bytes());
    check(stream_view.body() == view.body());
  }
  // Property 5.
  if (!sp::parse_message(input, strict_view, {}, sp::framing::datagram,
                         sp::parser_options::strict())) {
    check(datagram_ok);
    check(strict_view.bytes() == view.bytes() && strict_view.body() == view.body());
    check(strict_view.headers().size() == view.headers().size());
    check(strict_view.addresses().size() == view.addresses().size());
    for (std::size_t i = 0; i < view.addresses().size(); ++i)
      check(same_address(&strict_view.addresses()[i], &view.addresses()[i]));
  }
  if (!datagram_ok) return 0;
  check(view.bytes().data() == input.data() && view.bytes().size() <= input.size());

  // Property 2.
  sp::message msg = sp::message::from_view(view);
  check(!msg.modified());
  check(msg.serialize() == view.bytes());
  check_owning_accessors(view, msg);

  // Property 3.
  msg.set(sp::header_id::max_forwards, "70");
  check(msg.modified());
  const std::string canonical = msg.serialize();

  // The canonical form is longer (long header names, ": ") and may add two header lines
  // (Max-Forwards, Content-Length); only the fixed header table may legitimately overflow.
  sp::parser_limits relaxed;
  relaxed.max_message_size = canonical.size();
  relaxed.max_line_length = canonical.size();
  relaxed.max_uri_length = canonical.size();
  relaxed.max_body_size = canonical.size();
  relaxed.max_headers = sp::message_view::header_capacity;
  auto err = sp::parse_message(canonical, again, relaxed, sp::framing::datagram);
  if (err.code == sp::errc::too_many_headers &&
      view.headers().size() + 2 > sp::message_view::header_capacity)
    return 0;
  check(!err);
  check(again.bytes().size() == canonical.size());
  check_canonical(view, again);
  check(!sp::parse_message(canonical, again_stream, relaxed, sp::framing::stream));
  check(again_stream.bytes() == again.bytes());

  // Property 4.
  sp::message second = sp::message::from_view(again);
  second.set(sp::header_id::max_forwards, "70");
  check(second.serialize() == canonical);
  return 0;
}
