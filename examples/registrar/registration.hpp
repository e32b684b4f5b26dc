// registration — what examples/registrar and examples/proxy share when they answer REGISTER
// (RFC 3261 §10.3): the registrar part of their command lines and the steps from an
// authorised REGISTER to its reply (Contact parsing, expiry, the location service, the 200
// listing the bindings). Authentication and who may bind which AOR stay with each program:
// they differ (the registrar always challenges, the proxy only with --user).
//
//   registrar::registrar_options o;
//   for (int i = 1; i < argc; ++i)
//     if (!registrar::parse_registrar_option(argc, argv, i, o, usage)) { ...own options... }
//   auto r = registrar::apply_register(req, *aor, o, db, now);
//   auto rsp = make_response(req, r.code, r.reason);  r.add_to(rsp);
//
// Not thread-safe (the location service is not); no state of its own.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "location_service.hpp"
#include "sipkit/parser/message.hpp"

namespace registrar {

/// The options both programs take, with their defaults:
///   --realm R  --user NAME:PASSWORD (repeat)  --users-file F (one NAME:PASSWORD a line;
///   '#' starts a comment line)  --domain D (repeat)  --min-expires S (60)
///   --max-expires S (3600)  --max-contacts N (16)  --replace-oldest  --max-bindings N
///   (100000)  --max-request-rate N (-1: the library's default)  --quiet  --full
struct registrar_options {
  std::string realm;
  std::map<std::string, std::string, std::less<>> users;
  std::vector<std::string> domains;  // lowercase
  long min_expires = 60, max_expires = 3600;
  location_limits limits;
  long max_request_rate = -1;  // per source address and second
  bool quiet = false, full = false;

  bool our_domain(std::string_view host) const;
  std::optional<std::string> password(std::string_view user) const;
};

std::string lowercase(std::string s);

/// Takes argv[i] if it is one of registrar_options' options (and its value, advancing `i`);
/// false when it is not. A missing or bad value calls `usage` (which must not return); a
/// --users-file that cannot be read is reported on stderr and ends the program (status 2).
bool parse_registrar_option(int argc, char** argv, int& i, registrar_options& o, void (*usage)());
/// The value of option argv[i] (argv[i + 1], advancing `i`); `usage` when there is none.
std::string option_value(int argc, char** argv, int& i, void (*usage)());
/// The same as a non-negative decimal number; `usage` when it is not one.
long option_number(int argc, char** argv, int& i, void (*usage)());

/// After the command line: a grant never falls below the Min-Expires demanded in a 423.
void finish_registrar_options(registrar_options& o);

/// A reply to build: status, reason (empty: the standard phrase) and header fields to add.
struct reply {
  int code = 200;
  std::string reason;
  std::vector<std::string> contacts;                         // Contact values, in order
  std::vector<std::pair<std::string, std::string>> headers;  // Min-Expires, Retry-After
  /// Adds the Contacts and the other header fields to `rsp`.
  void add_to(sipkit::parser::message& rsp) const;
};

/// True for a Contact URI with ;transport=ws or wss (RFC 7118): a WebSocket client, which
/// nobody reaches by a new connection (§5.2), so a redirect to it is useless.
bool websocket_contact(std::string_view uri);

/// The Contact values of a 200 or 302: "<uri>;expires=<seconds left>[;q=...]", by q.
std::vector<std::string> contact_values(std::span<const binding> list, clock_type::time_point now);

/// What a REGISTER asks of the location service once steps 6-7 passed (Contact * rules,
/// Contact parsing, Min-Expires, --max-expires caps): the first half of apply_register, for
/// a location store that answers asynchronously (redis_location_store).
struct register_plan {
  bool remove_all = false;
  std::vector<contact_update> updates;
  std::uint32_t cseq = 0;
};
/// The refusal (400, 403, 423) when the REGISTER cannot reach the location service, else
/// nullopt and `plan` filled.
std::optional<reply> plan_register(const sipkit::parser::message& req, const registrar_options& o,
                                   register_plan& plan);

/// The second half: the reply for the location service's verdict on `a`, `list` being the
/// AOR's bindings after an ok, `next_expiry` the earliest expiry (Retry-After of a 503 full)
/// and `total` the bindings in total (for the log line). Prints like apply_register.
reply register_outcome(location_service::status st, const aor& a, std::span<const binding> list,
                       std::optional<clock_type::time_point> next_expiry, std::size_t total,
                       const registrar_options& o, clock_type::time_point now);

/// RFC 3261 §10.3 steps 6-8 for a REGISTER already authorised for `aor`: Contact * rules
/// (400), Contact parsing (400), 423 below --min-expires, expiries capped at --max-expires,
/// then location_service::update (500 CSeq out of order, 403 too many, 400 URI too long,
/// 503 full with Retry-After), and a 200 listing every binding of the AOR. Prints the AOR's
/// binding count (and a refused binding) on stdout unless o.quiet.
reply apply_register(const sipkit::parser::message& req, const aor& a, const registrar_options& o,
                     location_service& db, clock_type::time_point now);

}  // namespace registrar
