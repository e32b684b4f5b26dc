// gb28181_platform — the SIP server side of GB/T 28181 live video, built on sipkit::ua.
//
// What it shows, step by step as a device comes up:
//   1. REGISTER with digest (digest_server, MD5 as GB28181 devices use it; realm = the SIP
//      domain, the first ten digits of our ID). The 200 carries Date in the GB28181 form
//      (2026-12-02T13:00:00.000), which devices set their clocks from.
//   2. Keepalive MESSAGEs (<Notify><CmdType>Keepalive</CmdType>) keep a device online; three
//      missed --keepalive intervals mark it offline (logged).
//   3. On its first keepalive the device is asked for its catalog (a Query MESSAGE); the
//      Response MESSAGEs (several for a big catalog: SumNum, DeviceList Num) are printed.
//   4. With --play CHANNEL, once a device lists that channel (or is it), the live-video
//      INVITE: Subject "<channel>:<ssrc>,<platform>:0", an SDP with s=Play, the media
//      server's RTP address (--media), a=recvonly, a=rtpmap:96 PS/90000 and y=<ssrc>; the
//      device's 200 must carry the same y= (its f= says what it sends). After
//      --play-seconds, BYE.
// Every SIP message is printed as one ladder line ("SENT to" / "RECEIVED from"), unless
// --quiet; the steps above print one line each on stdout.
//
//   gb28181_platform --bind 127.0.0.1 --port 5060 --password 12345678
//                    --play 34020000001310000001 --media 127.0.0.1:30000 --play-seconds 10
//
// Options: --bind ADDR (127.0.0.1)  --port N (5060; 0: any free port)  --id ID
//          (34020000002000000001)  --password P (every device's)  --keepalive S (60)
//          --play CHANNEL  --media IP:PORT (--bind:30000)  --play-seconds S (10)
//          --run-seconds S (0: until SIGINT/SIGTERM)  --quiet  --full
// Exit status: 0, or 1 when it cannot listen or a --play failed (INVITE refused, no y= in
// the answer, or an SSRC that is not ours).
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
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "../common/gb28181.hpp"
#include "../common/sip_ladder.hpp"
#include "sipkit/parser/uri.hpp"
#include "sipkit/sdp/gb28181.hpp"
#include "sipkit/sdp/session.hpp"
#include "sipkit/ua/digest.hpp"
#include "sipkit/ua/user_agent.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using verdict = sipkit::ua::digest_server::verdict;

struct options {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 5060;
  std::string id = "34020000002000000001";
  std::string password;
  int keepalive = 60, play_seconds = 10, run_seconds = 0;
  std::string play, media_ip;
  std::uint16_t media_port = 30000;
  bool quiet = false, full = false;
  std::string domain() const { return id.substr(0, 10); }
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: gb28181_platform --password P [--id ID] [--keepalive S]\n"
               "  [--play CHANNEL [--media IP:PORT] [--play-seconds S]]\n"
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
    else if (a == "--keepalive")
      o.keepalive = number(value(), 1, 3600);
    else if (a == "--play")
      o.play = value();
    else if (a == "--media") {
      const std::string_view m = value();
      const auto colon = m.rfind(':');
      if (colon == std::string_view::npos) usage();
      o.media_ip = m.substr(0, colon);
      o.media_port = static_cast<std::uint16_t>(number(m.substr(colon + 1), 1, 65535));
    } else if (a == "--play-seconds")
      o.play_seconds = number(value(), 0, 86400);
    else if (a == "--run-seconds")
      o.run_seconds = number(value(), 0, 86400);
    else if (a == "--quiet")
      o.quiet = true;
    else if (a == "--full")
      o.full = true;
    else
      usage();
  }
  if (!gb28181::is_id(o.id) || o.password.empty() || (!o.play.empty() && !gb28181::is_id(o.play)))
    usage();
  if (o.media_ip.empty()) o.media_ip = o.bind;
  return o;
}

/// What the platform knows of one device.
struct device {
  std::string id;
  sipkit::transaction::endpoint address;  ///< of its REGISTER: where requests to it go
  bool online = false, catalog_asked = false;
  std::unique_ptr<boost::asio::steady_timer> watchdog;  ///< 3 keepalive intervals
  std::optional<std::uint32_t> catalog_total;
  std::vector<std::string> channels;
  std::string catalog_text;  ///< the lines printed once the catalog is complete

  /// sip:<id>@<address>: the Request-URI of what we send it (GB28181 names the device, or
  /// one of its channels, in the user part; the host is where it registered from, which
  /// also works behind a NAT).
  std::string uri(std::string_view user) const {
    const bool v6 = address.host.find(':') != std::string::npos;
    return "sip:" + std::string(user) + "@" + (v6 ? "[" + address.host + "]" : address.host) + ":" +
           std::to_string(address.port);
  }
};

class platform {
 public:
  platform(boost::asio::io_context& io, sipkit::ua::user_agent& agent, const options& opt)
      : io_(io),
        agent_(agent),
        opt_(opt),
        auth_(digest_config(opt), [this](std::string_view, std::string_view) {
          return std::optional<std::string>(opt_.password);
        }) {
    agent_.on_request("REGISTER", [this](sipkit::ua::incoming_request& in) { on_register(in); });
    agent_.on_message([this](const sipkit::ua::message_event& m) { on_message(m); });
  }
  int exit_code() const { return exit_code_; }

  /// Hangs up a live play (BYE) and stops the agent; `done` runs once the BYE is answered.
  void stop(std::function<void()> done) {
    if (bye_timer_) bye_timer_->cancel();
    const auto live = call_ ? call_.state() : sipkit::ua::call_state::terminated;
    if (live == sipkit::ua::call_state::terminated || live == sipkit::ua::call_state::terminating) {
      agent_.stop();
      return done();
    }
    call_.async_hangup([this, done](std::error_code) {
      agent_.stop();
      done();
    });
  }

 private:
  static sipkit::ua::digest_server_config digest_config(const options& opt) {
    sipkit::ua::digest_server_config c;
    c.realm = opt.domain();
    c.algorithms = {sipkit::ua::digest_algorithm::md5};  // what GB28181 devices implement
    return c;
  }

  // ------------------------------------------------------------ 1. REGISTER
  void on_register(sipkit::ua::incoming_request& in) {
    const auto& req = in.message();
    const auto now = clock_type::now();
    const auto who = auth_.verify(req, in.source().host, false, now);
    if (who.v == verdict::malformed) return (void)in.respond(in.make_response(400, who.reason));
    if (who.v == verdict::throttled) return (void)in.respond(in.make_response(403));
    if (who.v != verdict::ok)
      return (void)in.respond(auth_.challenge(req, false, who.v == verdict::stale_nonce, now));
    // The digest username is the device ID, and a device registers its own ID only.
    const auto to = req.to();
    if (!to || to->uri.user != who.username || !gb28181::is_id(who.username))
      return (void)in.respond(in.make_response(403, "Not your ID"));

    long expires = 3600;
    if (auto c = req.get(sipkit::parser::header_id::contact)) {
      sipkit::parser::name_addr_view contact;
      if (!sipkit::parser::parse_name_addr(*c, contact) && !contact.expires.empty())
        expires = gb28181::to_uint(contact.expires).value_or(3600);
      else if (auto e = req.get(sipkit::parser::header_id::expires))
        expires = gb28181::to_uint(*e).value_or(3600);
    }
    auto ok = in.make_response(200);
    if (auto c = req.get(sipkit::parser::header_id::contact))
      ok.add(sipkit::parser::header_id::contact,
             std::string(*c) + ";expires=" + std::to_string(expires));
    ok.add(sipkit::parser::header_id::expires, std::to_string(expires));
    ok.add("Date", gb28181::date_now());  // time sync for the device
    (void)in.respond(std::move(ok));

    if (expires == 0) {
      if (devices_.erase(who.username))
        std::printf("device %s unregistered: offline\n", who.username.c_str());
      std::fflush(stdout);
      return;
    }
    auto& d = devices_[who.username];
    const bool known = !d.id.empty();
    d.id = who.username;
    d.address = in.source();
    if (!d.watchdog) d.watchdog = std::make_unique<boost::asio::steady_timer>(io_);
    if (!known)
      std::printf("device %s registered from %s:%u for %ld s\n", d.id.c_str(),
                  d.address.host.c_str(), d.address.port, expires);
    std::fflush(stdout);
    arm_watchdog(d);
  }

  // ------------------------------------------------------------ 2. keepalive, offline
  /// Offline after three keepalive intervals without one (GB/T 28181 §9.6).
  void arm_watchdog(device& d) {
    d.watchdog->expires_after(std::chrono::seconds(3 * opt_.keepalive));
    d.watchdog->async_wait([this, id = d.id](boost::system::error_code ec) {
      if (ec) return;
      auto it = devices_.find(id);
      if (it == devices_.end() || !it->second.online) return;
      it->second.online = false;
      std::printf("device %s offline: no keepalive for %d s (3 intervals)\n", id.c_str(),
                  3 * opt_.keepalive);
      std::fflush(stdout);
    });
  }

  void on_message(const sipkit::ua::message_event& m) {
    const auto c =
        gb28181::is_manscdp(m.content_type) ? gb28181::read_command(m.body) : std::nullopt;
    if (!c) return (void)std::fprintf(stderr, "gb28181_platform: MESSAGE without MANSCDP body\n");
    const auto it = devices_.find(std::string(c->device_id));
    if (c->root == "Notify" && c->cmd_type == "Keepalive") {
      if (it == devices_.end())
        return (void)std::fprintf(stderr, "gb28181_platform: keepalive of unregistered %s\n",
                                  gb28181::printable(c->device_id).c_str());
      on_keepalive(it->second);
    } else if (c->root == "Response" && c->cmd_type == "Catalog") {
      if (it == devices_.end())
        return (void)std::fprintf(stderr, "gb28181_platform: catalog of unregistered %s\n",
                                  gb28181::printable(c->device_id).c_str());
      on_catalog(it->second, *c);
    } else {
      std::fprintf(stderr, "gb28181_platform: %s/%s not handled\n",
                   gb28181::printable(c->root).c_str(), gb28181::printable(c->cmd_type).c_str());
    }
  }

  void on_keepalive(device& d) {
    arm_watchdog(d);
    if (d.online) return;
    d.online = true;
    std::printf("device %s online (keepalive)\n", d.id.c_str());
    std::fflush(stdout);
    if (d.catalog_asked) return;
    d.catalog_asked = true;
    // 3. Posted: the stack's 200 for this keepalive goes out before our query.
    boost::asio::post(io_, [this, id = d.id] { query_catalog(id); });
  }

  // ------------------------------------------------------------ 3. catalog
  void query_catalog(const std::string& id) {
    const auto it = devices_.find(id);
    if (it == devices_.end()) return;
    sipkit::ua::message_request q;
    q.target_uri = it->second.uri(id);
    q.from_uri = "sip:" + opt_.id + "@" + opt_.domain();
    q.content_type = std::string(gb28181::manscdp_type);
    q.body = gb28181::command("Query", "Catalog", ++sn_, id);
    agent_.async_send_message(std::move(q), [id](std::error_code ec, int status) {
      if (ec || status / 100 != 2)
        std::fprintf(stderr, "gb28181_platform: Catalog query to %s failed: %s (%d)\n", id.c_str(),
                     ec ? ec.message().c_str() : "rejected", status);
    });
  }

  void on_catalog(device& d, const gb28181::command_view& c) {
    const auto sum = gb28181::to_uint(gb28181::text_of(c.content, "SumNum"));
    const auto list = gb28181::find_element(c.content, "DeviceList");
    if (!sum || *sum > 9999 || !list)
      return (void)std::fprintf(stderr, "gb28181_platform: bad catalog from %s\n", d.id.c_str());
    if (d.catalog_total != sum || d.channels.size() == *sum) {  // a new catalog
      d.channels.clear();
      d.catalog_text.clear();
    }
    d.catalog_total = *sum;
    for (auto item = gb28181::find_element(list->text, "Item"); item && d.channels.size() < *sum;
         item = gb28181::find_element(list->text, "Item", item->end)) {
      d.channels.emplace_back(gb28181::text_of(item->text, "DeviceID"));
      char line[160];
      std::snprintf(line, sizeof line, "  %-20s  %-16s  %s\n",
                    gb28181::printable(d.channels.back()).c_str(),
                    gb28181::printable(gb28181::text_of(item->text, "Name")).c_str(),
                    gb28181::printable(gb28181::text_of(item->text, "Status")).c_str());
      d.catalog_text += line;
    }
    if (d.channels.size() < *sum) return;  // more Response MESSAGEs to come
    std::printf("Catalog of %s (SN %u): %zu item(s)\n%s", d.id.c_str(), c.sn.value_or(0),
                d.channels.size(), d.catalog_text.c_str());
    std::fflush(stdout);
    if (!opt_.play.empty() && !played_ &&
        (d.id == opt_.play ||
         std::find(d.channels.begin(), d.channels.end(), opt_.play) != d.channels.end()))
      play(d);
  }

  // ------------------------------------------------------------ 4. live video
  void play(device& d);
  void fail(const std::string& why);

  boost::asio::io_context& io_;
  sipkit::ua::user_agent& agent_;
  const options& opt_;
  sipkit::ua::digest_server auth_;
  std::map<std::string, device, std::less<>> devices_;
  std::uint32_t sn_ = 0;
  unsigned streams_ = 0;
  bool played_ = false;
  int exit_code_ = 0;
  sipkit::ua::call call_;
  std::unique_ptr<boost::asio::steady_timer> bye_timer_;
};

/// The live-video offer (GB/T 28181 Annex F): s=Play, the media server's address and port,
/// recvonly (we receive), MPEG-PS on payload type 96, and y= the SSRC the stream must carry.
std::string play_offer(const options& opt, const sipkit::sdp::gb28181::ssrc& ssrc) {
  namespace sdp = sipkit::sdp;
  const std::string ip_version = opt.media_ip.find(':') == std::string::npos ? "IP4" : "IP6";
  sdp::session offer;
  offer.origin.username = opt.id;
  offer.origin.addrtype = ip_version;
  offer.origin.address = opt.media_ip;
  offer.name = "Play";
  offer.connection = sdp::connection{"IN", ip_version, opt.media_ip};
  sdp::media_description video;
  video.media = "video";
  video.port = opt.media_port;
  video.fmts = {"96"};
  video.attributes = {{"recvonly", std::nullopt}, {"rtpmap", "96 PS/90000"}};
  sdp::gb28181::set_ssrc(video, ssrc);  // y=, after the a= lines
  offer.media.push_back(std::move(video));
  return offer.serialize();
}

void platform::play(device& d) {
  played_ = true;
  const auto ssrc = sipkit::sdp::gb28181::ssrc::make(false, opt_.id, ++streams_);
  sipkit::ua::call_options o;
  o.from_uri = "sip:" + opt_.id + "@" + opt_.domain();
  o.subject = opt_.play + ":" + ssrc.to_string() + "," + opt_.id + ":0";
  o.sdp = play_offer(opt_, ssrc);
  std::printf("play %s on %s: Subject %s\n", opt_.play.c_str(), d.id.c_str(), o.subject.c_str());
  std::fflush(stdout);
  call_ = agent_.make_call(d.uri(opt_.play), std::move(o));
  call_.async_wait_connected([this, ssrc](std::error_code ec) {
    if (ec)
      return fail("INVITE failed: " + ec.message() + " (" + std::to_string(call_.final_status()) +
                  ")");
    // The device's answer must stream with our SSRC; its f= says what it sends.
    sipkit::sdp::session answer;
    if (auto perr = sipkit::sdp::parse(call_.remote_sdp(), answer))
      return fail("the answer's SDP does not parse: " + perr.message());
    const auto y = sipkit::sdp::gb28181::ssrc_of(answer);
    const auto f = sipkit::sdp::gb28181::media_format_of(answer);
    if (!y || *y != ssrc) return fail("the answer's y= is not " + ssrc.to_string());
    std::printf("playing %s: y=%s f=%s\n", opt_.play.c_str(), y->to_string().c_str(),
                f ? f->to_string().c_str() : "(none)");
    std::fflush(stdout);
    bye_timer_ = std::make_unique<boost::asio::steady_timer>(io_);
    bye_timer_->expires_after(std::chrono::seconds(opt_.play_seconds));
    bye_timer_->async_wait([this](boost::system::error_code tec) {
      if (tec) return;
      call_.async_hangup([this](std::error_code hec) {
        if (hec) return fail("BYE failed: " + hec.message());
        std::printf("stopped %s: BYE answered %d\n", opt_.play.c_str(), call_.final_status());
        std::fflush(stdout);
      });
    });
  });
}

void platform::fail(const std::string& why) {
  std::fprintf(stderr, "gb28181_platform: play %s: %s\n", opt_.play.c_str(), why.c_str());
  exit_code_ = 1;
  if (call_ && call_.state() == sipkit::ua::call_state::established)
    call_.async_hangup([](std::error_code) {});
}

}  // namespace

int main(int argc, char** argv) {
  const options opt = parse(argc, argv);
  boost::asio::io_context io(1);

  sipkit::ua::ua_config cfg;
  cfg.user = opt.id;
  cfg.domain = opt.domain();
  cfg.transport.listen = {{sipkit::transport::protocol::udp, opt.bind, opt.port}};
  cfg.user_agent = "sipkit-gb28181-platform";
  cfg.transport.log = sipkit::logger(opt.quiet ? sipkit::log_level::info : sipkit::log_level::debug,
                                     example::ladder_sink(opt.quiet, opt.full));
  cfg.log = sipkit::logger(sipkit::log_level::info, example::ladder_sink(opt.quiet, opt.full));
  sipkit::ua::user_agent agent(io, cfg);
  platform p(io, agent, opt);
  if (auto ec = agent.start()) {
    std::fprintf(stderr, "gb28181_platform: cannot listen on %s:%u: %s\n", opt.bind.c_str(),
                 opt.port, ec.message().c_str());
    return 1;
  }
  std::printf("platform %s listening on udp %s\n", opt.id.c_str(),
              agent.local_address(sipkit::transport::protocol::udp).c_str());
  std::fflush(stdout);

  // The end: a signal or --run-seconds; the BYE of a live play is bounded by a 2 s guard.
  boost::asio::steady_timer end_timer(io), guard(io);
  auto finish = [&] {
    guard.expires_after(std::chrono::seconds(2));
    guard.async_wait([&](boost::system::error_code ec) {
      if (!ec) io.stop();
    });
    p.stop([&] { io.stop(); });
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
  return p.exit_code();
}
