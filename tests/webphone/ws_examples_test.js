// ws_examples_test.js — the example programs over plain WebSocket (RFC 7118), without a
// browser: JsSIP running in node (its WebSocket from the `ws` package) and a raw
// WebSocket client that writes SIP by hand.
//
//  1. uas --ws: a raw client sends OPTIONS and MESSAGE on uas's WS listener; the 200s come
//     back on the same connection.
//  2. proxy --ws: JsSIP registers alice (RFC 5626 outbound: reg-id, +sip.instance) and the
//     raw client registers bob (no reg-id); uac's MESSAGEs and a call for alice and bob
//     reach them over their connections.
//  3. flow gone: each connection is cut without unregistering; once the proxy has seen
//     the close, a MESSAGE from uac to alice fails with 430 Flow Failed and one to bob
//     with 480, both at once (a Timer B failure would be a 408 after 32 s).
//  4. registrar --ws --wss: JsSIP registers with digest over WS and over WSS (a test
//     certificate made with openssl); a lookup for an AOR reachable only over WebSocket
//     gets 480 from the redirect server, not a 302 to an .invalid Contact.
//
// Usage: node ws_examples_test.js BUILD_EXAMPLES_DIR WORK_DIR
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');

const [examples, work] = process.argv.slice(2);
if (!examples || !work) {
  console.error('usage: node ws_examples_test.js BUILD_EXAMPLES_DIR WORK_DIR');
  process.exit(2);
}

const WebSocket = h.requireModule('ws');
const JsSIP = h.requireModule('jssip');
JsSIP.debug.disable('JsSIP:*');

/// A WebSocket client speaking SIP by hand: send() a message, next() waits for the next one.
class rawClient {
  constructor(url) {
    this.ws = new WebSocket(url, 'sip');
    this.queue = [];
    this.waiting = [];
    this.ws.on('message', (data) => {
      const text = data.toString();
      const w = this.waiting.shift();
      if (w) w(text); else this.queue.push(text);
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.on('open', resolve);
      this.ws.on('error', reject);
    });
    this.closed = new Promise((resolve) => this.ws.on('close', resolve));
  }
  send(text) { this.ws.send(text); }
  next() {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  /// The next message whose first line matches `re` (others, such as 100 Trying, skipped).
  async nextMatching(re) {
    for (;;) {
      const m = await this.next();
      if (re.test(m.split('\r\n', 1)[0])) return m;
    }
  }
}

let seq = 0;
// A status code as a status line in a program's message trace ("SENT to ... SIP/2.0 408 ...").
// A bare /\b408\b/ also matches a trace timestamp such as [00:42:43.408].
function statusSeen(output, code) {
  return new RegExp(`SIP/2\\.0 ${code} `).test(output);
}

function request(method, ruri, { from, to, contact, extra = [], body = '' }) {
  seq += 1;
  const lines = [
    `${method} ${ruri} SIP/2.0`,
    `Via: SIP/2.0/WS rawclient${seq}.invalid;branch=z9hG4bK-raw-${seq}-${Date.now()}`,
    'Max-Forwards: 70',
    `From: <${from}>;tag=raw${seq}`,
    `To: <${to}>`,
    `Call-ID: raw-${seq}-${process.pid}@test`,
    `CSeq: ${seq} ${method}`,
  ];
  if (contact) lines.push(`Contact: <${contact}>`);
  lines.push(...extra);
  if (body) lines.push('Content-Type: text/plain');
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`, '', body);
  return lines.join('\r\n');
}

/// Answers a request received by the raw client with `code` (its Via, From, To, Call-ID, CSeq).
function response(req, code, reason) {
  const keep = req.split('\r\n').filter((l) => /^(Via|v|From|f|To|t|Call-ID|i|CSeq|Record-Route):/i.test(l));
  return [`SIP/2.0 ${code} ${reason}`, ...keep.map((l) => (/^(To|t):/i.test(l) && code > 100 ? l + ';tag=rawbob' : l)),
          'Content-Length: 0', '', ''].join('\r\n');
}

/// A JsSIP UA in node over a `ws` WebSocket that the test can cut without a close handshake.
function jssipSocket(url, wsOptions = {}) {
  const socket = {
    url, via_transport: 'WS', sip_uri: `sip:${new URL(url).host};transport=ws`,
    ws: null, cut: false,
    onconnect: () => {}, ondisconnect: () => {}, ondata: () => {},
    connect() {
      if (socket.cut) return;  // no reconnection after the test cut the flow
      socket.ws = new WebSocket(url, 'sip', wsOptions);
      socket.ws.on('open', () => socket.onconnect());
      socket.ws.on('close', (code, reason) => socket.ondisconnect(code !== 1000, code, reason.toString()));
      socket.ws.on('error', () => {});
      socket.ws.on('message', (data) => socket.ondata(data.toString()));
    },
    disconnect() { if (socket.ws) socket.ws.close(); },
    send(m) { socket.ws.send(m); return true; },
    isConnected() { return !!socket.ws && socket.ws.readyState === WebSocket.OPEN; },
    isConnecting() { return !!socket.ws && socket.ws.readyState === WebSocket.CONNECTING; },
  };
  return socket;
}

async function main() {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const log = fs.createWriteStream(path.join(work, 'programs.log'));
  const procs = [];
  h.watchdog(100000, procs, 'ws_examples_test');
  const clients = [];
  let alice = null;
  const extraUas = [];
  try {
    // ---------------------------------------------------------------- 1. uas --ws
    const uas = new h.program('uas', path.join(examples, 'uas'),
      ['--bind', '127.0.0.1', '--port', '0', '--ws', '0'], log);
    procs.push(uas);
    const uasWs = (await uas.waitFor(/listening on ws 127\.0\.0\.1:(\d+)/))[1];
    const c = new rawClient(`ws://127.0.0.1:${uasWs}`);
    clients.push(c);
    await c.opened;
    c.send(request('OPTIONS', 'sip:uas@127.0.0.1', { from: 'sip:carol@example.com', to: 'sip:uas@127.0.0.1' }));
    let r = await c.nextMatching(/^SIP\/2\.0 [2-6]/);
    h.check(/^SIP\/2\.0 200 /.test(r) && /^Via: SIP\/2\.0\/WS rawclient\d+\.invalid;/m.test(r),
            'uas --ws answered OPTIONS 200 on the WebSocket connection');
    c.send(request('MESSAGE', 'sip:uas@127.0.0.1', { from: 'sip:carol@example.com', to: 'sip:uas@127.0.0.1',
                                                     body: 'over WebSocket to uas' }));
    r = await c.nextMatching(/^SIP\/2\.0 [2-6]/);
    h.check(/^SIP\/2\.0 200 /.test(r), 'uas --ws answered MESSAGE 200');
    await uas.waitFor(/over WebSocket to uas/);
    c.ws.close();

    // ---------------------------------------------------------------- 2. proxy --ws
    const sipPort = await h.freePort();
    const wsPort = await h.freePort();
    const proxy = new h.program('proxy', path.join(examples, 'proxy'),
      ['--bind', '127.0.0.1', '--port', String(sipPort), '--ws', String(wsPort), '--domain', 'example.com',
       '--record-route'], log);
    procs.push(proxy);
    await proxy.waitFor(/listening on WS 127\.0\.0\.1:\d+/);
    const wsUrl = `ws://127.0.0.1:${wsPort}`;
    const proxyUri = `sip:127.0.0.1:${sipPort}`;

    const aliceSocket = jssipSocket(wsUrl);
    alice = new JsSIP.UA({ sockets: [aliceSocket], uri: 'sip:alice@example.com', register: true,
                           session_timers: false });
    const aliceGot = [];
    alice.on('newMessage', (e) => { if (e.originator === 'remote') aliceGot.push(e.request.body); });
    const registered = new Promise((resolve, reject) => {
      alice.on('registered', resolve);
      alice.on('registrationFailed', (e) => reject(new Error('JsSIP registration failed: ' + e.cause)));
    });
    alice.start();
    await registered;
    await proxy.waitFor(/alice@example\.com has 1 binding/);
    h.check(alice.isRegistered(), 'JsSIP registered alice over WS');

    const bob = new rawClient(wsUrl);
    clients.push(bob);
    await bob.opened;
    bob.send(request('REGISTER', 'sip:example.com', { from: 'sip:bob@example.com', to: 'sip:bob@example.com',
                                                      contact: 'sip:bob@b0b.invalid;transport=ws',
                                                      extra: ['Expires: 300'] }));
    r = await bob.nextMatching(/^SIP\/2\.0 [2-6]/);
    h.check(/^SIP\/2\.0 200 /.test(r), 'the raw client registered bob over WS (no reg-id)');

    // MESSAGEs from uac reach both over their connections.
    let uac = await h.run('uac', path.join(examples, 'uac'),
      ['--message-to', 'sip:alice@example.com', '--message', 'to alice over her flow', '--proxy', proxyUri], log);
    h.check(uac.code === 0 && aliceGot.includes('to alice over her flow'),
            'uac -> proxy -> JsSIP alice over WS: 200, and JsSIP got the text');
    const bobGets = bob.nextMatching(/^MESSAGE /);
    const uacToBob = h.run('uac', path.join(examples, 'uac'),
      ['--message-to', 'sip:bob@example.com', '--message', 'to bob over his flow', '--proxy', proxyUri], log);
    const msg = await bobGets;
    h.check(/^MESSAGE sip:bob@b0b\.invalid;transport=ws SIP\/2\.0/.test(msg) && /to bob over his flow$/.test(msg),
            'the proxy sent the MESSAGE for bob on his WS connection, Request-URI his Contact');
    bob.send(response(msg, 200, 'OK'));
    uac = await uacToBob;
    h.check(uac.code === 0, 'uac got the raw client\'s 200 through the proxy');

    // A call for bob: INVITE on his flow; he declines with 486, the proxy ACKs it there.
    const bobInvite = bob.nextMatching(/^INVITE /);
    const callBob = h.run('uac', path.join(examples, 'uac'),
      ['--call', 'sip:bob@example.com', '--proxy', proxyUri, '--duration', '1'], log);
    const inv = await bobInvite;
    h.check(/^INVITE sip:bob@b0b\.invalid;transport=ws SIP\/2\.0/.test(inv) && /^Record-Route: /m.test(inv),
            'the proxy sent the INVITE for bob on his WS connection, record-routed');
    bob.send(response(inv, 486, 'Busy Here'));
    const ack = await bob.nextMatching(/^ACK /);
    h.check(/^ACK sip:bob@b0b\.invalid;transport=ws SIP\/2\.0/.test(ack), 'the proxy ACKed the 486 on the flow');
    const called = await callBob;
    h.check(called.code !== 0 && statusSeen(called.output, 486), 'uac saw 486 Busy Here from bob');

    // ---------------------------------------------------------------- 3. flows gone
    const closes = proxy.count(/WS connection \d+ from [^ ]+ closed/);
    aliceSocket.cut = true;
    aliceSocket.ws.terminate();  // no unregistration, no close handshake
    bob.ws.terminate();
    await proxy.waitFor(new RegExp(`(WS connection \\d+ from [^ ]+ closed[^]*){${closes + 2}}`));
    uac = await h.run('uac', path.join(examples, 'uac'),
      ['--message-to', 'sip:alice@example.com', '--message', 'lost', '--proxy', proxyUri], log);
    h.check(uac.code !== 0 && statusSeen(uac.output, 430),
            'MESSAGE for alice (outbound reg-id) after her flow closed: 430 Flow Failed at once');
    uac = await h.run('uac', path.join(examples, 'uac'),
      ['--message-to', 'sip:bob@example.com', '--message', 'lost', '--proxy', proxyUri], log);
    h.check(uac.code !== 0 && statusSeen(uac.output, 480),
            'MESSAGE for bob (no outbound) after his flow closed: 480 at once');
    h.check(!statusSeen(proxy.output, 408), 'no request waited for a timer (no 408)');
    h.check(proxy.exited === null && uas.exited === null, 'proxy and uas are still running');

    // ---------------------------------------------------------------- 4. registrar --ws --wss
    const { cert, key } = h.makeCertificate(work);
    const regPort = await h.freePort();
    const registrar = new h.program('registrar', path.join(examples, 'registrar'),
      ['--bind', '127.0.0.1', '--port', String(regPort), '--ws', '0', '--wss', '0', '--cert', cert, '--key', key,
       '--realm', 'example.com', '--user', 'alice:secret', '--user', 'dave:pw', '--no-redirect-requires-auth'], log);
    procs.push(registrar);
    const regWs = (await registrar.waitFor(/listening on ws 127\.0\.0\.1:(\d+)/))[1];
    const regWss = (await registrar.waitFor(/listening on wss 127\.0\.0\.1:(\d+)/))[1];
    for (const [user, url, opts] of [['alice', `ws://127.0.0.1:${regWs}`, {}],
                                     ['dave', `wss://127.0.0.1:${regWss}`, { rejectUnauthorized: false }]]) {
      const socket = jssipSocket(url, opts);
      if (user === 'dave') socket.via_transport = 'WSS';
      const ua = new JsSIP.UA({ sockets: [socket], uri: `sip:${user}@example.com`,
                                password: user === 'alice' ? 'secret' : 'pw', register: true });
      const done = new Promise((resolve, reject) => {
        ua.on('registered', resolve);
        ua.on('registrationFailed', (e) => reject(new Error(`JsSIP ${user}: ${e.cause}`)));
      });
      ua.start();
      await done;
      h.check(ua.isRegistered(), `JsSIP registered ${user} at registrar over ${url.split(':')[0].toUpperCase()} with digest`);
      extraUas.push(ua);
    }
    await registrar.waitFor(/dave@example\.com has 1 binding/);
    uac = await h.run('uac', path.join(examples, 'uac'),
      ['--message-to', 'sip:alice@example.com', '--message', 'where are you', '--proxy', `sip:127.0.0.1:${regPort}`], log);
    h.check(uac.code !== 0 && statusSeen(uac.output, 480) && !statusSeen(uac.output, 302),
            'registrar lookup for an AOR bound only over WebSocket: 480, no 302 to an .invalid Contact');
  } finally {
    for (const ua of extraUas) ua.stop();
    if (alice) alice.stop();
    for (const cl of clients) cl.ws.terminate();
    for (const p of procs) await p.stop();
    log.end();
  }
}

main().then(() => {
  console.log('ws_examples_test: passed');
  process.exit(0);
}, (e) => {
  console.error('ws_examples_test: FAILED: ' + (e && e.stack || e));
  console.error('(program output: ' + path.join(work, 'programs.log') + ')');
  process.exit(1);
});
