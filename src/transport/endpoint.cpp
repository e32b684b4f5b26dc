#include "sipkit/transport/endpoint.hpp"

#include <boost/asio/ip/address.hpp>

#include "sipkit/parser/uri.hpp"

namespace sipkit::transport {

std::string endpoint::host_string() const {
  if (address.is_v6()) return "[" + address.to_string() + "]";
  return address.to_string();
}

std::string endpoint::to_string() const { return host_string() + ":" + std::to_string(port); }

std::optional<boost::asio::ip::address> parse_ip(std::string_view text) noexcept {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  if (text.empty() || text.size() > 64) return std::nullopt;
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return a;
}

std::string target::to_string() const {
  std::string out(transport::to_string(transport));
  out += ' ';
  out += remote.to_string();
  if (!server_name.empty()) {
    out += " (";
    out += server_name;
    out += ')';
  }
  return out;
}

}  // namespace sipkit::transport
