// transaction::transport over sipkit::transport::manager.
#include "sipkit/transaction/network_transport.hpp"

#include <array>
#include <cstring>
#include <map>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "sipkit/transport/error.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#define SIPKIT_HAVE_POSIX_SOCKETS 1
#endif

namespace sipkit::transaction {
namespace net = sipkit::transport;

std::optional<net::protocol> to_transport_protocol(transport_protocol p) noexcept {
  switch (p) {
    case transport_protocol::udp:
      return net::protocol::udp;
    case transport_protocol::tcp:
      return net::protocol::tcp;
    case transport_protocol::tls:
      return net::protocol::tls;
    default:
      return std::nullopt;
  }
}

transport_protocol to_transaction_protocol(net::protocol p) noexcept {
  switch (p) {
    case net::protocol::tcp:
      return transport_protocol::tcp;
    case net::protocol::tls:
      return transport_protocol::tls;
    default:
      return transport_protocol::udp;
  }
}

namespace {

/// The local address the kernel would send from to reach `remote`: connect() on a UDP
/// socket only selects the route and source address, nothing goes on the wire.
std::optional<boost::asio::ip::address> routed_local_address(
    const boost::asio::ip::address& remote) {
#if SIPKIT_HAVE_POSIX_SOCKETS
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (remote.is_v4()) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(9);  // any port: connect() on UDP sends nothing
    const auto bytes = remote.to_v4().to_bytes();
    std::memcpy(&sin.sin_addr, bytes.data(), bytes.size());
    std::memcpy(&ss, &sin, sizeof sin);
    len = sizeof sin;
  } else {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(9);
    const auto v6 = remote.to_v6();
    const auto bytes = v6.to_bytes();
    std::memcpy(&sin6.sin6_addr, bytes.data(), bytes.size());
    sin6.sin6_scope_id = static_cast<std::uint32_t>(v6.scope_id());
    std::memcpy(&ss, &sin6, sizeof sin6);
    len = sizeof sin6;
  }
  const int fd = ::socket(ss.ss_family, SOCK_DGRAM, 0);
  if (fd < 0) return std::nullopt;
  std::optional<boost::asio::ip::address> out;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&ss), len) == 0) {
    sockaddr_storage local{};
    socklen_t local_len = sizeof local;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) == 0) {
      if (local.ss_family == AF_INET) {
        sockaddr_in sin{};
        std::memcpy(&sin, &local, sizeof sin);
        boost::asio::ip::address_v4::bytes_type b{};
        std::memcpy(b.data(), &sin.sin_addr, b.size());
        out = boost::asio::ip::address_v4(b);
      } else if (local.ss_family == AF_INET6) {
        sockaddr_in6 sin6{};
        std::memcpy(&sin6, &local, sizeof sin6);
        boost::asio::ip::address_v6::bytes_type b{};
        std::memcpy(b.data(), &sin6.sin6_addr, b.size());
        out = boost::asio::ip::address_v6(b, sin6.sin6_scope_id);
      }
    }
  }
  ::close(fd);
  return out;
#else
  (void)remote;
  return std::nullopt;
#endif
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
  net_.on_message([state = state_.get()](const net::incoming_message& in) {
    if (state->receiver == nullptr) return;
    endpoint source;
    source.host = in.source.address.to_string();  // IPv6 without brackets
    source.port = in.source.port;
    source.protocol = to_transaction_protocol(in.transport);
    source.connection = in.connection;
    state->receiver->on_receive(in.to_message(), source);
  });
}

network_transport::~network_transport() {
  net_.on_message({});
  net_.on_connection_closed({});
  state_->receiver = nullptr;  // late send completions see no receiver
}

void network_transport::set_receiver(transport_receiver* receiver) noexcept {
  state_->receiver = receiver;
}

std::error_code network_transport::send(const parser::message& msg, const endpoint& destination,
                                        transaction_id origin) {
  net::manager::send_handler done;
  if (origin.valid()) {
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
    return net_.send_response(msg, destination.connection, std::move(done));
  }
  const auto protocol = to_transport_protocol(destination.protocol);
  if (!protocol) return make_error_code(net::error::unsupported_transport);
  const auto address = net::parse_ip(destination.host);
  if (!address) return std::make_error_code(std::errc::invalid_argument);
  net::target to;
  to.transport = *protocol;
  to.remote = {*address, destination.port};
  return net_.send_request(msg, to, std::move(done));
}

std::string network_transport::via_sent_by(const endpoint& destination) const {
  const auto protocol = to_transport_protocol(destination.protocol);
  if (!protocol) return {};
  const auto remote = net::parse_ip(destination.host);
  const bool v6 = remote && remote->is_v6();
  const boost::asio::ip::address any =
      v6 ? boost::asio::ip::address(boost::asio::ip::address_v6::any())
         : boost::asio::ip::address(boost::asio::ip::address_v4::any());
  // Passing the wildcard address tells a wildcard listener from a bound one: only the
  // former reports it back as its host.
  std::string sent_by = net_.via_sent_by(*protocol, {any, 0});
  const std::string any_host = net::endpoint{any, 0}.host_string();
  if (!remote || sent_by.size() <= any_host.size() || !sent_by.starts_with(any_host) ||
      sent_by[any_host.size()] != ':')
    return sent_by;
  auto& routed = state_->routed;
  auto it = routed.find(*remote);
  if (it == routed.end()) {
    const auto local = routed_local_address(*remote);
    if (!local) return sent_by;
    if (routed.size() >= 256) routed.clear();
    it = routed.emplace(*remote, net::endpoint{*local, 0}.host_string()).first;
  }
  return it->second + sent_by.substr(any_host.size());
}

}  // namespace sipkit::transaction
