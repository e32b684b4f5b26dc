// gb28181_device — the camera side of GB/T 28181 live video, built on sipkit::ua.
//
// What it shows: a device that registers with its platform (digest, RFC 3261 §22; the 200's
// Date sets a GB28181 device's clock), sends a keepalive MESSAGE every --keepalive seconds,
// answers a Catalog query with its channel list (a 200 at the SIP level, then Response
// MESSAGEs the other way), and answers the platform's live-video INVITE with its own SDP:
// a=sendonly, the platform's y= (SSRC) and an f= line, then takes the BYE. It sends no RTP:
// the SDP says where a real camera would send its PS stream. Every SIP message is printed as
// one ladder line ("SENT to" / "RECEIVED from"), unless --quiet.
//
//   gb28181_device --bind 127.0.0.1 --port 5063 --id 34020000001320000001 --password 12345678
//                  --platform sip:34020000002000000001@127.0.0.1:5060 --channels 2
//
// Options: --bind ADDR (127.0.0.1)  --port N (5063; 0: any free port)  --id ID  --password P
//          --platform URI (the platform's ID @ its address)  --domain D (the platform ID's
//          first ten digits)  --channels N (1)  --keepalive S (60)  --expires S (3600)
//          --media-port N (15060, the RTP port our SDP names)  --run-seconds S (0: until
//          SIGINT/SIGTERM)  --quiet  --full
// Runs until a signal or --run-seconds, then unregisters (Expires: 0) and exits 0; exits 1
// when it cannot listen.
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "../common/gb28181.hpp"
#include "../common/sip_ladder.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/sdp/gb28181.hpp"
#include "sipkit/sdp/session.hpp"
#include "sipkit/ua/user_agent.hpp"

namespace {

/// A catalog MESSAGE carries as many items as fit in this much body, so that the request
/// stays under the 1300 bytes of RFC 3261 §18.1.1 (beyond them the stack would switch to
/// TCP). GB28181 devices split big catalogs the same way: SumNum is the total, DeviceList
/// Num the items in one MESSAGE.
constexpr std::size_t k_catalog_body_budget = 800;

struct options {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 5063;
  std::string id, password, platform, domain;
  int channels = 1, keepalive = 60, expires = 3600, run_seconds = 0;
  std::uint16_t media_port = 15060;
  bool quiet = false, full = false;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: gb28181_device --id ID --password P --platform sip:PLATFORM-ID@HOST:PORT\n"
               "  [--domain D] [--channels N] [--keepalive S] [--expires S] [--media-port N]\n"
               "  [--bind ADDR] [--port N] [--run-seconds S] [--quiet] [--full]\n");
  std::exit(2);
}

int number(std::string_view text, int min, int max) {
  const auto n = gb28181::to_uint(text);
  if (!n || static_cast<long long>(*n) < min || static_cast<long long>(*n) > max) usage();
  return static_cast<int>(*n);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "--bind")
      o.bind = value();
    else if (a == "--port")
      o.port = static_cast<std::uint16_t>(number(value(), 0, 65535));
    else if (a == "--id")
      o.id = value();
    else if (a == "--password")
      o.password = value();
    else if (a == "--platform")
      o.platform = value();
    else if (a == "--domain")
      o.domain = value();
    else if (a == "--channels")
      o.channels = number(value(), 1, 9999);
    else if (a == "--keepalive")
      o.keepalive = number(value(), 1, 3600);
    else if (a == "--expires")
      o.expires = number(value(), 10, 86400);
    else if (a == "--media-port")
      o.media_port = static_cast<std::uint16_t>(number(value(), 1, 65535));
    else if (a == "--run-seconds")
      o.run_seconds = number(value(), 0, 86400);
    else if (a == "--quiet")
      o.quiet = true;
    else if (a == "--full")
      o.full = true;
    else
      usage();
  }
  sipkit::parser::uri_view platform;
  if (!gb28181::is_id(o.id) || o.password.empty() ||
      sipkit::parser::parse_uri(o.platform, platform) || !platform.is_sip() ||
      !gb28181::is_id(platform.user))
    usage();
  if (o.domain.empty()) o.domain = std::string(platform.user.substr(0, 10));
  return o;
}

// ---------------------------------------------------------------- the catalog
std::string catalog_item(const options& o, int k) {
  std::string i = "<Item>\r\n<DeviceID>" + gb28181::channel_id(o.id, k) + "</DeviceID>\r\n";
  i += "<Name>Camera " + std::to_string(k) + "</Name>\r\n";
  i += "<Manufacturer>sipkit</Manufacturer>\r\n<Model>IPC</Model>\r\n<Owner>0</Owner>\r\n";
  i += "<CivilCode>" + o.id.substr(0, 6) + "</CivilCode>\r\n<Address>sipkit</Address>\r\n";
  i += "<Parental>0</Parental>\r\n<ParentID>" + o.id + "</ParentID>\r\n";
  i += "<SafetyWay>0</SafetyWay>\r\n<RegisterWay>1</RegisterWay>\r\n<Secrecy>0</Secrecy>\r\n";
  return i + "<Status>ON</Status>\r\n</Item>\r\n";
}

/// The Response bodies for a Catalog query: every channel, split to fit the budget.
std::vector<std::string> catalog_responses(const options& o, std::uint32_t sn) {
  const std::string sum = "<SumNum>" + std::to_string(o.channels) + "</SumNum>\r\n";
  auto body = [&](const std::string& items, int num) {
    return gb28181::command(
        "Response", "Catalog", sn, o.id,
        sum + "<DeviceList Num=\"" + std::to_string(num) + "\">\r\n" + items + "</DeviceList>\r\n");
  };
  std::vector<std::string> out;
  std::string items;
  int num = 0;
  for (int k = 1; k <= o.channels; ++k) {
    std::string item = catalog_item(o, k);
    if (num > 0 && body(items + item, num + 1).size() > k_catalog_body_budget) {
      out.push_back(body(items, num));
      items.clear();
      num = 0;
    }
    items += item;
    ++num;
  }
  out.push_back(body(items, num));
  return out;
}

struct device {
  device(boost::asio::io_context& i, sipkit::ua::user_agent& a, const options& o)
      : io(i), agent(a), opt(o) {}
  boost::asio::io_context& io;
  sipkit::ua::user_agent& agent;
  const options& opt;
  sipkit::ua::registration reg;
  boost::asio::steady_timer keepalive_timer{io};
  std::uint32_t sn = 0;  // our own commands' serial numbers
  bool online = false;

  /// Every MESSAGE to the platform: From is our AOR (sip:ID@domain), not our address.
  sipkit::ua::message_request to_platform(std::string body) const {
    sipkit::ua::message_request m;
    m.target_uri = opt.platform;
    m.from_uri = "sip:" + opt.id + "@" + opt.domain;
    m.content_type = std::string(gb28181::manscdp_type);
    m.body = std::move(body);
    return m;
  }

  void send(std::string body, std::string what) {
    agent.async_send_message(
        to_platform(std::move(body)), [what = std::move(what)](std::error_code ec, int st) {
          if (ec || st / 100 != 2)
            std::fprintf(stderr, "gb28181_device: %s failed: %s (%d)\n", what.c_str(),
                         ec ? ec.message().c_str() : "rejected", st);
        });
  }

  void keepalive() {
    if (!online) return;
    send(gb28181::command("Notify", "Keepalive", ++sn, opt.id, "<Status>OK</Status>\r\n"),
         "keepalive");
    keepalive_timer.expires_after(std::chrono::seconds(opt.keepalive));
    keepalive_timer.async_wait([this](boost::system::error_code ec) {
      if (!ec) keepalive();
    });
  }

  /// Sends the Response MESSAGEs one after the other, each once the previous one got its 200.
  void send_catalog(std::shared_ptr<std::vector<std::string>> bodies, std::size_t next) {
    if (next == bodies->size()) return;
    agent.async_send_message(
        to_platform((*bodies)[next]), [this, bodies, next](std::error_code ec, int st) {
          if (ec || st / 100 != 2)
            return (void)std::fprintf(
                stderr, "gb28181_device: catalog MESSAGE %zu/%zu failed: %s (%d)\n", next + 1,
                bodies->size(), ec ? ec.message().c_str() : "rejected", st);
          send_catalog(bodies, next + 1);
        });
  }

  // GB/T 28181 §9.10 (校时, time sync): a device takes the time from the Date of its
  // REGISTER's 200 (the GB28181 form, local time). A camera sets its clock here; the
  // example prints what it read and how far our clock is from it (setting the system
  // clock needs privileges an example should not ask for).
  static void time_sync(const sipkit::parser::message& ok) {
    const auto date = ok.get("Date");
    const auto when = date ? gb28181::read_date(*date) : std::nullopt;
    if (!when) {
      std::printf("time sync: no GB28181 Date in the %d (\"%s\")\n", ok.status_code(),
                  std::string(date.value_or("")).c_str());
    } else {
      const std::chrono::duration<double> offset = *when - std::chrono::system_clock::now();
      std::printf("time sync: platform Date %s, platform minus local clock %+.3f s\n",
                  std::string(*date).c_str(), offset.count());
    }
    std::fflush(stdout);
  }

  void start() {
    sipkit::ua::registration_options ro;
    ro.registrar = opt.platform;
    ro.aor = "sip:" + opt.id + "@" + opt.domain;
    ro.expires = std::chrono::seconds(opt.expires);
    ro.retry_interval = std::chrono::seconds(5);
    reg = agent.start_registration(ro);
    reg.on_event([this](const sipkit::ua::registration_event& e) {
      const bool was = online;
      online = e.state == sipkit::ua::registration_state::registered;
      if (online && !was) {
        std::printf("registered with %s for %lld s\n", opt.platform.c_str(),
                    static_cast<long long>(e.expires.count()));
        std::fflush(stdout);
        keepalive();  // the first one at once: the platform counts us online from it
      } else if (!online && was) {
        keepalive_timer.cancel();
      }
      if (online && e.message) time_sync(*e.message);
      if (e.state == sipkit::ua::registration_state::failed)
        std::fprintf(stderr, "gb28181_device: registration failed (%d): %s\n", e.status,
                     e.error.message().c_str());
    });

    // Queries from the platform. The stack answers every MESSAGE 200 once this returns:
    // GB28181 answers a Query at the SIP level and sends the result as a Response MESSAGE.
    agent.on_message([this](const sipkit::ua::message_event& m) {
      const auto c =
          gb28181::is_manscdp(m.content_type) ? gb28181::read_command(m.body) : std::nullopt;
      auto ignore = [&](const std::string& why) {
        std::fprintf(stderr, "gb28181_device: MESSAGE ignored: %s\n", why.c_str());
      };
      if (!c || c->root != "Query" || !c->sn) return ignore("not a MANSCDP Query with an SN");
      if (c->device_id != opt.id)
        return ignore("query for DeviceID '" + gb28181::printable(c->device_id) + "'");
      if (c->cmd_type != "Catalog")
        return ignore("CmdType '" + gb28181::printable(c->cmd_type) + "' not handled");
      auto bodies = std::make_shared<std::vector<std::string>>(catalog_responses(opt, *c->sn));
      std::printf("Catalog query SN %u: %d channel(s) in %zu MESSAGE(s)\n", *c->sn, opt.channels,
                  bodies->size());
      std::fflush(stdout);
      // Posted, so that the stack's 200 for the query goes out before the first Response.
      boost::asio::post(io, [this, bodies] { send_catalog(bodies, 0); });
    });
    agent.on_incoming_call([this](sipkit::ua::call c) { on_play(std::move(c)); });
  }

  // The platform's live-video INVITE for one of our channels: the offer names where the
  // platform's media server listens and the SSRC (y=) our RTP must carry.
  void on_play(sipkit::ua::call c) {
    namespace sdp = sipkit::sdp;
    const auto& invite = c.invite();
    sipkit::parser::uri_view target;
    if (sipkit::parser::parse_uri(invite.request_uri(), target) || !is_ours(target.user))
      return (void)c.reject(404, "No such channel");
    const std::string channel(target.user);
    sdp::session offer;
    const auto y = sdp::parse(invite.body(), offer) ? sdp::gb28181::reading<sdp::gb28181::ssrc>{}
                                                    : sdp::gb28181::ssrc_of(offer);
    const auto video = std::find_if(offer.media.begin(), offer.media.end(), [](const auto& m) {
      return m.media == "video" && m.port != 0;
    });
    // Where the platform's media server listens: the media section's c=, else the session's.
    const sdp::connection* to = nullptr;
    if (video != offer.media.end())
      to = !video->connections.empty() ? &video->connections.front()
           : offer.connection          ? &*offer.connection
                                       : nullptr;
    if (!y || !to) return (void)c.reject(488, "No video stream with a y= SSRC");
    const auto subject = invite.get("Subject");
    std::printf("play %s: PS to %s:%u, y=%s (Subject %s)\n", channel.c_str(),
                gb28181::printable(to->address).c_str(), video->port, y->to_string().c_str(),
                gb28181::printable(subject.value_or("none")).c_str());
    std::fflush(stdout);

    // Our answer: we send (sendonly) PS from --media-port with the platform's SSRC, and
    // say what the stream is: H.264, D1, 25 fps, CBR 4096 kbit/s; G.711 64 kbit/s, 8 kHz.
    const std::string ip_version = opt.bind.find(':') == std::string::npos ? "IP4" : "IP6";
    sdp::session answer;
    answer.origin.username = channel;
    answer.origin.addrtype = ip_version;
    answer.origin.address = opt.bind;
    answer.name = "Play";
    answer.connection = sdp::connection{"IN", ip_version, opt.bind};
    sdp::media_description v;
    v.media = "video";
    v.port = opt.media_port;
    v.fmts = {"96"};
    v.attributes = {{"sendonly", std::nullopt}, {"rtpmap", "96 PS/90000"}};
    sdp::gb28181::set_ssrc(v, *y);
    sdp::gb28181::media_format f;
    f.video = {2, 4, 25, 1, 4096};
    f.audio = {1, 8, 1};
    sdp::gb28181::set_media_format(v, f);
    answer.media.push_back(std::move(v));
    sipkit::ua::answer_options a;
    a.sdp = answer.serialize();
    if (auto ec = c.answer(a))
      return (void)std::fprintf(stderr, "gb28181_device: answering %s: %s\n", channel.c_str(),
                                ec.message().c_str());
    c.on_event([channel](const sipkit::ua::call_event& e) {
      if (e.what == sipkit::ua::call_event::kind::state_changed &&
          e.state == sipkit::ua::call_state::terminated) {
        std::printf("stopped %s\n", channel.c_str());
        std::fflush(stdout);
      }
    });
  }

  bool is_ours(std::string_view channel) const {
    for (int k = 1; k <= opt.channels; ++k)
      if (channel == gb28181::channel_id(opt.id, k)) return true;
    return channel == opt.id;
  }

  /// Unregisters, then stops the agent; `done` runs when that is over (or failed).
  void stop(std::function<void()> done) {
    keepalive_timer.cancel();
    online = false;
    if (!reg) return done();
    reg.async_unregister([this, done](std::error_code, int) {
      agent.stop();
      done();
    });
  }
};

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse(argc, argv);
  boost::asio::io_context io(1);

  sipkit::ua::ua_config cfg;
  cfg.user = opt.id;
  cfg.transport.listen = {{sipkit::transport::protocol::udp, opt.bind, opt.port}};
  cfg.credentials = {{"", opt.id, opt.password}};  // any realm: the platform's domain
  cfg.user_agent = "sipkit-gb28181-device";
  cfg.transport.log = sipkit::logger(opt.quiet ? sipkit::log_level::info : sipkit::log_level::debug,
                                     example::ladder_sink(opt.quiet, opt.full));
  cfg.log = sipkit::logger(sipkit::log_level::info, example::ladder_sink(opt.quiet, opt.full));
  sipkit::ua::user_agent agent(io, cfg);
  if (auto ec = agent.start()) {
    std::fprintf(stderr, "gb28181_device: cannot listen on %s:%u: %s\n", opt.bind.c_str(), opt.port,
                 ec.message().c_str());
    return 1;
  }
  std::printf("device %s listening on udp %s\n", opt.id.c_str(),
              agent.local_address(sipkit::transport::protocol::udp).c_str());
  std::fflush(stdout);

  device dev{io, agent, opt};
  dev.start();

  // The end: a signal or --run-seconds; unregistering is bounded by a 2 s guard.
  boost::asio::steady_timer end_timer(io), guard(io);
  auto finish = [&] {
    guard.expires_after(std::chrono::seconds(2));
    guard.async_wait([&](boost::system::error_code ec) {
      if (!ec) io.stop();
    });
    dev.stop([&] { io.stop(); });
  };
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (!ec) finish();
  });
  if (opt.run_seconds > 0) {
    end_timer.expires_after(std::chrono::seconds(opt.run_seconds));
    end_timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) finish();
    });
  }
  io.run();
  return 0;
}
