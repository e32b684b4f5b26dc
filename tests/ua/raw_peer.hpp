// A scripted SIP peer for the UA tests: a plain UDP socket on 127.0.0.1 that sends
// hand-written SIP text and parses what it receives with sipkit::parser, so a test can
// play the other end of a call byte by byte (a broken or forking peer, a proxy's
// Record-Route, a missing ACK) and assert exactly what the user_agent put on the wire.
//
// Every wait runs the shared io_context through run_until (ua_test_support.hpp) with a
// deadline; nothing sleeps. Received datagrams queue up in arrival order; next() takes
// the first one a predicate accepts and leaves the others queued, so retransmissions
// can be counted afterwards.
//
// Lifetime: declare the io_context before the raw_peer (destroyed after it): the pending
// receive is then dropped with the io_context, never run on a dead peer.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sipkit/parser/message.hpp"
#include "sipkit/parser/message_view.hpp"
#include "ua/ua_test_support.hpp"

namespace sipkit::test {

namespace asio = boost::asio;
using udp = boost::asio::ip::udp;

/// One datagram the peer received, parsed into an owning message.
struct peer_message {
  std::string bytes;
  parser::message msg;
  udp::endpoint from;

  bool is_request(parser::method m) const { return msg.is_request() && msg.method() == m; }
  /// A response with this status code to a request with this CSeq method.
  bool is_response(int code, parser::method cseq_method) const {
    auto cs = msg.cseq();
    return msg.is_response() && msg.status_code() == code && cs && cs->method == cseq_method;
  }
  /// First value of a header, "" when absent.
  std::string header(parser::header_id id) const { return std::string(msg.get(id).value_or("")); }
  std::string header(std::string_view name) const {
    return std::string(msg.get(name).value_or(""));
  }
  /// The CSeq value as written ("1 ACK").
  std::string cseq() const { return header(parser::header_id::cseq); }
  std::uint32_t cseq_number() const {
    auto cs = msg.cseq();
    return cs ? cs->number : 0;
  }
  std::string to_tag() const {
    auto to = msg.to();
    return to ? std::string(to->tag) : std::string();
  }
  std::string from_tag() const {
    auto f = msg.from();
    return f ? std::string(f->tag) : std::string();
  }
  std::string branch() const {
    auto via = msg.top_via();
    return via ? std::string(via->branch) : std::string();
  }
  std::string request_uri() const { return std::string(msg.request_uri()); }
  /// Every value (comma lists split) of an address header (Route, Record-Route,
  /// Contact) in order, as written ("<sip:p1@127.0.0.1:5060;lr>").
  std::vector<std::string> addresses(parser::header_id id) const {
    auto view = std::make_unique<parser::message_view>();  // large: off the stack
    std::vector<std::string> out;
    if (parser::parse_message(bytes, *view)) return out;
    for (const auto& a : view->addresses())
      if (a.header == id) out.emplace_back(a.raw);
    return out;
  }
  /// The URI of the first Contact ("sip:bob@127.0.0.1:5062"), "" when none.
  std::string contact_uri() const {
    auto view = std::make_unique<parser::message_view>();
    if (parser::parse_message(bytes, *view) || !view->contact()) return {};
    return std::string(view->contact()->uri.raw);
  }
};

/// The UDP endpoint of "host:port" (IPv4 literal), e.g. user_agent::local_address().
inline udp::endpoint udp_endpoint(std::string_view host_port) {
  const auto colon = host_port.rfind(':');
  REQUIRE(colon != std::string_view::npos);
  const auto port = static_cast<std::uint16_t>(std::stoi(std::string(host_port.substr(colon + 1))));
  return {asio::ip::make_address(std::string(host_port.substr(0, colon))), port};
}

class raw_peer {
 public:
  explicit raw_peer(asio::io_context& io)
      : io_(io), sock_(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    receive();
  }
  ~raw_peer() {
    boost::system::error_code ec;
    sock_.close(ec);
  }
  raw_peer(const raw_peer&) = delete;
  raw_peer& operator=(const raw_peer&) = delete;

  std::uint16_t port() const { return sock_.local_endpoint().port(); }
  /// "127.0.0.1:<port>": the sent-by of our Via and the host part of our URIs.
  std::string host_port() const { return "127.0.0.1:" + std::to_string(port()); }
  /// "sip:<user>@127.0.0.1:<port>"
  std::string uri(std::string_view user) const {
    return "sip:" + std::string(user) + "@" + host_port();
  }
  /// A fresh RFC 3261 branch ("z9hG4bK" + unique suffix).
  std::string new_branch() { return "z9hG4bK-raw-" + std::to_string(++counter_); }
  /// A fresh tag / token.
  std::string new_token(std::string_view prefix) {
    return std::string(prefix) + std::to_string(++counter_);
  }

  /// Send `text` (a whole SIP message) as one datagram.
  void send(std::string_view text, const udp::endpoint& to) {
    boost::system::error_code ec;
    sock_.send_to(asio::buffer(text.data(), text.size()), to, 0, ec);
    INFO(ec.message());
    REQUIRE_FALSE(ec);
  }

  /// The first queued message `pred` accepts (removed from the queue), waiting for one
  /// until `timeout`; nullopt when none came.
  template <class Pred>
  std::optional<peer_message> next(Pred pred, std::chrono::milliseconds timeout = 5000ms) {
    std::optional<peer_message> out;
    run_until(
        io_,
        [&] {
          for (auto it = inbox_.begin(); it != inbox_.end(); ++it) {
            if (pred(*it)) {
              out = std::move(*it);
              inbox_.erase(it);
              return true;
            }
          }
          return false;
        },
        timeout);
    return out;
  }
  std::optional<peer_message> next_request(parser::method m,
                                           std::chrono::milliseconds timeout = 5000ms) {
    return next([m](const peer_message& p) { return p.is_request(m); }, timeout);
  }
  std::optional<peer_message> next_response(int code, parser::method cseq_method,
                                            std::chrono::milliseconds timeout = 5000ms) {
    return next([=](const peer_message& p) { return p.is_response(code, cseq_method); }, timeout);
  }
  /// Any final response (>= 200) to a request with this CSeq method.
  std::optional<peer_message> next_final(parser::method cseq_method,
                                         std::chrono::milliseconds timeout = 5000ms) {
    return next(
        [=](const peer_message& p) {
          auto cs = p.msg.cseq();
          return p.msg.is_response() && p.msg.status_code() >= 200 && cs &&
                 cs->method == cseq_method;
        },
        timeout);
  }

  /// Queued messages `pred` accepts, removed from the queue (no waiting).
  template <class Pred>
  std::vector<peer_message> take_all(Pred pred) {
    std::vector<peer_message> out;
    for (auto it = inbox_.begin(); it != inbox_.end();) {
      if (pred(*it)) {
        out.push_back(std::move(*it));
        it = inbox_.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }
  template <class Pred>
  std::size_t count(Pred pred) const {
    std::size_t n = 0;
    for (const auto& m : inbox_) n += pred(m) ? 1 : 0;
    return n;
  }
  const std::deque<peer_message>& inbox() const noexcept { return inbox_; }
  void clear() { inbox_.clear(); }
  /// Datagrams that did not parse, with the parser's reason.
  const std::vector<std::string>& unparsable() const noexcept { return unparsable_; }

 private:
  void receive() {
    sock_.async_receive_from(asio::buffer(buf_), from_,
                             [this](const boost::system::error_code& ec, std::size_t n) {
                               if (ec) return;  // closed: `this` may be gone
                               on_datagram(std::string(buf_.data(), n));
                               receive();
                             });
  }
  void on_datagram(std::string bytes) {
    auto view = std::make_unique<parser::message_view>();
    if (auto err = parser::parse_message(bytes, *view)) {
      unparsable_.push_back(err.message() + ": " + bytes);
      return;
    }
    peer_message m;
    m.msg = parser::message::from_view(*view);
    m.bytes = std::move(bytes);
    m.from = from_;
    inbox_.push_back(std::move(m));
  }

  asio::io_context& io_;
  udp::socket sock_;
  std::vector<char> buf_ = std::vector<char>(65536);
  udp::endpoint from_;
  std::deque<peer_message> inbox_;
  std::vector<std::string> unparsable_;
  std::uint64_t counter_ = 0;
};

/// Run every handler that is ready now (datagrams already in socket buffers, posted
/// completions) without waiting for timers: after it, whatever the agent sent before
/// this point has reached the peer's queue.
inline void settle(asio::io_context& io) {
  for (int i = 0; i < 1000; ++i) {
    if (io.stopped()) io.restart();
    if (io.poll() == 0) return;
  }
}

/// A response to `req` as a UAS writes it by hand (RFC 3261 §8.2.6): status line, every
/// Via, From, To (with `to_tag` added when To has none), Call-ID and CSeq copied, then
/// `extra` (whole header lines, each ending in CRLF), then the body.
inline std::string response_text(const peer_message& req, int code, std::string_view to_tag = {},
                                 std::string_view extra = {}, std::string_view body = {},
                                 std::string_view content_type = "application/sdp") {
  std::string s =
      "SIP/2.0 " + std::to_string(code) + " " + std::string(parser::default_reason(code)) + "\r\n";
  for (const auto& f : req.msg.fields())
    if (f.id == parser::header_id::via) s += "Via: " + std::string(req.msg.value_of(f)) + "\r\n";
  s += "From: " + req.header(parser::header_id::from) + "\r\n";
  std::string to = req.header(parser::header_id::to);
  if (!to_tag.empty() && req.to_tag().empty()) to += ";tag=" + std::string(to_tag);
  s += "To: " + to + "\r\n";
  s += "Call-ID: " + req.header(parser::header_id::call_id) + "\r\n";
  s += "CSeq: " + req.cseq() + "\r\n";
  s += extra;
  if (!body.empty()) s += "Content-Type: " + std::string(content_type) + "\r\n";
  s += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  s += body;
  return s;
}

/// A request written by hand.
struct request_text {
  std::string method;
  std::string uri;
  std::string sent_by;  ///< of the Via: "127.0.0.1:P"
  std::string branch;
  std::string from, to, call_id;
  std::string cseq;   ///< "1 INVITE"
  std::string extra;  ///< whole header lines, each ending in CRLF
  std::string body;
  std::string content_type = "application/sdp";

  std::string text() const {
    std::string s = method + " " + uri + " SIP/2.0\r\n";
    s += "Via: SIP/2.0/UDP " + sent_by + ";branch=" + branch + ";rport\r\n";
    s += "Max-Forwards: 70\r\n";
    s += "From: " + from + "\r\n";
    s += "To: " + to + "\r\n";
    s += "Call-ID: " + call_id + "\r\n";
    s += "CSeq: " + cseq + "\r\n";
    s += extra;
    if (!body.empty()) s += "Content-Type: " + content_type + "\r\n";
    s += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    s += body;
    return s;
  }
};

/// An SDP offer of one audio stream with these payload types ("0" PCMU, "18" G729 ...)
/// and a direction attribute (empty: none, i.e. sendrecv).
inline std::string sdp_offer(std::string_view pt, std::string_view rtpmap, int version = 1,
                             std::string_view direction = {}) {
  std::string s = "v=0\r\n";
  s += "o=peer 4711 " + std::to_string(version) + " IN IP4 127.0.0.1\r\n";
  s += "s=-\r\n";
  s += "c=IN IP4 127.0.0.1\r\n";
  s += "t=0 0\r\n";
  s += "m=audio 49170 RTP/AVP " + std::string(pt) + "\r\n";
  s += "a=rtpmap:" + std::string(pt) + " " + std::string(rtpmap) + "\r\n";
  if (!direction.empty()) s += "a=" + std::string(direction) + "\r\n";
  return s;
}

}  // namespace sipkit::test
