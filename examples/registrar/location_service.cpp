// location_service: bounded bindings per AOR and in total, with an expiry queue.
#include "location_service.hpp"

#include <algorithm>
#include <cctype>

#include "sipkit/parser/uri.hpp"

namespace registrar {

std::optional<aor> parse_aor(std::string_view uri) {
  sipkit::parser::uri_view u;
  if (sipkit::parser::parse_uri(uri, u) || !u.is_sip()) return std::nullopt;
  aor a;
  a.user = sipkit::parser::unescape(u.user);
  for (char c : u.host) a.host += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  a.key = "sip:" + a.user + "@" + a.host;
  return a;
}

namespace {

// RFC 3261 §10.3 step 7 / §19.1.4: bindings are compared as URIs, not as text.
bool same_uri(std::string_view a, std::string_view b) {
  sipkit::parser::uri_view ua, ub;
  if (sipkit::parser::parse_uri(a, ua) || sipkit::parser::parse_uri(b, ub)) return a == b;
  return sipkit::parser::uri_equal(ua, ub);
}

}  // namespace

location_service::location_service(location_limits limits) : limits_(limits) {
  if (limits_.max_contacts == 0) limits_.max_contacts = 1;
}

void location_service::expire(clock_type::time_point now) {
  while (!expiry_.empty() && expiry_.begin()->first <= now) {
    const auto due = expiry_.begin();
    auto rec = aors_.find(*due->second);
    auto& r = rec->second;
    const auto j = static_cast<std::size_t>(std::find(r.expiry.begin(), r.expiry.end(), due) -
                                            r.expiry.begin());
    r.bindings.erase(r.bindings.begin() + static_cast<std::ptrdiff_t>(j));
    r.expiry.erase(r.expiry.begin() + static_cast<std::ptrdiff_t>(j));
    expiry_.erase(due);
    if (r.bindings.empty()) aors_.erase(rec);
  }
}

std::span<const binding> location_service::lookup(const std::string& aor_key) const {
  auto it = aors_.find(aor_key);
  if (it == aors_.end()) return {};
  return it->second.bindings;
}

std::optional<clock_type::time_point> location_service::next_expiry() const {
  if (expiry_.empty()) return std::nullopt;
  return expiry_.begin()->first;
}

location_service::status location_service::update(const std::string& aor_key,
                                                  std::string_view call_id, std::uint32_t cseq,
                                                  bool remove_all,
                                                  std::span<const contact_update> contacts,
                                                  clock_type::time_point now) {
  auto found = aors_.find(aor_key);
  const std::size_t before = found == aors_.end() ? 0 : found->second.bindings.size();
  // Work on a copy (at most max_contacts + the request's contacts), commit only if it fits.
  std::vector<binding> next;
  if (found != aors_.end() && !remove_all) next = found->second.bindings;
  std::vector<bool> touched(next.size(), false);
  for (const auto& c : contacts) {
    if (c.expires > 0 && c.uri.size() > limits_.max_uri_length) return status::uri_too_long;
    auto it = std::find_if(next.begin(), next.end(),
                           [&](const binding& b) { return same_uri(b.uri, c.uri); });
    const auto i = static_cast<std::size_t>(it - next.begin());
    if (it != next.end() && it->call_id == call_id && it->cseq >= cseq)
      return status::cseq_out_of_order;
    if (c.expires <= 0) {
      if (it != next.end()) {
        next.erase(it);
        touched.erase(touched.begin() + static_cast<std::ptrdiff_t>(i));
      }
      continue;
    }
    binding b{c.uri, std::string(call_id), cseq, now + std::chrono::seconds(c.expires), now};
    if (it != next.end()) {
      *it = std::move(b);
      touched[i] = true;
    } else {
      next.push_back(std::move(b));
      touched.push_back(true);
    }
  }
  while (next.size() > limits_.max_contacts) {
    if (!limits_.replace_oldest) return status::too_many_contacts;
    // RFC 5626 §7 style: the least recently refreshed binding not named in this request.
    std::size_t oldest = next.size();
    for (std::size_t i = 0; i < next.size(); ++i)
      if (!touched[i] &&
          (oldest == next.size() || next[i].refreshed_at < next[oldest].refreshed_at))
        oldest = i;
    if (oldest == next.size()) return status::too_many_contacts;  // the request alone is too many
    next.erase(next.begin() + static_cast<std::ptrdiff_t>(oldest));
    touched.erase(touched.begin() + static_cast<std::ptrdiff_t>(oldest));
  }
  if (next.size() > before && size() - before + next.size() > limits_.max_bindings)
    return status::full;

  // Commit: the AOR's queue entries are replaced by the new ones.
  if (found != aors_.end()) {
    for (auto e : found->second.expiry) expiry_.erase(e);
    if (next.empty()) {
      aors_.erase(found);
      return status::ok;
    }
  } else {
    if (next.empty()) return status::ok;
    found = aors_.emplace(aor_key, record{}).first;
  }
  record& r = found->second;
  r.bindings = std::move(next);
  r.expiry.clear();
  for (const auto& b : r.bindings) r.expiry.push_back(expiry_.emplace(b.expires_at, &found->first));
  return status::ok;
}

}  // namespace registrar
