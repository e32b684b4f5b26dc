// A request outside any dialog that the application handles itself (a registrar's
// REGISTER, a presence server's PUBLISH ...), registered with user_agent::on_request.
//
//   agent.on_request("REGISTER", [&](sipkit::ua::incoming_request& req) {
//     auto ok = req.make_response(200);
//     ok.add(header_id::contact, "<sip:alice@192.0.2.4>;expires=3600");
//     req.respond(std::move(ok));
//   });
//
// Lifetime: the object and the message it shows are valid during the handler only. The
// handler must respond before it returns (with any final status), or defer() the response;
// otherwise the agent answers 500 for it, so that no server transaction waits forever. A
// handler may send a provisional response first.
// Deferred: a handler that needs an asynchronous answer first (a registrar whose bindings
// live in Redis) takes a deferred_request, which owns a copy of the request and responds
// later from a completion handler:
//
//   agent.on_request("REGISTER", [&](sipkit::ua::incoming_request& in) {
//     db.async_update(..., [d = in.defer()](auto...) { d->respond(d->make_response(200)); });
//   });
//
// Thread safety: none; it runs on the agent's executor (so must the deferred response).
#pragma once

#include <memory>
#include <string_view>
#include <system_error>

#include "sipkit/parser/message.hpp"
#include "sipkit/transaction/transport.hpp"

namespace sipkit::ua {

/// A request whose final response comes after its handler returned (incoming_request::
/// defer()). Owns a copy of the request and its source. Destroying it unanswered sends 500,
/// so that no server transaction waits forever. Once the agent is destroyed, respond()
/// fails with errc::invalid_state and nothing is sent.
class deferred_request {
 public:
  virtual ~deferred_request() = default;
  virtual const parser::message& message() const noexcept = 0;
  virtual const transaction::endpoint& source() const noexcept = 0;
  /// As incoming_request::make_response (the same To tag).
  virtual parser::message make_response(int status_code, std::string_view reason = {}) const = 0;
  /// As incoming_request::respond.
  virtual std::error_code respond(parser::message response) = 0;
  virtual bool answered() const noexcept = 0;
};

class incoming_request {
 public:
  incoming_request(const parser::message& request, const transaction::endpoint& source)
      : request_(request), source_(source) {}
  virtual ~incoming_request() = default;
  incoming_request(const incoming_request&) = delete;
  incoming_request& operator=(const incoming_request&) = delete;

  const parser::message& message() const noexcept { return request_; }
  /// Where it came from (address, port, transport, connection).
  const transaction::endpoint& source() const noexcept { return source_; }
  /// A response with Via, From, To (with the agent's To tag for final responses),
  /// Call-ID and CSeq copied (RFC 3261 §8.2.6), and the agent's Server header.
  virtual parser::message make_response(int status_code, std::string_view reason = {}) const = 0;
  /// Sends it. Errors: errc::invalid_state after a final response was sent already;
  /// the transaction layer's error when the server transaction is gone; the transport's
  /// error when the response could not be sent at all (e.g. larger than a UDP datagram
  /// can carry): the server transaction is then over (RFC 3261 §17.2.4), the agent logs
  /// it at warning level, and no other final response can follow (answered() is true), so
  /// the client retransmits its request and the handler runs again for it. Build responses
  /// that always fit.
  virtual std::error_code respond(parser::message response) = 0;
  /// A final response has been sent.
  virtual bool answered() const noexcept = 0;
  /// Takes over the response: the agent no longer answers 500 when the handler returns;
  /// the returned object must respond (or, destroyed unanswered, sends 500). Calling it
  /// again returns the same object; after a final response it returns nullptr.
  virtual std::shared_ptr<deferred_request> defer() = 0;

 private:
  const parser::message& request_;
  const transaction::endpoint& source_;
};

}  // namespace sipkit::ua
