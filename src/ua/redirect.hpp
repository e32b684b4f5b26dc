// Private: following redirects of a UAC's INVITE (RFC 3261 §8.1.3.4, §13.2.2.2, §21.3).
//
// A 300/301/302 to the initial INVITE gives targets: its Contacts, higher q first, equal q
// in the order received. The call then tries them one at a time, each as a new INVITE
// transaction of the same call (invite_session::redirect): a target that fails (timeout,
// transport error, 4xx-6xx, a 3xx whose Contacts give nothing new) moves on to the next.
// A 3xx from a target adds its Contacts ahead of the targets still untried (the newest
// redirection is the most specific). Bounds: ua_config::max_redirects 3xx responses are
// followed per call (0: a 3xx is final, as before); a URI already tried (§19.1.4
// comparison, the original target included) is skipped, so A -> B -> A ends. When no
// target is left the call ends with the last final response (the 3xx itself when none of
// its Contacts could be tried).
//
// Not followed: 305 Use Proxy (§8.1.3.4 leaves it to the UAC; taking a proxy from an
// unauthenticated response is a security hole RFC 5630 and 3261 §26.1 warn of), 380
// Alternative Service (its body describes the service), Contacts that are not sip/sips.
// URI headers (`?Subject=...`) and a ;method= parameter of a Contact are dropped from the
// Request-URI: §19.1.5 lets a UA ignore them, and honouring them would let the server that
// redirects write our headers. The Authorization and Proxy-Authorization answering the
// server that redirected are not sent to the new target.
// The per-call state is detail::redirect_state (usages.hpp). Thread safety: none.
#pragma once

#include <system_error>

#include "continuation.hpp"

namespace sipkit::ua::detail {

/// The final response `rsp` (>= 300) to `op`, the call's initial INVITE: true when the call
/// goes on to a next target (the response is then not passed to the session).
bool redirect_on_final(user_agent::impl& ua, client_op& op, const parser::message& rsp);
/// The same for a transaction failure (timeout, transport error).
bool redirect_on_failure(user_agent::impl& ua, client_op& op, std::error_code ec);

}  // namespace sipkit::ua::detail
