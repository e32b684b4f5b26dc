// browser_test.js — a real browser in CTest: headless Chromium (Debian's /usr/bin/chromium,
// driven by puppeteer-core, which never downloads a browser) loads examples/webphone, and
// the page's JsSIP talks SIP over secure WebSocket to examples/proxy (the registrar and
// proxy) on 127.0.0.1 with a self-signed certificate made here. The page registers,
// sends a MESSAGE to examples/uas and receives one from examples/uac, and calls
// examples/uas with the WebRTC offer Chromium builds from its fake devices
// (UDP/TLS/RTP/SAVPF). Whatever uas answers (200 then BYE, or 488), the call must end
// cleanly. The assertions read the SIP trace the page shows. A screenshot goes to
// WORK/webphone.png.
//
// Usage: node browser_test.js BUILD_EXAMPLES_DIR WORK_DIR
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');

const [examples, work] = process.argv.slice(2);
if (!examples || !work) {
  console.error('usage: node browser_test.js BUILD_EXAMPLES_DIR WORK_DIR');
  process.exit(2);
}

async function main() {
  const puppeteer = h.requireModule('puppeteer-core');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const log = fs.createWriteStream(path.join(work, 'programs.log'));
  const { cert, key } = h.makeCertificate(work);
  const sipPort = await h.freePort();
  const tlsPort = await h.freePort();
  const wssPort = await h.freePort();

  const procs = [];
  h.watchdog(130000, procs, 'browser_test');
  let browser = null;
  let server = null;
  try {
    const proxy = new h.program('proxy', path.join(examples, 'proxy'),
      ['--bind', '127.0.0.1', '--port', String(sipPort), '--tls-port', String(tlsPort),
       '--wss', String(wssPort), '--cert', cert, '--key', key, '--domain', 'example.com',
       '--record-route', '--user', 'alice:wonderland'], log);
    procs.push(proxy);
    const uas = new h.program('uas', path.join(examples, 'uas'),
      ['--bind', '127.0.0.1', '--port', '0', '--transport', 'tcp'], log);
    procs.push(uas);
    await proxy.waitFor(/listening on WSS 127\.0\.0\.1:\d+/);
    const uasPort = (await uas.waitFor(/listening on tcp 127\.0\.0\.1:(\d+)/))[1];
    server = await h.serveWebphone();
    // TCP: a WebRTC offer makes an INVITE larger than 1300 bytes, which RFC 3261 §18.1.1
    // sends over TCP anyway.
    const uasUri = `sip:uas@127.0.0.1:${uasPort};transport=tcp`;
    const query = new URLSearchParams({
      ws: `wss://127.0.0.1:${wssPort}`, uri: 'sip:alice@example.com', password: 'wonderland',
      'message-to': uasUri, 'call-to': uasUri, 'auto-answer': '1',
    });
    const url = `http://127.0.0.1:${server.address().port}/index.html?${query}`;

    browser = await puppeteer.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      // Generous: a loaded two-core machine (an ASan build beside) starts Chromium slowly.
      timeout: 90000,
      protocolTimeout: 90000,
      args: ['--no-sandbox', '--ignore-certificate-errors', '--use-fake-device-for-media-stream',
             '--use-fake-ui-for-media-stream', '--disable-gpu', '--no-first-run'],
    });
    const page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 900 });
    page.on('console', (m) => log.write(`[page] ${m.text()}\n`));
    page.on('pageerror', (e) => log.write(`[page error] ${e.message}\n`));
    await page.goto(url, { waitUntil: 'load', timeout: 60000 });
    const wait = (fn, ...args) => page.waitForFunction(fn, { timeout: 45000, polling: 100 }, ...args);
    // The trace as the page shows it: one line per message, "SENT ..." or "RECEIVED ...".
    const shownTrace = () => page.$$eval('#trace li', (lis) => lis.map((li) => ({
      line: li.querySelector('.first').textContent, text: li.querySelector('pre').textContent })));

    // Register over WSS.
    await page.click('#register');
    await wait(() => document.getElementById('status').textContent === 'registered');
    let trace = await shownTrace();
    const register = trace.find((t) => t.line.startsWith('SENT REGISTER sip:example.com SIP/2.0'));
    h.check(register && /^Via: SIP\/2\.0\/WSS [^\r\n]*\.invalid;/m.test(register.text),
            'the page sent REGISTER over WSS with an .invalid Via sent-by (RFC 7118 §5)');
    h.check(trace.some((t) => t.line === 'RECEIVED SIP/2.0 401 Unauthorized') &&
            trace.some((t) => t.line.startsWith('SENT REGISTER ') && /^Authorization: Digest /m.test(t.text)),
            'the page answered the proxy\'s digest challenge');
    h.check(trace.some((t) => t.line === 'RECEIVED SIP/2.0 200 OK' && /CSeq: \d+ REGISTER/.test(t.text)),
            'the page shows the 200 OK to its REGISTER');
    await proxy.waitFor(/alice@example\.com has 1 binding/);

    // MESSAGE from the page to uas, through the proxy.
    await page.click('#send-message');
    await wait(() => webphone.messages.some((m) => m.direction === 'out' && / \(200\)$/.test(m.body)));
    await uas.waitFor(/Hello from the browser/);
    trace = await shownTrace();
    h.check(trace.some((t) => t.line === `SENT MESSAGE ${uasUri} SIP/2.0`),
            'the page shows its MESSAGE to uas');
    h.check(trace.some((t) => t.line === 'RECEIVED SIP/2.0 200 OK' && /CSeq: \d+ MESSAGE/.test(t.text)),
            'the page shows the 200 OK to its MESSAGE, and uas printed the text');

    // MESSAGE from uac to alice@example.com: the proxy finds the binding and sends it on the
    // browser's WSS connection.
    const uac = await h.run('uac', path.join(examples, 'uac'),
      ['--message-to', 'sip:alice@example.com', '--message', 'Hello from sipkit uac',
       '--proxy', `sip:127.0.0.1:${sipPort}`], log);
    h.check(uac.code === 0, 'uac got a 2xx for its MESSAGE to the browser');
    await wait(() => webphone.messages.some((m) => m.direction === 'in' && m.body === 'Hello from sipkit uac'));
    trace = await shownTrace();
    const incoming = trace.find((t) => t.line.startsWith('RECEIVED MESSAGE sip:') && /Hello from sipkit uac/.test(t.text));
    h.check(incoming && /^Via: SIP\/2\.0\/WSS 127\.0\.0\.1:\d+;/m.test(incoming.text),
            'the page received the MESSAGE over the proxy\'s WSS flow and shows it');

    // A call to uas with Chromium's WebRTC offer.
    await page.click('#call');
    await wait(() => /^(ended|failed)/.test(document.getElementById('call-state').textContent) ||
                     document.getElementById('call-state').textContent === 'in call');
    let state = await page.$eval('#call-state', (e) => e.textContent);
    if (state === 'in call') {  // answered and ACKed: hang up from the page
      await page.click('#hangup');
      await wait(() => /^ended/.test(document.getElementById('call-state').textContent));
      state = await page.$eval('#call-state', (e) => e.textContent);
    }
    trace = await shownTrace();
    const invite = trace.find((t) => t.line === `SENT INVITE ${uasUri} SIP/2.0`);
    h.check(invite && /^m=audio \d+ UDP\/TLS\/RTP\/SAVPF /m.test(invite.text),
            'the page sent an INVITE with a WebRTC offer (UDP/TLS/RTP/SAVPF)');
    const final = trace.find((t) => t.line.startsWith('RECEIVED SIP/2.0 ') &&
                                    /CSeq: \d+ INVITE/.test(t.text) && !/^RECEIVED SIP\/2\.0 1/.test(t.line));
    h.check(final, 'the page shows a final response to its INVITE: ' + (final && final.line));
    if (final.line.startsWith('RECEIVED SIP/2.0 2')) {
      // 200: ACK, then a BYE from one side answered 200.
      await wait(() => webphone.trace.some((t) => t.direction === 'sent' && t.firstLine.startsWith('ACK ')));
      await wait(() => webphone.trace.some((t) => /CSeq: \d+ BYE/.test(t.text) && t.firstLine === 'SIP/2.0 200 OK'));
      trace = await shownTrace();
      h.check(trace.some((t) => /^(SENT|RECEIVED) BYE /.test(t.line)), 'the call ended with a BYE');
    } else {
      // A failure (488 ...): the page ACKs it (hop by hop, through the proxy).
      await wait(() => webphone.trace.some((t) => t.direction === 'sent' && t.firstLine.startsWith('ACK ')));
      h.check(/^failed/.test(state), 'the page shows the call failed: ' + state);
    }
    // A call from uac to alice@example.com: the proxy sends the INVITE on the browser's flow
    // and the page answers it (auto-answer); whatever the browser makes of uac's plain RTP
    // offer (WebRTC wants DTLS-SRTP), the call must end cleanly on both sides.
    const before = (await page.evaluate(() => webphone.trace.length));
    const call = await h.run('uac', path.join(examples, 'uac'),
      ['--call', 'sip:alice@example.com', '--proxy', `sip:127.0.0.1:${sipPort}`, '--duration', '1'], log);
    await wait((n) => webphone.trace.slice(n).some((t) => t.direction === 'received' && t.firstLine.startsWith('INVITE ')), before);
    trace = (await shownTrace()).slice(before);
    const answer = trace.find((t) => t.line.startsWith('SENT SIP/2.0 ') && /CSeq: \d+ INVITE/.test(t.text) &&
                                     !/^SENT SIP\/2\.0 1/.test(t.line));
    h.check(answer, 'the page answered uac\'s INVITE, which came over its WSS flow: ' + (answer && answer.line));
    if (answer.line === 'SENT SIP/2.0 200 OK')
      h.check(call.code === 0, 'uac: the call was established and hung up cleanly');
    else
      h.check(call.code !== 0 && /\b4\d\d\b/.test(call.output), 'uac saw the browser refuse the call: ' + answer.line);
    console.log('incoming call: the page answered ' + answer.line.slice(5));
    await page.screenshot({ path: path.join(work, 'webphone.png'), fullPage: true });
    console.log('screenshot: ' + path.join(work, 'webphone.png'));
    h.check(proxy.exited === null && uas.exited === null, 'proxy and uas are still running');
    console.log('call: ' + state + ', final response ' + final.line.slice(9));
  } finally {
    if (browser) await browser.close();
    if (server) server.close();
    for (const p of procs) await p.stop();
    log.end();
  }
}

main().then(() => {
  console.log('browser_test: passed');
}, (e) => {
  console.error('browser_test: FAILED: ' + (e && e.stack || e));
  console.error('(program output: ' + path.join(work, 'programs.log') + ')');
  process.exit(1);
});
