// harness.js — what the WebSocket example tests share: starting the example programs and
// waiting on what they print (never on the clock), a self-signed test certificate made
// with openssl, a static file server for examples/webphone, and the node modules that
// .ci/install-deps installed with `npm ci` in examples/webphone (nothing is downloaded here).
'use strict';

const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');

const webphoneDir = path.resolve(__dirname, '..', '..', 'examples', 'webphone');

/// A module from examples/webphone/node_modules, with a clear message when `npm ci` did not run.
function requireModule(name) {
  const dir = path.join(webphoneDir, 'node_modules', name);
  if (!fs.existsSync(dir)) {
    throw new Error(`${dir} is missing: run "npm ci && npm run build" in ${webphoneDir} ` +
                    '(.ci/install-deps does)');
  }
  return require(dir);
}

/// A TCP port free at the moment of asking (for programs that cannot take port 0).
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/// A running program whose output is kept and can be waited on.
class program {
  constructor(name, file, args, log) {
    this.name = name;
    this.output = '';
    this.exited = null;
    this.waiters = [];
    this.child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const take = (chunk) => {
      const text = chunk.toString();
      this.output += text;
      if (log) log.write(text.replace(/^/gm, `[${name}] `).replace(/\[[^\]]*\] $/, ''));
      this.check();
    };
    this.child.stdout.on('data', take);
    this.child.stderr.on('data', take);
    this.closed = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        this.exited = { code, signal };
        this.check();
        resolve(this.exited);
      });
    });
  }

  check() {
    this.waiters = this.waiters.filter((w) => {
      const m = this.output.match(w.re);
      if (m) w.resolve(m);
      else if (this.exited) w.reject(new Error(`${this.name} exited (${JSON.stringify(this.exited)}) before printing ${w.re}\n${this.output}`));
      else return true;
      return false;
    });
  }

  /// Resolves with the match once the output matches `re` (rejects if the program exits first).
  waitFor(re) {
    return new Promise((resolve, reject) => {
      this.waiters.push({ re, resolve, reject });
      this.check();
    });
  }

  count(re) {
    return (this.output.match(new RegExp(re.source, 'g' + re.flags.replace('g', ''))) || []).length;
  }

  async stop() {
    if (!this.exited) this.child.kill('SIGTERM');
    return this.closed;
  }
}

/// Runs a program to its end; resolves with { code, output }.
async function run(name, file, args, log) {
  const p = new program(name, file, args, log);
  const exited = await p.closed;
  return { code: exited.code, output: p.output };
}

/// A self-signed certificate for 127.0.0.1 (subjectAltName IP) in `dir`.
function makeCertificate(dir) {
  const cert = path.join(dir, 'server.pem');
  const key = path.join(dir, 'server.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
                           '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
                           '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

/// Serves examples/webphone's files (the page, its script, dist/jssip.js) on 127.0.0.1.
function serveWebphone() {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
    const file = path.join(webphoneDir, rel);
    if (!file.startsWith(webphoneDir + path.sep) || rel.startsWith('node_modules') || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/// The test's own bound, below CTest's TIMEOUT: past `ms` it kills the programs it started
/// (never left behind) and fails. A bound on the whole run, not a wait for anything.
function watchdog(ms, procs, what) {
  const t = setTimeout(() => {
    console.error(`${what}: FAILED: not done after ${ms / 1000} s`);
    for (const p of procs) if (!p.exited) p.child.kill('SIGKILL');
    process.exit(1);
  }, ms);
  t.unref();
}

/// Fails the test with `message` unless `ok`.
function check(ok, message) {
  if (!ok) throw new Error('check failed: ' + message);
  console.log('ok: ' + message);
}

module.exports = {
  webphoneDir, requireModule, freePort, program, run, makeCertificate, serveWebphone, watchdog, check,
};
