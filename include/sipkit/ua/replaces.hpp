// The Replaces header (RFC 3891): which dialog an INVITE wants to take over, as used in
// attended transfer (a REFER whose Refer-To URI carries "?Replaces=...").
//
//   auto r = sipkit::ua::parse_replaces("425928@bobster.example.org;to-tag=7743;from-tag=6472");
//   r->call_id == "425928@bobster.example.org"; r->to_tag == "7743"; r->from_tag == "6472";
//
// Thread safety: a pure function. Errors: std::nullopt when the Call-ID, to-tag or
// from-tag is missing (§6.1 makes both tags mandatory).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sipkit::ua {

struct replaces_value {
  std::string call_id;
  std::string to_tag;  ///< the tag of the replaced dialog's To (seen from its sender)
  std::string from_tag;
  bool early_only = false;  ///< §6.1: only replace an early dialog
};

std::optional<replaces_value> parse_replaces(std::string_view value);

}  // namespace sipkit::ua
