#include "sipkit/transport/endpoint.hpp"

#include <boost/asio/ip/address.hpp>

#include "sipkit/parser/uri.hpp"

namespace sipkit::transport {

namespace {

void append_ipv4(std::string& out, const boost::asio::ip::address_v4& a) {
  const auto bytes = a.to_bytes();
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i != 0) out += '.';
    const unsigned v = bytes[i];
    if (v >= 100) out += static_cast<char>('0' + v / 100);
    if (v >= 10) out += static_cast<char>('0' + v / 10 % 10);
    out += static_cast<char>('0' + v % 10);
  }
}

// The dotted quad inet_pton accepts (RFC 791 notation: four decimal octets, no leading
// zeros, no other forms); anything else goes to the general parser, so the result is the
// same either way.
std::optional<boost::asio::ip::address_v4> parse_ipv4_fast(std::string_view text) noexcept {
  boost::asio::ip::address_v4::bytes_type bytes{};
  std::size_t part = 0, digits = 0;
  unsigned value = 0;
  for (char c : text) {
    if (c == '.') {
      if (digits == 0 || part == 3) return std::nullopt;
      bytes[part++] = static_cast<unsigned char>(value);
      value = 0;
      digits = 0;
    } else if (c >= '0' && c <= '9') {
      if (digits == 1 && value == 0) return std::nullopt;  // a leading zero
      value = value * 10 + static_cast<unsigned>(c - '0');
      if (++digits > 3 || value > 255) return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  if (digits == 0 || part != 3) return std::nullopt;
  bytes[3] = static_cast<unsigned char>(value);
  return boost::asio::ip::address_v4(bytes);
}

}  // namespace

std::string address_string(const boost::asio::ip::address& address) {
  if (address.is_v6()) return address.to_string();
  std::string out;
  append_ipv4(out, address.to_v4());
  return out;
}

std::string endpoint::host_string() const {
  if (address.is_v6()) return "[" + address.to_string() + "]";
  return address_string(address);
}

std::string endpoint::to_string() const {
  std::string out = host_string();
  out += ':';
  out += std::to_string(port);
  return out;
}

std::optional<boost::asio::ip::address> parse_ip(std::string_view text) noexcept {
  if (auto v4 = parse_ipv4_fast(text)) return boost::asio::ip::address(*v4);
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
