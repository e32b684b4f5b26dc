// Test helpers for the transaction layer: sample messages, a driver that executes a
// single machine's actions on the manual clock, and a transaction user that records.
#pragma once

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sipkit/parser/message.hpp"
#include "sipkit/transaction/action.hpp"
#include "sipkit/transaction/manager.hpp"
#include "support/manual_clock.hpp"

namespace sipkit::test {

using namespace std::chrono_literals;
namespace tx = sipkit::transaction;
using parser::header_id;

/// A request as RFC 3261 §8.1.1 asks for, with a given top Via.
inline parser::message sample_request(std::string_view method,
                                      std::string_view branch = "z9hG4bK74bf9",
                                      std::string_view sent_by = "192.0.2.1:5060",
                                      std::string_view via_transport = "UDP",
                                      std::uint32_t cseq = 314159) {
  auto m = parser::message::request(method, "sip:bob@biloxi.example.com");
  std::string via = "SIP/2.0/";
  via.append(via_transport).append(" ").append(sent_by);
  if (!branch.empty()) via.append(";branch=").append(branch);
  m.add(header_id::via, via);
  m.add(header_id::max_forwards, "70");
  m.add(header_id::route, "<sip:proxy.example.com;lr>");
  m.add(header_id::from, "Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl");
  m.add(header_id::to, "Bob <sip:bob@biloxi.example.com>");
  m.add(header_id::call_id, "3848276298220188511@atlanta.example.com");
  m.add(header_id::cseq, std::to_string(cseq) + " " + std::string(method));
  m.add(header_id::contact, "<sip:alice@client.atlanta.example.com;transport=udp>");
  return m;
}

/// A request without top Via, for start_client (the manager adds the Via).
inline parser::message sample_uac_request(std::string_view method, std::uint32_t cseq = 1,
                                          std::string call_id = "a84b4c76e66710") {
  auto m = parser::message::request(method, "sip:bob@biloxi.example.com");
  m.add(header_id::max_forwards, "70");
  m.add(header_id::from, "Alice <sip:alice@atlanta.example.com>;tag=1928301774");
  m.add(header_id::to, "Bob <sip:bob@biloxi.example.com>");
  m.add(header_id::call_id, call_id);
  m.add(header_id::cseq, std::to_string(cseq) + " " + std::string(method));
  return m;
}

/// The response a UAS would send (§8.2.6); a To tag on everything above 100.
inline parser::message sample_response(const parser::message& request, int code,
                                       std::string_view to_tag = "8321234356") {
  return parser::make_response(request, code, {}, code > 100 ? to_tag : std::string_view{});
}

/// Runs one machine: sends and TU upcalls are recorded with their time, timers are
/// scheduled on the manual clock and fed back as timer_fired when they come due.
template <class Machine>
class machine_driver {
 public:
  struct record {
    long long at_ms;
    parser::message msg;
  };
  struct timer_record {
    long long at_ms;  // when the action was executed
    tx::timer which;
    long long deadline_ms;  // start_timer only
  };

  machine_driver(manual_clock& clock, Machine machine)
      : clock_(clock), machine_(std::move(machine)) {}
  machine_driver(const machine_driver&) = delete;
  ~machine_driver() {
    for (auto& [t, id] : armed_) clock_.cancel(id);
  }

  void start() { apply(machine_.start(clock_.now())); }
  template <class Event>
  tx::action_list handle(Event&& e) {
    tx::action_list acts = machine_.handle(std::forward<Event>(e), clock_.now());
    apply(acts);
    return acts;
  }

  Machine& machine() { return machine_; }
  const std::vector<record>& sent() const { return sent_; }
  std::vector<long long> send_times() const {
    std::vector<long long> out;
    for (const auto& r : sent_) out.push_back(r.at_ms);
    return out;
  }
  const std::vector<record>& to_tu() const { return to_tu_; }
  const std::vector<std::pair<long long, std::error_code>>& failures() const { return failures_; }
  const std::vector<timer_record>& started() const { return started_; }
  const std::vector<timer_record>& stopped() const { return stopped_; }
  bool armed(tx::timer t) const { return armed_.count(t) != 0; }
  std::size_t armed_count() const { return armed_.size(); }
  bool terminated() const { return terminated_at_ >= 0; }
  long long terminated_at() const { return terminated_at_; }
  /// Timer deadline (ms) of an armed timer, -1 when not armed.
  long long deadline_of(tx::timer t) const {
    auto it = deadlines_.find(t);
    return armed(t) && it != deadlines_.end() ? it->second : -1;
  }

 private:
  void apply(const tx::action_list& acts) {
    for (const auto& a : acts) {
      // RFC 3261 §17.1.1.2: a terminated machine is destroyed; it must not act again.
      REQUIRE_FALSE(terminated());
      switch (a.kind) {
        case tx::action_kind::send:
          sent_.push_back({clock_.ms(), *a.msg});
          break;
        case tx::action_kind::start_timer: {
          started_.push_back({clock_.ms(), a.which, manual_clock::ms_of(a.deadline)});
          if (auto it = armed_.find(a.which); it != armed_.end()) clock_.cancel(it->second);
          const tx::timer which = a.which;
          deadlines_[which] = manual_clock::ms_of(a.deadline);
          armed_[which] = clock_.schedule(a.deadline, [this, which] {
            armed_.erase(which);
            apply(machine_.handle(tx::timer_fired{which}, clock_.now()));
          });
          break;
        }
        case tx::action_kind::stop_timer:
          stopped_.push_back({clock_.ms(), a.which, -1});
          if (auto it = armed_.find(a.which); it != armed_.end()) {
            clock_.cancel(it->second);
            armed_.erase(it);
          }
          break;
        case tx::action_kind::pass_to_tu:
          to_tu_.push_back({clock_.ms(), *a.msg});
          break;
        case tx::action_kind::inform_tu:
          failures_.push_back({clock_.ms(), a.code});
          break;
        case tx::action_kind::terminated:
          REQUIRE(armed_.empty());  // every timer stopped or fired before Terminated
          terminated_at_ = clock_.ms();
          break;
      }
    }
  }

  manual_clock& clock_;
  Machine machine_;
  std::vector<record> sent_;
  std::vector<record> to_tu_;
  std::vector<std::pair<long long, std::error_code>> failures_;
  std::vector<timer_record> started_;
  std::vector<timer_record> stopped_;
  std::map<tx::timer, std::uint64_t> armed_;
  std::map<tx::timer, long long> deadlines_;
  long long terminated_at_ = -1;
};

/// A transaction user that records every upcall with the manual clock's time.
class recording_tu : public tx::transaction_user {
 public:
  struct request_event {
    tx::transaction_id id;
    parser::message msg;
    tx::endpoint source;
    tx::transaction_id cancels;
    long long at_ms;
  };
  struct response_event {
    tx::transaction_id id;
    parser::message msg;
    long long at_ms;
  };
  struct ack_event {
    parser::message msg;
    tx::endpoint source;
    tx::transaction_id matched;
  };
  struct failure_event {
    tx::transaction_id id;
    std::error_code ec;
    long long at_ms;
  };

  explicit recording_tu(manual_clock& clock) : clock_(clock) {}

  void on_request(tx::transaction_id id, const parser::message& request, const tx::endpoint& source,
                  tx::transaction_id cancels) override {
    if (record_requests) requests.push_back({id, request, source, cancels, clock_.ms()});
    if (request_hook) request_hook(id, request);
  }
  void on_response(tx::transaction_id id, const parser::message& response) override {
    responses.push_back({id, response, clock_.ms()});
    if (response_hook) response_hook(id, response);
  }
  void on_ack(const parser::message& ack, const tx::endpoint& source,
              tx::transaction_id matched) override {
    acks.push_back({ack, source, matched});
  }
  void on_stray_response(const parser::message& response, const tx::endpoint&) override {
    strays.push_back(response);
  }
  void on_failure(tx::transaction_id id, std::error_code ec) override {
    failures.push_back({id, ec, clock_.ms()});
  }
  void on_terminated(tx::transaction_id id) override {
    terminated.push_back(id);
    terminated_at[id] = clock_.ms();
  }

  std::vector<request_event> requests;
  std::vector<response_event> responses;
  std::vector<ack_event> acks;
  std::vector<parser::message> strays;
  std::vector<failure_event> failures;
  std::vector<tx::transaction_id> terminated;
  std::unordered_map<tx::transaction_id, long long> terminated_at;
  std::function<void(tx::transaction_id, const parser::message&)> request_hook;
  std::function<void(tx::transaction_id, const parser::message&)> response_hook;
  bool record_requests = true;  ///< off for tests that create millions of transactions

 private:
  manual_clock& clock_;
};

inline std::vector<long long> ms_list(std::initializer_list<double> seconds) {
  std::vector<long long> out;
  for (double s : seconds) out.push_back(static_cast<long long>(s * 1000.0 + 0.5));
  return out;
}

}  // namespace sipkit::test
