// An in-memory transport for transaction tests.
//
//   sipkit::test::manual_clock clock;
//   sipkit::test::fake_transport tp(clock, {"192.0.2.1", 5060});
//   transaction::manager mgr(tp, tu);
//   ... mgr.start_client(...);
//   REQUIRE(tp.sent().size() == 1);            // what was sent, where, when
//   tp.fail_nth_send(2, std::make_error_code(std::errc::connection_refused));
//
// It records every send (destination, origin transaction, time, a copy of the message and,
// unless record_bytes is off, its serialized bytes). It can fail or silently drop the Nth
// send from now, and it can act as a network: `connect()` hands every send (not dropped)
// to a receiver after a latency, losing each one with a given probability (a seeded PRNG,
// so a test is reproducible). Delivery copies the message object; with `through_bytes`
// it is serialized and parsed again, as a real transport would.
//
// Thread safety: none. Lifetime: the clock must outlive the transport; the receiver of
// connect() must outlive every pending delivery (advance the clock before destroying).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "sipkit/parser/message.hpp"
#include "sipkit/parser/message_view.hpp"
#include "sipkit/transaction/transport.hpp"
#include "support/manual_clock.hpp"

namespace sipkit::test {

class fake_transport final : public transaction::transport {
 public:
  struct record {
    transaction::endpoint destination;
    transaction::transaction_id origin;
    manual_clock::time_point at;
    parser::message msg;
    std::string bytes;  ///< serialized, empty when record_bytes is off
    bool dropped = false;
  };
  using deliver_fn = std::function<void(parser::message, const transaction::endpoint& source)>;

  fake_transport(manual_clock& clock, transaction::endpoint local)
      : clock_(clock), local_(std::move(local)) {}

  // transaction::transport
  std::error_code send(const parser::message& msg, const transaction::endpoint& destination,
                       transaction::transaction_id origin) override {
    ++send_count_;
    if (fail_at_ && *fail_at_ == send_count_) {
      fail_at_.reset();
      ++failed_;
      return fail_code_;
    }
    bool dropped = false;
    if (drop_at_ && *drop_at_ == send_count_) {
      drop_at_.reset();
      dropped = true;
    }
    if (record_) {
      record r{destination, origin, clock_.now(), msg, {}, dropped};
      if (record_bytes_) r.bytes = msg.serialize();
      sent_.push_back(std::move(r));
    }
    if (!dropped && deliver_) {
      if (loss_ > 0.0 && std::bernoulli_distribution(loss_)(rng_)) {
        ++lost_;
      } else {
        deliver_later(msg, destination);
      }
    }
    return {};
  }

  std::string via_sent_by(const transaction::endpoint&) const override {
    return local_.host + ":" + std::to_string(local_.port);
  }

  // Inspection.
  const std::vector<record>& sent() const noexcept { return sent_; }
  void clear() { sent_.clear(); }
  std::size_t send_count() const noexcept { return send_count_; }
  std::size_t lost() const noexcept { return lost_; }
  const transaction::endpoint& local() const noexcept { return local_; }

  // Behaviour switches.
  /// The `n`th send from now (1 = the next) fails with `ec` (it is not recorded).
  void fail_nth_send(std::size_t n, std::error_code ec) {
    fail_at_ = send_count_ + n;
    fail_code_ = ec;
  }
  /// The `n`th send from now is recorded (dropped = true) but never delivered.
  void drop_nth_send(std::size_t n) { drop_at_ = send_count_ + n; }
  void set_record(bool messages, bool bytes) {
    record_ = messages;
    record_bytes_ = bytes;
  }
  /// The protocol this side uses as the source of what it delivers (UDP or TCP ...).
  void set_protocol(transaction::transport_protocol p) { local_.protocol = p; }

  /// Act as a network: deliver sends to `deliver` after `latency`, each lost with
  /// probability `loss` (seeded). `through_bytes`: serialize and re-parse on the way.
  void connect(deliver_fn deliver, manual_clock::duration latency, double loss = 0.0,
               std::uint64_t seed = 1, bool through_bytes = false) {
    deliver_ = std::move(deliver);
    latency_ = latency;
    loss_ = loss;
    rng_.seed(seed);
    through_bytes_ = through_bytes;
  }

 private:
  void deliver_later(const parser::message& msg, const transaction::endpoint& destination) {
    transaction::endpoint source = local_;
    source.protocol = destination.protocol;
    if (through_bytes_) {
      std::string wire = msg.serialize();
      clock_.schedule_in(latency_, [this, wire = std::move(wire), source]() {
        parser::message_view view;
        if (parse_message(wire, view)) return;  // unparsable: a real transport drops it
        deliver_(parser::message::from_view(view), source);
      });
    } else {
      clock_.schedule_in(
          latency_, [this, copy = msg, source]() mutable { deliver_(std::move(copy), source); });
    }
  }

  manual_clock& clock_;
  transaction::endpoint local_;
  std::vector<record> sent_;
  std::size_t send_count_ = 0;
  std::size_t failed_ = 0;
  std::size_t lost_ = 0;
  std::optional<std::size_t> fail_at_;
  std::optional<std::size_t> drop_at_;
  std::error_code fail_code_;
  bool record_ = true;
  bool record_bytes_ = true;
  deliver_fn deliver_;
  manual_clock::duration latency_{};
  double loss_ = 0.0;
  std::mt19937_64 rng_{1};
  bool through_bytes_ = false;
};

}  // namespace sipkit::test
