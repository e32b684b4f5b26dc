// What a server transaction keeps of its request once it has answered it. Private to the
// manager (manager.hpp: request(), manager_stats::requests_shed).
//
// After the final response, matching the request's retransmissions and the ACK
// (RFC 3261 §17.2.3, RFC 2543 rules included) needs only the request line, the top
// via-parm, From, To, Call-ID and CSeq, and the machines read nothing more of it. The
// manager then replaces a big request by that part (and moves its matching keys, which
// are views into the request, onto the copy), so that a flood of big requests costs its
// headers only for the 32 s of Timer J / Timer L.
#pragma once

#include <cstddef>
#include <string_view>

#include "sipkit/parser/message.hpp"

namespace sipkit::transaction::detail {

/// Shedding costs a copy of the kept headers: worth it for requests with a body or of
/// more than this many bytes, the ones a flood is made of.
inline constexpr std::size_t k_shed_above = 1024;

inline bool worth_shedding(const parser::message& request, std::size_t request_bytes) noexcept {
  return !request.body().empty() || request_bytes > k_shed_above;
}

/// The request line, the top via-parm, From, To, Call-ID and CSeq of `request`.
inline parser::message matching_part(const parser::message& request) {
  auto kept = parser::message::request(request.method_text(), request.request_uri());
  auto via = request.top_via();
  kept.add(parser::header_id::via,
           via ? via->raw : request.get(parser::header_id::via).value_or(std::string_view{}));
  for (auto id : {parser::header_id::from, parser::header_id::to, parser::header_id::call_id,
                  parser::header_id::cseq})
    if (auto v = request.get(id)) kept.add(id, *v);
  return kept;
}

}  // namespace sipkit::transaction::detail
