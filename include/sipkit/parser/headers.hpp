// Typed views of the SIP headers the stack reads, and the names it knows.
//
// All views are zero-copy (std::string_view into the parsed buffer, which must outlive
// them) and are filled in the same Ragel pass that validates the message. Header
// parameter lists are kept as their raw, already validated text; `param_list` walks
// them for parameters the typed fields do not cover.
//
// Thread safety: plain values; concurrent reads are safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "sipkit/parser/uri.hpp"

namespace sipkit::parser {

/// The headers the parser recognises by name (long and compact forms, any case).
/// Every other header is `extension`, reachable by name through message_view::find.
enum class header_id : std::uint8_t {
  extension = 0,
  via,                  // v
  from,                 // f
  to,                   // t
  call_id,              // i
  cseq,
  max_forwards,
  content_length,       // l
  content_type,         // c
  contact,              // m
  route,
  record_route,
  expires,
  require,
  supported,            // k
  proxy_require,
  unsupported,
  allow,
  www_authenticate,
  proxy_authenticate,
  authorization,
  proxy_authorization,
  // Recognised for their compact forms (RFC 3261 §20, RFC 3265, 3515, 3892, 4028, 4474);
  // values are kept raw.
  content_encoding,     // e
  subject,              // s
  event,                // o
  allow_events,         // u
  refer_to,             // r
  referred_by,          // b
  session_expires,      // x
  identity,             // y
  count_
};

/// Canonical long name ("Call-ID"); empty for extension.
std::string_view header_name(header_id id) noexcept;
/// Recognise a header name, long or compact, case-insensitive.
header_id lookup_header(std::string_view name) noexcept;
/// RFC 3261 §25.1 token (a header name, method, parameter name): non-empty, token bytes only.
bool is_token(std::string_view text) noexcept;
/// True for headers RFC 3261 allows only once (Call-ID, CSeq, From, To, Max-Forwards,
/// Content-Length, Content-Type, Expires); several of them make a request a 400.
bool is_single_value(header_id id) noexcept;

enum class method : std::uint8_t {
  unknown = 0, invite, ack, bye, cancel, register_, options, info, prack, update,
  subscribe, notify, refer, message, publish
};
/// Method names are case-sensitive (RFC 3261 §7.1); anything else is method::unknown.
method lookup_method(std::string_view name) noexcept;
std::string_view method_name(method m) noexcept;

/// Walks a validated `;name=value;name` parameter list (header or URI parameters),
/// skipping LWS around names, '=' and values. Quoted values keep their quotes.
class param_list {
 public:
  struct param {
    std::string_view name;
    std::string_view value;  ///< empty when the parameter has no '='
    bool has_value = false;
  };
  class iterator;
  explicit param_list(std::string_view raw) noexcept : raw_(raw) {}
  /// Case-insensitive lookup; nullopt when absent.
  std::optional<param> find(std::string_view name) const noexcept;
  /// Calls f(param) for each parameter in order.
  template <class F>
  void for_each(F&& f) const {
    std::size_t pos = 0;
    param p;
    while (next(pos, p)) f(p);
  }
  bool next(std::size_t& pos, param& out) const noexcept;

 private:
  std::string_view raw_;
};

/// One via-parm (RFC 3261 §20.42). A Via header with a comma list yields several.
struct via_view {
  std::string_view raw;               ///< this via-parm
  std::string_view protocol_name;     ///< "SIP"
  std::string_view protocol_version;  ///< "2.0"
  std::string_view transport;         ///< "UDP", "TCP", "TLS", "SCTP", "WS" or any token
  std::string_view host;              ///< sent-by host ("[v6]" with brackets)
  std::string_view params;            ///< raw parameters after the first ';'
  std::string_view branch;
  std::string_view received;
  std::string_view rport;             ///< value of rport; empty when present without value
  std::string_view maddr;
  std::string_view ttl;
  // The small fields last, together: no padding between the views.
  host_kind host_type = host_kind::none;
  bool has_rport = false;
  std::uint16_t port = 0;             ///< 0 when sent-by has no port
  std::uint16_t header_index = 0;     ///< index in message_view::headers()

  /// RFC 3261 §8.1.1.7: branches starting with the magic cookie follow RFC 3261 rules.
  bool has_rfc3261_branch() const noexcept {
    // RFC 4475 §3.2.1: a branch that is only the cookie is treated as RFC 2543 style.
    return branch.size() > 7 && branch.substr(0, 7) == "z9hG4bK";
  }
};

/// name-addr or addr-spec with header parameters: From, To, Contact, Route,
/// Record-Route (one entry per comma-separated value).
struct name_addr_view {
  std::string_view raw;           ///< the whole value including parameters
  std::string_view display_name;  ///< as written: quoted (with quotes) or tokens; may be empty
  uri_view uri;
  std::string_view params;        ///< header parameters without the first ';'
  std::string_view tag;           ///< ;tag= (From/To)
  /// ;expires= (Contact) when it is delta-seconds; empty when absent or not a number.
  std::string_view expires;
  /// ;q= (Contact) when it is a qvalue; empty when absent or not one (a generic parameter
  /// then, still in `params`).
  std::string_view q;
  bool star = false;              ///< Contact: *
  bool angle_brackets = false;    ///< URI was written inside < >
  /// ;expires= is present with a value that is not delta-seconds (an RFC 2543 date, a
  /// token): RFC 3261 §25 reads it as a generic parameter (kept in `params`), and §10.3
  /// step 7 / §20.19 have a registrar take a malformed expiry as 3600 seconds.
  bool expires_not_a_number = false;
  header_id header = header_id::extension;
  std::uint16_t header_index = 0;
};

struct cseq_view {
  std::uint32_t number = 0;       ///< < 2**31 (RFC 3261 §8.1.1.5)
  std::string_view method_text;
  sipkit::parser::method method = method::unknown;
};

/// Credentials or challenge (RFC 3261 §20.7, §20.27, §20.28, §20.44; RFC 7616).
struct auth_view {
  std::string_view scheme;        ///< "Digest" or any other auth-scheme, as written
  std::string_view params;        ///< the raw auth-param list
  // Digest parameters (quoted values keep their quotes; see unquote()).
  std::string_view username, realm, nonce, uri, response, algorithm, cnonce, opaque, qop,
      nc, stale, domain, userhash;
  header_id header = header_id::extension;
  std::uint16_t header_index = 0;
};

struct content_type_view {
  std::string_view type;     ///< "application"
  std::string_view subtype;  ///< "sdp"
  std::string_view params;   ///< raw m-parameters after the first ';'
};

/// Parse one header value on its own (e.g. a value taken from an owning `message`).
/// The whole input must be the value (no name, no CRLF). For Via, `out` is the first
/// via-parm of a comma list; for name_addr, the first value.
/// `options` selects the field tolerances (limits.hpp); all are on by default.
parse_error parse_via(std::string_view value, via_view& out, const parser_limits& limits = {},
                      const parser_options& options = {});
parse_error parse_name_addr(std::string_view value, name_addr_view& out,
                            const parser_limits& limits = {},
                            const parser_options& options = {});
parse_error parse_cseq(std::string_view value, cseq_view& out);
/// One challenge or credentials value (WWW-Authenticate, Proxy-Authenticate, Authorization,
/// Proxy-Authorization: `Digest realm="x", nonce="y", ...`). `out.header` stays
/// `header_id::extension` (the value does not say which header it came from); the views
/// point into `value`.
parse_error parse_auth(std::string_view value, auth_view& out, const parser_limits& limits = {});

/// Strip the quotes of a quoted-string and resolve quoted-pairs into `out`.
/// Returns the input unchanged (no copy) when it is not quoted and has no escapes.
std::string_view unquote(std::string_view quoted, std::string& out);

}  // namespace sipkit::parser
