// gb28181_catalog — a GB/T 28181 (video surveillance) catalog query over SIP MESSAGE,
// built on sipkit::ua.
//
// What it shows: application bodies carried in out-of-dialog MESSAGEs (RFC 3428) with
// sipkit::ua::user_agent — async_send_message for requests, on_message for what arrives
// (the stack answers those 200 itself once the handler returns) — and the GB28181 pattern
// built on them: the platform's Query MESSAGE is answered 200 with no body, and the answer
// proper comes later as a Response MESSAGE the other way. MANSCDP is read with a few bounded
// string searches, no XML library. Every SIP message is printed as one ladder line ("SENT
// to" / "RECEIVED from"), unless --quiet.
//
// Run the device (an IPC or NVR with N cameras), then the platform against it:
//   gb28181_catalog --role device --bind 127.0.0.1 --port 5063
//                   --device-id 34020000001320000001 --channels 4
//   gb28181_catalog --role platform --bind 127.0.0.1 --port 5060
//                   --device sip:34020000001320000001@127.0.0.1:5063
// The platform prints the device list (DeviceID, Name, Status) and exits 0; it exits 1 on
// a non-2xx answer to the query, on a timeout (--timeout) or on a Catalog Response whose SN
// is not the query's. The device answers queries until Ctrl-C / SIGTERM, sending a catalog
// too big for one datagram as several MESSAGEs (SumNum the total, DeviceList Num the items
// in each). --port 0 takes any free port; the "listening on" line tells which.
//
// GB28181 naming: the SIP user names are the 20-digit GB28181 IDs (ua_config::user): the
// platform here is 34020000002000000001 (type 200, a SIP server), the device
// 34020000001320000001 (type 132, an IPC) and its cameras 3402000000131000000k (type 131).
// The first ten digits, 3402000000, are the SIP domain and the digest realm of a real
// deployment (From: <sip:34020000002000000001@3402000000>); there is no REGISTER here, so
// ua_config::domain stays empty and the From URI carries the platform's address and port,
// which is where the device sends its catalog. A registered device would send it to the
// SIP server it registered with instead.
//
// Options: --role device|platform  --bind ADDR (127.0.0.1)  --port N (5063 device, 5060
//          platform)  --device-id ID (device)  --channels N (4)  --device URI (platform)
//          --platform-id ID (34020000002000000001)  --timeout S (5)  --quiet  --full
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../common/sip_ladder.hpp"
#include "sipkit/parser/headers.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/ua/user_agent.hpp"

namespace {

constexpr std::string_view k_manscdp = "Application/MANSCDP+xml";
/// Larger MANSCDP bodies are not read at all: every search below is bounded by this.
constexpr std::size_t k_max_body = 64 * 1024;
/// A catalog MESSAGE carries as many items as fit in this much body, so that the request
/// stays under the 1300 bytes of RFC 3261 §18.1.1 (beyond them the stack would switch to
/// TCP, which neither side listens on here). GB28181 devices split big catalogs the same
/// way: SumNum is the total, DeviceList Num the items in this MESSAGE.
constexpr std::size_t k_catalog_body_budget = 800;
constexpr int k_max_channels = 9999;
constexpr std::uint32_t k_sn = 17430;  // a real platform counts its queries

struct options {
  std::string role;
  std::string bind = "127.0.0.1";
  std::optional<std::uint16_t> port;
  std::string device_id;
  std::string device_uri;
  std::string platform_id = "34020000002000000001";
  int channels = 4;
  int timeout = 5;
  bool quiet = false, full = false;
};

[[noreturn]] void usage() {
  std::fprintf(
      stderr,
      "usage: gb28181_catalog --role device --device-id ID [--channels N]\n"
      "       gb28181_catalog --role platform --device URI [--platform-id ID] [--timeout S]\n"
      "  [--bind ADDR] [--port N] [--quiet] [--full]\n");
  std::exit(2);
}

int number(std::string_view text, int min, int max) {
  int n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || n < min || n > max) usage();
  return n;
}

/// GB28181 IDs are 20 decimal digits: centre code (8) and industry code (2), whose ten
/// digits name the SIP domain, type (3: 132 IPC, 131 camera, 200 SIP server), network (1)
/// and serial number (6).
bool is_gb_id(std::string_view id) {
  if (id.size() != 20) return false;
  for (char c : id)
    if (c < '0' || c > '9') return false;
  return true;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "--role")
      o.role = value();
    else if (a == "--bind")
      o.bind = value();
    else if (a == "--port")
      o.port = static_cast<std::uint16_t>(number(value(), 0, 65535));
    else if (a == "--device-id")
      o.device_id = value();
    else if (a == "--channels")
      o.channels = number(value(), 0, k_max_channels);
    else if (a == "--device")
      o.device_uri = value();
    else if (a == "--platform-id")
      o.platform_id = value();
    else if (a == "--timeout")
      o.timeout = number(value(), 1, 3600);
    else if (a == "--quiet")
      o.quiet = true;
    else if (a == "--full")
      o.full = true;
    else
      usage();
  }
  if (o.role == "device") {
    if (!is_gb_id(o.device_id)) usage();
  } else if (o.role == "platform") {
    // The device's ID is the user part of its URI.
    sipkit::parser::uri_view uri;
    if (sipkit::parser::parse_uri(o.device_uri, uri) || !uri.is_sip() || !is_gb_id(uri.user))
      usage();
    o.device_id = std::string(uri.user);
    if (!is_gb_id(o.platform_id)) usage();
  } else {
    usage();
  }
  return o;
}

// ---------------------------------------------------------------- MANSCDP, minimally
// Enough XML for MANSCDP and no more: an element is found by searching for "<Tag" followed
// by '>', '/' or white space, then for the next "</Tag>". No entities are decoded, and
// comments, CDATA and an element nested in one of its own name are not understood (MANSCDP
// has none). Every search is bounded by the view it is given, itself bounded by k_max_body.

struct element {
  std::string_view attributes;  ///< between the tag name and '>'
  std::string_view text;        ///< the content, white space trimmed
  std::size_t end = 0;          ///< offset just past the closing tag
};

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::optional<element> find_element(std::string_view xml, std::string_view tag,
                                    std::size_t from = 0) {
  for (auto at = xml.find('<', from); at != std::string_view::npos; at = xml.find('<', at + 1)) {
    const std::string_view rest = xml.substr(at + 1);
    if (rest.size() <= tag.size() || !rest.starts_with(tag)) continue;
    const char after = rest[tag.size()];
    if (after != '>' && after != '/' && after != ' ' && after != '\t' && after != '\r' &&
        after != '\n')
      continue;
    const auto open_end = xml.find('>', at);
    if (open_end == std::string_view::npos) return std::nullopt;
    element e;
    const auto name_end = at + 1 + tag.size();
    e.attributes = xml.substr(name_end, open_end - name_end);
    if (!e.attributes.empty() && e.attributes.back() == '/') {  // <Tag/>
      e.end = open_end + 1;
      return e;
    }
    for (auto close = xml.find("</", open_end); close != std::string_view::npos;
         close = xml.find("</", close + 2)) {
      const std::string_view c = xml.substr(close + 2);
      if (c.size() > tag.size() && c.starts_with(tag) && c[tag.size()] == '>') {
        e.text = trim(xml.substr(open_end + 1, close - open_end - 1));
        e.end = close + 2 + tag.size() + 1;
        return e;
      }
    }
    return std::nullopt;
  }
  return std::nullopt;
}

/// The text of <tag> inside `xml`; empty when absent.
std::string_view text_of(std::string_view xml, std::string_view tag) {
  auto e = find_element(xml, tag);
  return e ? e->text : std::string_view{};
}

std::optional<std::uint32_t> to_uint(std::string_view text) {
  std::uint32_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return n;
}

/// Media types compare case-insensitively; parameters (;charset=...) are ignored.
bool is_manscdp(std::string_view content_type) {
  return sipkit::parser::iequals(trim(content_type.substr(0, content_type.find(';'))), k_manscdp);
}

/// Peer text for the terminal: bounded, control characters replaced.
std::string printable(std::string_view s, std::size_t max = 64) {
  std::string out(s.substr(0, max));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

std::string catalog_query(std::uint32_t sn, std::string_view device_id) {
  std::string q = "<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<Query>\r\n";
  q += "<CmdType>Catalog</CmdType>\r\n<SN>" + std::to_string(sn) + "</SN>\r\n";
  q += "<DeviceID>" + std::string(device_id) + "</DeviceID>\r\n</Query>\r\n";
  return q;
}

/// Camera k of the device: the device's first ten digits (its domain), type 131 (camera),
/// network 0, then the six-digit serial number.
std::string channel_id(std::string_view device_id, int k) {
  char serial[16];
  std::snprintf(serial, sizeof serial, "%06d", k);
  return std::string(device_id.substr(0, 10)) + "1310" + serial;
}

std::string catalog_item(std::string_view device_id, int k) {
  std::string i = "<Item>\r\n<DeviceID>" + channel_id(device_id, k) + "</DeviceID>\r\n";
  i += "<Name>Camera " + std::to_string(k) + "</Name>\r\n";
  i += "<Manufacturer>sipkit</Manufacturer>\r\n<Model>IPC</Model>\r\n<Owner>0</Owner>\r\n";
  i += "<CivilCode>340200</CivilCode>\r\n<Address>sipkit</Address>\r\n<Parental>0</Parental>\r\n";
  i += "<ParentID>" + std::string(device_id) + "</ParentID>\r\n<SafetyWay>0</SafetyWay>\r\n";
  i += "<RegisterWay>1</RegisterWay>\r\n<Secrecy>0</Secrecy>\r\n<Status>ON</Status>\r\n";
  i += "</Item>\r\n";
  return i;
}

/// The Response bodies for a catalog of `channels` cameras, split to fit the budget.
std::vector<std::string> catalog_responses(std::uint32_t sn, std::string_view device_id,
                                           int channels) {
  const std::string head =
      "<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<Response>\r\n"
      "<CmdType>Catalog</CmdType>\r\n<SN>" +
      std::to_string(sn) + "</SN>\r\n<DeviceID>" + std::string(device_id) +
      "</DeviceID>\r\n<SumNum>" + std::to_string(channels) + "</SumNum>\r\n";
  const std::string tail = "</DeviceList>\r\n</Response>\r\n";
  auto body = [&](const std::string& items, int num) {
    return head + "<DeviceList Num=\"" + std::to_string(num) + "\">\r\n" + items + tail;
  };
  std::vector<std::string> out;
  std::string items;
  int num = 0;
  for (int k = 1; k <= channels; ++k) {
    std::string item = catalog_item(device_id, k);
    if (num > 0 &&
        head.size() + items.size() + item.size() + tail.size() + 32 > k_catalog_body_budget) {
      out.push_back(body(items, num));
      items.clear();
      num = 0;
    }
    items += item;
    ++num;
  }
  if (num > 0 || out.empty()) out.push_back(body(items, num));
  return out;
}

// ---------------------------------------------------------------- device
// Sends the Response MESSAGEs one after the other, each once the previous one got its 200.
void send_catalog(sipkit::ua::user_agent& agent, const options& opt, std::string platform_uri,
                  std::shared_ptr<std::vector<std::string>> bodies, std::size_t next) {
  if (next == bodies->size()) {
    if (!opt.quiet) std::printf("catalog sent to %s\n", platform_uri.c_str());
    std::fflush(stdout);
    return;
  }
  std::string body = (*bodies)[next];
  agent.async_send_message(
      platform_uri, std::string(k_manscdp), std::move(body),
      [&agent, &opt, platform_uri, bodies, next](std::error_code ec, int status) {
        if (ec || status / 100 != 2) {
          std::fprintf(stderr, "gb28181_catalog: catalog MESSAGE %zu/%zu to %s failed: %s (%d)\n",
                       next + 1, bodies->size(), platform_uri.c_str(),
                       ec ? ec.message().c_str() : "rejected", status);
          return;
        }
        send_catalog(agent, opt, platform_uri, bodies, next + 1);
      });
}

void run_device(boost::asio::io_context& io, sipkit::ua::user_agent& agent, const options& opt) {
  // Every MESSAGE is answered 200 by the stack after this handler returns, whatever it
  // holds. GB28181 works the same way: a Query is acknowledged 200 at the SIP level and
  // answered by a separate Response MESSAGE, so a query for another DeviceID, an unknown
  // CmdType or a malformed body is only logged here and simply gets no Response.
  agent.on_message([&io, &agent, &opt](const sipkit::ua::message_event& m) {
    auto ignore = [&](const std::string& why) {
      std::fprintf(stderr, "gb28181_catalog: MESSAGE from %s ignored: %s\n",
                   printable(m.from, 128).c_str(), why.c_str());
    };
    if (!is_manscdp(m.content_type))
      return ignore("Content-Type " + printable(m.content_type) + ", not " +
                    std::string(k_manscdp));
    if (m.body.size() > k_max_body) return ignore("body larger than 64 KiB");
    const auto query = find_element(m.body, "Query");
    if (!query) return ignore("no <Query> element");
    const auto cmd = text_of(query->text, "CmdType");
    if (cmd.empty()) return ignore("no <CmdType>");
    if (cmd != "Catalog") return ignore("CmdType '" + printable(cmd) + "' not handled");
    const auto sn = to_uint(text_of(query->text, "SN"));
    if (!sn) return ignore("no valid <SN>");
    const auto id = text_of(query->text, "DeviceID");
    if (id != opt.device_id) return ignore("query for DeviceID '" + printable(id) + "'");
    sipkit::parser::name_addr_view from;
    if (sipkit::parser::parse_name_addr(m.from, from) || !from.uri.is_sip())
      return ignore("From is not a SIP URI");

    auto bodies =
        std::make_shared<std::vector<std::string>>(catalog_responses(*sn, id, opt.channels));
    if (!opt.quiet)
      std::printf("Catalog query SN %u from %.*s: %d channel(s) in %zu MESSAGE(s)\n", *sn,
                  static_cast<int>(from.uri.raw.size()), from.uri.raw.data(), opt.channels,
                  bodies->size());
    std::fflush(stdout);
    // m's views die with this call: copy the URI. Posted, so that the stack's 200 for the
    // query goes out before the first Response.
    boost::asio::post(io, [&agent, &opt, uri = std::string(from.uri.raw), bodies] {
      send_catalog(agent, opt, uri, bodies, 0);
    });
  });
}

// ---------------------------------------------------------------- platform
struct catalog_item_info {
  std::string device_id, name, status;
};

struct platform_state {
  bool query_answered = false;  // the 200 for our Query
  std::optional<std::uint32_t> sum_num;
  std::vector<catalog_item_info> items;
  int exit_code = 1;
  bool done = false;
};

/// What take_response made of a MESSAGE: part of our catalog, something else (a device
/// also sends Keepalive Notify and other MANSCDP traffic), or a Catalog Response of the
/// queried device that contradicts the query.
struct verdict {
  enum { taken, ignored, bad } what = taken;
  std::string why;
};

/// Reads one Catalog Response into `st`.
verdict take_response(std::string_view body, const options& opt, platform_state& st) {
  const auto rsp = find_element(body, "Response");
  if (!rsp) return {verdict::ignored, "not a <Response>"};
  const auto x = rsp->text;
  if (text_of(x, "CmdType") != "Catalog")
    return {verdict::ignored, "CmdType '" + printable(text_of(x, "CmdType")) + "'"};
  if (text_of(x, "DeviceID") != opt.device_id)
    return {verdict::ignored, "catalog of DeviceID '" + printable(text_of(x, "DeviceID")) + "'"};
  const auto sn = text_of(x, "SN");
  if (to_uint(sn) != k_sn)
    return {verdict::bad, "SN '" + printable(sn) + "', the query's is " + std::to_string(k_sn)};
  const auto sum = to_uint(text_of(x, "SumNum"));
  if (!sum || *sum > static_cast<std::uint32_t>(k_max_channels))
    return {verdict::bad, "no valid <SumNum>"};
  if (st.sum_num && *st.sum_num != *sum) return {verdict::bad, "SumNum changed"};
  st.sum_num = *sum;
  const auto list = find_element(x, "DeviceList");
  if (!list) return {verdict::bad, "no <DeviceList>"};
  for (auto item = find_element(list->text, "Item"); item;
       item = find_element(list->text, "Item", item->end)) {
    if (st.items.size() >= *sum) return {verdict::bad, "more items than SumNum"};
    st.items.push_back({std::string(text_of(item->text, "DeviceID")),
                        std::string(text_of(item->text, "Name")),
                        std::string(text_of(item->text, "Status"))});
  }
  return {};
}

void print_catalog(const options& opt, const platform_state& st) {
  std::printf("Catalog of %s (SN %u): %zu item(s)\n", opt.device_id.c_str(), k_sn, st.items.size());
  std::printf("  %-20s  %-16s  %s\n", "DeviceID", "Name", "Status");
  for (const auto& i : st.items)
    std::printf("  %-20s  %-16s  %s\n", printable(i.device_id).c_str(), printable(i.name).c_str(),
                printable(i.status).c_str());
  std::fflush(stdout);
}

void run_platform(boost::asio::io_context& io, sipkit::ua::user_agent& agent, const options& opt,
                  platform_state& st, boost::asio::steady_timer& timer) {
  // Ends the run after the current handler has returned, so the stack's 200 for the last
  // Response MESSAGE is sent before io.stop().
  auto finish = [&io, &agent, &st, &timer](int code) {
    if (st.done) return;
    st.done = true;
    st.exit_code = code;
    timer.cancel();
    boost::asio::post(io, [&io, &agent] {
      agent.stop();
      io.stop();
    });
  };
  auto complete_if_done = [&opt, &st, finish] {
    if (st.query_answered && st.sum_num && st.items.size() == *st.sum_num) {
      print_catalog(opt, st);
      finish(0);
    }
  };

  agent.on_message([&opt, &st, finish, complete_if_done](const sipkit::ua::message_event& m) {
    if (st.done) return;
    if (!is_manscdp(m.content_type) || m.body.size() > k_max_body) {
      std::fprintf(stderr, "gb28181_catalog: MESSAGE from %s ignored: not a MANSCDP body\n",
                   printable(m.from, 128).c_str());
      return;
    }
    const auto v = take_response(m.body, opt, st);
    if (v.what == verdict::ignored)
      return (void)std::fprintf(stderr, "gb28181_catalog: MESSAGE from %s ignored: %s\n",
                                printable(m.from, 128).c_str(), v.why.c_str());
    if (v.what == verdict::bad) {
      std::fprintf(stderr, "gb28181_catalog: bad Catalog response: %s\n", v.why.c_str());
      return finish(1);
    }
    complete_if_done();
  });

  timer.expires_after(std::chrono::seconds(opt.timeout));
  timer.async_wait([&opt, &st, finish](boost::system::error_code ec) {
    if (ec || st.done) return;
    if (!st.query_answered)
      std::fprintf(stderr, "gb28181_catalog: no answer to the Catalog query within %d s\n",
                   opt.timeout);
    else
      std::fprintf(
          stderr, "gb28181_catalog: query answered, but %zu of %s catalog item(s) within %d s\n",
          st.items.size(), st.sum_num ? std::to_string(*st.sum_num).c_str() : "?", opt.timeout);
    finish(1);
  });

  agent.async_send_message(
      opt.device_uri, std::string(k_manscdp), catalog_query(k_sn, opt.device_id),
      [&st, finish, complete_if_done](std::error_code ec, int status) {
        if (st.done) return;
        if (ec || status / 100 != 2) {
          std::fprintf(stderr, "gb28181_catalog: Catalog query failed: %s (%d)\n",
                       ec ? ec.message().c_str() : "rejected", status);
          return finish(1);
        }
        st.query_answered = true;
        complete_if_done();
      });
}

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse(argc, argv);
  const bool device = opt.role == "device";
  const std::uint16_t port = opt.port ? *opt.port : device ? 5063 : 5060;
  boost::asio::io_context io(1);

  sipkit::ua::ua_config cfg;
  cfg.user = device ? opt.device_id : opt.platform_id;
  cfg.transport.listen = {{sipkit::transport::protocol::udp, opt.bind, port}};
  cfg.transport.log = sipkit::logger(opt.quiet ? sipkit::log_level::info : sipkit::log_level::debug,
                                     example::ladder_sink(opt.quiet, opt.full));
  cfg.log = sipkit::logger(sipkit::log_level::info, example::ladder_sink(opt.quiet, opt.full));
  sipkit::ua::user_agent agent(io, cfg);
  if (auto ec = agent.start()) {
    std::fprintf(stderr, "gb28181_catalog: cannot listen on %s:%u: %s\n", opt.bind.c_str(), port,
                 ec.message().c_str());
    return 1;
  }
  std::printf("%s %s listening on udp %s\n", device ? "device" : "platform", cfg.user.c_str(),
              agent.local_address(sipkit::transport::protocol::udp).c_str());
  std::fflush(stdout);

  platform_state st;
  boost::asio::steady_timer timer(io);
  if (device)
    run_device(io, agent, opt);
  else
    run_platform(io, agent, opt, st, timer);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    agent.stop();
    io.stop();
  });
  io.run();
  return device ? 0 : st.exit_code;
}
