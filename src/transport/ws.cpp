// SIP over WebSocket (RFC 7118): the WS/WSS half of stream_connection, with Boost.Beast's
// websocket::stream over the same TCP socket / TLS stream as TCP and TLS connections.
//
// What Beast does for us: the HTTP upgrade (key, accept hash, version), framing, masking,
// reassembly of fragmented messages up to read_message_max (and close code 1009 beyond
// it), answering pings, the closing handshake. What is ours: the `sip` subprotocol rule
// (RFC 7118 §4), one SIP message per WebSocket message (§5), and everything shared with
// TCP/TLS (limits, timers, write queue, statistics) in stream.cpp.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "transport/impl.hpp"

namespace sipkit::transport {
namespace detail {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

struct ws_layer {
  using plain_ws = websocket::stream<tcp::socket>;
  using tls_ws = websocket::stream<stream_connection::tls_stream>;

  std::optional<plain_ws> plain;
  std::optional<tls_ws> secure;
  beast::flat_buffer buffer;
  /// Server side: the upgrade request, and a refusal while it is written.
  std::optional<http::request_parser<http::empty_body>> request;
  http::response<http::string_body> refusal;
  /// Client side: the server's 101, to check the subprotocol it selected.
  websocket::response_type response;

  /// Calls f with whichever stream this connection has (one generic code path).
  template <class F>
  void visit(F&& f) {
    if (secure)
      f(*secure);
    else
      f(*plain);
  }
};

namespace {

constexpr std::string_view sip_subprotocol = "sip";

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

/// RFC 6455 §11.3.4: Sec-WebSocket-Protocol is a comma-separated token list (and may be
/// repeated; Beast joins repeated fields with commas when asked for the value).
bool offers_sip(std::string_view list) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, sip_subprotocol)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

/// RFC 7118 §5: text frames carry UTF-8. A SIP message with a binary body goes in a
/// binary frame instead, since a browser fails a connection on invalid UTF-8 in a text
/// frame (RFC 6455 §8.1).
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid (RFC 3629 §3).
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return false;
    i += len;
  }
  return true;
}

bool only_crlf(std::string_view s) {
  for (char c : s)
    if (c != '\r' && c != '\n') return false;
  return !s.empty();
}

std::string describe(const stream_connection& c) {
  return std::string(to_string(c.transport)) + " connection " + std::to_string(c.id) +
         (c.outgoing ? " to " : " from ") + c.remote.to_string();
}

}  // namespace

void ws_layer_deleter::operator()(ws_layer* p) const noexcept { delete p; }

stream_connection::~stream_connection() = default;

void stream_connection::ws_init(tcp::socket sock) {
  ws_.reset(new ws_layer());
  if (transport == protocol::wss) {
    auto& ctx = outgoing ? *owner_->tls_client : *owner_->tls_server;
    ws_->secure.emplace(std::move(sock), ctx);
  } else {
    ws_->plain.emplace(std::move(sock));
  }
  const auto& cfg = owner_->cfg;
  ws_->visit([&](auto& ws) {
    ws.read_message_max(cfg.limits.max_message_size);
    // One SIP message, one frame: nothing is gained by splitting what we send.
    ws.auto_fragment(false);
    // The control callback runs inside our own read operation, which holds a reference
    // to this object, so `this` is alive whenever it is called.
    ws.control_callback([this](websocket::frame_type kind, beast::string_view) {
      if (!open()) return;
      if (kind == websocket::frame_type::ping) {
        // Beast answers it; count it like a CRLF ping (RFC 5626 §4.4.1 analogue).
        auto& s = owner_->st(transport);
        ++s.keepalive_pings_received;
        ++s.keepalive_pongs_sent;
        if (flow_) last_activity_ = steady::now();
      } else if (kind == websocket::frame_type::pong) {
        ping_sent_.reset();
        if (flow_) last_activity_ = steady::now();
      }
    });
  });
}

tcp::socket& stream_connection::ws_socket() {
  return ws_->secure ? ws_->secure->next_layer().next_layer() : ws_->plain->next_layer();
}

stream_connection::tls_stream* stream_connection::ws_tls() {
  return ws_->secure ? &ws_->secure->next_layer() : nullptr;
}

// ---------------------------------------------------------------------------------------
// Server: the HTTP upgrade

void stream_connection::ws_accept() {
  state_ = state::handshaking;
  auto& parser = ws_->request.emplace();
  const auto limit = owner_->cfg.websocket.max_handshake_bytes;
  parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(limit, UINT32_MAX)));
  parser.body_limit(0);
  ws_->visit([&](auto& ws) {
    http::async_read(ws.next_layer(), ws_->buffer, parser,
                     [self = shared_from_this()](const boost::system::error_code& ec,
                                                 std::size_t n) {
                       if (!self->open()) return;
                       self->owner_->st(self->transport).bytes_in += n;
                       if (ec == http::error::end_of_stream || ec == asio::error::eof ||
                           ec == asio::ssl::error::stream_truncated ||
                           ec == asio::error::connection_reset) {
                         self->close("closed by peer before the WebSocket handshake");
                         return;
                       }
                       if (ec) {
                         self->ws_refuse(400, "bad HTTP upgrade request: " + ec.message(),
                                         error::handshake_refused);
                         return;
                       }
                       const auto& req = self->ws_->request->get();
                       if (!websocket::is_upgrade(req)) {
                         self->ws_refuse(426, "not a WebSocket upgrade request",
                                         error::handshake_refused);
                         return;
                       }
                       if (!offers_sip(req[http::field::sec_websocket_protocol])) {
                         self->ws_refuse(400,
                                         "the upgrade does not offer the 'sip' WebSocket "
                                         "subprotocol (RFC 7118 4)",
                                         error::handshake_refused);
                         return;
                       }
                       self->ws_->visit([&](auto& ws2) {
                         ws2.set_option(websocket::stream_base::decorator(
                             [](websocket::response_type& res) {
                               res.set(http::field::sec_websocket_protocol, sip_subprotocol);
                               res.set(http::field::server, "sipkit");
                             }));
                         ws2.async_accept(req, [self](const boost::system::error_code& aec) {
                           if (!self->open()) return;
                           self->ws_->request.reset();
                           if (aec) {
                             // Beast has answered 400 / 426 itself (bad key, version ...).
                             auto& m = *self->owner_;
                             ++m.st(self->transport).websocket_handshakes_refused;
                             ++m.st(self->transport).drops;
                             self->close("WebSocket handshake refused: " + aec.message(),
                                         error::handshake_refused);
                             return;
                           }
                           self->ws_->buffer.clear();
                           self->established();
                         });
                       });
                     });
  });
}

void stream_connection::ws_refuse(unsigned status, std::string why, std::error_code ec) {
  auto& m = *owner_;
  auto& s = m.st(transport);
  ++s.websocket_handshakes_refused;
  ++s.drops;
  m.log_limited(log_reason::ws_refused, log_level::warning, [&] {
    return "refuse WebSocket handshake on " + describe(*this) + " (HTTP " +
           std::to_string(status) + "): " + why;
  });
  auto& res = ws_->refusal;
  res = {};
  res.version(11);
  res.result(status);
  res.set(http::field::server, "sipkit");
  res.set(http::field::content_type, "text/plain");
  res.set(http::field::connection, "close");
  if (status == 426) {
    // RFC 6455 §4.2.2 / RFC 7231 §6.5.15: say what to upgrade to.
    res.set(http::field::upgrade, "websocket");
    res.set(http::field::sec_websocket_version, "13");
  }
  res.body() = why + "\r\n";
  res.prepare_payload();
  ws_->visit([&](auto& ws) {
    http::async_write(ws.next_layer(), res,
                      [self = shared_from_this(), why = std::move(why), ec](
                          const boost::system::error_code&, std::size_t n) {
                        self->owner_->st(self->transport).bytes_out += n;
                        self->close("WebSocket handshake refused: " + why, ec);
                      });
  });
}

// ---------------------------------------------------------------------------------------
// Client: the HTTP upgrade

void stream_connection::ws_handshake(const std::string& server_name) {
  state_ = state::handshaking;
  // RFC 6455 §4.1: Host names the server as the URI does; the port always, it is cheap.
  std::string host = server_name.empty() ? remote.host_string() : server_name;
  host += ':';
  host += std::to_string(remote.port);
  ws_->visit([&](auto& ws) {
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(http::field::sec_websocket_protocol, sip_subprotocol);
      req.set(http::field::user_agent, "sipkit");
    }));
    ws.async_handshake(
        ws_->response, host, owner_->cfg.websocket.resource,
        [self = shared_from_this()](const boost::system::error_code& ec) {
          if (!self->open()) return;
          if (ec) {
            self->close("WebSocket handshake failed: " + ec.message(), ec);
            return;
          }
          // RFC 7118 §4: the server must select `sip`; anything else is not SIP.
          if (!iequals(self->ws_->response[http::field::sec_websocket_protocol],
                       sip_subprotocol)) {
            self->close("WebSocket server did not select the 'sip' subprotocol",
                        error::no_sip_subprotocol);
            return;
          }
          self->ws_->response = {};
          self->established();
        });
  });
}

// ---------------------------------------------------------------------------------------
// Messages

void stream_connection::ws_read() {
  ws_->visit([&](auto& ws) {
    ws.async_read(ws_->buffer,
                  [self = shared_from_this()](const boost::system::error_code& ec,
                                              std::size_t n) { self->ws_on_read(ec, n); });
  });
}

void stream_connection::ws_on_read(const boost::system::error_code& ec, std::size_t n) {
  if (!open()) return;
  auto& m = *owner_;
  auto& s = m.st(transport);
  if (ec) {
    if (ec == websocket::error::message_too_big) {
      // Beast has sent close 1009 (RFC 6455 §7.4.1) and finished the closing handshake.
      ++s.websocket_messages_too_big;
      ++s.drops;
      m.log_limited(log_reason::ws_too_big, log_level::warning, [&] {
        return describe(*this) + ": WebSocket message larger than " +
               std::to_string(m.cfg.limits.max_message_size) + " bytes, closed (1009)";
      });
      close("message too big (WebSocket close 1009)", error::message_too_large);
    } else if (ec == websocket::error::closed || ec == asio::error::eof ||
               ec == asio::ssl::error::stream_truncated) {
      close("closed by peer");
    } else {
      close("read failed: " + ec.message(), ec);
    }
    return;
  }
  // Payload bytes: the frame headers are Beast's business.
  s.bytes_in += n;
  const auto data = ws_->buffer.cdata();
  const std::string_view bytes(static_cast<const char*>(data.data()), data.size());
  if (flow_) last_activity_ = steady::now();
  ping_sent_.reset();  // any traffic shows the flow is alive
  if (only_crlf(bytes)) {
    // SIP.js-style keep-alive inside WebSocket messages: CRLFCRLF is a ping, answered
    // with CRLF (RFC 5626 §4.4.1 carried over); a lone CRLF is a pong.
    if (bytes.size() >= 4) {
      ++s.keepalive_pings_received;
      if (!send("\r\n", {}, false)) ++s.keepalive_pongs_sent;
    }
  } else {
    const bool delivered = m.on_input(bytes, transport, remote, local, id, nullptr, this);
    if (!open() || m.stopped) return;
    if (delivered) mark_flow();
  }
  ws_->buffer.consume(ws_->buffer.size());
  ws_read();
}

void stream_connection::ws_write() {
  auto& p = queue_.front();
  ws_->visit([&](auto& ws) {
    if (p.ws_ping) {
      ws.async_ping({}, [self = shared_from_this()](const boost::system::error_code& ec) {
        self->on_written(ec, 0);
      });
      return;
    }
    ws.text(valid_utf8(p.bytes));
    ws.async_write(asio::buffer(p.bytes),
                   [self = shared_from_this()](const boost::system::error_code& ec,
                                               std::size_t n) { self->on_written(ec, n); });
  });
}

}  // namespace detail
}  // namespace sipkit::transport
