// Digest authentication (RFC 3261 §22, RFC 2617, RFC 7616, RFC 8760): the response
// computation against the RFC examples, reading challenges, the client's choices and retry
// rules, and the server's verdicts in round trips with the client.
#include "sipkit/ua/digest.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "parser/test_data.hpp"
#include "sipkit/parser/message_view.hpp"

using namespace sipkit;
using namespace sipkit::ua;
using parser::header_id;
using verdict = digest_server::verdict;

namespace {

// RFC 2617 §3.5 and RFC 7616 §3.9.1 inputs.
constexpr std::string_view rfc2617_nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
constexpr std::string_view rfc7616_nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
constexpr std::string_view rfc7616_cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

digest_input rfc2617(digest_algorithm a, digest_qop q) {
  return {.algorithm = a,
          .qop = q,
          .username = "Mufasa",
          .realm = "testrealm@host.com",
          .password = "Circle Of Life",
          .method = "GET",
          .uri = "/dir/index.html",
          .nonce = rfc2617_nonce,
          .cnonce = "0a4f113b",
          .nc = "00000001",
          .body = {}};
}

// RFC 7616 §3.9.1 (note: "Circle of Life" with a lower-case "of", unlike RFC 2617).
digest_input rfc7616(digest_algorithm a) {
  return {.algorithm = a,
          .qop = digest_qop::auth,
          .username = "Mufasa",
          .realm = "http-auth@example.org",
          .password = "Circle of Life",
          .method = "GET",
          .uri = "/dir/index.html",
          .nonce = rfc7616_nonce,
          .cnonce = rfc7616_cnonce,
          .nc = "00000001",
          .body = {}};
}

parser::message request(std::string_view method, std::string_view uri, std::uint32_t cseq,
                        std::string_view call_id = "a84b4c76e66710@pc33.example.com") {
  auto m = parser::message::request(method, uri);
  m.add(header_id::via, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds");
  m.add(header_id::max_forwards, "70");
  m.add(header_id::from, "<sip:alice@example.com>;tag=1928301774");
  m.add(header_id::to, "<sip:alice@example.com>");
  m.add(header_id::call_id, call_id);
  m.add(header_id::cseq, std::to_string(cseq) + " " + std::string(method));
  return m;
}

parser::message register_request(std::uint32_t cseq) {
  return request("REGISTER", "sip:example.com", cseq);
}

// A 401 (or 407) for the request with this CSeq, carrying the given challenges.
parser::message challenged(int status, std::uint32_t cseq, std::vector<std::string> challenges,
                           std::string_view method = "REGISTER",
                           std::string_view call_id = "a84b4c76e66710@pc33.example.com") {
  auto m = parser::message::response(status);
  m.add(header_id::via, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds");
  m.add(header_id::from, "<sip:alice@example.com>;tag=1928301774");
  m.add(header_id::to, "<sip:alice@example.com>;tag=a6c85cf");
  m.add(header_id::call_id, call_id);
  m.add(header_id::cseq, std::to_string(cseq) + " " + std::string(method));
  for (const auto& c : challenges)
    m.add(status == 407 ? header_id::proxy_authenticate : header_id::www_authenticate, c);
  return m;
}

std::string digest_challenge(std::string_view realm, std::string_view nonce,
                             std::string_view extra = ", qop=\"auth\"") {
  return "Digest realm=\"" + std::string(realm) + "\", nonce=\"" + std::string(nonce) + "\"" +
         std::string(extra);
}

// cnonces "cn1", "cn2" ... so the headers are exact.
digest_client::cnonce_source counting_cnonces() {
  return [n = 0]() mutable { return "cn" + std::to_string(++n); };
}

authorization_header only_authorization(const parser::message& m, bool proxy = false) {
  const auto all = read_authorizations(m, proxy);
  REQUIRE(all.size() == 1);
  return all[0];
}

parser::message with_cseq(parser::message m, std::uint32_t cseq) {
  m.set(header_id::cseq, std::to_string(cseq) + " " + std::string(m.method_text()));
  return m;
}

const time_point t0{};  // tests run on a manual time line starting at the clock's epoch

std::optional<std::string> alice_secret(std::string_view user, std::string_view realm) {
  if (user == "alice" && realm == "example.com") return std::string("secret");
  return std::nullopt;
}

digest_server make_server(digest_server_config cfg = {.realm = "example.com"}) {
  return digest_server(std::move(cfg), alice_secret, "a fixed test key, 32 bytes long!");
}

// The request the client sends after the server's challenge of `first` (CSeq + 1).
parser::message answered(digest_server& server, digest_client& client, const parser::message& first,
                         time_point now, bool proxy = false) {
  const auto c = server.challenge(first, proxy, false, now);
  auto retry = with_cseq(first, first.cseq()->number + 1);
  REQUIRE_FALSE(client.authorize(retry, c));
  return retry;
}

// Replaces `from` by `to` in the first Authorization header (a tampering attacker).
parser::message tampered(const parser::message& m, std::string_view from, std::string_view to) {
  auto copy = m;
  std::string v(*copy.get(header_id::authorization));
  const auto at = v.find(from);
  REQUIRE(at != std::string::npos);
  v.replace(at, from.size(), to);
  copy.set(header_id::authorization, v);
  return copy;
}

}  // namespace

// ------------------------------------------------------------------------------------------
// Hashes and responses

TEST_CASE("digest_hash gives the standard test values of MD5, SHA-256 and SHA-512/256",
          "[digest]") {
  // RFC 1321 §A.5, FIPS 180-4 examples (SHA-256 and SHA-512/256 of "abc").
  CHECK(digest_hash(digest_algorithm::md5, "") == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(digest_hash(digest_algorithm::sha256, "abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(digest_hash(digest_algorithm::sha512_256, "abc") ==
        "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23");
}

TEST_CASE("MD5 qop=auth response reproduces the RFC 2617 §3.5 example", "[digest]") {
  CHECK(digest_response(rfc2617(digest_algorithm::md5, digest_qop::auth)) ==
        "6629fae49393a05397450978507c4ef1");
}

TEST_CASE("MD5 qop=auth response of the RFC 2617 §3.5 example for a SIP REGISTER", "[digest]") {
  auto in = rfc2617(digest_algorithm::md5, digest_qop::auth);
  in.method = "REGISTER";
  in.uri = "sip:host.com";
  // H(H(Mufasa:testrealm@host.com:Circle Of Life):nonce:00000001:0a4f113b:auth:
  //   H(REGISTER:sip:host.com)), by the formula of RFC 2617 §3.2.2.1.
  CHECK(digest_response(in) == "e8845b6c10df8a275968cc73ee6f9830");
}

TEST_CASE("MD5 response reproduces the RFC 7616 §3.9.1 example", "[digest]") {
  CHECK(digest_response(rfc7616(digest_algorithm::md5)) == "8ca523f5e9506fed4657c9700eebdbec");
}

TEST_CASE("SHA-256 response reproduces the RFC 7616 §3.9.1 example", "[digest]") {
  CHECK(digest_response(rfc7616(digest_algorithm::sha256)) ==
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

TEST_CASE("SHA-512-256 response follows the RFC 7616 §3.4 formula for the §3.9.1 inputs",
          "[digest]") {
  CHECK(digest_response(rfc7616(digest_algorithm::sha512_256)) ==
        "430d05014cecc49cab6fbe03176d41a1da86cbfe24a16580e22aaad928d960d0");
}

TEST_CASE("SHA-512-256 response for the RFC 7616 §3.9.2 inputs", "[digest]") {
  // The RFC prints response ae66e67d... and username hash 48886947...; neither follows from
  // its own inputs with its own formulas (a known problem of that example). These are the
  // values the formulas give; A1 uses the real username also with userhash (§3.4.4).
  const digest_input in{.algorithm = digest_algorithm::sha512_256,
                        .qop = digest_qop::auth,
                        .username = "J\xC3\xA4s\xC3\xB8n Doe",
                        .realm = "api@example.org",
                        .password = "Secret, or not?",
                        .method = "GET",
                        .uri = "/doe.json",
                        .nonce = "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK",
                        .cnonce = "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
                        .nc = "00000001",
                        .body = {}};
  CHECK(digest_response(in) == "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5");
  CHECK(digest_hash(digest_algorithm::sha512_256, "J\xC3\xA4s\xC3\xB8n Doe:api@example.org") ==
        "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b");
}

TEST_CASE("The -sess algorithms hash the session key H(H(user:realm:pass):nonce:cnonce)",
          "[digest]") {
  CHECK(digest_response(rfc2617(digest_algorithm::md5_sess, digest_qop::auth)) ==
        "8e3825c57e897f5a0dec6c2d4e5059d0");
  CHECK(digest_response(rfc7616(digest_algorithm::sha256_sess)) ==
        "2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3efd7");
  CHECK(digest_response(rfc7616(digest_algorithm::sha512_256_sess)) ==
        "3f2a34f923c38b0fb26dce2fdfc2ce326c23cecf86fbb1444f3e51fbbc2cb92e");
}

TEST_CASE("qop=auth-int hashes the body into A2", "[digest]") {
  const std::string body = "v=0\r\no=- 0 0 IN IP4 192.0.2.1\r\ns=-\r\n";
  auto md5 = rfc2617(digest_algorithm::md5, digest_qop::auth_int);
  md5.method = "INVITE";
  md5.uri = "sip:bob@host.com";
  md5.body = body;
  CHECK(digest_response(md5) == "fe315af46a7c8e5df98bf6b5438d64a1");
  auto sha = rfc7616(digest_algorithm::sha256);
  sha.qop = digest_qop::auth_int;
  sha.method = "INVITE";
  sha.uri = "sip:bob@example.org";
  sha.body = body;
  CHECK(digest_response(sha) == "7506789fa7167b74da074c246db2a2bcff54de706eb7bfc9bf7996ee3ab27f0e");
}

TEST_CASE("without qop the response is the RFC 2069 H(H(A1):nonce:H(A2))", "[digest]") {
  auto in = rfc2617(digest_algorithm::md5, digest_qop::none);
  in.cnonce = "ignored";
  in.nc = "ignored";
  CHECK(digest_response(in) == "670fd8c2df070c60b045671b8b24ff02");
}

TEST_CASE("algorithm tokens parse case-insensitively and unknown ones do not", "[digest]") {
  CHECK(parse_digest_algorithm("SHA-512-256-sess") == digest_algorithm::sha512_256_sess);
  CHECK(parse_digest_algorithm("md5") == digest_algorithm::md5);
  CHECK(parse_digest_algorithm("\"SHA-256\"") == digest_algorithm::sha256);
  CHECK_FALSE(parse_digest_algorithm("SHA-999"));
  CHECK(algorithm_name(digest_algorithm::sha256_sess) == "SHA-256-sess");
}

// ------------------------------------------------------------------------------------------
// Reading challenges

TEST_CASE("read_challenges takes every Digest parameter, unquoted", "[digest]") {
  const auto rsp = challenged(
      407, 1,
      {R"(Digest realm="atlanta.example.com", domain="sip:ss1.example.com", qop="auth, auth-int", nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="a\"b", stale=TRUE, algorithm=SHA-256-sess, userhash=true)"});
  const auto set = read_challenges(rsp);
  REQUIRE(set.usable.size() == 1);
  CHECK(set.unsupported.empty());
  const auto& c = set.usable[0];
  CHECK(c.scheme == "Digest");
  CHECK(c.realm == "atlanta.example.com");
  CHECK(c.domain == "sip:ss1.example.com");
  CHECK(c.nonce == "f84f1cec41e6cbe5aea9c8e88d359");
  CHECK(c.opaque == "a\"b");
  CHECK(c.qop_options == std::vector<std::string>{"auth", "auth-int"});
  CHECK(c.algorithm == digest_algorithm::sha256_sess);
  CHECK(c.stale);
  CHECK(c.userhash);
  CHECK(c.proxy);
}

TEST_CASE("read_challenges reports other schemes and unknown algorithms as unsupported",
          "[digest]") {
  const auto rsp = challenged(
      401, 1,
      {R"(Basic realm="example.com")", digest_challenge("example.com", "n1", ", algorithm=SHA-999"),
       digest_challenge("example.com", "n2", ", qop=\"auth-conf\""),
       digest_challenge("example.com", "n3", ", algorithm=MD5")});
  const auto set = read_challenges(rsp);
  CHECK(set.unsupported ==
        std::vector<std::string>{"Basic", "Digest algorithm=SHA-999", "Digest qop=auth-conf"});
  REQUIRE(set.usable.size() == 1);
  CHECK(set.usable[0].nonce == "n3");
  CHECK(set.usable[0].qop_options.empty());
}

TEST_CASE("read_challenges reports the RFC 4475 regaut01 unknown scheme without crashing",
          "[digest]") {
  // RFC 4475 §3.3.7: "Authorization: NoOneKnowsThisScheme opaque-data=here". As a challenge
  // in a 401 the scheme is reported; the client cannot answer it.
  const auto rsp = challenged(401, 9338, {"NoOneKnowsThisScheme opaque-data=here"});
  CHECK(read_challenges(rsp).unsupported == std::vector<std::string>{"NoOneKnowsThisScheme"});
  digest_client client({{"", "j.user", "secret"}});
  auto retry = register_request(9339);
  CHECK(client.authorize(retry, rsp) == digest_errc::unsupported);
  CHECK(retry.count(header_id::authorization) == 0);
}

TEST_CASE("verify answers the RFC 4475 regaut01 REGISTER with missing, naming its scheme",
          "[digest]") {
  const std::string bytes = test::rfc4475("regaut01.dat");
  auto view = std::make_unique<parser::message_view>();
  REQUIRE_FALSE(parser::parse_message(bytes, *view));
  const auto msg = parser::message::from_view(*view);
  const auto creds = read_authorizations(msg, false);
  REQUIRE(creds.size() == 1);
  CHECK(creds[0].scheme == "NoOneKnowsThisScheme");
  auto server = make_server();
  const auto r = server.verify(msg, false, t0);
  CHECK(r.v == verdict::missing);  // so the registrar challenges it (RFC 4475 §3.3.7)
  CHECK(r.reason == "no Digest credentials for the realm; unsupported scheme NoOneKnowsThisScheme");
}

// ------------------------------------------------------------------------------------------
// Client

TEST_CASE("authorize reproduces the RFC 2617 §3.5 Authorization for GET /dir/index.html",
          "[digest]") {
  digest_client client({{"testrealm@host.com", "Mufasa", "Circle Of Life"}},
                       [] { return std::string("0a4f113b"); });
  auto req = request("GET", "/dir/index.html", 2);
  const auto rsp = challenged(
      401, 1,
      {R"(Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41")"},
      "GET");
  REQUIRE_FALSE(client.authorize(req, rsp));
  CHECK(
      *req.get(header_id::authorization) ==
      R"(Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", response="6629fae49393a05397450978507c4ef1", algorithm=MD5, cnonce="0a4f113b", opaque="5ccc069c403ebaf9f0171e9517f40e41", qop=auth, nc=00000001)");
}

TEST_CASE("authorize picks SHA-256 over MD5 offered for the same realm", "[digest]") {
  digest_client client({{"", "alice", "secret"}}, counting_cnonces());
  auto req = register_request(2);
  const auto rsp = challenged(401, 1,
                              {digest_challenge("example.com", "md5n", ", algorithm=MD5"),
                               digest_challenge("example.com", "shan", ", algorithm=SHA-256")});
  REQUIRE_FALSE(client.authorize(req, rsp));
  const auto a = only_authorization(req);
  CHECK(a.algorithm == digest_algorithm::sha256);
  CHECK(a.nonce == "shan");
}

TEST_CASE("authorize picks SHA-512-256 over SHA-256 and MD5", "[digest]") {
  digest_client client({{"", "alice", "secret"}}, counting_cnonces());
  auto req = register_request(2);
  const auto rsp = challenged(401, 1,
                              {digest_challenge("example.com", "a", ", algorithm=SHA-256"),
                               digest_challenge("example.com", "b", ", algorithm=SHA-512-256"),
                               digest_challenge("example.com", "c", ", algorithm=MD5")});
  REQUIRE_FALSE(client.authorize(req, rsp));
  CHECK(only_authorization(req).algorithm == digest_algorithm::sha512_256);
}

TEST_CASE("authorize answers the realm it has credentials for among several", "[digest]") {
  digest_client client({{"biloxi.example.com", "bob", "zanzibar"}}, counting_cnonces());
  auto req = register_request(2);
  const auto rsp = challenged(401, 1,
                              {digest_challenge("atlanta.example.com", "n-atlanta"),
                               digest_challenge("biloxi.example.com", "n-biloxi")});
  REQUIRE_FALSE(client.authorize(req, rsp));
  const auto a = only_authorization(req);
  CHECK(a.realm == "biloxi.example.com");
  CHECK(a.username == "bob");
  CHECK(a.nonce == "n-biloxi");
}

TEST_CASE("authorize prefers credentials for the exact realm over any-realm ones", "[digest]") {
  digest_client client({{"", "anyone", "x"}, {"example.com", "alice", "secret"}},
                       counting_cnonces());
  auto req = register_request(2);
  REQUIRE_FALSE(client.authorize(req, challenged(401, 1, {digest_challenge("example.com", "n")})));
  CHECK(only_authorization(req).username == "alice");
}

TEST_CASE("reusing a nonce counts nc 00000001, 00000002 with a new cnonce each time", "[digest]") {
  digest_client client({{"", "alice", "secret"}}, counting_cnonces());
  auto first = register_request(2);
  REQUIRE_FALSE(
      client.authorize(first, challenged(401, 1, {digest_challenge("example.com", "n")})));
  auto refresh = register_request(3);
  CHECK(client.reauthorize(refresh) == 1);
  const auto a1 = only_authorization(first);
  const auto a2 = only_authorization(refresh);
  CHECK(a1.nc == "00000001");
  CHECK(a1.cnonce == "cn1");
  CHECK(a2.nc == "00000002");
  CHECK(a2.cnonce == "cn2");
  CHECK(a2.nonce == "n");
}

TEST_CASE("a later challenge with the same nonce in another call continues the nc", "[digest]") {
  digest_client client({{"", "alice", "secret"}}, counting_cnonces());
  auto reg = register_request(2);
  REQUIRE_FALSE(client.authorize(reg, challenged(401, 1, {digest_challenge("example.com", "n")})));
  auto msg = request("MESSAGE", "sip:bob@example.com", 2, "other-call");
  const auto rsp =
      challenged(401, 1, {digest_challenge("example.com", "n")}, "MESSAGE", "other-call");
  REQUIRE_FALSE(client.authorize(msg, rsp));
  CHECK(only_authorization(msg).nc == "00000002");
}

TEST_CASE("after a rejection with stale=true the client retries once with the new nonce",
          "[digest]") {
  digest_client client({{"", "alice", "secret"}}, counting_cnonces());
  auto second = register_request(2);
  REQUIRE_FALSE(
      client.authorize(second, challenged(401, 1, {digest_challenge("example.com", "old")})));
  auto third = register_request(3);
  const auto stale =
      challenged(401, 2, {digest_challenge("example.com", "new", ", qop=\"auth\", stale=true")});
  REQUIRE_FALSE(client.authorize(third, stale));
  const auto a = only_authorization(third);
  CHECK(a.nonce == "new");
  CHECK(a.nc == "00000001");
}

TEST_CASE("a second rejection of the answered nonce is already_failed", "[digest]") {
  digest_client client({{"", "alice", "secret"}}, counting_cnonces());
  auto second = register_request(2);
  REQUIRE_FALSE(
      client.authorize(second, challenged(401, 1, {digest_challenge("example.com", "n")})));
  auto third = register_request(3);
  CHECK(client.authorize(third, challenged(401, 2, {digest_challenge("example.com", "n")})) ==
        digest_errc::already_failed);
  CHECK(third.count(header_id::authorization) == 0);
}

TEST_CASE("a rejection after the stale retry is already_failed", "[digest]") {
  digest_client client({{"", "alice", "secret"}}, counting_cnonces());
  auto second = register_request(2);
  REQUIRE_FALSE(
      client.authorize(second, challenged(401, 1, {digest_challenge("example.com", "n1")})));
  auto third = register_request(3);
  REQUIRE_FALSE(client.authorize(
      third, challenged(401, 2, {digest_challenge("example.com", "n2", ", stale=true")})));
  auto fourth = register_request(4);
  CHECK(client.authorize(fourth, challenged(401, 3, {digest_challenge("example.com", "n2")})) ==
        digest_errc::already_failed);
}

TEST_CASE("a rejection with a fresh nonce but no stale=true is already_failed", "[digest]") {
  // RFC 3261 §22.2: rejected credentials are not re-attempted unless the nonce was stale.
  digest_client client({{"", "alice", "secret"}}, counting_cnonces());
  auto second = register_request(2);
  REQUIRE_FALSE(
      client.authorize(second, challenged(401, 1, {digest_challenge("example.com", "n1")})));
  auto third = register_request(3);
  CHECK(client.authorize(third, challenged(401, 2, {digest_challenge("example.com", "n2")})) ==
        digest_errc::already_failed);
}

TEST_CASE("a rejected nonce is recognised when the caller sets the CSeq after authorize",
          "[digest]") {
  digest_client client({{"", "alice", "secret"}}, counting_cnonces());
  auto retry = register_request(1);  // CSeq still that of the challenged request
  REQUIRE_FALSE(
      client.authorize(retry, challenged(401, 1, {digest_challenge("example.com", "n")})));
  auto again = register_request(2);
  CHECK(client.authorize(again, challenged(401, 2, {digest_challenge("example.com", "n")})) ==
        digest_errc::already_failed);
}

TEST_CASE("only Basic or unknown Digest algorithms is unsupported", "[digest]") {
  digest_client client({{"", "alice", "secret"}});
  auto req = register_request(2);
  CHECK(client.authorize(req, challenged(401, 1, {R"(Basic realm="example.com")"})) ==
        digest_errc::unsupported);
  CHECK(
      client.authorize(
          req, challenged(401, 1, {digest_challenge("example.com", "n", ", algorithm=SHA-999")})) ==
      digest_errc::unsupported);
  CHECK(req.count(header_id::authorization) == 0);
}

TEST_CASE("a response without challenges is no_challenge", "[digest]") {
  digest_client client({{"", "alice", "secret"}});
  auto req = register_request(2);
  CHECK(client.authorize(req, challenged(401, 1, {})) == digest_errc::no_challenge);
}

TEST_CASE("no credentials for the offered realm is no_credentials", "[digest]") {
  digest_client client({{"biloxi.example.com", "bob", "zanzibar"}});
  auto req = register_request(2);
  CHECK(client.authorize(req, challenged(401, 1, {digest_challenge("atlanta.example.com", "n")})) ==
        digest_errc::no_credentials);
  CHECK(req.count(header_id::authorization) == 0);
}

TEST_CASE("a 407 Proxy-Authenticate is answered with Proxy-Authorization", "[digest]") {
  digest_client client({{"", "alice", "secret"}}, counting_cnonces());
  auto req = request("INVITE", "sip:bob@biloxi.example.com", 2);
  REQUIRE_FALSE(client.authorize(
      req, challenged(407, 1, {digest_challenge("atlanta.example.com", "p")}, "INVITE")));
  CHECK(req.count(header_id::authorization) == 0);
  const auto a = only_authorization(req, true);
  CHECK(a.realm == "atlanta.example.com");
  CHECK(a.uri == "sip:bob@biloxi.example.com");
}

TEST_CASE("a 401 after a 407 keeps the proxy's credentials with the next nc", "[digest]") {
  digest_client client({{"", "alice", "secret"}}, counting_cnonces());
  auto second = request("INVITE", "sip:bob@biloxi.example.com", 2);
  REQUIRE_FALSE(client.authorize(
      second, challenged(407, 1, {digest_challenge("atlanta.example.com", "p")}, "INVITE")));
  auto third = request("INVITE", "sip:bob@biloxi.example.com", 3);
  REQUIRE_FALSE(client.authorize(
      third, challenged(401, 2, {digest_challenge("biloxi.example.com", "u")}, "INVITE")));
  const auto www = only_authorization(third);
  const auto prx = only_authorization(third, true);
  CHECK(www.realm == "biloxi.example.com");
  CHECK(www.nc == "00000001");
  CHECK(prx.realm == "atlanta.example.com");
  CHECK(prx.nc == "00000002");
}

TEST_CASE("authorize replaces the request's old credentials for the realm it answers", "[digest]") {
  digest_client client({{"", "alice", "secret"}}, counting_cnonces());
  auto req = register_request(2);
  req.add(header_id::authorization, R"(Digest username="alice", realm="example.com", nonce="old")");
  req.add(header_id::authorization, R"(Digest username="x", realm="other.example.com", nonce="o")");
  REQUIRE_FALSE(client.authorize(req, challenged(401, 1, {digest_challenge("example.com", "n")})));
  const auto all = read_authorizations(req, false);
  REQUIRE(all.size() == 2);
  CHECK(all[0].realm == "other.example.com");
  CHECK(all[1].realm == "example.com");
  CHECK(all[1].nonce == "n");
}

TEST_CASE("qop=auth is chosen when auth and auth-int are both offered", "[digest]") {
  digest_client client({{"", "alice", "secret"}}, counting_cnonces());
  auto req = register_request(2);
  REQUIRE_FALSE(client.authorize(
      req, challenged(401, 1, {digest_challenge("example.com", "n", ", qop=\"auth-int,auth\"")})));
  CHECK(only_authorization(req).qop == "auth");
}

TEST_CASE("qop=auth-int alone is answered with the body hashed", "[digest]") {
  digest_client client({{"", "Mufasa", "Circle Of Life"}}, [] { return std::string("0a4f113b"); });
  auto req = request("INVITE", "sip:bob@host.com", 2);
  req.set_body("v=0\r\no=- 0 0 IN IP4 192.0.2.1\r\ns=-\r\n", "application/sdp");
  REQUIRE_FALSE(client.authorize(
      req, challenged(401, 1,
                      {digest_challenge("testrealm@host.com", rfc2617_nonce, ", qop=\"auth-int\"")},
                      "INVITE")));
  const auto a = only_authorization(req);
  CHECK(a.qop == "auth-int");
  CHECK(a.response == "fe315af46a7c8e5df98bf6b5438d64a1");  // as in the auth-int vector above
}

TEST_CASE("a challenge without qop is answered in the RFC 2069 form", "[digest]") {
  digest_client client({{"", "Mufasa", "Circle Of Life"}}, counting_cnonces());
  auto req = request("GET", "/dir/index.html", 2);
  REQUIRE_FALSE(client.authorize(
      req, challenged(401, 1, {digest_challenge("testrealm@host.com", rfc2617_nonce, "")}, "GET")));
  CHECK(
      *req.get(header_id::authorization) ==
      R"(Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", response="670fd8c2df070c60b045671b8b24ff02", algorithm=MD5)");
}

TEST_CASE("userhash=true sends H(user:realm) as the username", "[digest]") {
  digest_client client({{"", "alice", "secret"}}, counting_cnonces());
  auto req = register_request(2);
  REQUIRE_FALSE(client.authorize(
      req, challenged(401, 1,
                      {digest_challenge("example.com", "n",
                                        ", qop=\"auth\", algorithm=SHA-256, userhash=true")})));
  const auto a = only_authorization(req);
  CHECK(a.userhash);
  CHECK(a.username == digest_hash(digest_algorithm::sha256, "alice:example.com"));
}

// ------------------------------------------------------------------------------------------
// Server

TEST_CASE("challenge sends one WWW-Authenticate per algorithm, strongest first", "[digest]") {
  auto server = make_server({.realm = "example.com",
                             .algorithms = {digest_algorithm::md5, digest_algorithm::sha512_256,
                                            digest_algorithm::sha256}});
  const auto rsp = server.challenge(register_request(1), false, false, t0);
  CHECK(rsp.status_code() == 401);
  CHECK(rsp.to()->tag.size() > 0);
  const auto set = read_challenges(rsp);
  REQUIRE(set.usable.size() == 3);
  CHECK(set.usable[0].algorithm == digest_algorithm::sha512_256);
  CHECK(set.usable[1].algorithm == digest_algorithm::sha256);
  CHECK(set.usable[2].algorithm == digest_algorithm::md5);
  for (const auto& c : set.usable) {
    CHECK(c.realm == "example.com");
    CHECK(c.nonce == set.usable[0].nonce);
    CHECK(c.opaque == set.usable[0].opaque);
    CHECK(c.qop_options == std::vector<std::string>{"auth"});
    CHECK_FALSE(c.stale);
    CHECK_FALSE(c.proxy);
  }
}

TEST_CASE("challenge for a proxy is a 407 with Proxy-Authenticate and auth-int if configured",
          "[digest]") {
  auto server = make_server(
      {.realm = "example.com", .algorithms = {digest_algorithm::sha256}, .qop_auth_int = true});
  const auto rsp = server.challenge(register_request(1), true, true, t0);
  CHECK(rsp.status_code() == 407);
  CHECK(rsp.count(header_id::www_authenticate) == 0);
  const auto set = read_challenges(rsp);
  REQUIRE(set.usable.size() == 1);
  CHECK(set.usable[0].proxy);
  CHECK(set.usable[0].stale);
  CHECK(set.usable[0].qop_options == std::vector<std::string>{"auth", "auth-int"});
}

TEST_CASE("the server accepts the client's answer to its challenge", "[digest]") {
  auto server = make_server();
  digest_client client({{"", "alice", "secret"}});
  const auto req = answered(server, client, register_request(1), t0);
  CHECK(only_authorization(req).algorithm == digest_algorithm::sha256);
  const auto r = server.verify(req, false, t0 + std::chrono::seconds(1));
  CHECK(r.v == verdict::ok);
  CHECK(r.username == "alice");
  CHECK(server.tracked_nonces() == 1);
}

TEST_CASE("the server accepts MD5, SHA-512-256 and -sess answers it offered", "[digest]") {
  for (auto alg :
       {digest_algorithm::md5, digest_algorithm::sha512_256, digest_algorithm::sha256_sess}) {
    auto server = make_server({.realm = "example.com", .algorithms = {alg}});
    digest_client client({{"", "alice", "secret"}});
    const auto req = answered(server, client, register_request(1), t0);
    CHECK(only_authorization(req).algorithm == alg);
    CHECK(server.verify(req, false, t0).v == verdict::ok);
  }
}

TEST_CASE("a wrong password is bad_credentials", "[digest]") {
  auto server = make_server();
  digest_client client({{"", "alice", "wrong"}});
  const auto req = answered(server, client, register_request(1), t0);
  const auto r = server.verify(req, false, t0);
  CHECK(r.v == verdict::bad_credentials);
  CHECK(r.username == "alice");
}

TEST_CASE("an expired nonce is stale_nonce and the new challenge carries stale=true", "[digest]") {
  auto server = make_server();  // nonce_lifetime 300 s
  digest_client client({{"", "alice", "secret"}});
  const auto req = answered(server, client, register_request(1), t0);
  const auto late = t0 + std::chrono::seconds(301);
  CHECK(server.verify(req, false, t0 + std::chrono::seconds(300)).v == verdict::ok);
  const auto again = with_cseq(req, 3);
  auto r = server.verify(again, false, late);
  CHECK(r.v == verdict::stale_nonce);
  CHECK(r.reason == "nonce expired");
  const auto rsp = server.challenge(again, false, r.v == verdict::stale_nonce, late);
  const auto set = read_challenges(rsp);
  REQUIRE_FALSE(set.usable.empty());
  CHECK(set.usable[0].stale);
  // The client may retry with the fresh nonce (RFC 7616 §3.3) and is then accepted.
  auto retry = with_cseq(req, 4);
  REQUIRE_FALSE(client.authorize(retry, rsp));
  CHECK(server.verify(retry, false, late).v == verdict::ok);
}

TEST_CASE("a replayed nc is replay and the next nc is accepted", "[digest]") {
  auto server = make_server();
  digest_client client({{"", "alice", "secret"}});
  const auto req = answered(server, client, register_request(1), t0);
  CHECK(server.verify(req, false, t0).v == verdict::ok);
  CHECK(server.verify(req, false, t0).v == verdict::replay);
  auto next = register_request(3);
  REQUIRE(client.reauthorize(next) == 1);
  CHECK(only_authorization(next).nc == "00000002");
  CHECK(server.verify(next, false, t0).v == verdict::ok);
  CHECK(server.verify(next, false, t0).v == verdict::replay);
}

TEST_CASE("a nonce the server did not issue is stale_nonce when the digest is right", "[digest]") {
  auto server = make_server();
  digest_client client({{"", "alice", "secret"}});
  // The client answers a challenge made up by someone else (or by a server with another key).
  auto req = register_request(2);
  REQUIRE_FALSE(client.authorize(
      req, challenged(
               401, 1,
               {digest_challenge("example.com", "forged", ", qop=\"auth\", algorithm=SHA-256")})));
  auto r = server.verify(req, false, t0);
  CHECK(r.v == verdict::stale_nonce);
  CHECK(r.reason == "nonce not issued by us");
  digest_server other({.realm = "example.com"}, alice_secret, "another key, also 32 bytes long");
  const auto theirs = answered(other, client, register_request(3), t0);
  CHECK(server.verify(theirs, false, t0).v == verdict::stale_nonce);
}

TEST_CASE("a nonce with altered bytes is not accepted", "[digest]") {
  auto server = make_server();
  digest_client client({{"", "alice", "secret"}});
  const auto req = answered(server, client, register_request(1), t0);
  const std::string nonce = only_authorization(req).nonce;
  std::string altered = nonce;
  altered[3] = altered[3] == 'A' ? 'B' : 'A';  // inside the timestamp
  const auto r = server.verify(tampered(req, nonce, altered), false, t0);
  CHECK(r.v == verdict::bad_credentials);  // the response was computed for the other nonce
}

TEST_CASE("a Request-URI that differs from the uri parameter is malformed", "[digest]") {
  auto server = make_server();
  digest_client client({{"", "alice", "secret"}});
  auto req = answered(server, client, register_request(1), t0);
  req.set_request_uri("sip:elsewhere.example.com");
  const auto r = server.verify(req, false, t0);
  CHECK(r.v == verdict::malformed);
  CHECK(r.reason == "uri does not match the Request-URI");
}

TEST_CASE("a uri parameter changed together with the Request-URI is bad_credentials", "[digest]") {
  auto server = make_server();
  digest_client client({{"", "alice", "secret"}});
  auto req = tampered(answered(server, client, register_request(1), t0), "uri=\"sip:example.com\"",
                      "uri=\"sip:evil.example.com\"");
  req.set_request_uri("sip:evil.example.com");
  CHECK(server.verify(req, false, t0).v == verdict::bad_credentials);
}

TEST_CASE("a user the lookup does not know is unknown_user", "[digest]") {
  auto server = make_server();
  digest_client client({{"", "mallory", "secret"}});
  const auto req = answered(server, client, register_request(1), t0);
  const auto r = server.verify(req, false, t0);
  CHECK(r.v == verdict::unknown_user);
  CHECK(r.username == "mallory");
}

TEST_CASE("a request without credentials for the realm is missing", "[digest]") {
  auto server = make_server();
  CHECK(server.verify(register_request(1), false, t0).v == verdict::missing);
  auto other = register_request(1);
  other.add(
      header_id::authorization,
      R"(Digest username="alice", realm="other.example.com", nonce="n", uri="sip:example.com", response="00")");
  CHECK(server.verify(other, false, t0).v == verdict::missing);
}

TEST_CASE("credentials without qop or with an algorithm not offered are malformed", "[digest]") {
  auto server = make_server({.realm = "example.com", .algorithms = {digest_algorithm::sha256}});
  digest_client client({{"", "alice", "secret"}});
  auto md5 = register_request(2);
  REQUIRE_FALSE(client.authorize(
      md5,
      challenged(401, 1, {digest_challenge("example.com", "n", ", qop=\"auth\", algorithm=MD5")})));
  auto r = server.verify(md5, false, t0);
  CHECK(r.v == verdict::malformed);
  CHECK(r.reason == "algorithm not offered: MD5");
  auto no_qop = register_request(3);
  REQUIRE_FALSE(client.authorize(
      no_qop, challenged(401, 2, {digest_challenge("example.com", "m", ", algorithm=SHA-256")},
                         "REGISTER", "another-call")));
  CHECK(server.verify(no_qop, false, t0).v == verdict::malformed);
}

TEST_CASE("qop=auth-int protects the body", "[digest]") {
  auto server = make_server(
      {.realm = "example.com", .algorithms = {digest_algorithm::sha256}, .qop_auth_int = true});
  digest_client client({{"", "alice", "secret"}});
  auto first = request("MESSAGE", "sip:bob@example.com", 1);
  first.set_body("hello", "text/plain");
  const auto c = server.challenge(first, false, false, t0);
  // Offer only auth-int, as a server may, by rewriting the challenge's qop.
  std::string v(*c.get(header_id::www_authenticate));
  v.replace(v.find("qop=\"auth,auth-int\""), 19, "qop=\"auth-int\"");
  auto only_int = c;
  only_int.set(header_id::www_authenticate, v);
  auto req = with_cseq(first, 2);
  REQUIRE_FALSE(client.authorize(req, only_int));
  CHECK(only_authorization(req).qop == "auth-int");
  auto changed = req;
  changed.set_body("goodbye", "text/plain");
  CHECK(server.verify(changed, false, t0).v == verdict::bad_credentials);
  CHECK(server.verify(req, false, t0).v == verdict::ok);
}

TEST_CASE("a proxy verifies Proxy-Authorization", "[digest]") {
  auto server = make_server();
  digest_client client({{"", "alice", "secret"}});
  const auto req = answered(server, client, request("INVITE", "sip:bob@example.com", 1), t0, true);
  CHECK(server.verify(req, false, t0).v == verdict::missing);
  CHECK(server.verify(req, true, t0).v == verdict::ok);
}

TEST_CASE("the nonce table keeps max_nonces and an evicted nonce turns stale", "[digest]") {
  auto server = make_server({.realm = "example.com", .max_nonces = 2});
  std::vector<parser::message> reqs;
  for (int i = 0; i < 3; ++i) {
    digest_client client({{"", "alice", "secret"}});
    const auto now = t0 + std::chrono::seconds(i);
    reqs.push_back(answered(server, client, register_request(1), now));
    CHECK(server.verify(reqs.back(), false, now).v == verdict::ok);
  }
  CHECK(server.tracked_nonces() == 2);
  // The first nonce's nc history is gone: even its replay must not be accepted.
  CHECK(server.verify(reqs[0], false, t0 + std::chrono::seconds(3)).v == verdict::stale_nonce);
  CHECK(server.verify(reqs[2], false, t0 + std::chrono::seconds(3)).v == verdict::replay);
}

TEST_CASE("expired nonces leave the table before live ones", "[digest]") {
  auto server = make_server({.realm = "example.com", .max_nonces = 2});
  digest_client a({{"", "alice", "secret"}});
  CHECK(server.verify(answered(server, a, register_request(1), t0), false, t0).v == verdict::ok);
  const auto later = t0 + std::chrono::seconds(400);
  digest_client b({{"", "alice", "secret"}});
  const auto req = answered(server, b, register_request(1), later);
  CHECK(server.verify(req, false, later).v == verdict::ok);
  CHECK(server.tracked_nonces() == 1);
}

// ------------------------------------------------------------------------------------------
// Failure throttling (digest_throttle_config): password guessing bounded per source and per
// user, on an explicit time line.

namespace {

using std::chrono::seconds;

std::optional<std::string> two_users(std::string_view user, std::string_view realm) {
  if (realm != "example.com") return std::nullopt;
  if (user == "alice") return std::string("secret");
  if (user == "bob") return std::string("pw");
  return std::nullopt;
}

digest_server throttling_server(digest_throttle_config t = {},
                                logger log = logger(log_level::off)) {
  digest_server_config cfg{.realm = "example.com"};
  cfg.throttle = t;
  cfg.log = std::move(log);
  return digest_server(std::move(cfg), two_users, "a fixed test key, 32 bytes long!");
}

// One attempt as a guesser makes it: a fresh challenge, answered with `password`.
verdict attempt(digest_server& server, std::string_view user, std::string_view password,
                std::string_view source, time_point now) {
  digest_client client({{"", std::string(user), std::string(password)}});
  const auto req = answered(server, client, register_request(1), now);
  return server.verify(req, source, false, now).v;
}

}  // namespace

TEST_CASE("digest throttle: after 5 failures from a source it is refused, the right password too",
          "[digest][throttle]") {
  auto server = throttling_server();  // 5 per source, 20 per user, 60 s
  for (int i = 0; i < 5; ++i)
    CHECK(attempt(server, "alice", "guess" + std::to_string(i), "192.0.2.1", t0) ==
          verdict::bad_credentials);
  CHECK(attempt(server, "alice", "guess5", "192.0.2.1", t0) == verdict::throttled);
  CHECK(attempt(server, "alice", "secret", "192.0.2.1", t0) == verdict::throttled);
  CHECK(attempt(server, "bob", "pw", "192.0.2.1", t0) == verdict::throttled);
  // Nothing else is locked: alice from another address is fine.
  CHECK(attempt(server, "alice", "secret", "192.0.2.2", t0) == verdict::ok);
  const auto& st = server.stats();
  CHECK(st.failures == 5);
  CHECK(st.throttled == 3);
  CHECK(st.source_locks == 1);
  CHECK(st.user_locks == 0);
  CHECK(st.verified == 1);
}

TEST_CASE(
    "digest throttle: a source's lock ends one window after the failure that reached the limit",
    "[digest][throttle]") {
  auto server = throttling_server();
  for (int i = 0; i < 5; ++i)
    CHECK(attempt(server, "alice", "wrong", "192.0.2.1", t0 + seconds(i)) ==
          verdict::bad_credentials);
  // The 5th failure at t0+4 s locks until t0+64 s.
  CHECK(attempt(server, "alice", "secret", "192.0.2.1", t0 + seconds(63)) == verdict::throttled);
  CHECK(attempt(server, "alice", "secret", "192.0.2.1", t0 + seconds(64)) == verdict::ok);
  // A new window: 4 failures are allowed again, the 5th locks again.
  for (int i = 0; i < 4; ++i)
    CHECK(attempt(server, "alice", "wrong", "192.0.2.1", t0 + seconds(65)) ==
          verdict::bad_credentials);
  CHECK(attempt(server, "alice", "wrong", "192.0.2.1", t0 + seconds(65)) ==
        verdict::bad_credentials);
  CHECK(attempt(server, "alice", "secret", "192.0.2.1", t0 + seconds(66)) == verdict::throttled);
  CHECK(server.stats().source_locks == 2);
}

TEST_CASE("digest throttle: failures in different windows do not add up", "[digest][throttle]") {
  auto server = throttling_server();
  for (int i = 0; i < 4; ++i)
    CHECK(attempt(server, "alice", "wrong", "192.0.2.1", t0) == verdict::bad_credentials);
  for (int i = 0; i < 4; ++i)
    CHECK(attempt(server, "alice", "wrong", "192.0.2.1", t0 + seconds(60)) ==
          verdict::bad_credentials);
  CHECK(attempt(server, "alice", "secret", "192.0.2.1", t0 + seconds(60)) == verdict::ok);
  CHECK(server.stats().source_locks == 0);
}

TEST_CASE(
    "digest throttle: a locked user is refused from new sources, not from one it authenticated "
    "from before",
    "[digest][throttle]") {
  auto server = throttling_server();
  CHECK(attempt(server, "alice", "secret", "198.51.100.7", t0) == verdict::ok);
  // 20 guesses for alice, one from each of 20 addresses: no source reaches its limit.
  for (int i = 0; i < 20; ++i)
    CHECK(attempt(server, "alice", "wrong", "203.0.113." + std::to_string(i), t0 + seconds(1)) ==
          verdict::bad_credentials);
  CHECK(server.stats().user_locks == 1);
  CHECK(server.stats().source_locks == 0);
  CHECK(attempt(server, "alice", "secret", "203.0.113.200", t0 + seconds(2)) == verdict::throttled);
  CHECK(attempt(server, "alice", "secret", "198.51.100.7", t0 + seconds(2)) == verdict::ok);
  CHECK(server.stats().good_pair_passes == 1);
  CHECK(attempt(server, "bob", "pw", "203.0.113.200", t0 + seconds(2)) == verdict::ok);
  // The lock ends one window after the 20th failure, whatever the guessers do meanwhile.
  CHECK(attempt(server, "alice", "wrong", "203.0.113.201", t0 + seconds(30)) == verdict::throttled);
  CHECK(attempt(server, "alice", "secret", "203.0.113.200", t0 + seconds(60)) ==
        verdict::throttled);
  CHECK(attempt(server, "alice", "secret", "203.0.113.200", t0 + seconds(61)) == verdict::ok);
}

TEST_CASE("digest throttle: a good pair is forgotten after its lifetime", "[digest][throttle]") {
  auto server = throttling_server({.good_pair_lifetime = seconds(3600)});
  CHECK(attempt(server, "alice", "secret", "198.51.100.7", t0) == verdict::ok);
  const auto later = t0 + seconds(3601);
  for (int i = 0; i < 20; ++i)
    CHECK(attempt(server, "alice", "wrong", "203.0.113." + std::to_string(i), later) ==
          verdict::bad_credentials);
  CHECK(attempt(server, "alice", "secret", "198.51.100.7", later) == verdict::throttled);
}

TEST_CASE("digest throttle: unknown usernames are counted and locked like known ones",
          "[digest][throttle]") {
  auto server = throttling_server();
  for (int i = 0; i < 20; ++i)
    CHECK(attempt(server, "mallory", "x", "203.0.113." + std::to_string(i), t0) ==
          verdict::unknown_user);
  CHECK(attempt(server, "mallory", "x", "203.0.113.100", t0) == verdict::throttled);
  for (int i = 0; i < 4; ++i)
    CHECK(attempt(server, "nobody" + std::to_string(i), "x", "192.0.2.9", t0) ==
          verdict::unknown_user);
  CHECK(attempt(server, "nobody", "x", "192.0.2.9", t0) == verdict::unknown_user);
  CHECK(attempt(server, "alice", "secret", "192.0.2.9", t0) == verdict::throttled);
}

TEST_CASE("digest throttle: IPv6 sources count per /64, IPv4-mapped addresses as IPv4",
          "[digest][throttle]") {
  auto server = throttling_server();
  for (int i = 1; i <= 5; ++i)
    CHECK(attempt(server, "alice", "wrong", "2001:db8::" + std::to_string(i), t0) ==
          verdict::bad_credentials);
  CHECK(attempt(server, "alice", "secret", "2001:db8::ffff:1", t0) == verdict::throttled);
  CHECK(attempt(server, "alice", "secret", "[2001:db8::abcd]", t0) == verdict::throttled);
  CHECK(attempt(server, "alice", "secret", "2001:db8:0:1::1", t0) == verdict::ok);
  for (int i = 0; i < 5; ++i)
    CHECK(attempt(server, "alice", "wrong", "::ffff:192.0.2.1", t0) == verdict::bad_credentials);
  CHECK(attempt(server, "alice", "secret", "192.0.2.1", t0) == verdict::throttled);
}

TEST_CASE(
    "digest throttle: the tables are bounded, entries that are over go first, then the oldest",
    "[digest][throttle]") {
  auto server = throttling_server(
      {.max_failures_per_source = 2, .max_sources = 3, .max_users = 100, .max_good_pairs = 2});
  CHECK(attempt(server, "alice", "wrong", "192.0.2.1", t0) == verdict::bad_credentials);
  CHECK(attempt(server, "alice", "wrong", "192.0.2.1", t0) == verdict::bad_credentials);
  CHECK(attempt(server, "alice", "secret", "192.0.2.1", t0) == verdict::throttled);
  CHECK(attempt(server, "alice", "wrong", "192.0.2.2", t0 + seconds(1)) ==
        verdict::bad_credentials);
  CHECK(attempt(server, "alice", "wrong", "192.0.2.3", t0 + seconds(1)) ==
        verdict::bad_credentials);
  CHECK(server.tracked_sources() == 3);
  // A fourth source pushes out the one whose window started first (192.0.2.1, locked).
  CHECK(attempt(server, "alice", "wrong", "192.0.2.4", t0 + seconds(2)) ==
        verdict::bad_credentials);
  CHECK(server.tracked_sources() == 3);
  CHECK(server.stats().evicted == 1);
  CHECK(attempt(server, "alice", "secret", "192.0.2.1", t0 + seconds(2)) == verdict::ok);
  // After the window, entries that count nothing any more leave without an eviction.
  CHECK(attempt(server, "alice", "wrong", "192.0.2.5", t0 + seconds(70)) ==
        verdict::bad_credentials);
  CHECK(server.tracked_sources() == 1);
  CHECK(server.stats().evicted == 1);
  // Good pairs: at most 2, the least recent goes.
  CHECK(attempt(server, "alice", "secret", "198.51.100.1", t0 + seconds(70)) == verdict::ok);
  CHECK(attempt(server, "alice", "secret", "198.51.100.2", t0 + seconds(70)) == verdict::ok);
  CHECK(attempt(server, "alice", "secret", "198.51.100.3", t0 + seconds(70)) == verdict::ok);
  CHECK(server.tracked_good_pairs() == 2);
}

TEST_CASE("digest throttle: a lock is logged once, not per refused attempt", "[digest][throttle]") {
  std::vector<std::string> lines;
  auto server = throttling_server({}, logger(log_level::info, [&](const log_record& r) {
                                    lines.emplace_back(r.text);
                                    CHECK(r.level == log_level::warning);
                                    CHECK(r.component == "digest");
                                  }));
  for (int i = 0; i < 50; ++i) (void)attempt(server, "alice", "wrong", "192.0.2.1", t0);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] ==
        "throttled source 192.0.2.1 for 60 s: 5 failed authentications within 60 s "
        "(realm example.com)");
  CHECK(server.stats().throttled == 45);
}

TEST_CASE("digest throttle: verify() without a source does not throttle", "[digest][throttle]") {
  auto server = throttling_server();
  digest_client client({{"", "alice", "wrong"}});
  for (int i = 0; i < 30; ++i) {
    const auto req = answered(server, client, register_request(1), t0);
    CHECK(server.verify(req, false, t0).v == verdict::bad_credentials);
  }
  CHECK(server.stats().failures == 30);
  CHECK(server.stats().throttled == 0);
  CHECK(attempt(server, "alice", "secret", "192.0.2.1", t0) == verdict::ok);
}

TEST_CASE("digest throttle: a moved server keeps its tables", "[digest][throttle]") {
  auto first = throttling_server();
  for (int i = 0; i < 5; ++i) (void)attempt(first, "alice", "wrong", "192.0.2.1", t0);
  digest_server moved(std::move(first));
  CHECK(moved.tracked_sources() == 1);
  CHECK(attempt(moved, "alice", "secret", "192.0.2.1", t0) == verdict::throttled);
  for (int i = 0; i < 5; ++i) (void)attempt(moved, "alice", "wrong", "192.0.2.2", t0);
  CHECK(moved.tracked_sources() == 2);
  CHECK(attempt(moved, "alice", "secret", "192.0.2.2", t0) == verdict::throttled);
}
