// The amplification ledger (source_ledger.hpp).
#include "transaction/source_ledger.hpp"

namespace sipkit::transaction::detail {
namespace {

// Saturating: a long-lived unproven entry cannot wrap its counters around.
constexpr std::uint64_t k_max_count = std::uint64_t{1} << 56;

}  // namespace

source_ledger::source_ledger(const amplification_config& config, std::uint64_t seed,
                             std::uint64_t* eviction_counter)
    : factor_(config.factor),
      table_(config.max_sources, config.idle_timeout, seed, eviction_counter) {}

void source_ledger::received(std::string_view host, measured_message& msg, time_point now) {
  entry& e = table_.get(host, now);
  if (e.proven) return;
  e.received += msg.size();
  if (e.received > k_max_count) e.received = k_max_count;
}

bool source_ledger::prove(std::string_view host, time_point now) {
  entry& e = table_.get(host, now);
  if (e.proven) return false;
  e.proven = true;
  return true;
}

bool source_ledger::proven(std::string_view host, time_point now) const {
  const entry* e = table_.peek(host, now);
  return e != nullptr && e->proven;
}

source_ledger::verdict source_ledger::admit(std::string_view host, const parser::message& msg,
                                            time_point now, std::size_t bytes) {
  // A request to a destination we have no entry for is our own initiative; a response
  // always answers someone, so it gets an entry (with no credit, if it had none).
  entry* e = msg.is_request() ? table_.find(host, now) : &table_.get(host, now);
  if (e == nullptr || e->proven) return {};
  const std::size_t size = bytes == k_unknown_size ? wire_size(msg) : bytes;
  const std::uint64_t allowed =
      e->received > UINT64_MAX / factor_ ? UINT64_MAX : factor_ * e->received;
  const std::uint64_t credit = allowed > e->sent ? allowed - e->sent : 0;
  // Provisional responses leave room for a final response of at least their own size.
  const bool provisional = msg.is_response() && msg.status_code() < 200;
  const std::uint64_t need = provisional ? 2 * std::uint64_t{size} : size;
  if (credit < need) return {false, size};
  e->sent += size;
  return {true, size};
}

}  // namespace sipkit::transaction::detail
