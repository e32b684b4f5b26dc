// Test helper: a SIP message written in a test as text with "\n" line ends, parsed into an
// owning message (the wire wants CRLF, which this adds). The test fails on a parse error,
// with the parser's reason.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "sipkit/parser/message.hpp"
#include "sipkit/parser/message_view.hpp"

namespace sipkit::test {

inline parser::message parse(std::string_view text) {
  std::string wire;
  for (char c : text) {
    if (c == '\n') wire += '\r';
    wire += c;
  }
  auto view = std::make_unique<parser::message_view>();
  auto err = parser::parse_message(wire, *view);
  INFO(err.message());
  REQUIRE_FALSE(err);
  return parser::message::from_view(*view);
}

}  // namespace sipkit::test
