// Private: the state the Ragel actions of grammar/sip_message.rl write into.
//
// Actions only record positions; these helpers hand out the slots they write to, so the
// same actions serve a whole message (tables inside message_view) and the stand-alone
// entry points (one caller-owned value, further values go to a scratch slot).
#pragma once

#include <cstdint>
#include <new>
#include <string_view>
#include <type_traits>

#include "sipkit/parser/message_view.hpp"

namespace sipkit::parser {

struct message_parser_access;

// Puts a view slot back to its defaults in place. `slot = T{}` makes GCC zero a temporary
// on the stack and copy it with rep movs, which cost more than parsing the header it is
// for; default-initialising in place is a run of plain stores (every member of the views
// has an initializer).
template <class T>
[[gnu::always_inline]] inline T* reset_slot(T& slot) noexcept {
  static_assert(std::is_trivially_destructible_v<T>);
  return ::new (static_cast<void*>(&slot)) T;
}

// Values the stand-alone entry points parse beyond the first, and the typed value of a
// repeated From/To. Left uninitialised: every use goes through reset_slot first, and
// parse_message would otherwise zero about a kilobyte it almost never touches.
struct scratch_slots {
  union {
    via_view via;
  };
  union {
    name_addr_view addr;
  };
  union {
    auth_view auth;
  };
  scratch_slots() noexcept {}
};

// Which typed field of name_addr_view a header parameter's value goes to.
enum class addr_param_kind : std::uint8_t { other, expires, q };

struct parse_state {
  const char* base = nullptr;
  const parser_limits* limits = nullptr;
  message_view* msg = nullptr;  // null for the stand-alone entry points

  // Current targets of the actions.
  uri_view* uri = nullptr;
  via_view* via = nullptr;
  name_addr_view* addr = nullptr;
  auth_view* auth = nullptr;
  header_field_view* header = nullptr;
  header_id header_kind = header_id::extension;
  bool duplicate = false;  // second line of a single-value header: typed slot already filled

  // Stand-alone outputs and scratch slots.
  via_view* via_out = nullptr;
  name_addr_view* addr_out = nullptr;
  uri_view* uri_out = nullptr;
  cseq_view* cseq_out = nullptr;
  auth_view* auth_out = nullptr;
  std::size_t standalone_values = 0;
  scratch_slots scratch;

  // Marks.
  const char* mark = nullptr;
  const char* value_mark = nullptr;
  const char* name_start = nullptr;
  const char* name_end = nullptr;
  const char* uri_start = nullptr;
  const char* user_start = nullptr;
  const char* user_colon = nullptr;
  const char* host_start = nullptr;
  const char* params_start = nullptr;
  const char* params_end = nullptr;
  const char* item_start = nullptr;
  const char* dn_start = nullptr;
  const char* dn_end = nullptr;
  const char* cseq_number_start = nullptr;
  const char* cseq_number_end = nullptr;
  host_kind pending_host_kind = host_kind::none;
  addr_param_kind addr_param = addr_param_kind::other;
  // First port above 65535 in the message (sticky), and the one of the URI being read
  // (voided when '@' shows the digits were a password).
  const char* port_overflow_at = nullptr;
  const char* uri_port_overflow_at = nullptr;
  void note_port_overflow(const char* at) {
    if (port_overflow_at == nullptr) port_overflow_at = at;
  }
  // IP literals (ip_literal.cpp): the first one that is not RFC 3986's form (sticky), and
  // the first three-colon IPv6 reference (parser_options::ipv6_three_colons).
  const char* v6_start = nullptr;
  const char* bad_ip_at = nullptr;
  const char* three_colon_at = nullptr;
  void check_ipv6(const char* open, const char* close);      // '[' and ']'
  void check_ip_address(const char* from, const char* to);  // Via received, no brackets
  bool headers_complete = false;
  std::uint64_t seen_headers = 0;  // bit per header_id: single-value duplicates

  // Error reporting.
  const char* context = "start line";
  errc limit_error = errc::ok;
  const char* limit_reason = nullptr;
  const char* limit_at = nullptr;

  // always_inline: GCC gives up inlining into the huge generated machine function, and a
  // call per recorded span costs more than the span itself.
  [[gnu::always_inline]] std::string_view span(const char* from, const char* to) const noexcept {
    if (from == nullptr || to == nullptr || to < from) return {};
    return {from, static_cast<std::size_t>(to - from)};
  }

  // Slot allocation (defined in message_view.cpp). They return false/nullptr when a
  // table is full; the limit error is then recorded and the action stops the machine.
  bool open_header(header_id id, const char* colon);
  via_view* next_via();
  name_addr_view* next_addr();
  auth_view* next_auth();

  // Start-line and single-value targets (message entry point only).
  void msg_method(std::string_view text);
  uri_view* msg_request_uri();
  void msg_version(std::string_view text);
  void msg_status(std::string_view text);
  void msg_reason(std::string_view text);
  void msg_call_id(std::string_view text);
  cseq_view* msg_cseq();
  content_type_view& msg_ctype();
  content_type_view ctype_scratch;
  void fail_limit(errc code, const char* reason, const char* at) {
    if (limit_error == errc::ok) {
      limit_error = code;
      limit_reason = reason;
      limit_at = at;
    }
  }
};

/// Runs the Ragel machine from the given entry point over [p, pe). Returns the position
/// where it stopped and whether it ended in an accepting state.
struct machine_result {
  const char* stop = nullptr;
  bool accepted = false;
  bool error = false;
};

enum class entry_point { message, uri, via, name_addr, cseq, auth };
machine_result run_sip_machine(entry_point entry, parse_state& st, const char* p, const char* pe);

// Runs of the grammar on this thread (grammar_runs(), message_view.hpp). A thread_local
// increment per run: a few cycles against a parse's hundreds of nanoseconds, and no
// synchronisation between the threads that parse.
extern constinit thread_local std::uint64_t t_grammar_runs;
[[gnu::always_inline]] inline void count_grammar_run() noexcept { ++t_grammar_runs; }

}  // namespace sipkit::parser
