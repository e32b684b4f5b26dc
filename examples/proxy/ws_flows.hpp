// ws_flows — how examples/proxy reaches user agents that registered over WebSocket.
//
// RFC 7118 §5.2: a WebSocket client (a browser running JsSIP or SIP.js) cannot be reached
// by a new connection; its Contact names a host that does not exist
// ("sip:k2l3@df7jal23ls0d.invalid;transport=ws"). A request for it must go over the
// connection its REGISTER came on (the flow), and when that connection is gone the
// request fails at once: 430 Flow Failed when the UA registered with RFC 5626 outbound
// (a reg-id in its Contact: it will register a new flow), else 480 Temporarily
// Unavailable (RFC 7118 §5.2, RFC 5626 §5.3) — never a connect to the browser's ephemeral
// port, never a wait for Timer B.
//
//   ws_flows flows(net);                       // borrows the transport::manager
//   ws_flows::tap tap(flows, adapter);         // network_transport's receiver instead of the
//   tp.set_receiver(tap);                      // adapter: notes each WS REGISTER's connection
//   flows.learn(register_request);             // after every REGISTER answered 200
//   flows.find(contact_uri)                    // the hop for a Contact, or nullopt
//
// Not thread-safe (the io_context's thread only, like everything in the proxy). Entries
// whose connection has closed are pruned when the tables grow past their bound, so the
// memory is bounded by the open connections and `max_entries`.
#pragma once

#include <cctype>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "sipkit/dialog/dialog.hpp"
#include "sipkit/parser/message.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/transaction/transport.hpp"
#include "sipkit/transport/manager.hpp"

namespace proxy_example {

class ws_flows {
 public:
  /// One flow: the hop to send on (protocol, peer address, connection) and whether the UA
  /// registered it with RFC 5626 outbound (reg-id), which decides 430 over 480.
  struct flow {
    sipkit::transaction::endpoint hop;
    bool outbound = false;
  };

  /// Receives from network_transport in place of the proxy's adapter: notes the source
  /// (connection) of every REGISTER that came over WS/WSS by its Via branch, then passes
  /// the message on unchanged. (A browser's Via has no rport, so the REGISTER's own fields
  /// do not tell its port; the branch names the REGISTER whenever it is answered.)
  class tap final : public sipkit::transaction::transport_receiver {
   public:
    tap(ws_flows& flows, sipkit::transaction::transport_receiver& next)
        : flows_(flows), next_(next) {}
    void on_receive(sipkit::parser::message msg,
                    const sipkit::transaction::endpoint& source) override {
      if (sipkit::transport::is_websocket(source.protocol) && source.connection != 0 &&
          msg.is_request() && msg.method() == sipkit::parser::method::register_)
        if (auto via = msg.top_via()) flows_.note_source(via->branch, source);
      next_.on_receive(std::move(msg), source);
    }
    void on_send_error(sipkit::transaction::transaction_id origin, std::error_code ec) override {
      next_.on_send_error(origin, ec);
    }

   private:
    ws_flows& flows_;
    sipkit::transaction::transport_receiver& next_;
  };

  explicit ws_flows(const sipkit::transport::manager& net, std::size_t max_entries = 100000)
      : net_(net), max_entries_(max_entries) {}

  /// After an accepted REGISTER (call it for every one): when it came over WS/WSS (the
  /// tap saw it), each of its Contacts is reachable only on that flow; otherwise its
  /// Contacts are ordinary ones again (a UA that moved from WebSocket to UDP, say).
  void learn(const sipkit::parser::message& reg) {
    const auto via = reg.top_via();
    if (!via) return;
    std::optional<sipkit::transaction::endpoint> hop;
    if (auto src = sources_.find(via->branch); src != sources_.end()) {
      hop = src->second;
      sources_.erase(src);
    }
    for (const auto& f : reg.fields()) {
      if (f.id != sipkit::parser::header_id::contact) continue;
      for (auto c : sipkit::dialog::split_address_list(reg.value_of(f))) {
        sipkit::parser::name_addr_view na;
        if (c == "*" || sipkit::parser::parse_name_addr(c, na)) continue;
        const auto k = key(na.uri.raw);
        if (!k) continue;
        if (!hop) {
          flows_.erase(*k);
          continue;
        }
        if (flows_.size() >= max_entries_) prune();
        flow fl;
        fl.hop = *hop;
        fl.outbound = lowercase(std::string(c)).find(";reg-id=") != std::string::npos;
        flows_[*k] = fl;
      }
    }
  }

  /// The flow a Contact (or a Request-URI equal to one) was registered on, open or not.
  std::optional<flow> find(std::string_view uri) const {
    const auto k = key(uri);
    if (!k) return std::nullopt;
    auto it = flows_.find(*k);
    if (it == flows_.end()) return std::nullopt;
    return it->second;
  }

  bool is_open(const flow& f) const { return net_.is_open(f.hop.connection); }

 private:
  friend class tap;
  void note_source(std::string_view branch, const sipkit::transaction::endpoint& s) {
    if (sources_.size() >= max_entries_) prune();
    sources_.insert_or_assign(std::string(branch), s);
  }

  void prune() {
    std::erase_if(flows_, [&](const auto& e) { return !net_.is_open(e.second.hop.connection); });
    // REGISTERs refused (401, 403 ...) leave their entry; they are only worth keeping for
    // a moment, so a full table starts again.
    std::erase_if(sources_, [&](const auto& e) { return !net_.is_open(e.second.connection); });
    if (sources_.size() >= max_entries_) sources_.clear();
  }

  static std::string lowercase(std::string s) {
    for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
  }

  // user@host, the host in lowercase: a browser keeps both for its life, while the
  // parameters it writes after them (;transport=ws, ;ob) differ between REGISTER and INVITE.
  static std::optional<std::string> key(std::string_view uri) {
    sipkit::parser::uri_view u;
    if (sipkit::parser::parse_uri(uri, u)) return std::nullopt;
    return std::string(u.user) + "@" + lowercase(std::string(u.host));
  }

  const sipkit::transport::manager& net_;
  std::size_t max_entries_;
  // REGISTERs received over WS/WSS, by Via branch, until learn() takes them.
  std::map<std::string, sipkit::transaction::endpoint, std::less<>> sources_;
  std::map<std::string, flow> flows_;
};

}  // namespace proxy_example
