// transaction::transport over sipkit::transport::manager.
#include "sipkit/transaction/network_transport.hpp"

#include <array>
#include <boost/asio/ip/udp.hpp>
#include <map>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "sipkit/transport/error.hpp"

namespace sipkit::transaction {
namespace net = sipkit::transport;

endpoint to_endpoint(transport_protocol p, const net::endpoint& peer, std::uint64_t connection) {
  endpoint hop;
  hop.host = net::address_string(peer.address);  // IPv6 without brackets
  hop.port = peer.port;
  hop.protocol = p;
  hop.connection = connection;
  return hop;
}

std::optional<net::target> to_target(const endpoint& hop) {
  const auto address = net::parse_ip(hop.host);
  if (!address) return std::nullopt;
  net::target to;
  to.transport = hop.protocol;
  to.remote = {*address, hop.port};
  // The flow the hop came from: RFC 7118 §5.2 needs it to reach a WebSocket client.
  to.connection = hop.connection;
  return to;
}

namespace {

/// The local address the kernel would send from to reach `remote`: connecting a UDP
/// socket only selects the route and the source address, nothing goes on the wire.
std::optional<boost::asio::ip::address> routed_local_address(
    const boost::asio::any_io_executor& executor, const boost::asio::ip::address& remote) {
  namespace ip = boost::asio::ip;
  boost::system::error_code ec;
  ip::udp::socket probe(executor);
  probe.open(remote.is_v4() ? ip::udp::v4() : ip::udp::v6(), ec);
  if (!ec) probe.connect({remote, 9}, ec);  // any port: nothing is sent
  if (ec) return std::nullopt;
  const auto local = probe.local_endpoint(ec);
  if (ec) return std::nullopt;
  return local.address();
}

bool top_via_is_udp(const parser::message& msg) {
  const auto via = msg.top_via();
  return via && parser::iequals(via->transport, "UDP");
}

}  // namespace

// The client transactions whose request was last written on one connection: when the
// connection closes, they get a transport error (RFC 3261 §17.1.4) instead of waiting for
// Timer B/F. A ring of the most recent ones keeps it bounded on long-lived connections;
// transactions that ended meanwhile are ignored by the manager.
struct sent_on_connection {
  static constexpr std::size_t capacity = 32;
  std::array<transaction_id, capacity> ids{};
  std::size_t next = 0;
  void add(transaction_id id) {
    for (const auto& known : ids)
      if (known == id) return;  // a retransmission
    ids[next] = id;
    next = (next + 1) % capacity;
  }
};

struct network_transport::shared_state {
  transport_receiver* receiver = nullptr;
  std::unordered_map<std::uint64_t, sent_on_connection> requests_by_connection;
  // Wildcard listeners: destination address -> routed local address. Bounded; cleared
  // when full, since routes rarely change and destinations are few per instance.
  std::map<boost::asio::ip::address, std::string> routed;
  /// via_sent_by() per (protocol, address family), built again when the manager's
  /// listeners change: every request and every Contact asks for it.
  struct sent_by_entry {
    bool valid = false;
    std::uint64_t version = 0;  ///< transport::manager::listeners_version() when built
    std::string sent_by;        ///< the manager's answer for the wildcard address
    bool wildcard = false;      ///< sent_by is "<any>:port": the host is routed per remote
    std::size_t port_at = 0;    ///< where ":port" starts in sent_by when wildcard
  };
  std::array<std::array<sent_by_entry, 2>, net::protocol_count> sent_by;
};

network_transport::network_transport(net::manager& network)
    : net_(network), state_(std::make_shared<shared_state>()) {
  // The handler is removed in the destructor, so the raw pointer never dangles.
  net_.on_connection_closed([weak = std::weak_ptr<shared_state>(state_)](
                                net::connection_id connection, std::error_code reason) {
    auto state = weak.lock();
    if (!state) return;
    auto it = state->requests_by_connection.find(connection);
    if (it == state->requests_by_connection.end()) return;
    const sent_on_connection sent = it->second;
    state->requests_by_connection.erase(it);
    for (const auto& id : sent.ids)
      if (id.valid() && state->receiver != nullptr) state->receiver->on_send_error(id, reason);
  });
  // A datagram response left without a handler (below); when the kernel refuses it
  // after send() returned (UDP send batching), the cookie names its transaction.
  net_.on_datagram_error([state = state_.get()](std::uint64_t cookie, std::error_code ec) {
    if (state->receiver == nullptr) return;
    transaction_id id;
    id.index = static_cast<std::uint32_t>((cookie >> 32) - 1);
    id.generation = static_cast<std::uint32_t>(cookie);
    state->receiver->on_send_error(id, ec);
  });
  net_.on_message([state = state_.get()](const net::incoming_message& in) {
    if (state->receiver == nullptr) return;
    state->receiver->on_receive(in.to_message(),
                                to_endpoint(in.transport, in.source, in.connection));
  });
}

network_transport::~network_transport() {
  net_.on_message({});
  net_.on_connection_closed({});
  net_.on_datagram_error({});
  state_->receiver = nullptr;  // late send completions see no receiver
}

void network_transport::set_receiver(transport_receiver* receiver) noexcept {
  state_->receiver = receiver;
}

std::error_code network_transport::send(const parser::message& msg, const endpoint& destination,
                                        transaction_id origin) {
  net::manager::send_handler done;
  // A response to a UDP request with a UDP top Via leaves as a datagram (§18.2.2): its
  // failure is the return value, or reported through on_datagram_error() when it left
  // with a batch, and its success needs nothing, so it takes no handler (a std::function
  // allocation and a post per response saved).
  const bool datagram_response = msg.is_response() && destination.protocol == transport_protocol::udp &&
                                 top_via_is_udp(msg);
  if (origin.valid() && !datagram_response) {
    // §17.1.4 / §17.2.4: a failure found after send() returned is a transport error of
    // the transaction that sent.
    const bool request = msg.is_request();
    done = [weak = std::weak_ptr<shared_state>(state_), origin, request](
               std::error_code ec, const net::send_info& info) {
      auto state = weak.lock();
      if (!state) return;
      if (!ec) {
        if (request && info.connection != 0 && info.transport != net::protocol::udp)
          state->requests_by_connection[info.connection].add(origin);
        return;
      }
      if (state->receiver != nullptr) state->receiver->on_send_error(origin, ec);
    };
  }
  if (msg.is_response()) {
    // §18.2.2: the connection the request came on while it is open, else the top Via
    // (its received/rport were filled in when the request arrived).
    // Not 0 for a valid id: index + 1 in the upper half (index is never 0xFFFFFFFF).
    const std::uint64_t cookie =
        datagram_response && origin.valid()
            ? ((static_cast<std::uint64_t>(origin.index) + 1) << 32) | origin.generation
            : 0;
    return net_.send_response(msg, destination.connection, std::move(done), cookie);
  }
  if (!net::runs(destination.protocol)) return make_error_code(net::error::unsupported_transport);
  const auto to = to_target(destination);
  if (!to) return std::make_error_code(std::errc::invalid_argument);
  return net_.send_request(msg, *to, std::move(done));
}

std::string network_transport::via_sent_by(const endpoint& destination) const {
  if (!net::runs(destination.protocol)) return {};
  const auto remote = net::parse_ip(destination.host);
  const bool v6 = remote && remote->is_v6();
  auto& e = state_->sent_by[static_cast<std::size_t>(destination.protocol)][v6 ? 1 : 0];
  const std::uint64_t version = net_.listeners_version();
  if (!e.valid || e.version != version) {
    const boost::asio::ip::address any =
        v6 ? boost::asio::ip::address(boost::asio::ip::address_v6::any())
           : boost::asio::ip::address(boost::asio::ip::address_v4::any());
    // Passing the wildcard address tells a wildcard listener from a bound one: only the
    // former reports it back as its host.
    e.sent_by = net_.via_sent_by(destination.protocol, {any, 0});
    const std::string any_host = net::endpoint{any, 0}.host_string();
    e.wildcard = e.sent_by.size() > any_host.size() && e.sent_by.starts_with(any_host) &&
                 e.sent_by[any_host.size()] == ':';
    e.port_at = any_host.size();
    e.version = version;
    e.valid = true;
  }
  if (!remote || !e.wildcard) return e.sent_by;
  auto& routed = state_->routed;
  auto it = routed.find(*remote);
  if (it == routed.end()) {
    const auto local = routed_local_address(net_.executor(), *remote);
    if (!local) return e.sent_by;
    if (routed.size() >= 256) routed.clear();
    it = routed.emplace(*remote, net::endpoint{*local, 0}.host_string()).first;
  }
  std::string out;
  out.reserve(it->second.size() + e.sent_by.size() - e.port_at);
  out += it->second;
  out.append(e.sent_by, e.port_at);
  return out;
}

}  // namespace sipkit::transaction
