// What the application puts into the messages the UA sends: one plain struct per
// operation, every field defaulted, so `make_call(uri)` and `make_call(uri, {...})` both
// read naturally and today's calls compile unchanged.
//
//   sipkit::ua::call_options o;
//   o.sdp = my_media_engine_offer;                        // instead of ua_config::media
//   o.headers = {{"X-Account", "42"}, {"P-Preferred-Identity", "<sip:a@example.com>"}};
//   o.subject = "support call";
//   auto c = agent.make_call("sip:bob@192.0.2.7", std::move(o));
//
//   agent.on_incoming_call([](sipkit::ua::call c) {
//     auto subject = c.invite().get("Subject");              // the INVITE, readable
//     c.ring({.code = 183, .sdp = early_media});
//     c.answer({.sdp = my_answer, .headers = {{"X-Media-Server", "ms-7"}}});
//   });                                                      // or c.reject({.code = 603})
//
// Designated initialisers work without a warning (also under -Wall -Wextra -Werror): the
// structs have no base class. The fields every one of them shares (headers, content_type,
// body: the message_options fields) are declared once, below, and written into each struct
// as its own last members, so they come after the struct's own fields in a designated
// list: `{.code = 486, .reason = "SIP;cause=600", .headers = {{"X-Why", "busy"}}}`.
// Setting fields by name (`o.sdp = ...;`) works as before.
//
// The rule for those shared fields is the same for every operation:
//   - a header name must be a token (RFC 3261 §25.1) and must not be one the stack writes
//     itself for that message (Via, From, To, Call-ID, CSeq, Max-Forwards, Route,
//     Content-Type, Content-Length; plus Contact, RSeq, RAck in a call's messages);
//   - no value (a header's, the Subject, a reason, a display name) may hold CR or LF;
//   - otherwise the operation fails with std::errc::invalid_argument and sends nothing.
// Headers are written after the stack's own, in the order given, names as given.
// Where an operation takes an SDP (`sdp`), it is sent as given with Content-Type
// application/sdp and takes part in offer/answer (RFC 3264) exactly as the stack's own
// would; `body`/`content_type` are for other payloads (INFO, MESSAGE, a multipart INVITE).
// When both are set, `sdp` wins for offer/answer operations.
//
// Ownership: plain values; the operation copies or moves what it needs. Thread safety:
// none needed (values). Nothing here does I/O.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sipkit/sdp/session.hpp"
#include "sipkit/ua/digest.hpp"

namespace sipkit::ua {

/// Header lines (name, value) an application adds to a message, in order.
using header_list = std::vector<std::pair<std::string, std::string>>;

// The fields every options struct shares, in one definition. A macro rather than a base
// class: g++ -Wextra warns (missing-field-initializers) on `ring_options{.code = 183}` when
// ring_options has a base, since a base cannot be named in a designated initialiser.
// Undefined at the end of this file.
#define SIPKIT_UA_MESSAGE_FIELDS                                                          \
  /* Extra header lines, after the stack's own (see the rule at the top of this file). */ \
  header_list headers{};                                                                  \
  /* A body and its Content-Type: both or neither (a body without a type is refused). */  \
  std::string content_type{};                                                             \
  std::string body{}

/// What every operation's options have (and all INFO / MESSAGE / in-dialog requests take):
/// extra headers, a body and its Content-Type.
struct message_options {
  SIPKIT_UA_MESSAGE_FIELDS;
};

/// make_call: the INVITE and the call's identity.
struct call_options {
  /// The SDP offer the application built (its ports, ICE candidates, a=crypto ...),
  /// instead of one made from ua_config::media. Empty: ua_config::media's (if any).
  std::string sdp{};
  /// Delayed offer (RFC 3261 §13.2.1, RFC 3264 §4): the INVITE has no SDP; the peer
  /// offers in its 2xx and our answer goes in the ACK, or in a reliable 18x and our answer
  /// goes in its PRACK (RFC 3262 §5; each fork that offers so is answered in its own early
  /// dialog's PRACK). The answer comes from `answer_offer` or, without it, from
  /// ua_config::media. `sdp` and `body` are then ignored.
  bool delayed_offer = false;
  /// Delayed offer only: our answer to an offer (in the 2xx, or in a reliable 18x, once per
  /// fork that offers); it gets the peer's SDP. Return "" to answer from ua_config::media.
  /// Runs on the agent's thread.
  std::function<std::string(std::string_view offer)> answer_offer{};
  /// From URI and display name of this call ("sip:alice@example.com", "Alice");
  /// empty: ua_config's user, domain and display_name. The From tag is the stack's.
  std::string from_uri{};
  std::string display_name{};
  /// Credentials for this call's 401/407 challenges, tried before ua_config::credentials.
  std::vector<ua::credentials> credentials{};
  /// A pre-loaded route set (RFC 3261 §8.1.2): Route header values in order, each a URI
  /// ("sip:p1.example.com;lr"); the request goes to the first. Overrides outbound_proxy.
  std::vector<std::string> route{};
  /// This call's outbound proxy ("sip:192.0.2.1:5060"); empty: ua_config::outbound_proxy.
  std::string outbound_proxy{};
  /// The Subject header (RFC 3261 §20.36); empty: none.
  std::string subject{};

  /// `sdp` from a structured description (sdp::session::serialize()).
  call_options& set_sdp(const sdp::session& s) {
    sdp = s.serialize();
    return *this;
  }

  SIPKIT_UA_MESSAGE_FIELDS;
};

/// ring: a provisional response to the INVITE.
struct ring_options {
  /// 180 Ringing, 183 Session Progress, or any 101-199.
  int code = 180;
  /// Early-media SDP (the answer to the INVITE's offer, RFC 3261 §13.3.1.1), usually in a
  /// 183. When the 1xx goes reliably (RFC 3262, the caller supports 100rel) it is the
  /// offer/answer answer, and answer() may then send its 200 without SDP; otherwise it is
  /// a preview and the 200 answers again.
  std::string sdp{};
  /// The reason phrase; empty: the standard one.
  std::string reason_phrase{};

  SIPKIT_UA_MESSAGE_FIELDS;
};

/// answer: the 200 to the INVITE.
struct answer_options {
  /// The application's SDP: the answer to the INVITE's offer, or our offer when the
  /// INVITE had none (the ACK then answers, RFC 3264). Empty: made from ua_config::media.
  std::string sdp{};

  answer_options& set_sdp(const sdp::session& s) {
    sdp = s.serialize();
    return *this;
  }

  SIPKIT_UA_MESSAGE_FIELDS;
};

/// reject: a final 300-699 to the INVITE.
struct reject_options {
  int code = 486;
  std::string reason_phrase{};  ///< empty: the standard one
  /// Retry-After in seconds (RFC 3261 §20.33), for 404, 413, 480, 486, 500, 503, 600, 603.
  std::optional<std::chrono::seconds> retry_after{};
  /// A Reason header value (RFC 3326): "SIP;cause=600;text=\"Busy Everywhere\"".
  std::string reason{};
  /// A Warning header value (RFC 3261 §20.43): "399 host.example \"no codecs\"".
  std::string warning{};

  SIPKIT_UA_MESSAGE_FIELDS;
};

/// async_hangup: the BYE (a CANCEL or a 486 for a call not answered yet).
struct hangup_options {
  /// A Reason header value (RFC 3326), e.g. "Q.850;cause=16;text=\"Normal call clearing\"".
  /// It goes, with the extra headers, in whatever ends the call: the BYE (also one sent
  /// later, once the ACK of our 2xx came, or after a 2xx that crossed our CANCEL), the
  /// 486 of an unanswered incoming call, or the CANCEL of an outgoing call not answered
  /// yet (RFC 3326 §2; also when the CANCEL waits for a provisional, RFC 3261 §9.1), after
  /// the fields §9.1 copies from the INVITE. The body is not used.
  std::string reason{};

  SIPKIT_UA_MESSAGE_FIELDS;
};

/// async_reoffer: a new offer in the dialog (re-INVITE, RFC 3261 §14, or UPDATE,
/// RFC 3311) with the application's SDP.
struct reoffer_options {
  /// The new offer. Empty: the current local SDP offered again (a refresh).
  std::string sdp{};
  /// UPDATE instead of a re-INVITE (also in an early dialog, RFC 3311 §5.1).
  bool use_update = false;

  reoffer_options& set_sdp(const sdp::session& s) {
    sdp = s.serialize();
    return *this;
  }

  SIPKIT_UA_MESSAGE_FIELDS;
};

/// async_refer with options: the REFER (RFC 3515) and its Refer-To.
struct refer_options {
  std::string target{};  ///< the Refer-To URI

  SIPKIT_UA_MESSAGE_FIELDS;
};

/// A request outside any dialog (user_agent::async_send_request): MESSAGE, OPTIONS,
/// PUBLISH, NOTIFY, INFO ... any method but INVITE, ACK, CANCEL, BYE (which need a call).
struct request_options {
  std::string target_uri{};  ///< Request-URI and To
  /// The From URI ("sip:34020000001320000001@3402000000"); empty: sip:<user>@<domain, or
  /// the local address>. The From tag is always the agent's.
  std::string from_uri{};
  std::string display_name{};  ///< From display name; empty: none

  SIPKIT_UA_MESSAGE_FIELDS;
};

/// The options of async_send_message (an out-of-dialog MESSAGE, RFC 3428): the general
/// request options, kept under their old name.
using message_request = request_options;

#undef SIPKIT_UA_MESSAGE_FIELDS

}  // namespace sipkit::ua
