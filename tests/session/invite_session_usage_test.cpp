// invite_session, what a binding's usage table needs (RFC 5057 §3: one table dialog id ->
// usage, so that in-dialog requests reach the session): after every batch of actions the
// dialogs that in-dialog requests may name are exactly early_dialogs() plus a
// current_dialog() that is not terminated; `ended` drops them all. No extra action or hook
// is needed for that, and these tests pin it down for the UA binding.
#include <set>

#include "session/support/messages.hpp"
#include "sipkit/session/error.hpp"

using namespace sipkit::test;
using sipkit::session::error;
using st = invite_session::state;
using sipkit::dialog::dialog_state;

namespace {

/// The dialogs a binding keeps in its usage table for `s`, as "local/remote" tags.
std::set<std::string> live_dialogs(const invite_session& s) {
  std::set<std::string> out;
  for (const auto& d : s.early_dialogs()) out.insert(std::string(d.id().local_tag) + "/" + std::string(d.id().remote_tag));
  if (const auto* d = s.current_dialog(); d && d->state() != dialog_state::terminated)
    out.insert(std::string(d->id().local_tag) + "/" + std::string(d->id().remote_tag));
  return out;
}

std::string alice_with(std::string_view remote) {
  return std::string(alice_tag) + "/" + std::string(remote);
}

}  // namespace

TEST_CASE("Usage table, UAC: one dialog per fork while early, the 2xx's alone once confirmed") {
  session_driver d(invite_session::make_uac(alice_invite()));
  d.run(d.session().start(d.now()));
  const auto sent = d.last_of<invite_session::send_request>().at(0);
  REQUIRE(live_dialogs(d.session()).empty());

  // A 100 has no To tag: no dialog (§12.1).
  d.run(d.session().on_response(sent.id, bob_response(sent.request, 100), d.now()));
  REQUIRE(live_dialogs(d.session()).empty());

  d.run(d.session().on_response(sent.id, bob_response(sent.request, 180, {}, "fork1"), d.now()));
  d.run(d.session().on_response(sent.id, bob_response(sent.request, 183, {}, "fork2"), d.now()));
  REQUIRE(live_dialogs(d.session()) ==
          std::set<std::string>{alice_with("fork1"), alice_with("fork2")});

  // The 2xx picks fork2; fork1's early dialog goes (§13.2.2.4).
  d.run(d.session().on_response(sent.id, bob_response(sent.request, 200, answer_sdp, "fork2"),
                                d.now()));
  REQUIRE(d.session().current_state() == st::confirmed);
  REQUIRE(live_dialogs(d.session()) == std::set<std::string>{alice_with("fork2")});

  // A late 2xx of fork1 is ACKed and BYEd by request id: no dialog enters the table.
  d.run(d.session().on_response(sent.id, bob_response(sent.request, 200, answer_sdp, "fork1"),
                                d.now()));
  REQUIRE(d.last_of<invite_session::send_ack>().size() == 1);
  REQUIRE(d.last_of<invite_session::send_request>().size() == 1);
  REQUIRE(live_dialogs(d.session()) == std::set<std::string>{alice_with("fork2")});

  // The peer's BYE: ended (session_ended), and the dialog is no longer live.
  const auto bye = request_from_bob("BYE", 1, {}, "fork2");
  d.run(d.session().on_request({9, 1}, bye, d.now()));
  const auto ended = d.last_of<invite_session::ended>();
  REQUIRE(ended.size() == 1);
  REQUIRE(ended[0].error == error::session_ended);
  REQUIRE(live_dialogs(d.session()).empty());
}

TEST_CASE("Usage table, UAC: a final non-2xx leaves no dialog") {
  session_driver d(invite_session::make_uac(alice_invite()));
  d.run(d.session().start(d.now()));
  const auto sent = d.last_of<invite_session::send_request>().at(0);
  d.run(d.session().on_response(sent.id, bob_response(sent.request, 180), d.now()));
  REQUIRE(live_dialogs(d.session()) == std::set<std::string>{alice_with(bob_tag)});
  d.run(d.session().on_response(sent.id, bob_response(sent.request, 486), d.now()));
  REQUIRE(d.last_of<invite_session::ended>().size() == 1);
  REQUIRE(live_dialogs(d.session()).empty());
}

TEST_CASE("Usage table, UAS: the dialog exists from the first tagged 1xx until the end") {
  constexpr sipkit::transaction::transaction_id invite_tx{7, 1};
  session_driver d(invite_session::make_uas(invite_at_bob(), invite_tx,
                                            {std::string(bob_tag), std::string(bob_contact)}));
  d.run(d.session().start(d.now()));
  REQUIRE(d.session().current_state() == st::incoming);
  REQUIRE(live_dialogs(d.session()).empty());  // a CANCEL matches the IST, not a dialog

  const std::string ours = std::string(bob_tag) + "/" + std::string(alice_tag);
  d.run(d.session().ring(180, {}, d.now()));
  REQUIRE(live_dialogs(d.session()) == std::set<std::string>{ours});
  REQUIRE(d.session().current_dialog()->state() == dialog_state::early);

  d.run(d.session().accept({.body = std::string(answer_sdp)}, d.now()));
  REQUIRE(live_dialogs(d.session()) == std::set<std::string>{ours});
  const auto ack = request_from_alice("ACK", 314159);
  d.run(d.session().on_ack(ack, d.now()));
  REQUIRE(d.session().current_state() == st::confirmed);
  REQUIRE(live_dialogs(d.session()) == std::set<std::string>{ours});

  d.run(d.session().hang_up(d.now()));
  const auto bye = d.last_of<invite_session::send_request>().at(0);
  REQUIRE(start_line(bye.request) == "BYE sip:alice@pc33.atlanta.example.com SIP/2.0");
  // Still live while terminating: a request crossing our BYE finds the session.
  REQUIRE(live_dialogs(d.session()) == std::set<std::string>{ours});
  auto ok = sipkit::parser::make_response(bye.request, 200);
  d.run(d.session().on_response(bye.id, ok, d.now()));
  const auto ended = d.last_of<invite_session::ended>();
  REQUIRE(ended.size() == 1);
  REQUIRE(ended[0].status == 200);
  REQUIRE_FALSE(ended[0].error);
  REQUIRE(live_dialogs(d.session()).empty());
}
