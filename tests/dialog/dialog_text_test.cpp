// The dialog keeps all its texts (id, parties, targets, route set) in one buffer of its
// own: what it returns must stay right after the messages it was made from are gone, after
// a target refresh moves only the target and routes (never the id or the parties), and
// in copies of the dialog.
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sipkit/dialog/dialog.hpp"
#include "sipkit/parser/message_view.hpp"
#include "support/sip_text.hpp"

using sipkit::dialog::dialog;
using sipkit::dialog::dialog_id;
using sipkit::dialog::dialog_id_view;
using sipkit::parser::header_id;
using sipkit::parser::message;
using strings = std::vector<std::string>;

namespace {

using sipkit::test::parse;

// Longer than any small-string buffer, as sipp's Call-IDs, URIs and Contacts are.
const std::string long_call_id = "1-48213@198.51.100.23-" + std::string(60, 'c');
const std::string long_from_tag = "48213SIPpTag00" + std::string(40, 'f');
const std::string long_to_tag = "as" + std::string(50, 't');

std::string invite_text(std::string_view contact, std::string_view cseq) {
  std::string t =
      "INVITE sip:service@198.51.100.7:5060 SIP/2.0\n"
      "Via: SIP/2.0/UDP 198.51.100.23:5061;branch=z9hG4bK-48213-1-0\n"
      "Max-Forwards: 69\n"
      "Record-Route: <sip:edge-proxy-number-one.example.com;lr;transport=tcp>;ftag=x\n"
      "Record-Route: <sip:core-proxy-number-two.example.com;lr>, <sip:p3.example.com;lr>\n"
      "From: sipp <sip:sipp-user-with-a-long-name@198.51.100.23:5061>;tag=" + long_from_tag + "\n"
      "To: service <sip:service@198.51.100.7:5060>\n"
      "Call-ID: " + long_call_id + "\n"
      "CSeq: ";
  t += cseq;
  t += "\nContact: ";
  t += contact;
  t += "\nContent-Length: 0\n\n";
  return t;
}

// Bob's UAS dialog; the messages it is made from are gone when this returns.
dialog make_uas() {
  auto invite = parse(invite_text("<sip:sipp@198.51.100.23:5061;transport=udp;ob>", "1 INVITE"));
  auto ok = sipkit::parser::make_response(invite, 200, {}, long_to_tag);
  ok.add(header_id::contact, "<sip:service-contact-longer-than-sso@198.51.100.7:5060>");
  auto d = dialog::create_uas(invite, ok);
  REQUIRE(d);
  return *d;
}

strings routes_of(const message& m) {
  strings out;
  for (const auto& f : m.fields())
    if (f.id == header_id::route) out.emplace_back(m.value_of(f));
  return out;
}

const strings expected_routes{"<sip:edge-proxy-number-one.example.com;lr;transport=tcp>;ftag=x",
                              "<sip:core-proxy-number-two.example.com;lr>",
                              "<sip:p3.example.com;lr>"};

void check_unchanged_parts(const dialog& d) {
  CHECK(d.id() == dialog_id{long_call_id, long_to_tag, long_from_tag});
  CHECK(d.remote_uri() ==
        "sipp <sip:sipp-user-with-a-long-name@198.51.100.23:5061>;tag=" + long_from_tag);
  CHECK(d.local_uri() == "service <sip:service@198.51.100.7:5060>;tag=" + long_to_tag);
  CHECK(d.local_contact() == "<sip:service-contact-longer-than-sso@198.51.100.7:5060>");
  CHECK(d.route_set() == expected_routes);
}

}  // namespace

TEST_CASE("A dialog keeps long ids, parties, target and routes after its messages are gone") {
  const auto d = make_uas();
  check_unchanged_parts(d);
  CHECK(d.remote_target() == "sip:sipp@198.51.100.23:5061;transport=udp;ob");
  CHECK(d.route_set().size() == 3);
  CHECK(d.route_set().front() == expected_routes.front());
  CHECK(d.route_set().back() == expected_routes.back());
  CHECK(d.next_hop_uri() == "sip:edge-proxy-number-one.example.com;lr;transport=tcp");
}

TEST_CASE("A target refresh rebuilds the dialog's text and keeps every other part") {
  auto d = make_uas();
  auto reinvite = parse(invite_text("<sip:moved-somewhere-else-entirely@203.0.113.99:7000>",
                                    "2 INVITE"));
  CHECK(d.on_request(reinvite) == 0);
  CHECK(d.remote_target() == "sip:moved-somewhere-else-entirely@203.0.113.99:7000");
  check_unchanged_parts(d);
  // A shorter target after that: the buffer shrinks with it and stays consistent.
  auto update = parse(invite_text("<sip:b@h>", "3 INVITE"));
  CHECK(d.on_request(update) == 0);
  CHECK(d.remote_target() == "sip:b@h");
  check_unchanged_parts(d);

  auto bye = d.make_request("BYE");
  CHECK(bye.request_uri() == "sip:b@h");
  CHECK(routes_of(bye) == expected_routes);
  CHECK(bye.call_id() == long_call_id);
  CHECK(bye.get(header_id::to).value_or("") == d.remote_uri());
  CHECK(bye.get(header_id::from).value_or("") == d.local_uri());
}

TEST_CASE("Views of the id and parties stay valid through target refreshes") {
  // call::call_id()/remote_party() hand these views to applications, which may keep them
  // across a re-INVITE: a refresh must not move them.
  auto d = make_uas();
  const auto id = d.id();
  const std::string_view remote = d.remote_uri(), local = d.local_uri(),
                         contact = d.local_contact();
  const char* const call_id_at = id.call_id.data();
  for (int i = 0; i < 3; ++i) {
    auto reinvite = parse(invite_text(
        "<sip:refresh-" + std::to_string(i) + "-with-a-long-user-part@203.0.113.99:7000>",
        std::to_string(2 + i) + " INVITE"));
    REQUIRE(d.on_request(reinvite) == 0);
    CHECK(d.remote_target() ==
          "sip:refresh-" + std::to_string(i) + "-with-a-long-user-part@203.0.113.99:7000");
    CHECK(d.route_set() == expected_routes);
  }
  CHECK(d.id().call_id.data() == call_id_at);
  CHECK(id == dialog_id{long_call_id, long_to_tag, long_from_tag});
  CHECK(remote == d.remote_uri());
  CHECK(remote.data() == d.remote_uri().data());
  CHECK(local.data() == d.local_uri().data());
  CHECK(contact.data() == d.local_contact().data());
  check_unchanged_parts(d);
}

TEST_CASE("A copied dialog owns its text: the original may change or go away") {
  std::optional<dialog> original = make_uas();
  const dialog copy = *original;
  auto reinvite = parse(invite_text("<sip:elsewhere@203.0.113.5>", "2 INVITE"));
  REQUIRE(original->on_request(reinvite) == 0);
  CHECK(original->remote_target() == "sip:elsewhere@203.0.113.5");
  original.reset();
  check_unchanged_parts(copy);
  CHECK(copy.remote_target() == "sip:sipp@198.51.100.23:5061;transport=udp;ob");
}

TEST_CASE("A UAC dialog's route set recomputed from the 2xx replaces the early one") {
  const std::string invite =
      "INVITE sip:bob@biloxi.com SIP/2.0\n"
      "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\n"
      "Max-Forwards: 70\n"
      "To: Bob <sip:bob@biloxi.com>\n"
      "From: Alice <sip:alice@atlanta.com>;tag=" + long_from_tag + "\n"
      "Call-ID: " + long_call_id + "\n"
      "CSeq: 1 INVITE\n"
      "Contact: <sip:alice@pc33.atlanta.com>\n"
      "Content-Length: 0\n\n";
  auto response = [&](int code, std::string_view rr, std::string_view contact) {
    std::string t = "SIP/2.0 " + std::to_string(code) + (code == 180 ? " Ringing\n" : " OK\n");
    t += "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\n";
    t += rr;
    t += "To: Bob <sip:bob@biloxi.com>;tag=" + long_to_tag + "\n";
    t += "From: Alice <sip:alice@atlanta.com>;tag=" + long_from_tag + "\n";
    t += "Call-ID: " + long_call_id + "\nCSeq: 1 INVITE\nContact: ";
    t += contact;
    t += "\nContent-Length: 0\n\n";
    return parse(t);
  };
  const auto req = parse(invite);
  auto d = dialog::create_uac(req, response(180, "Record-Route: <sip:early.example.com;lr>\n",
                                            "<sip:bob@192.0.2.4>"));
  REQUIRE(d);
  CHECK(d->route_set() == strings{"<sip:early.example.com;lr>"});
  d->on_response(req, response(200,
                               "Record-Route: <sip:p2.example.com;lr>\n"
                               "Record-Route: <sip:p1.example.com>\n",
                               "<sip:bob-final-contact-with-long-user@192.0.2.44:5070>"));
  CHECK(d->route_set() == strings{"<sip:p1.example.com>", "<sip:p2.example.com;lr>"});
  CHECK(d->remote_target() == "sip:bob-final-contact-with-long-user@192.0.2.44:5070");
  CHECK(d->id() == dialog_id{long_call_id, long_from_tag, long_to_tag});
  // p1 is a strict router (no ;lr): §12.2.1.1's fix-up uses the rebuilt text.
  auto bye = d->make_request("BYE");
  CHECK(bye.request_uri() == "sip:p1.example.com");
  CHECK(routes_of(bye) == strings{"<sip:p2.example.com;lr>",
                                  "<sip:bob-final-contact-with-long-user@192.0.2.44:5070>"});
}

TEST_CASE("dialog_id_view compares with and converts to dialog_id") {
  const dialog_id owned{long_call_id, "l", "r"};
  const dialog_id_view v = owned.view();
  CHECK(v == owned);
  CHECK(owned == v);
  CHECK_FALSE(v == dialog_id{long_call_id, "l", "r2"});
  const dialog_id back = v;
  CHECK(back == owned);
  sipkit::dialog::dialog_id_hash h;
  CHECK(h(v) == h(owned));
}
