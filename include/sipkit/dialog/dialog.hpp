// A SIP dialog (RFC 3261 §12): the peer-to-peer relationship an INVITE (or SUBSCRIBE,
// REFER) creates, and the rules for requests inside it.
//
//   // UAC: the INVITE we sent and a 180 or 200 with a To tag
//   auto d = sipkit::dialog::dialog::create_uac(invite, response);
//   auto bye = d->make_request("BYE");        // Route set, remote target, CSeq + 1
//   std::string hop = first_hop_uri(bye);     // resolve this, then send
//
//   // UAS: the INVITE received and the 180/200 we send (with our To tag and Contact)
//   auto d = sipkit::dialog::dialog::create_uas(invite, ok);
//   if (int code = d->on_request(bye)) reply(code);   // 500 for a CSeq out of order
//
// What a dialog holds is what §12.1.1/§12.1.2 list: the dialog id (Call-ID, local and
// remote tag), local and remote sequence numbers, local and remote URI (the From/To values,
// tags included, so requests copy them verbatim), the remote target (the peer's Contact
// URI), our own Contact, the route set and whether it is secure (sips).
//
// Route sets: the UAC takes the Record-Route values of the response in reverse order, the
// UAS those of the request in order (§12.1.1, §12.1.2). When the first route is a strict
// router (its URI has no ;lr), requests follow §12.2.1.1's fix-up: the Request-URI is that
// route's URI and the remote target goes last in the Route headers.
//
// Ownership: a dialog is a value that owns copies of everything; the messages it was made
// from may go away. Thread safety: none; one dialog belongs to one thread at a time.
// Errors: create_* return std::nullopt when the messages cannot form a dialog (no To tag,
// no Contact on a 2xx to INVITE, missing Call-ID/From/CSeq); nothing else fails except
// std::bad_alloc.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sipkit/parser/message.hpp"

namespace sipkit::dialog {

struct dialog_id_view;

/// §12: Call-ID, local tag and remote tag. Seen from this side: for the UAC the local tag
/// is the From tag, for the UAS the To tag.
struct dialog_id {
  std::string call_id;
  std::string local_tag;
  std::string remote_tag;

  /// Views of the three parts (valid while this id lives and is unchanged).
  dialog_id_view view() const noexcept;

  friend bool operator==(const dialog_id&, const dialog_id&) = default;
};

/// A dialog id whose parts point into a message or a dialog, for lookups that copy
/// nothing. What it points into must outlive it. Converts to an owning dialog_id.
struct dialog_id_view {
  std::string_view call_id;
  std::string_view local_tag;
  std::string_view remote_tag;

  operator dialog_id() const {  // NOLINT: implicit, so `dialog_id id = d.id();` copies
    return {std::string(call_id), std::string(local_tag), std::string(remote_tag)};
  }
  friend bool operator==(const dialog_id_view&, const dialog_id_view&) = default;
  friend bool operator==(const dialog_id_view& a, const dialog_id& b) noexcept {
    return a.call_id == b.call_id && a.local_tag == b.local_tag && a.remote_tag == b.remote_tag;
  }
};

inline dialog_id_view dialog_id::view() const noexcept { return {call_id, local_tag, remote_tag}; }

/// Hash and equality of dialog ids, transparent: a table keyed by dialog_id can be
/// searched with a dialog_id_view (the same hash for equal ids of either kind).
struct dialog_id_hash {
  using is_transparent = void;
  std::size_t operator()(const dialog_id& id) const noexcept;
  std::size_t operator()(const dialog_id_view& id) const noexcept;
};
struct dialog_id_equal {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const noexcept {
    return std::string_view(a.call_id) == std::string_view(b.call_id) &&
           std::string_view(a.local_tag) == std::string_view(b.local_tag) &&
           std::string_view(a.remote_tag) == std::string_view(b.remote_tag);
  }
};

/// The dialog an incoming request belongs to (§12.2.2): Call-ID, To tag as the local tag,
/// From tag as the remote tag. nullopt when the request has no To tag (it is not in a
/// dialog) or lacks Call-ID/From.
std::optional<dialog_id> incoming_request_dialog_id(const parser::message& request);
/// As incoming_request_dialog_id, pointing into `request` instead of copying.
std::optional<dialog_id_view> incoming_request_dialog_id_view(const parser::message& request);
/// The dialog a response to our request belongs to (§12.1.2): Call-ID, From tag as the
/// local tag, To tag as the remote tag. nullopt without a To tag.
std::optional<dialog_id> incoming_response_dialog_id(const parser::message& response);
/// As incoming_response_dialog_id, pointing into `response` instead of copying (valid
/// while `response` is alive and unchanged).
std::optional<dialog_id_view> incoming_response_dialog_id_view(const parser::message& response);

enum class dialog_role : std::uint8_t { uac, uas };
/// §12: early (made by a provisional response), confirmed (by a 2xx), terminated.
enum class dialog_state : std::uint8_t { early, confirmed, terminated };
std::string_view to_string(dialog_state s) noexcept;

/// RFC 3261 §12.2 / RFC 3311 / RFC 6665 / RFC 3515: methods whose 2xx or request updates
/// the remote target (INVITE, UPDATE, SUBSCRIBE, NOTIFY, REFER).
bool is_target_refresh(parser::method m) noexcept;

/// The route set of a dialog: views of its Route values, in the order requests carry
/// them, pointing into the dialog (valid until the dialog changes or goes away).
class route_list {
 public:
  struct span {
    std::uint32_t offset = 0, size = 0;
  };
  class iterator {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = std::string_view;
    iterator() = default;
    iterator(const char* base, const span* s) noexcept : base_(base), s_(s) {}
    std::string_view operator*() const noexcept { return {base_ + s_->offset, s_->size}; }
    std::string_view operator[](difference_type n) const noexcept { return *(*this + n); }
    iterator& operator++() noexcept { ++s_; return *this; }
    iterator operator++(int) noexcept { auto t = *this; ++s_; return t; }
    iterator& operator--() noexcept { --s_; return *this; }
    iterator operator--(int) noexcept { auto t = *this; --s_; return t; }
    iterator& operator+=(difference_type n) noexcept { s_ += n; return *this; }
    iterator& operator-=(difference_type n) noexcept { s_ -= n; return *this; }
    friend iterator operator+(iterator i, difference_type n) noexcept { return i += n; }
    friend iterator operator+(difference_type n, iterator i) noexcept { return i += n; }
    friend iterator operator-(iterator i, difference_type n) noexcept { return i -= n; }
    friend difference_type operator-(iterator a, iterator b) noexcept { return a.s_ - b.s_; }
    friend bool operator==(iterator a, iterator b) noexcept { return a.s_ == b.s_; }
    friend auto operator<=>(iterator a, iterator b) noexcept { return a.s_ <=> b.s_; }

   private:
    const char* base_ = nullptr;
    const span* s_ = nullptr;
  };

  route_list(const char* base, const span* first, std::size_t n) noexcept
      : base_(base), first_(first), n_(n) {}
  iterator begin() const noexcept { return {base_, first_}; }
  iterator end() const noexcept { return {base_, first_ + n_}; }
  std::size_t size() const noexcept { return n_; }
  bool empty() const noexcept { return n_ == 0; }
  std::string_view operator[](std::size_t i) const noexcept { return begin()[static_cast<std::ptrdiff_t>(i)]; }
  std::string_view front() const noexcept { return (*this)[0]; }
  std::string_view back() const noexcept { return (*this)[n_ - 1]; }
  /// Element-wise comparison with any range of strings (e.g. std::vector<std::string>).
  template <class R>
  friend bool operator==(const route_list& a, const R& b) {
    if (a.size() != static_cast<std::size_t>(std::distance(std::begin(b), std::end(b)))) return false;
    auto it = std::begin(b);
    for (auto v : a)
      if (v != std::string_view(*it++)) return false;
    return true;
  }

 private:
  const char* base_;
  const span* first_;
  std::size_t n_;
};

class dialog {
 public:
  /// UAC side (§12.1.2): `request` as sent (INVITE, SUBSCRIBE, REFER), `response` a 101-199
  /// with a To tag (early dialog) or a 2xx (confirmed).
  static std::optional<dialog> create_uac(const parser::message& request,
                                          const parser::message& response);
  /// UAS side (§12.1.1): `request` as received and `response` the 101-299 we send, which
  /// carries our To tag and our Contact.
  static std::optional<dialog> create_uas(const parser::message& request,
                                          const parser::message& response);

  /// Subscriber side (RFC 6665 §4.1.2.4): a NOTIFY for our SUBSCRIBE that arrives before
  /// (or instead of) its 2xx creates the dialog. Remote tag, party and target come from
  /// the NOTIFY, the route set from its Record-Route in order (the NOTIFY is a request
  /// from the peer, §12.1.1), the local CSeq is the SUBSCRIBE's.
  static std::optional<dialog> create_from_notify(const parser::message& subscribe,
                                                  const parser::message& notify);

  /// Views into the dialog: valid as long as the dialog (the id and the parties never
  /// change, so a target refresh leaves them in place). Converts to an owning dialog_id
  /// where one must be kept.
  dialog_id_view id() const noexcept {
    return {view(call_id_), view(local_tag_), view(remote_tag_)};
  }
  dialog_role role() const noexcept { return role_; }
  dialog_state state() const noexcept { return state_; }
  /// §12.1.1: the request was sent over TLS to a sips Request-URI.
  bool secure() const noexcept { return secure_; }

  // The texts below are views into the dialog. local_uri, remote_uri and local_contact
  // stay valid as long as the dialog; remote_target and route_set until the next target
  // refresh or route recompute (on_request/on_response) or the dialog goes away.
  /// Our From (UAC) or To (UAS) value, our tag included.
  std::string_view local_uri() const noexcept { return view(local_party_); }
  /// The peer's name-addr, its tag included.
  std::string_view remote_uri() const noexcept { return view(remote_party_); }
  /// The peer's Contact URI (without < >): the Request-URI of requests in the dialog.
  std::string_view remote_target() const noexcept { return routing_view(remote_target_); }
  /// Our Contact header value, sent in target refresh requests.
  std::string_view local_contact() const noexcept { return view(local_contact_); }
  /// Route header values, in the order requests carry them (before the strict fix-up).
  route_list route_set() const noexcept {
    return {routing_base(), routes_.data(), routes_.size()};
  }
  /// The URI a request of this dialog is sent to first (§12.2.1.1, §8.1.2): the first
  /// route's URI when there is a route set (loose or strict alike), else the remote
  /// target. Resolve it (RFC 3263) to find the next hop.
  std::string next_hop_uri() const;
  /// The CSeq number of the last request we sent in the dialog (0: none yet, UAS side).
  std::uint32_t local_cseq() const noexcept { return local_cseq_; }
  /// The CSeq number of the last request the peer sent, nullopt before the first one
  /// (UAC side until the peer sends a request).
  std::optional<std::uint32_t> remote_cseq() const noexcept { return remote_cseq_; }

  /// A new request in the dialog (§12.2.1.1): Request-URI, Route headers, From, To,
  /// Call-ID, CSeq (local sequence number + 1), Max-Forwards 70 and, for target refresh
  /// methods, our Contact. No Via: the transaction layer adds it. Not for ACK and CANCEL,
  /// which take the INVITE's CSeq number (make_ack; CANCEL is built by the transaction
  /// layer from the INVITE).
  parser::message make_request(std::string_view method);
  /// Takes the next local CSeq number without building a request: for a request sent
  /// again with credentials (RFC 3261 §22.2, §8.1.3.5), which needs a new CSeq.
  std::uint32_t next_cseq() noexcept { return ++local_cseq_; }
  /// The ACK for a 2xx to the INVITE with CSeq number `invite_cseq` (§13.2.2.4): routed
  /// like make_request, CSeq "<invite_cseq> ACK", no Via (the caller adds one with a new
  /// branch: the ACK for a 2xx is its own transaction).
  parser::message make_ack(std::uint32_t invite_cseq) const;

  /// UAS rules for a request the peer sent in this dialog (§12.2.2). Returns 0 when the
  /// request is in order and updates the remote sequence number and, for a target refresh
  /// request with a Contact, the remote target. Returns 500 for a CSeq number lower than
  /// the last one (the caller answers 500 Server Internal Error; the state is unchanged).
  int on_request(const parser::message& request);
  /// A response to a request we sent in the dialog, or a further response to the request
  /// that created it: a 2xx to INVITE confirms an early dialog and, on the UAC side,
  /// recomputes the route set from its Record-Route (§13.2.2.4); a 300-699 to that INVITE
  /// ends an early dialog (§13.2.2.3); a 2xx to a target refresh request replaces the
  /// remote target with its Contact (§12.2.1.2); a 481 or 408 ends the dialog (§12.2.1.2).
  void on_response(const parser::message& request, const parser::message& response);
  /// UAS: the final response we sent to the request that created the dialog: a 2xx
  /// confirms it, a 300-699 ends it (§12.1, §13.3.1.4).
  void on_local_final_response(int status_code) noexcept;
  /// BYE sent or received, or the dialog given up (§15).
  void terminate() noexcept { state_ = dialog_state::terminated; }

 private:
  using span = route_list::span;
  // The parts a dialog is made of, as views into the messages it is made from; assign()
  // copies them into text_ in one allocation.
  struct parts {
    std::string_view call_id, local_tag, remote_tag, local_party, remote_party, remote_target,
        local_contact;
    const std::vector<std::string_view>* routes = nullptr;
  };

  dialog() = default;
  void write_routing(parser::message& request) const;
  std::string_view view(span s) const noexcept { return {text_.data() + s.offset, s.size}; }
  const char* routing_base() const noexcept {
    return routing_moved_ ? routing_text_.data() : text_.data();
  }
  std::string_view routing_view(span s) const noexcept { return {routing_base() + s.offset, s.size}; }
  /// A target refresh or route recompute: the new target and routes go to routing_text_,
  /// so that the id and parties in text_ never move under a view an application holds.
  void assign_routing(std::string_view target, const std::vector<std::string_view>& routes);
  void assign(const parts& p);
  void set_remote_target(std::string_view target);
  void set_routes(const std::vector<std::string_view>& routes);

  // Every text of the dialog lives in text_; the spans index it. One allocation per dialog
  // (plus routes_ when there is a route set) instead of one per string.
  std::string text_;
  span call_id_, local_tag_, remote_tag_, local_party_, remote_party_, remote_target_,
      local_contact_;
  std::vector<span> routes_;
  // The remote target and routes once they changed after creation (else in text_).
  std::string routing_text_;
  bool routing_moved_ = false;
  dialog_role role_ = dialog_role::uac;
  dialog_state state_ = dialog_state::early;
  bool secure_ = false;
  bool strict_first_route_ = false;  // the first route has no ;lr (§12.2.1.1 fix-up)
  std::uint32_t local_cseq_ = 0;
  std::optional<std::uint32_t> remote_cseq_;
};

/// The URI a request is sent to first (§8.1.2): the top Route's URI when it has one, else
/// the Request-URI. This is what RFC 3263 resolution takes. Empty when the top Route does
/// not parse.
/// Caveat: when the dialog's first route is a strict router (no ;lr), make_request moves
/// it into the Request-URI (§12.2.1.1) and §8.1.2 sends the request to the Request-URI;
/// the message alone cannot tell, so for such a dialog resolve request_uri() instead.
std::string first_hop_uri(const parser::message& request);

/// Splits a comma-separated list of name-addr values (Route, Record-Route, Contact) into
/// the values, trimmed; commas inside quoted strings and < > do not split.
std::vector<std::string_view> split_address_list(std::string_view header_value);
/// The same one value at a time, without a vector: the next non-empty value at or after
/// `pos` ("" at the end), `pos` moved past it. Start with pos = 0.
std::string_view next_address(std::string_view header_value, std::size_t& pos);

/// The URI of a name-addr or addr-spec value ("<sip:a@b;lr>;x" -> "sip:a@b;lr"), without
/// header parameters. Empty when it does not parse.
std::string_view address_uri(std::string_view name_addr);

}  // namespace sipkit::dialog
