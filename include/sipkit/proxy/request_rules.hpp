// The per-step rules of a SIP proxy (RFC 3261 §16.3-§16.7, §16.11, RFC 3327) as plain
// functions over parser::message: validation, Route pre-processing, the loop-detection hash,
// the copy-and-edit of a request for one target, the deterministic stateless branch, the
// destination of a response from its Via, and the best-response choice. proxy::core
// (core.hpp) strings them together; each is usable (and tested) on its own.
//
// Lifetime: functions take borrowed messages and return owning values; nothing is kept.
// Thread safety: pure functions, no state.
// Errors: a request that must be refused comes back as the response to send (416, 420,
// 482, 483 ...); nothing throws but bad_alloc.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sipkit/parser/message.hpp"
#include "sipkit/transaction/transport.hpp"

namespace sipkit::proxy {

/// One address this proxy listens on. It is what "this URI is ours" means (§16.4: a Route
/// or Request-URI naming it) and what our Record-Route / Path URIs carry.
struct local_address {
  transaction::transport_protocol protocol = transaction::transport_protocol::udp;
  std::string host;        ///< IP literal or host name as it appears in URIs (IPv6 in [])
  std::uint16_t port = 0;  ///< 0 = the protocol's default (5060, 5061 for TLS/WSS)
};

/// Whether `uri` names one of `locals` (host case-insensitively, port with defaults).
bool is_local_uri(std::string_view uri, std::span<const local_address> locals);

/// The comma-separated entries of every `id` header line, in order (quote- and
/// angle-bracket-aware: a comma inside "..." or <...> does not split).
std::vector<std::string> header_list(const parser::message& msg, parser::header_id id);
/// Replace every `id` header line by one line carrying `entries` joined by ", "
/// (removes the header when `entries` is empty).
void set_header_list(parser::message& msg, parser::header_id id,
                     const std::vector<std::string>& entries);
/// The URI inside a name-addr or addr-spec entry ("<sip:a;lr>;x=y" -> "sip:a;lr").
std::string_view entry_uri(std::string_view entry);

// ---------------------------------------------------------------- §16.3 validation

struct validation_config {
  /// Option tags this proxy supports; any other tag in Proxy-Require gets 420 (§16.3 step 5).
  std::vector<std::string> supported_extensions;
  /// Request-URI schemes other than sip/sips are answered 416 unless listed here ("tel").
  std::vector<std::string> extra_schemes;
  /// §16.3 step 3: an OPTIONS with Max-Forwards 0 addressed to us is answered 200 (with
  /// Allow) instead of 483. Our URIs: `locals`.
  bool answer_options = true;
};

/// §16.3 steps 1-3 and 5: reasonable syntax (400), Request-URI scheme (416), Max-Forwards
/// (483, or 200 for an OPTIONS to us), Proxy-Require (420 with Unsupported). The response
/// to send back, or nullopt when the request may be forwarded. Loop detection (step 4) is
/// find_loop, because it needs the proxy's knowledge of its own branches.
std::optional<parser::message> validate_request(const parser::message& request,
                                                const validation_config& config,
                                                std::span<const local_address> locals);

// ---------------------------------------------------------------- §16.3 step 4, §16.6 step 8

/// The loop-detection part of a branch (§16.6 step 8): a hash of the fields a spiral would
/// change and a loop would not: To tag, From tag, Call-ID, Request-URI, CSeq number,
/// Route, Proxy-Require and Proxy-Authorization, as received (the method is left out, so
/// that a CANCEL or non-2xx ACK hashes like its INVITE). 16 hex digits. Unlike the RFC's
/// "common way" it leaves out the top Via: when a request comes back to us, the top Via is
/// the one of the element that sent it back, so hashing it would make every loop a spiral.
std::string loop_hash(const parser::message& request, std::uint64_t secret = 0);

/// §16.11: the branch of a stateless proxy, computed so that a retransmission (and the
/// CANCEL or non-2xx ACK of the same INVITE) gets the same one: "z9hG4bK" + 16 hex digits
/// of a keyed hash of the received top Via (branch and sent-by; for an RFC 2543 branch
/// also Call-ID, tags, CSeq number and Request-URI, §17.2.3) + "." + loop_hash.
std::string stateless_branch(const parser::message& request, std::uint64_t secret);

/// The loop part of a branch that carries one, or "": "z9hG4bK" + a unique part without
/// '.' + "." + 16 lowercase hex digits (stateless_branch's layout, and the stateful
/// proxy's: the manager's random branch with the suffix "." + loop_hash).
std::string_view branch_loop_part(std::string_view branch);

// ---------------------------------------------------------------- §16.4 Route pre-processing

struct route_preprocessing {
  bool strict_fixup = false;  ///< the Request-URI was ours: taken from the last Route
  int popped = 0;             ///< our own Route entries removed from the top
};

/// §16.4: when the Request-URI is one we placed in a Record-Route (a strict router sent the
/// request to us), replace it by the last Route entry and remove that entry; then remove
/// the top Route entries that name us (one per local address we recorded: a double
/// Record-Route leaves two).
route_preprocessing preprocess_route(parser::message& request,
                                     std::span<const local_address> locals);

// ---------------------------------------------------------------- §16.6 forwarding

/// What to add to one forwarded copy.
struct forward_options {
  /// Record-Route URIs to push (top first): one, or two when the request changes transport
  /// (the outgoing interface on top, the incoming one below it). Empty = none.
  std::vector<std::string> record_route;
  /// RFC 3327: a Path URI to push on a REGISTER (empty = none).
  std::string path;
};

/// §16.6 steps 1-7 on a copy of `request`: the Request-URI set to `target` (step 2),
/// Max-Forwards decremented or set to 70 (step 3), Record-Route pushed (step 4), Path
/// pushed (RFC 3327 §5.2), and a strict next hop handled (step 6: the Request-URI goes to
/// the end of Route and the first Route entry becomes the Request-URI). Our Via (step 8) is
/// added by whoever sends it: the transaction manager, or the stateless path.
parser::message make_forward(const parser::message& request, std::string_view target,
                             const forward_options& options);

/// §16.6 step 4: push Record-Route entries, uris[0] on top.
void add_record_route(parser::message& request, const std::vector<std::string>& uris);
/// RFC 3327 §5.2: push a Path entry on top of those already there (nothing when empty).
void add_path(parser::message& request, std::string_view uri);
/// §18.2.1, RFC 3581 §4: add "received=<source host>" to the top Via when its sent-by
/// differs from the source (or when it asks for rport), and fill in an empty "rport", so
/// that responses forwarded by Via reach the sender.
void stamp_received(parser::message& request, const transaction::endpoint& source);

/// Whether the first Route entry of `request` is a strict router (no ;lr): then
/// make_forward applies §16.6 step 6, and the next hop is the new Request-URI.
bool strict_next_hop(const parser::message& request);

/// The URI the next hop is resolved from (§16.6 step 7): the first Route entry, else the
/// Request-URI; the Request-URI when make_forward moved a strict router into it
/// (`strict`: strict_next_hop of the request before make_forward).
std::string next_hop_uri(const parser::message& forwarded, bool strict);

/// The Record-Route (or Path) URI of a local address: "sip:host:port;transport=tcp;lr"
/// (no transport parameter for UDP).
std::string record_route_uri(const local_address& address);

// ---------------------------------------------------------------- §16.7 responses

/// Remove the top via-parm (ours) from a response (§16.7 step 3).
void pop_via(parser::message& response);

/// Where a response goes by its (new) top Via (§18.2.2, RFC 3581): received/rport when
/// present, else the sent-by with the transport's default port; nullopt without a Via.
std::optional<transaction::endpoint> response_destination(const parser::message& response);

/// §16.7 step 6: the best of the final responses a context collected (non-empty, all
/// >= 300): a 6xx if any, else the lowest class, preferring 401, 407, 415, 420 and 484
/// within 4xx, the lowest code otherwise; a 503 becomes 500 (§16.7 step 6). When the
/// choice is 401 or 407, every WWW-Authenticate and Proxy-Authenticate of all the 401 and
/// 407 responses is copied into it (step 7, merged challenges). The result is a copy.
parser::message choose_best_response(std::span<const parser::message> finals);

}  // namespace sipkit::proxy
