// redis_location_store: location_service's rules as Lua scripts run by Redis (see the header).
#include "redis_location_store.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

#include "sipkit/parser/headers.hpp"
#include "sipkit/parser/uri.hpp"

namespace registrar {

namespace {

// One REGISTER. KEYS: the AOR's key, the index. ARGV: aor, call-id, cseq, remove_all,
// max_contacts, replace_oldest, max_bindings, max_uri_length, n, then per contact: uri,
// expires (s), q (thousandths, "" for none), strict key, number of loose parameters, their
// names and values. Bindings keep their place when refreshed (registration order).
// Returns {0, now, {uri, call-id, cseq, expires_ms, refreshed_ms, q or -1}...} or
// {code, now[, first]}:
// 1 cseq out of order, 2 too many contacts, 3 URI too long, 4 full (+ earliest expiry).
// The order of the checks is location_service::update's, so both answer alike.
constexpr std::string_view k_update_script = R"lua(
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local aor, call_id, cseq = ARGV[1], ARGV[2], tonumber(ARGV[3])
local remove_all, max_contacts = ARGV[4] == '1', tonumber(ARGV[5])
local replace_oldest, max_bindings = ARGV[6] == '1', tonumber(ARGV[7])
local max_uri, n = tonumber(ARGV[8]), tonumber(ARGV[9])
local current = {}
local raw = redis.call('GET', KEYS[1])
if raw then
  for _, b in ipairs(cjson.decode(raw)) do
    if b.e > now then current[#current + 1] = b end
  end
end
local before = #current
local next, touched = {}, {}
if not remove_all then
  for i, b in ipairs(current) do next[i] = b; touched[i] = false end
end
local function same(b, key, loose)
  if b.k ~= key then return false end
  for name, v in pairs(loose) do
    local w = b.l[name]
    if w ~= nil and w ~= v then return false end
  end
  return true
end
local pos = 10
for _ = 1, n do
  local uri, expires, q, key = ARGV[pos], tonumber(ARGV[pos + 1]), tonumber(ARGV[pos + 2]), ARGV[pos + 3]
  local nl = tonumber(ARGV[pos + 4])
  local loose = {}
  for j = 1, nl do loose[ARGV[pos + 3 + 2 * j]] = ARGV[pos + 4 + 2 * j] end
  pos = pos + 5 + 2 * nl
  if expires > 0 and #uri > max_uri then return {3, now} end
  local found
  for i, b in ipairs(next) do
    if same(b, key, loose) then found = i; break end
  end
  if found and next[found].c == call_id and next[found].s >= cseq then return {1, now} end
  if expires <= 0 then
    if found then table.remove(next, found); table.remove(touched, found) end
  else
    local b = {u = uri, c = call_id, s = cseq, e = now + expires * 1000, r = now, q = q, k = key,
               l = loose}
    if found then next[found] = b; touched[found] = true
    else next[#next + 1] = b; touched[#touched + 1] = true end
  end
end
while #next > max_contacts do
  if not replace_oldest then return {2, now} end
  local oldest
  for i, b in ipairs(next) do
    if not touched[i] and (oldest == nil or b.r < next[oldest].r) then oldest = i end
  end
  if oldest == nil then return {2, now} end
  table.remove(next, oldest); table.remove(touched, oldest)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if #next > before and redis.call('ZCARD', KEYS[2]) - before + #next > max_bindings then
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {4, now, tonumber(first[2]) or now}
end
for _, b in ipairs(current) do redis.call('ZREM', KEYS[2], aor .. ' ' .. b.u) end
local out, last = {0, now}, 0
for _, b in ipairs(next) do
  redis.call('ZADD', KEYS[2], b.e, aor .. ' ' .. b.u)
  if b.e > last then last = b.e end
  out[#out + 1] = {b.u, b.c, b.s, b.e, b.r, b.q or -1}
end
if #next == 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], cjson.encode(next))
  redis.call('PEXPIREAT', KEYS[1], last)
end
local top = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if top[2] then redis.call('PEXPIREAT', KEYS[2], top[2]) end
return out
)lua";

// The live bindings of one AOR. KEYS: the AOR's key. Returns {now, {uri, ...}...}.
constexpr std::string_view k_lookup_script = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {now}
local raw = redis.call('GET', KEYS[1])
if raw then
  for _, b in ipairs(cjson.decode(raw)) do
    if b.e > now then out[#out + 1] = {b.u, b.c, b.s, b.e, b.r, b.q or -1} end
  end
end
return out
)lua";

std::string sha1_hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha1(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) out += hex[md[i] >> 4], out += hex[md[i] & 15];
  return out;
}

struct script {
  std::string_view body;
  std::string sha;
};
const script& update_script() {
  static const script s{k_update_script, sha1_hex(k_update_script)};
  return s;
}
const script& lookup_script() {
  static const script s{k_lookup_script, sha1_hex(k_lookup_script)};
  return s;
}

// EVALSHA; when the server does not know the script (a restart emptied its cache), EVAL,
// which also caches it again. `args` = numkeys, keys..., argv...
void run(redis::client& c, const script& s, std::vector<std::string> args,
         redis::client::handler h) {
  args.insert(args.begin(), {"EVALSHA", s.sha});
  c.command(args, [&c, &s, args, h = std::move(h)](std::error_code ec, redis::reply r) mutable {
    if (ec == redis::errc::server_error && r.str.starts_with("NOSCRIPT")) {
      args[0] = "EVAL";
      args[1] = std::string(s.body);
      return c.command(std::move(args), std::move(h));  // inside the client's callback: alive
    }
    h(ec, std::move(r));
  });
}

using ms = std::chrono::milliseconds;
std::chrono::system_clock::time_point at(long long millis) {
  return std::chrono::system_clock::time_point(ms(millis));
}

// {uri, call-id, cseq, expires, refreshed, q}... from `first` on, in registration order;
// returned highest q first as location_service::lookup does. False when malformed.
bool parse_bindings(const redis::reply& r, std::size_t first, redis_bindings& out) {
  if (r.type != redis::reply::kind::array || r.elements.size() < first) return false;
  for (std::size_t i = first; i < r.elements.size(); ++i) {
    const auto& e = r.elements[i].elements;
    if (e.size() != 6) return false;
    std::optional<std::uint16_t> q;
    if (e[5].integer >= 0) q = static_cast<std::uint16_t>(std::min(e[5].integer, 1000LL));
    out.bindings.push_back({e[0].str, e[1].str, static_cast<std::uint32_t>(e[2].integer),
                            at(e[3].integer), at(e[4].integer), q});
  }
  std::stable_sort(out.bindings.begin(), out.bindings.end(), [](const auto& a, const auto& b) {
    return a.q.value_or(1000) > b.q.value_or(1000);
  });
  return true;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

constexpr std::string_view k_must_match[] = {"user", "ttl", "method", "maddr", "transport"};

}  // namespace

std::vector<binding> redis_bindings::local(clock_type::time_point now) const {
  std::vector<binding> out;
  out.reserve(bindings.size());
  std::uint64_t order = 0;
  for (const auto& b : bindings)
    out.push_back(
        {b.uri, b.call_id, b.cseq,
         now + std::chrono::duration_cast<clock_type::duration>(b.expires_at - server_now),
         now - std::chrono::duration_cast<clock_type::duration>(server_now - b.refreshed_at), b.q,
         order++});
  return out;
}

std::chrono::seconds redis_bindings::expires_in(const redis_binding& b) const {
  if (b.expires_at <= server_now) return std::chrono::seconds(0);
  return std::chrono::duration_cast<std::chrono::seconds>(b.expires_at - server_now);
}

uri_match_key match_key(std::string_view uri) {
  namespace p = sipkit::parser;
  p::uri_view u;
  if (p::parse_uri(uri, u) || !u.is_sip()) return {"raw:" + std::string(uri), {}};
  const char sep = '\x1f';
  std::string key = u.scheme == p::uri_scheme::sips ? "sips" : "sip";
  key += sep + p::unescape(u.user) + sep + p::unescape(u.password) + sep +
         lower(std::string(u.host)) + sep + std::to_string(u.port);
  const p::param_list params(u.params);
  for (auto name : k_must_match) {
    auto v = params.find(name);
    key += sep;
    key += v ? "=" + lower(p::unescape(v->value)) : "-";
  }
  // Headers: the same names with the same (unescaped) values, first occurrence per name.
  std::vector<std::pair<std::string, std::string>> headers;
  for (std::size_t pos = 0; pos < u.headers.size();) {
    auto amp = std::min(u.headers.find('&', pos), u.headers.size());
    auto h = u.headers.substr(pos, amp - pos);
    auto eq = std::min(h.find('='), h.size());
    auto name = lower(p::unescape(h.substr(0, eq)));
    if (std::none_of(headers.begin(), headers.end(), [&](auto& x) { return x.first == name; }))
      headers.emplace_back(name, p::unescape(h.substr(std::min(eq + 1, h.size()))));
    pos = amp + 1;
  }
  std::sort(headers.begin(), headers.end());
  for (auto& [n, v] : headers) key += sep + n + "=" + v;

  uri_match_key out{std::move(key), {}};
  params.for_each([&](const p::param_list::param& prm) {
    auto name = lower(std::string(prm.name));
    if (std::find(std::begin(k_must_match), std::end(k_must_match), name) != std::end(k_must_match))
      return;
    if (std::none_of(out.loose.begin(), out.loose.end(), [&](auto& x) { return x.first == name; }))
      out.loose.emplace_back(name, lower(p::unescape(prm.value)));
  });
  return out;
}

redis_location_store::redis_location_store(redis::client& client, redis_store_config config)
    : client_(client), config_(std::move(config)) {
  if (config_.limits.max_contacts == 0) config_.limits.max_contacts = 1;
}

void redis_location_store::async_update(const std::string& aor_key, std::string_view call_id,
                                        std::uint32_t cseq, bool remove_all,
                                        std::span<const contact_update> contacts,
                                        update_handler h) {
  const auto& l = config_.limits;
  std::vector<std::string> args{"2",
                                key_of(aor_key),
                                index_key(),
                                aor_key,
                                std::string(call_id),
                                std::to_string(cseq),
                                remove_all ? "1" : "0",
                                std::to_string(l.max_contacts),
                                l.replace_oldest ? "1" : "0",
                                std::to_string(l.max_bindings),
                                std::to_string(l.max_uri_length),
                                std::to_string(contacts.size())};
  for (const auto& c : contacts) {
    auto k = match_key(c.uri);
    // RFC 3261 caps Expires at 2^32-1 s; the script's millisecond times stay exact below 2^53.
    args.push_back(c.uri);
    args.push_back(std::to_string(std::clamp<long>(c.expires, 0, 4294967295L)));
    args.push_back(c.q ? std::to_string(*c.q) : std::string());
    args.push_back(std::move(k.strict));
    args.push_back(std::to_string(k.loose.size()));
    for (auto& [n, v] : k.loose) args.push_back(n), args.push_back(v);
  }
  run(client_, update_script(), std::move(args),
      [h = std::move(h)](std::error_code ec, redis::reply r) {
        redis_bindings out;
        if (ec) return h(ec, status::ok, std::move(out));
        const bool shaped = r.type == redis::reply::kind::array && r.elements.size() >= 2 &&
                            r.elements[0].type == redis::reply::kind::integer;
        if (!shaped) return h(redis::errc::server_error, status::ok, std::move(out));
        out.server_now = at(r.elements[1].integer);
        switch (r.elements[0].integer) {
          case 0:
            if (!parse_bindings(r, 2, out))
              return h(redis::errc::server_error, status::ok, redis_bindings{});
            return h({}, status::ok, std::move(out));
          case 1:
            return h({}, status::cseq_out_of_order, std::move(out));
          case 2:
            return h({}, status::too_many_contacts, std::move(out));
          case 3:
            return h({}, status::uri_too_long, std::move(out));
          case 4:
            if (r.elements.size() > 2) out.next_expiry = at(r.elements[2].integer);
            return h({}, status::full, std::move(out));
        }
        h(redis::errc::server_error, status::ok, std::move(out));
      });
}

void redis_location_store::async_lookup(const std::string& aor_key, lookup_handler h) {
  run(client_, lookup_script(), {"1", key_of(aor_key)},
      [h = std::move(h)](std::error_code ec, redis::reply r) {
        redis_bindings out;
        if (ec) return h(ec, std::move(out));
        if (r.type != redis::reply::kind::array || r.elements.empty() || !parse_bindings(r, 1, out))
          return h(redis::errc::server_error, redis_bindings{});
        out.server_now = at(r.elements[0].integer);
        h({}, std::move(out));
      });
}

}  // namespace registrar
