// The UAS core's checks before any dialog or method logic (RFC 3261 §8.2.1-§8.2.3), in
// the RFC's order, each with its RFC 4475 torture case where one exists.
#include <algorithm>
#include <boost/asio/ip/address.hpp>

#include "sipkit/dialog/dialog.hpp"
#include "sipkit/parser/uri.hpp"
#include "ua_impl.hpp"

namespace sipkit::ua {

using parser::header_id;
using parser::message;

namespace {

bool media_range_matches(std::string_view range, std::string_view type) {
  // "application/sdp;q=0.5" -> "application/sdp"; "*/*" and "application/*" match too.
  range = range.substr(0, range.find(';'));
  while (!range.empty() && (range.front() == ' ' || range.front() == '\t')) range.remove_prefix(1);
  while (!range.empty() && (range.back() == ' ' || range.back() == '\t')) range.remove_suffix(1);
  if (range == "*/*") return true;
  const auto slash = range.find('/');
  if (slash != std::string_view::npos && range.substr(slash) == "/*")
    return parser::iequals(range.substr(0, slash), type.substr(0, type.find('/')));
  return parser::iequals(range, type);
}

// §8.2.3 / §21.4.7: does an Accept header (all its lines) admit `type`? No Accept: yes.
bool accepts(const message& req, std::string_view type) {
  bool any = false;
  for (const auto& f : req.fields()) {
    if (!parser::iequals(req.name_of(f), "Accept")) continue;
    any = true;
    std::string_view v = req.value_of(f);
    if (v.find_first_not_of(" \t") == std::string_view::npos) continue;  // empty Accept
    while (!v.empty()) {
      const auto comma = v.find(',');
      if (media_range_matches(v.substr(0, comma), type)) return true;
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return !any;
}

}  // namespace

bool uas_checks::addressed_to_us(const message& req) const {
  parser::uri_view uri;
  if (parser::parse_uri(req.request_uri(), uri)) return false;
  std::string host(uri.host);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (!ua_.config_.domain.empty() && parser::iequals(host, ua_.config_.domain)) return true;
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(host, ec);
  if (ec) return false;
  for (const auto& l : ua_.net_.listeners())
    if (l.local.address == addr || l.local.address.is_unspecified()) return true;
  return false;
}

int uas_checks::precheck(const message& req, message& refusal) const {
  const auto m = req.method();
  if (m == parser::method::ack) return 0;  // never answered (§17.1.1.3)
  const std::string to_tag = tag_for_refusal();
  auto refuse = [&](int code, std::string_view reason = {}) {
    // §8.2.6.2: a final response to a request without To tag gets one.
    refusal = parser::make_response(req, code, reason, to_tag);
    ua_.add_common_headers(refusal);
    return code;
  };
  // §8.2.2... §21.5.7 (RFC 4475 badvers): only SIP/2.0.
  if (!parser::iequals(req.sip_version(), "SIP/2.0")) return refuse(505);
  // §8.1.1.5 / §20.16 (mismatch01, mismatch02): CSeq names the Request-Line's method.
  auto cseq = req.cseq();
  if (!cseq || cseq->method_text != req.method_text())
    return refuse(400, "CSeq method does not match the Request-Line");
  // §7.3.1 / §20 (multi01, mcl01): single-value headers appear once.
  for (auto id : {header_id::call_id, header_id::cseq, header_id::from, header_id::to,
                  header_id::max_forwards, header_id::content_length, header_id::content_type,
                  header_id::expires})
    if (req.count(id) > 1)
      return refuse(400, "More than one " + std::string(parser::header_name(id)) + " header");
  // §8.2.2.1 (unkscm, novelsc): we serve sip and sips Request-URIs only.
  parser::uri_view ruri;
  if (parser::parse_uri(req.request_uri(), ruri) || !ruri.is_sip()) {
    refuse(416);
    return 416;
  }
  // An endpoint processes a Max-Forwards of 0 as if it were positive (RFC 4475 zeromf);
  // only a request for somebody else, which would have to be forwarded, gets 483 (§16.3
  // item 3). "Somebody else" is known only when the agent has a domain configured.
  if (auto mf = req.get(header_id::max_forwards);
      mf && *mf == "0" && !ua_.config_.domain.empty() && !addressed_to_us(req))
    return refuse(483);
  if (m == parser::method::cancel) return 0;
  // §8.2.2.3 (bext01): the extensions we support are "timer" (RFC 4028: always; a peer
  // that asks gets a session timer whether or not ua_config::session_expires names an
  // interval of our own, §9) and "100rel" (RFC 3262, when on); any other Require is a 420
  // listing what we lack.
  std::string unsupported;
  for (const auto& f : req.fields()) {
    if (f.id != header_id::require) continue;
    for (auto tok : sipkit::dialog::split_address_list(req.value_of(f))) {
      if (parser::iequals(tok, "timer")) continue;
      if (ua_.config_.reliable_provisionals && parser::iequals(tok, "100rel")) continue;
      if (!unsupported.empty()) unsupported += ", ";
      unsupported += tok;
    }
  }
  if (!unsupported.empty()) {
    refuse(420);
    refusal.add(header_id::unsupported, unsupported);
    return 420;
  }
  // §8.2.3 (invut): we understand SDP bodies only.
  if (m == parser::method::invite && !req.body().empty()) {
    auto ct = req.get(header_id::content_type);
    if (!ct || !media_range_matches(*ct, "application/sdp")) {
      refuse(415);
      refusal.add("Accept", "application/sdp");
      return 415;
    }
  }
  // §8.2.3 / §21.4.7 (sdp01): our answer to an INVITE carries SDP; an Accept without it is 406.
  if (m == parser::method::invite && !accepts(req, "application/sdp")) return refuse(406);
  return 0;
}

bool uas_checks::merged_request(tx::transaction_id id, const message& req) {
  // §8.2.2.2: a request without To tag whose From tag, Call-ID and CSeq match one we are
  // already serving on another transaction arrived twice through a forking proxy: 482.
  auto to = req.to();
  auto from = req.from();
  auto cseq = req.cseq();
  if (!to || !to->tag.empty() || !from || !cseq || req.method() == parser::method::cancel ||
      req.method() == parser::method::ack)
    return false;
  std::string key(from->tag);
  key += '\n';
  key += req.call_id();
  key += '\n';
  key += std::to_string(cseq->number);
  key += ' ';
  key += cseq->method_text;
  auto [it, inserted] = pending_requests_.emplace(std::move(key), id);
  if (inserted) {
    pending_keys_.emplace(id, it->first);
    return false;
  }
  return !(it->second == id);
}

std::string uas_checks::tag_for_refusal() const {
  return ua_.random_token(10);  // ua_ is a reference: not const here
}

}  // namespace sipkit::ua
