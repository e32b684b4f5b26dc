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

/// The request line, the top via-parm, From, To, Call-ID and CSeq of `request`, built at
/// its exact size in one allocation (it is kept for the rest of the transaction).
inline parser::message matching_part(const parser::message& request) {
  using parser::header_id;
  auto via = request.top_via();
  const std::string_view top =
      via ? via->raw : request.get(header_id::via).value_or(std::string_view{});
  constexpr header_id others[] = {header_id::from, header_id::to, header_id::call_id,
                                  header_id::cseq};
  std::size_t bytes = parser::header_name(header_id::via).size() + top.size();
  std::size_t headers = 1;
  for (auto id : others)
    if (auto v = request.get(id)) bytes += parser::header_name(id).size() + v->size(), ++headers;
  auto kept =
      parser::message::request(request.method_text(), request.request_uri(), bytes, headers);
  kept.add(header_id::via, top);
  for (auto id : others)
    if (auto v = request.get(id)) kept.add(id, *v);
  return kept;
}

}  // namespace sipkit::transaction::detail
