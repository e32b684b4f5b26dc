// The dialog table: forking (RFC 3261 §12.2.1.2, §13.2.2.4) gives one INVITE several
// dialogs; in-dialog requests find theirs or get a 481 (§12.2.2); the bound on size.
#include "sipkit/dialog/dialog_table.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

using sipkit::dialog::dialog;
using sipkit::dialog::dialog_id;
using sipkit::dialog::dialog_table;
using sipkit::parser::header_id;
using sipkit::parser::message;

namespace {

message alice_invite(std::string_view call_id = "a84b4c76e66710@pc33.atlanta.com") {
  auto m = message::request("INVITE", "sip:bob@biloxi.com");
  m.add(header_id::via, "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds");
  m.add(header_id::max_forwards, "70");
  m.add(header_id::to, "Bob <sip:bob@biloxi.com>");
  m.add(header_id::from, "Alice <sip:alice@atlanta.com>;tag=1928301774");
  m.add(header_id::call_id, call_id);
  m.add(header_id::cseq, "314159 INVITE");
  m.add(header_id::contact, "<sip:alice@pc33.atlanta.com>");
  return m;
}

// A 180 from one of the forks, each with its own To tag and Contact.
message ringing(const message& invite, std::string_view to_tag, std::string_view contact) {
  auto rsp = sipkit::parser::make_response(invite, 180, {}, to_tag);
  rsp.add(header_id::contact, contact);
  return rsp;
}

dialog uac(const message& invite, std::string_view to_tag) {
  auto d = dialog::create_uac(invite, ringing(invite, to_tag, "<sip:bob@192.0.2.4>"));
  REQUIRE(d);
  return *d;
}

// Carol calls us; our 200 carries To tag "ours".
message carol_invite() {
  auto m = message::request("INVITE", "sip:alice@pc33.atlanta.com");
  m.add(header_id::via, "SIP/2.0/UDP client.chicago.com;branch=z9hG4bKc4r01");
  m.add(header_id::max_forwards, "70");
  m.add(header_id::to, "Alice <sip:alice@atlanta.com>");
  m.add(header_id::from, "Carol <sip:carol@chicago.com>;tag=carol1");
  m.add(header_id::call_id, "carol-call@chicago.com");
  m.add(header_id::cseq, "1 INVITE");
  m.add(header_id::contact, "<sip:carol@client.chicago.com>");
  return m;
}

dialog uas_with_carol() {
  auto invite = carol_invite();
  auto ok = sipkit::parser::make_response(invite, 200, {}, "ours");
  ok.add(header_id::contact, "<sip:alice@pc33.atlanta.com>");
  auto d = dialog::create_uas(invite, ok);
  REQUIRE(d);
  return *d;
}

// Carol's BYE in that dialog, with the given tags.
message carol_bye(std::string_view to_tag = "ours", std::string_view from_tag = "carol1") {
  auto m = message::request("BYE", "sip:alice@pc33.atlanta.com");
  m.add(header_id::via, "SIP/2.0/UDP client.chicago.com;branch=z9hG4bKc4r02");
  m.add(header_id::max_forwards, "70");
  std::string to = "Alice <sip:alice@atlanta.com>";
  if (!to_tag.empty()) to.append(";tag=").append(to_tag);
  m.add(header_id::to, to);
  m.add(header_id::from, std::string("Carol <sip:carol@chicago.com>;tag=").append(from_tag));
  m.add(header_id::call_id, "carol-call@chicago.com");
  m.add(header_id::cseq, "2 BYE");
  return m;
}

}  // namespace

TEST_CASE("Two 180s with different To tags for one INVITE make two dialogs in the table") {
  auto invite = alice_invite();
  dialog_table<int> table;
  auto [a, a_new] = table.insert(uac(invite, "fork-a"), 1);
  auto [b, b_new] = table.insert(uac(invite, "fork-b"), 2);
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK(a_new);
  CHECK(b_new);
  CHECK(a != b);
  CHECK(table.size() == 2);
  CHECK(a->dialog.id() == dialog_id{"a84b4c76e66710@pc33.atlanta.com", "1928301774", "fork-a"});
  CHECK(b->dialog.id() == dialog_id{"a84b4c76e66710@pc33.atlanta.com", "1928301774", "fork-b"});
}

TEST_CASE("find_for_response finds the dialog of each fork by its To tag") {
  auto invite = alice_invite();
  dialog_table<int> table;
  table.insert(uac(invite, "fork-a"), 1);
  table.insert(uac(invite, "fork-b"), 2);
  auto* a = table.find_for_response(ringing(invite, "fork-a", "<sip:bob@192.0.2.4>"));
  auto* b = table.find_for_response(sipkit::parser::make_response(invite, 200, {}, "fork-b"));
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK(a->value == 1);
  CHECK(b->value == 2);
  CHECK(b->dialog.id().remote_tag == "fork-b");
}

TEST_CASE("find_for_response returns nullptr for a fork not seen yet") {
  auto invite = alice_invite();
  dialog_table<int> table;
  table.insert(uac(invite, "fork-a"), 1);
  CHECK(table.find_for_response(ringing(invite, "fork-c", "<sip:bob@192.0.2.6>")) == nullptr);
}

TEST_CASE("find_for_response returns nullptr for a response without a To tag") {
  auto invite = alice_invite();
  dialog_table<int> table;
  table.insert(uac(invite, "fork-a"), 1);
  CHECK(table.find_for_response(sipkit::parser::make_response(invite, 100)) == nullptr);
}

TEST_CASE("find_for_request finds the UAS dialog of an in-dialog request from the peer") {
  auto invite = alice_invite();
  dialog_table<int> table;
  table.insert(uac(invite, "fork-a"), 1);
  table.insert(uas_with_carol(), 7);
  auto* e = table.find_for_request(carol_bye());
  REQUIRE(e != nullptr);
  CHECK(e->value == 7);
  CHECK(e->dialog.id() == dialog_id{"carol-call@chicago.com", "ours", "carol1"});
}

TEST_CASE("find_for_request finds a UAC dialog from the callee's request") {
  auto invite = alice_invite();
  dialog_table<int> table;
  table.insert(uac(invite, "fork-a"), 1);
  auto bye = message::request("BYE", "sip:alice@pc33.atlanta.com");
  bye.add(header_id::from, "Bob <sip:bob@biloxi.com>;tag=fork-a");
  bye.add(header_id::to, "Alice <sip:alice@atlanta.com>;tag=1928301774");
  bye.add(header_id::call_id, "a84b4c76e66710@pc33.atlanta.com");
  bye.add(header_id::cseq, "1 BYE");
  auto* e = table.find_for_request(bye);
  REQUIRE(e != nullptr);
  CHECK(e->value == 1);
}

TEST_CASE("find_for_request returns nullptr for unknown tags (the 481 case)") {
  dialog_table<int> table;
  table.insert(uas_with_carol(), 7);
  CHECK(table.find_for_request(carol_bye("not-ours")) == nullptr);
  CHECK(table.find_for_request(carol_bye("ours", "someone-else")) == nullptr);
}

TEST_CASE("find_for_request returns nullptr for a request without a To tag") {
  dialog_table<int> table;
  table.insert(uas_with_carol(), 7);
  CHECK(table.find_for_request(carol_bye("")) == nullptr);
}

TEST_CASE("insert into a full table fails with nullptr") {
  auto invite = alice_invite();
  dialog_table<int> table(2);
  REQUIRE(table.insert(uac(invite, "a"), 1).second);
  REQUIRE(table.insert(uac(invite, "b"), 2).second);
  CHECK(table.full());
  CHECK(table.capacity() == 2);
  auto [e, inserted] = table.insert(uac(invite, "c"), 3);
  CHECK(e == nullptr);
  CHECK_FALSE(inserted);
  CHECK(table.size() == 2);
}

TEST_CASE("insert of an existing id returns the existing entry and keeps its value") {
  auto invite = alice_invite();
  dialog_table<int> table;
  auto [first, first_new] = table.insert(uac(invite, "a"), 1);
  REQUIRE(first_new);
  auto [again, again_new] = table.insert(uac(invite, "a"), 99);
  CHECK(again == first);
  CHECK_FALSE(again_new);
  CHECK(again->value == 1);
  CHECK(table.size() == 1);
}

TEST_CASE("insert of an existing id into a full table still returns the existing entry") {
  auto invite = alice_invite();
  dialog_table<int> table(1);
  auto [first, first_new] = table.insert(uac(invite, "a"), 1);
  REQUIRE(first_new);
  auto [again, again_new] = table.insert(uac(invite, "a"), 2);
  CHECK(again == first);
  CHECK_FALSE(again_new);
}

TEST_CASE("erase removes the entry and frees its place") {
  auto invite = alice_invite();
  dialog_table<int> table(1);
  auto [e, ok] = table.insert(uac(invite, "a"), 1);
  REQUIRE(ok);
  const dialog_id id = e->dialog.id();
  CHECK(table.erase(id));
  CHECK(table.size() == 0);
  CHECK(table.find(id) == nullptr);
  CHECK_FALSE(table.erase(id));
  CHECK(table.insert(uac(invite, "b"), 2).second);
}

TEST_CASE("Entry pointers stay valid while other dialogs are inserted") {
  dialog_table<int> table;
  auto [first, ok] = table.insert(uac(alice_invite(), "a"), 1);
  REQUIRE(ok);
  for (int i = 0; i < 200; ++i)
    REQUIRE(table.insert(uac(alice_invite("call-" + std::to_string(i)), "t"), i).second);
  CHECK(table.find(dialog_id{"a84b4c76e66710@pc33.atlanta.com", "1928301774", "a"}) == first);
  CHECK(first->value == 1);
}

TEST_CASE("for_each visits every entry once") {
  auto invite = alice_invite();
  dialog_table<int> table;
  table.insert(uac(invite, "a"), 1);
  table.insert(uac(invite, "b"), 2);
  table.insert(uas_with_carol(), 4);
  int sum = 0, count = 0;
  table.for_each([&](auto& e) {
    sum += e.value;
    ++count;
  });
  CHECK(count == 3);
  CHECK(sum == 7);
}

TEST_CASE("The entry's dialog can be updated in place") {
  auto invite = alice_invite();
  dialog_table<int> table;
  table.insert(uac(invite, "a"), 1);
  auto ok = sipkit::parser::make_response(invite, 200, {}, "a");
  ok.add(header_id::contact, "<sip:bob@192.0.2.4>");
  auto* e = table.find_for_response(ok);
  REQUIRE(e != nullptr);
  e->dialog.on_response(invite, ok);
  CHECK(table.find_for_response(ok)->dialog.state() == sipkit::dialog::dialog_state::confirmed);
}
