// The SDP offer/answer model of RFC 3264 on top of sipkit::sdp: build an offer from what the
// local side can do, answer a remote offer, read back what was negotiated, and re-offer for
// hold/resume with the o= version rules of §8.
//
//   sipkit::ua::local_media me{.address = "192.0.2.10"};
//   me.streams.push_back({.media = "audio", .port = 49170, .codecs = {{"PCMU", 8000},
//                         {"telephone-event", 8000, 1, 101, "0-16"}}});
//   sipkit::sdp::session offer = sipkit::ua::make_offer(me, id, id);  // id: random_session_id()
//
//   // On the answering side, with `remote` parsed from the INVITE body:
//   if (auto r = sipkit::ua::make_answer(remote, me, id, id); r && r->any_accepted) {
//     send_200(r->answer.serialize());
//     for (const auto& s : sipkit::ua::negotiated(r->answer, remote)) start_rtp(s);
//   } else {
//     send_488();  // RFC 3261 §13.3.1.3 / RFC 3264 §6: nothing acceptable
//   }
//
//   // The same answer without owning copies of the offer or the answer (the calls' path):
//   std::string body;
//   if (auto r = sipkit::ua::write_answer(invite_body, me, id, id, body); r && r->any_accepted)
//     send_200(std::move(body));
//
// Scope: unicast RTP streams (RFC 3264 §5.1, §6.1) and, matched literally by their fmt
// token, non-RTP streams such as "udptl t38". Not handled: multicast offers (§5.2, §6.2),
// codec-specific fmtp negotiation (e.g. H.264 profile-level-id, RFC 6184 §8.2.2: fmtp
// parameters are carried, not compared), ICE, bundling and RTCP attributes.
//
// Ownership: every function takes its inputs by const reference and returns owning values
// (sdp::session, std::string); nothing refers into the arguments after a call returns.
// Thread safety: the free functions are pure (random_session_id() only reads
// std::random_device) and safe from any thread; offer_answer_state is a plain object that
// needs external locking to be shared.
// Errors: a local description the caller built wrongly (no usable address, a stream without
// codecs, clashing payload types, a session id above 2^63-1 ...) is a programming error and
// throws std::invalid_argument. A remote description is data: what cannot be used is
// rejected per stream (port 0) and reported in answer_result::streams; make_answer returns
// std::nullopt only when the offer as a whole cannot be answered. Everything may throw
// std::bad_alloc.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sipkit/sdp/attributes.hpp"
#include "sipkit/sdp/session.hpp"
#include "sipkit/sdp/session_view.hpp"
#include "sipkit/transaction/branch.hpp"

namespace sipkit::ua {

// Every member of these aggregates has a default initializer, so that {"PCMU", 8000} or
// {.address = "192.0.2.10"} leave the rest at its default without -Wmissing-field-initializers.

/// One media format the local side can send and receive.
struct codec {
  /// The rtpmap encoding name ("PCMU", "opus", "telephone-event"); compared
  /// case-insensitively (RFC 4855 §3: media subtype names are case-insensitive). For a
  /// non-RTP proto (e.g. "udptl") this is the fmt token itself ("t38").
  std::string name{};
  std::uint32_t clock_rate = 0;  ///< Hz, the RTP clock rate (G722 is 8000, RFC 3551 §4.5.2)
  /// Audio channels; opus is always 2 in SDP (RFC 7587 §7), whatever it actually carries.
  std::uint32_t channels = 1;
  /// For an offer: the payload type to use. When absent, the RFC 3551 static type if the
  /// codec is in its table (PCMU -> 0), else the lowest free dynamic type from 96. Ignored
  /// when answering: the answer keeps the offerer's numbers (RFC 3264 §6.1).
  std::optional<std::uint8_t> payload_type{};
  /// Format parameters written as a=fmtp (e.g. "0-16" for telephone-event); empty: none.
  std::string fmtp{};

  bool operator==(const codec&) const = default;
};

/// One kind of stream the local side offers or accepts.
struct media_capability {
  std::string media = "audio";
  /// Our RTP port. 0 disables the capability: make_offer writes a rejected m= line and
  /// make_answer never uses it.
  std::uint16_t port = 0;
  std::string proto = "RTP/AVP";
  std::vector<codec> codecs{};  ///< in order of preference
  /// What we are willing to do on this stream (RFC 3264 §5.1).
  sdp::direction direction = sdp::direction::sendrecv;

  bool operator==(const media_capability&) const = default;
};

/// Everything the local side can do in one session.
struct local_media {
  /// An IPv4 or IPv6 literal (brackets optional) written to o= and c=; the address type
  /// (IP4/IP6) follows from it. A hostname is accepted and written as IP4 (RFC 8866 §5.7
  /// allows an FQDN), though many peers do not resolve it.
  std::string address{};
  std::string username = "-";  ///< o= username; "-" when there is no user id (RFC 8866 §5.2)
  std::vector<media_capability> streams{};

  bool operator==(const local_media&) const = default;
};

/// A fresh o= session id: random, non-zero and below 2^62 so that versions counted up from
/// it stay representable as a signed 64-bit integer (RFC 3264 §5), drawn from `generator`
/// (RFC 3264 asks only for uniqueness). The agent passes its own generator, keyed once:
/// opening std::random_device for every call was 17% of a loaded UAS's CPU.
std::uint64_t random_session_id(transaction::branch_generator& generator);
/// The same from a generator keyed from std::random_device for this one call (costly:
/// for occasional use).
std::uint64_t random_session_id();

/// Builds an initial offer (RFC 3264 §5): o= <username> <session_id> <version> IN IP4|IP6
/// <address>, s=-, c= at session level, t=0 0, then one m= line per stream in order, each with
/// an a=rtpmap for every codec (static ones too: optional per RFC 8866 §6.6, but some peers
/// rely on them), a=fmtp where set, and its direction attribute.
/// Throws std::invalid_argument when `local` has no valid address, a stream has no codec, a
/// codec has no name (or, for RTP, a zero clock rate or channel count), two codecs of a stream
/// claim the same payload type, a payload type is above 127, more than 32 codecs of a stream
/// need a dynamic type, or session_id/version do not fit a signed 64-bit integer (§5).
sdp::session make_offer(const local_media& local, std::uint64_t session_id, std::uint64_t version);

/// Why an offered stream was answered the way it was.
enum class stream_status : std::uint8_t {
  accepted,                ///< answered with our port and the common codecs
  disabled_by_offerer,     ///< offered with port 0, so answered with port 0 (§6)
  no_local_capability,     ///< no unused local stream of the same media and proto
  no_common_codec,         ///< capability found, but no common codec (telephone-event or CN
                           ///< alone do not count: they cannot carry the media)
  unsupported_connection,  ///< the stream's c= is not "IN IP4" / "IN IP6"
};

struct answer_result {
  sdp::session answer{};
  std::vector<stream_status> streams{};  ///< one per m= line, in order
  bool any_accepted = false;             ///< false: the caller usually rejects with 488
};

/// Answers an offer (RFC 3264 §6). The answer has the offer's m= lines in the same number
/// and order and the offer's t= lines (§6: time cannot be negotiated). For each offered
/// stream, the first unused local capability of the same media and proto (compared
/// case-insensitively) that has a codec in common is used, so each local capability answers
/// at most one m= line. The formats are the offered ones with a local codec of the same
/// encoding name (case-insensitive), clock rate and channel count, kept with the OFFERER's
/// payload type numbers and in the offerer's order (§6.1), each with an a=rtpmap and the
/// local codec's a=fmtp. An offered format without rtpmap is identified by the RFC 3551
/// static table; one whose rtpmap is malformed is not identified and never matches. The
/// direction is the offered one reversed and restricted by ours (§6.1): sendonly ->
/// recvonly, recvonly -> sendonly, inactive -> inactive, sendrecv -> our direction; an
/// offered c= of 0.0.0.0 (RFC 2543 hold, RFC 3264 §8.4) counts as "does not receive".
/// A stream that cannot be accepted is answered with port 0 and the offered formats (§6).
/// std::nullopt when the offer cannot be answered at all: v= is not 0, or a stream with a
/// non-zero port has no c= at either level (RFC 8866 §5.7).
/// Throws std::invalid_argument for an invalid `local` address or session_id/version.
std::optional<answer_result> make_answer(const sdp::session& offer, const local_media& local,
                                         std::uint64_t session_id, std::uint64_t version);

/// What write_answer says besides the answer text: answer_result without the answer, in
/// fixed storage (an offer has at most session_view::max_media m= lines).
struct answer_summary {
  std::array<stream_status, sdp::session_view::max_media> status{};
  std::size_t stream_count = 0;
  bool any_accepted = false;  ///< false: the caller usually rejects with 488
  /// One per m= line, in order (answer_result::streams).
  std::span<const stream_status> streams() const noexcept { return {status.data(), stream_count}; }
};

/// make_answer written straight to SDP text: appends to `out` exactly the bytes of
/// make_answer(sdp::session(offer), local, session_id, version)->answer.serialize(), with
/// the same negotiation (RFC 3264 §6) and the same std::nullopt cases, but without building
/// an owning copy of the offer or of the answer: `out` grows once, to the answer's exact
/// size. This is the answering path of sipkit::ua's calls.
/// Throws std::invalid_argument as make_answer does, and as session::serialize does for a
/// CR, LF or NUL in a field it writes (a local codec name or fmtp, the o= username); `out`
/// is unchanged then and when the result is std::nullopt.
std::optional<answer_summary> write_answer(const sdp::session_view& offer,
                                           const local_media& local, std::uint64_t session_id,
                                           std::uint64_t version, std::string& out);
/// The same from the offer's text, parsed with the default sdp::parse_options into a
/// session_view on the stack (no allocation; ~17 KiB of stack); std::nullopt when it does
/// not parse either.
std::optional<answer_summary> write_answer(std::string_view offer, const local_media& local,
                                           std::uint64_t session_id, std::uint64_t version,
                                           std::string& out);

/// One m= line of a completed offer/answer exchange, seen from the local side.
struct negotiated_stream {
  std::string media{};    ///< the local m= line's media ("audio" ...)
  bool accepted = false;  ///< both ports non-zero and a codec in common
  /// The codec to send: the first of the remote side's formats (its order of preference)
  /// that the local side also lists, telephone-event and CN excluded. payload_type is the
  /// remote number (what it expects to receive, RFC 3264 §6.1) and fmtp the remote's.
  std::optional<codec> chosen_codec{};
  /// The common telephone-event format (RFC 4733), preferring the chosen codec's clock rate.
  std::optional<codec> telephone_event{};
  /// Where to send: the first media-level c= of the remote m= line, else its session-level
  /// c= (RFC 8866 §5.7), without any "/ttl" suffix; empty when it has neither.
  std::string remote_address{};
  std::uint16_t remote_port = 0;
  std::uint16_t local_port = 0;
  /// What we do: we send if both our direction and the remote one allow it (and the remote
  /// address is not 0.0.0.0), we receive if ours allows receiving and the remote sends.
  sdp::direction direction = sdp::direction::inactive;

  bool operator==(const negotiated_stream&) const = default;
};

/// What `local` (our offer or answer) and `remote` (their answer or offer) agreed on: one entry
/// per m= line of `local`; an m= line that `remote` lacks, or whose media differs, is not
/// accepted.
std::vector<negotiated_stream> negotiated(const sdp::session& local, const sdp::session& remote);

/// A re-offer of `current` with every active stream (port != 0) set to direction `d` and the
/// session-level direction attribute removed. The o= version is incremented by one when this
/// changes the description and kept when it does not (RFC 3264 §8: "If the version in the
/// origin line does not increment, the SDP MUST be identical"). Resume is
/// with_direction(s, sendrecv).
/// Throws std::invalid_argument if the version would exceed 2^63-1 (§5).
sdp::session with_direction(const sdp::session& current, sdp::direction d);

/// Places every active stream on hold per RFC 3264 §8.4: sendrecv becomes sendonly, recvonly
/// becomes inactive, sendonly and inactive stay. Version rule and errors as with_direction.
sdp::session hold(const sdp::session& current);

/// Keeps our side's o= line consistent across the offers and answers of one session
/// (RFC 3264 §8): every description after the first keeps the first one's o= username,
/// session id and address, and its version goes up by one exactly when the content changes.
///
///   sipkit::ua::offer_answer_state ours;
///   send(ours.next(make_offer(me, id, id)).serialize());       // version id
///   send(ours.next(make_offer(me, id, id)).serialize());       // unchanged: still id
///   send(ours.next(sipkit::ua::hold(*ours.last())).serialize());  // id + 1
///
/// Not synchronised; one per session (dialog).
class offer_answer_state {
 public:
  /// Records and returns the description to send next: `proposed` with the previous o= line,
  /// whose version is bumped if anything else differs from the previous description. The
  /// first call takes `proposed` as it is. The reference stays valid until the next call.
  /// Throws std::invalid_argument if the version would exceed 2^63-1 (§5).
  const sdp::session& next(sdp::session proposed);
  /// The last description returned by next(), or nullptr before the first.
  const sdp::session* last() const noexcept { return last_ ? &*last_ : nullptr; }

 private:
  std::optional<sdp::session> last_;
};

}  // namespace sipkit::ua
