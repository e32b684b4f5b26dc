#include "sipkit/dialog/dialog.hpp"

#include <algorithm>
#include <functional>

#include "sipkit/parser/headers.hpp"
#include "sipkit/parser/uri.hpp"

namespace sipkit::dialog {
namespace {

using parser::header_id;
using parser::message;

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// Every value of every header line with this id, in message order, as views into `m`.
std::vector<std::string_view> all_addresses(const message& m, header_id id) {
  std::vector<std::string_view> out;
  for (const auto& f : m.fields())
    if (f.id == id)
      for (std::size_t pos = 0;;) {
        const auto v = next_address(m.value_of(f), pos);
        if (v.empty()) break;
        out.push_back(v);
      }
  return out;
}

}  // namespace

std::string_view next_address(std::string_view value, std::size_t& pos) {
  while (pos <= value.size()) {
    bool quoted = false, angle = false;
    const std::size_t start = pos;
    std::size_t i = pos;
    for (; i < value.size(); ++i) {
      const char c = value[i];
      if (quoted) {
        if (c == '\\')
          ++i;
        else if (c == '"')
          quoted = false;
      } else if (c == '"') {
        quoted = true;
      } else if (c == '<') {
        angle = true;
      } else if (c == '>') {
        angle = false;
      } else if (c == ',' && !angle) {
        break;
      }
    }
    pos = i + 1;
    if (auto v = trim(value.substr(start, std::min(i, value.size()) - start)); !v.empty())
      return v;
  }
  return {};
}

namespace {

// A view into `m`: the dialog copies it into its own buffer.
std::string_view contact_uri(const message& m) {
  auto v = m.get(header_id::contact);
  if (!v) return {};
  std::size_t pos = 0;
  const auto first = next_address(*v, pos);  // no list: only the first one counts
  if (first.empty()) return {};
  return address_uri(first);
}

bool is_sips(std::string_view uri) noexcept {
  return uri.size() >= 5 && parser::iequals(uri.substr(0, 5), "sips:");
}

bool loose_router(std::string_view route) {
  parser::uri_view u;
  auto text = address_uri(route);
  if (text.empty() || parser::parse_uri(text, u)) return true;  // unparsable: do not rewrite
  return u.lr;
}

// §12.1.2: the UAC's route set is the response's Record-Route in reverse order.
std::vector<std::string_view> uac_route_set(const message& response) {
  auto routes = all_addresses(response, header_id::record_route);
  std::reverse(routes.begin(), routes.end());
  return routes;
}

bool strict_first(const std::vector<std::string_view>& routes) {
  return !routes.empty() && !loose_router(routes.front());
}

std::optional<std::uint32_t> cseq_number(const message& m) {
  auto c = m.cseq();
  if (!c) return std::nullopt;
  return c->number;
}

}  // namespace

std::size_t dialog_id_hash::operator()(const dialog_id& id) const noexcept {
  return (*this)(dialog_id_view{id.call_id, id.local_tag, id.remote_tag});
}

std::size_t dialog_id_hash::operator()(const dialog_id_view& id) const noexcept {
  std::hash<std::string_view> h;
  std::size_t seed = h(id.call_id);
  seed ^= h(id.local_tag) + 0x9e3779b97f4a7c15ull + (seed << 6) + (seed >> 2);
  seed ^= h(id.remote_tag) + 0x9e3779b97f4a7c15ull + (seed << 6) + (seed >> 2);
  return seed;
}

std::optional<dialog_id> incoming_request_dialog_id(const message& request) {
  auto from = request.from();
  auto to = request.to();
  auto call_id = request.call_id();
  if (!from || !to || to->tag.empty() || call_id.empty()) return std::nullopt;
  return dialog_id{std::string(call_id), std::string(to->tag), std::string(from->tag)};
}

std::optional<dialog_id_view> incoming_request_dialog_id_view(const message& request) {
  auto from = request.from();
  auto to = request.to();
  auto call_id = request.call_id();
  if (!from || !to || to->tag.empty() || call_id.empty()) return std::nullopt;
  return dialog_id_view{call_id, to->tag, from->tag};
}

std::optional<dialog_id> incoming_response_dialog_id(const message& response) {
  auto from = response.from();
  auto to = response.to();
  auto call_id = response.call_id();
  if (!from || !to || to->tag.empty() || call_id.empty()) return std::nullopt;
  return dialog_id{std::string(call_id), std::string(from->tag), std::string(to->tag)};
}

std::optional<dialog_id_view> incoming_response_dialog_id_view(const message& response) {
  auto from = response.from();
  auto to = response.to();
  auto call_id = response.call_id();
  if (!from || !to || to->tag.empty() || call_id.empty()) return std::nullopt;
  return dialog_id_view{call_id, from->tag, to->tag};
}

std::string_view to_string(dialog_state s) noexcept {
  switch (s) {
    case dialog_state::early:
      return "early";
    case dialog_state::confirmed:
      return "confirmed";
    case dialog_state::terminated:
      return "terminated";
  }
  return "";
}

bool is_target_refresh(parser::method m) noexcept {
  using parser::method;
  return m == method::invite || m == method::update || m == method::subscribe ||
         m == method::notify || m == method::refer;
}

std::optional<dialog> dialog::create_uac(const message& request, const message& response) {
  const int code = response.status_code();
  if (code < 101 || code > 299) return std::nullopt;
  auto to = response.to();
  auto from = request.from();
  auto cseq = cseq_number(request);
  if (!to || to->tag.empty() || !from || from->tag.empty() || !cseq || request.call_id().empty())
    return std::nullopt;
  auto target = contact_uri(response);
  // §12.1.2: a 2xx to INVITE must carry a Contact; a provisional one may not.
  if (target.empty()) {
    if (code >= 200 && request.method() == parser::method::invite) return std::nullopt;
    target = request.request_uri();
  }
  const auto routes = uac_route_set(response);
  dialog d;
  d.role_ = dialog_role::uac;
  d.state_ = code >= 200 ? dialog_state::confirmed : dialog_state::early;
  d.assign({request.call_id(), from->tag, to->tag, request.get(header_id::from).value_or(""),
            response.get(header_id::to).value_or(""), target,
            request.get(header_id::contact).value_or(""), &routes});
  d.strict_first_route_ = strict_first(routes);
  d.local_cseq_ = *cseq;
  d.secure_ = is_sips(request.request_uri());
  return d;
}

std::optional<dialog> dialog::create_uas(const message& request, const message& response) {
  const int code = response.status_code();
  if (code < 101 || code > 299) return std::nullopt;
  auto to = response.to();
  auto from = request.from();
  auto cseq = cseq_number(request);
  if (!to || to->tag.empty() || !from || !cseq || request.call_id().empty()) return std::nullopt;
  const auto target = contact_uri(request);
  if (target.empty()) return std::nullopt;  // §12.1.1 needs the peer's Contact
  const auto routes = all_addresses(request, header_id::record_route);
  dialog d;
  d.role_ = dialog_role::uas;
  d.state_ = code >= 200 ? dialog_state::confirmed : dialog_state::early;
  // An RFC 2543 peer may send no From tag: the remote tag is then empty (§12.1.1).
  d.assign({request.call_id(), to->tag, from->tag, response.get(header_id::to).value_or(""),
            request.get(header_id::from).value_or(""), target,
            response.get(header_id::contact).value_or(""), &routes});
  d.strict_first_route_ = strict_first(routes);
  d.remote_cseq_ = *cseq;
  d.secure_ = is_sips(request.request_uri());
  return d;
}

std::optional<dialog> dialog::create_from_notify(const message& subscribe, const message& notify) {
  auto from = subscribe.from();
  auto notifier = notify.from();
  auto sub_cseq = cseq_number(subscribe);
  auto notify_cseq = cseq_number(notify);
  if (!from || from->tag.empty() || !notifier || notifier->tag.empty() || !sub_cseq ||
      !notify_cseq || subscribe.call_id().empty() || notify.call_id() != subscribe.call_id())
    return std::nullopt;
  const auto target = contact_uri(notify);
  if (target.empty()) return std::nullopt;  // RFC 6665 §4.2.1: NOTIFY has a Contact
  const auto routes = all_addresses(notify, header_id::record_route);
  dialog d;
  d.role_ = dialog_role::uac;
  d.state_ = dialog_state::confirmed;
  d.assign({subscribe.call_id(), from->tag, notifier->tag,
            subscribe.get(header_id::from).value_or(""), notify.get(header_id::from).value_or(""),
            target, subscribe.get(header_id::contact).value_or(""), &routes});
  d.strict_first_route_ = strict_first(routes);
  d.local_cseq_ = *sub_cseq;
  d.remote_cseq_ = *notify_cseq;
  d.secure_ = is_sips(subscribe.request_uri());
  return d;
}

namespace {
/// Appends `v` to a dialog's text buffer; where it landed.
route_list::span append_part(std::string& text, std::string_view v) {
  route_list::span s{static_cast<std::uint32_t>(text.size()), static_cast<std::uint32_t>(v.size())};
  text.append(v);
  return s;
}
}  // namespace

void dialog::assign(const parts& p) {
  const std::vector<std::string_view> none;
  const auto& routes = p.routes ? *p.routes : none;
  std::size_t total = p.call_id.size() + p.local_tag.size() + p.remote_tag.size() +
                      p.local_party.size() + p.remote_party.size() + p.remote_target.size() +
                      p.local_contact.size();
  for (auto r : routes) total += r.size();
  // Built aside and swapped in: `p` may point into text_ (a target refresh rebuilds it).
  std::string text;
  text.reserve(total);
  auto put = [&text](std::string_view v) { return append_part(text, v); };
  call_id_ = put(p.call_id);
  local_tag_ = put(p.local_tag);
  remote_tag_ = put(p.remote_tag);
  local_party_ = put(p.local_party);
  remote_party_ = put(p.remote_party);
  remote_target_ = put(p.remote_target);
  local_contact_ = put(p.local_contact);
  std::vector<span> spans;
  spans.reserve(routes.size());
  for (auto r : routes) spans.push_back(put(r));
  text_ = std::move(text);
  routes_ = std::move(spans);
  routing_text_.clear();
  routing_moved_ = false;
}

void dialog::assign_routing(std::string_view target, const std::vector<std::string_view>& routes) {
  std::size_t total = target.size();
  for (auto r : routes) total += r.size();
  // Built aside and swapped in: `target` and `routes` may point into routing_text_.
  std::string text;
  text.reserve(total);
  auto put = [&text](std::string_view v) { return append_part(text, v); };
  const span target_span = put(target);
  std::vector<span> spans;
  spans.reserve(routes.size());
  for (auto r : routes) spans.push_back(put(r));
  routing_text_ = std::move(text);
  routing_moved_ = true;
  remote_target_ = target_span;
  routes_ = std::move(spans);
}

void dialog::set_remote_target(std::string_view target) {
  const auto rs = route_set();
  const std::vector<std::string_view> routes(rs.begin(), rs.end());
  assign_routing(target, routes);
}

void dialog::set_routes(const std::vector<std::string_view>& routes) {
  assign_routing(remote_target(), routes);
  strict_first_route_ = strict_first(routes);
}

void dialog::write_routing(message& request) const {
  if (routes_.empty()) return;
  const auto routes = route_set();
  if (!strict_first_route_) {
    for (auto r : routes) request.add(header_id::route, r);
    return;
  }
  // §12.2.1.1: a strict router wants its own URI as the Request-URI; the remote target
  // travels as the last Route.
  for (std::size_t i = 1; i < routes.size(); ++i) request.add(header_id::route, routes[i]);
  std::string last;
  last.reserve(remote_target_.size + 2);
  last += '<';
  last += remote_target();
  last += '>';
  request.add(header_id::route, last);
}

namespace {
// §12.2.1.1: the strict router's URI becomes the Request-URI "stripping any parameters
// that are not allowed in a Request-URI": per §19.1.1 Table 1 those are the method
// parameter and the URI headers.
std::string strict_request_uri(std::string_view route) {
  parser::name_addr_view v;
  if (parser::parse_name_addr(route, v)) return {};
  return parser::request_uri_form(v.uri);
}

std::string request_uri_for(const route_list& routes, bool strict,
                            std::string_view remote_target) {
  return strict ? strict_request_uri(routes.front()) : std::string(remote_target);
}
}  // namespace

message dialog::make_request(std::string_view method) {
  // §12.2.1.1: CSeq numbers grow by one per request; the UAS side starts from 1 when it
  // has not sent any request yet (the local sequence number was empty).
  ++local_cseq_;
  auto req =
      message::request(method, request_uri_for(route_set(), strict_first_route_, remote_target()));
  write_routing(req);
  req.add(header_id::max_forwards, "70");
  req.add(header_id::from, local_uri());
  req.add(header_id::to, remote_uri());
  req.add(header_id::call_id, view(call_id_));
  std::string cseq = std::to_string(local_cseq_);
  cseq += ' ';
  cseq += method;
  req.add(header_id::cseq, cseq);
  if (is_target_refresh(parser::lookup_method(method)) && local_contact_.size != 0)
    req.add(header_id::contact, local_contact());
  return req;
}

message dialog::make_ack(std::uint32_t invite_cseq) const {
  auto ack =
      message::request("ACK", request_uri_for(route_set(), strict_first_route_, remote_target()));
  write_routing(ack);
  ack.add(header_id::max_forwards, "70");
  ack.add(header_id::from, local_uri());
  ack.add(header_id::to, remote_uri());
  ack.add(header_id::call_id, view(call_id_));
  ack.add(header_id::cseq, std::to_string(invite_cseq) + " ACK");
  return ack;
}

int dialog::on_request(const message& request) {
  auto cseq = request.cseq();
  if (!cseq) return 400;
  // ACK and CANCEL carry the CSeq number of the INVITE they belong to (§13.2.2.4, §9.1),
  // so they never move the remote sequence number.
  const auto m = request.method();
  if (m == parser::method::ack || m == parser::method::cancel) return 0;
  if (remote_cseq_ && cseq->number < *remote_cseq_) return 500;  // §12.2.2
  remote_cseq_ = cseq->number;
  if (is_target_refresh(m)) {
    auto target = contact_uri(request);
    if (!target.empty() && target != remote_target()) set_remote_target(target);
  }
  return 0;
}

void dialog::on_response(const message& request, const message& response) {
  const int code = response.status_code();
  if (code == 481 || code == 408) {  // §12.2.1.2
    state_ = dialog_state::terminated;
    return;
  }
  const bool invite = request.method() == parser::method::invite;
  if (code >= 300) {
    // §12.3, §13.2.2.3: a non-2xx final response to the INVITE ends its early dialogs. An
    // early dialog has no other INVITE in progress (§14.1), so this is the initial one.
    if (invite && state_ == dialog_state::early) state_ = dialog_state::terminated;
    return;
  }
  if (code < 200) return;
  if (invite && state_ == dialog_state::early) {
    state_ = dialog_state::confirmed;
    // §13.2.2.4: "the route set for the dialog MUST be recomputed based on the 2xx
    // response". Later target refreshes leave it alone (§12.2.1.2).
    if (role_ == dialog_role::uac) set_routes(uac_route_set(response));
  }
  if (is_target_refresh(request.method())) {
    auto target = contact_uri(response);
    if (!target.empty() && target != remote_target()) set_remote_target(target);
  }
}

void dialog::on_local_final_response(int status_code) noexcept {
  if (status_code >= 200 && status_code < 300) {
    if (state_ == dialog_state::early) state_ = dialog_state::confirmed;
  } else if (status_code >= 300 && state_ == dialog_state::early) {
    state_ = dialog_state::terminated;
  }
}

std::string dialog::next_hop_uri() const {
  if (routes_.empty()) return std::string(remote_target());
  return std::string(address_uri(route_set().front()));
}

std::string first_hop_uri(const message& request) {
  if (auto route = request.get(header_id::route)) {
    auto list = split_address_list(*route);
    if (!list.empty()) return std::string(address_uri(list.front()));
  }
  return std::string(request.request_uri());
}


std::vector<std::string_view> split_address_list(std::string_view value) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  for (auto v = next_address(value, pos); !v.empty(); v = next_address(value, pos))
    out.push_back(v);
  return out;
}

std::string_view address_uri(std::string_view name_addr) {
  parser::name_addr_view v;
  if (parser::parse_name_addr(name_addr, v)) return {};
  return v.uri.raw;
}

}  // namespace sipkit::dialog
