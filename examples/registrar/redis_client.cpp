// redis_client: hiredis's async context on an Asio executor (see the header for the contract).
#include "redis_client.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <deque>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace registrar::redis {

namespace asio = boost::asio;

namespace {

class category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "redis"; }
  std::string message(int e) const override {
    switch (static_cast<errc>(e)) {
      case errc::not_connected:
        return "not connected to Redis";
      case errc::too_many_in_flight:
        return "too many Redis commands in flight";
      case errc::connection_lost:
        return "Redis connection lost before the reply";
      case errc::server_error:
        return "Redis error reply";
      case errc::shut_down:
        return "Redis client shut down";
      case errc::timed_out:
        return "no reply from Redis in time (connection dropped)";
    }
    return "unknown Redis client error";
  }
};

reply convert(const redisReply& r) {
  reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = reply::kind::string;
      break;
    case REDIS_REPLY_STATUS:
      out.type = reply::kind::status;
      break;
    case REDIS_REPLY_ERROR:
      out.type = reply::kind::error;
      break;
    case REDIS_REPLY_INTEGER:
      out.type = reply::kind::integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = reply::kind::array;
      break;
    default:
      out.type = reply::kind::nil;
      break;
  }
  if (r.str) out.str.assign(r.str, r.len);
  out.integer = r.integer;
  out.elements.reserve(r.elements);
  for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(convert(*r.element[i]));
  return out;
}

}  // namespace

const std::error_category& category() noexcept {
  static const category_impl c;
  return c;
}
std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

namespace detail {

// The event hooks of one hiredis connection. hiredis asks for read/write interest; each
// interest is one outstanding async_wait at most, re-armed after hiredis handled the event
// while the interest lasts. Handlers hold the watcher (shared) and the client (locked from a
// weak pointer for the duration of the hiredis call, so that a handler that destroys the
// client from inside a reply callback does not pull the client out from under hiredis).
struct watcher : std::enable_shared_from_this<watcher> {
  watcher(const asio::any_io_executor& ex, redisAsyncContext* c, std::weak_ptr<client_impl> o)
      : sd(ex, c->c.fd), ac(c), owner(std::move(o)) {}
  asio::posix::stream_descriptor sd;
  redisAsyncContext* ac;
  std::weak_ptr<client_impl> owner;
  bool reading = false, writing = false, read_waiting = false, write_waiting = false;
  bool closed = false;

  void arm(bool read) {
    bool& want = read ? reading : writing;
    bool& waiting = read ? read_waiting : write_waiting;
    if (closed || !want || waiting) return;
    waiting = true;
    sd.async_wait(
        read ? asio::posix::descriptor_base::wait_read : asio::posix::descriptor_base::wait_write,
        [self = shared_from_this(), read](const boost::system::error_code& ec) {
          (read ? self->read_waiting : self->write_waiting) = false;
          if (ec || self->closed || !(read ? self->reading : self->writing)) return;
          auto keep = self->owner.lock();
          if (!keep) return;
          if (read)
            redisAsyncHandleRead(self->ac);  // may close the connection (cleanup)
          else
            redisAsyncHandleWrite(self->ac);
          self->arm(read);
        });
  }

  static watcher& of(void* p) { return *static_cast<watcher*>(p); }
  static void add_read(void* p) { of(p).reading = true, of(p).arm(true); }
  static void del_read(void* p) { of(p).reading = false; }
  static void add_write(void* p) { of(p).writing = true, of(p).arm(false); }
  static void del_write(void* p) { of(p).writing = false; }
  // hiredis closes the socket itself (redisFree): give the descriptor back, never close it.
  static void cleanup(void* p) {
    auto& w = of(p);
    w.closed = true;
    w.reading = w.writing = false;
    w.sd.release();
  }
};

class client_impl : public std::enable_shared_from_this<client_impl> {
 public:
  client_impl(asio::any_io_executor ex, client_config cfg)
      : ex_(ex),
        cfg_(std::move(cfg)),
        resolver_(ex),
        timer_(ex),
        stall_timer_(ex),
        backoff_(cfg_.backoff_initial) {}
  ~client_impl() { stop(); }

  void start() {
    if (started_ || stopped_) return;
    started_ = true;
    connect();
  }

  void stop() {
    if (stopped_) return;
    stopped_ = true;
    connected_ = false;
    timer_.cancel();
    stall_timer_.cancel();
    resolver_.cancel();
    if (auto* ac = std::exchange(ac_, nullptr)) redisAsyncFree(ac);  // pending: shut_down
  }

  void command(std::vector<std::string> args, client::handler h) {
    if (stopped_) return fail(std::move(h), errc::shut_down);
    if (!connected_ || !ac_) return fail(std::move(h), errc::not_connected);
    if (in_flight_ >= cfg_.max_in_flight) {
      ++rejected_;
      if (!rejecting_)
        log(sipkit::log_level::warning, "more than " + std::to_string(cfg_.max_in_flight) +
                                            " commands in flight: refusing (" +
                                            std::to_string(rejected_) + " refused so far)");
      rejecting_ = true;
      return fail(std::move(h), errc::too_many_in_flight);
    }
    rejecting_ = false;
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) argv.push_back(a.data()), lens.push_back(a.size());
    auto p = std::make_unique<client::handler>(std::move(h));
    if (redisAsyncCommandArgv(ac_, &client_impl::on_reply, p.get(), static_cast<int>(argv.size()),
                              argv.data(), lens.data()) != REDIS_OK)
      return fail(std::move(*p), errc::connection_lost);
    p.release();
    ++in_flight_;
    sent_.push_back(std::chrono::steady_clock::now());
    if (!stall_armed_) arm_stall_timer();
  }

  std::function<void(bool)> hook_;
  bool connected_ = false;
  std::size_t in_flight_ = 0;
  std::uint64_t rejected_ = 0, connects_ = 0, timed_out_ = 0;

 private:
  void log(sipkit::log_level level, const std::string& text) const {
    if (cfg_.log.enabled(level))
      cfg_.log.log(level, "redis", cfg_.host + ":" + std::to_string(cfg_.port) + ": " + text);
  }

  void fail(client::handler h, errc e) {
    asio::post(ex_, [h = std::move(h), e] { h(make_error_code(e), {}); });
  }

  void notify(bool up) {
    asio::post(ex_, [self = shared_from_this(), up] {
      if (self->hook_ && !self->stopped_) self->hook_(up);
    });
  }

  void connect() {
    if (stopped_) return;
    boost::system::error_code ec;
    auto address = asio::ip::make_address(cfg_.host, ec);
    if (!ec) return connect_to(address.to_string());
    // A host name: resolved off this thread by asio (getaddrinfo blocks).
    resolver_.async_resolve(cfg_.host, std::to_string(cfg_.port),
                            [self = shared_from_this()](const boost::system::error_code& e,
                                                        asio::ip::tcp::resolver::results_type r) {
                              if (self->stopped_) return;
                              if (e || r.empty()) {
                                self->log(sipkit::log_level::warning,
                                          "cannot resolve: " + e.message());
                                return self->schedule_reconnect();
                              }
                              self->connect_to(r.begin()->endpoint().address().to_string());
                            });
  }

  void connect_to(const std::string& ip) {
    redisAsyncContext* ac = redisAsyncConnect(ip.c_str(), cfg_.port);  // non-blocking connect
    if (!ac || ac->err) {
      log(sipkit::log_level::warning, std::string("connect: ") + (ac ? ac->errstr : "no memory"));
      if (ac) redisAsyncFree(ac);
      return schedule_reconnect();
    }
    ac->data = this;
    auto w = std::make_shared<watcher>(ex_, ac, weak_from_this());
    ac->ev.data = w.get();
    ac->ev.addRead = &watcher::add_read;
    ac->ev.delRead = &watcher::del_read;
    ac->ev.addWrite = &watcher::add_write;
    ac->ev.delWrite = &watcher::del_write;
    ac->ev.cleanup = &watcher::cleanup;
    watcher_ = w;
    ac_ = ac;
    redisAsyncSetDisconnectCallback(ac, &client_impl::on_disconnect);
    redisAsyncSetConnectCallback(ac, &client_impl::on_connect);  // waits for writability
    const auto attempt = ++attempt_;
    timer_.expires_after(cfg_.connect_timeout);
    timer_.async_wait([self = shared_from_this(), attempt](const boost::system::error_code& e) {
      if (e || self->stopped_ || self->connected_ || attempt != self->attempt_ || !self->ac_)
        return;
      self->log(sipkit::log_level::warning, "connect timed out");
      redisAsyncFree(std::exchange(self->ac_, nullptr));
      self->schedule_reconnect();
    });
  }

  // One timer for all commands: it wakes when the oldest one would be overdue and re-arms
  // for the next oldest if that one was answered meanwhile (replies come in order).
  void arm_stall_timer() {
    if (sent_.empty() || stopped_) return;
    stall_armed_ = true;
    stall_timer_.expires_at(sent_.front() + cfg_.command_timeout);
    stall_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
      self->stall_armed_ = false;
      if (e || self->stopped_ || self->sent_.empty()) return;
      if (std::chrono::steady_clock::now() < self->sent_.front() + self->cfg_.command_timeout)
        return self->arm_stall_timer();
      self->drop_stalled_connection();
    });
  }

  void drop_stalled_connection() {
    auto* ac = std::exchange(ac_, nullptr);
    if (!ac) return;
    log(sipkit::log_level::warning,
        "no reply in " + std::to_string(cfg_.command_timeout.count()) + " ms: dropping the " +
            "connection and failing " + std::to_string(in_flight_) + " commands in flight");
    timing_out_ = true;  // the callbacks redisAsyncFree runs now report errc::timed_out
    const bool was_connected = connected_;
    redisAsyncFree(ac);  // replies: nullptr; on_disconnect when it was connected
    timing_out_ = false;
    if (!was_connected) schedule_reconnect();
  }

  void schedule_reconnect() {
    if (stopped_) return;
    const auto delay = backoff_;
    backoff_ = std::min(backoff_ * 2, cfg_.backoff_max);
    const auto attempt = ++attempt_;
    timer_.expires_after(delay);
    timer_.async_wait([self = shared_from_this(), attempt](const boost::system::error_code& e) {
      if (!e && !self->stopped_ && attempt == self->attempt_) self->connect();
    });
  }

  static client_impl& of(const redisAsyncContext* ac) {
    return *static_cast<client_impl*>(ac->data);
  }

  static void on_connect(const redisAsyncContext* ac, int status) {
    auto& self = of(ac);
    if (status != REDIS_OK) {  // hiredis frees the context after this returns
      self.log(sipkit::log_level::warning, std::string("connect failed: ") + ac->errstr);
      self.ac_ = nullptr;
      return self.schedule_reconnect();
    }
    self.connected_ = true;
    ++self.connects_;
    self.backoff_ = self.cfg_.backoff_initial;
    ++self.attempt_;  // the connect timeout no longer applies
    self.timer_.cancel();
    self.log(sipkit::log_level::info, "connected");
    self.notify(true);
  }

  static void on_disconnect(const redisAsyncContext* ac, int status) {
    auto& self = of(ac);
    self.ac_ = nullptr;
    self.connected_ = false;
    self.sent_.clear();
    if (self.stopped_) return;
    self.log(sipkit::log_level::warning,
             std::string("connection lost: ") + (status == REDIS_OK ? "closed" : ac->errstr));
    self.notify(false);
    self.schedule_reconnect();
  }

  static void on_reply(redisAsyncContext* ac, void* r, void* privdata) {
    std::unique_ptr<client::handler> h(static_cast<client::handler*>(privdata));
    auto& self = of(ac);
    --self.in_flight_;
    if (!self.sent_.empty()) self.sent_.pop_front();
    if (!r) {
      if (self.timing_out_) ++self.timed_out_;
      const errc e = self.stopped_      ? errc::shut_down
                     : self.timing_out_ ? errc::timed_out
                                        : errc::connection_lost;
      return (*h)(make_error_code(e), {});
    }
    reply out = convert(*static_cast<const redisReply*>(r));
    std::error_code ec;
    if (out.type == reply::kind::error) ec = make_error_code(errc::server_error);
    (*h)(ec, std::move(out));
  }

  asio::any_io_executor ex_;
  client_config cfg_;
  asio::ip::tcp::resolver resolver_;
  asio::steady_timer timer_;  // the connect timeout, then the reconnect backoff
  asio::steady_timer stall_timer_;  // command_timeout of the oldest command in flight
  std::deque<std::chrono::steady_clock::time_point> sent_;  // in flight, oldest first
  std::chrono::milliseconds backoff_;
  redisAsyncContext* ac_ = nullptr;
  std::shared_ptr<watcher> watcher_;
  std::uint64_t attempt_ = 0;  // makes a stale timer expiry a no-op
  bool started_ = false, stopped_ = false, rejecting_ = false;
  bool stall_armed_ = false, timing_out_ = false;
};

}  // namespace detail

client::client(asio::any_io_executor executor, client_config config)
    : impl_(std::make_shared<detail::client_impl>(std::move(executor), std::move(config))) {}
client::~client() { impl_->stop(); }
void client::start() { impl_->start(); }
void client::stop() { impl_->stop(); }
void client::command(std::vector<std::string> args, handler h) {
  impl_->command(std::move(args), std::move(h));
}
void client::on_connection(std::function<void(bool)> hook) { impl_->hook_ = std::move(hook); }
bool client::connected() const noexcept { return impl_->connected_; }
std::size_t client::in_flight() const noexcept { return impl_->in_flight_; }
std::uint64_t client::rejected() const noexcept { return impl_->rejected_; }
std::uint64_t client::connects() const noexcept { return impl_->connects_; }
std::uint64_t client::timed_out() const noexcept { return impl_->timed_out_; }

}  // namespace registrar::redis
