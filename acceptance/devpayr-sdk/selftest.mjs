// selftest.mjs — proves run.mjs works without the Go server: a tiny stub of DevPayr's has-paid /
// injectable/stream endpoints (and their CORS preflights) on 127.0.0.1, run.mjs run against it as
// a child process for each case, and the printed JSON checked.   Run: node selftest.mjs
//
// The stub picks its answer from the X-LICENSE-KEY header; paths under /nocors/ answer without any
// CORS headers. It exists only to test the harness; the real acceptance test targets Latchkey.

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

const RUN = fileURLToPath(new URL('./run.mjs', import.meta.url));
const LICENSE_HEADERS = 'X-LICENSE-KEY, X-Devpayr-Domain, X-Requested-With, Content-Type, Accept';
const INLINE = [{ slug: 'inline-js', name: 'inline-js', target_path: 'a.js', path: 'a.js', encrypted_content: 'AAA', content: 'AAA', signature: 'ab', mode: 'replace' }];
const STREAMED = [{ slug: 'streamed-css', target_path: 'b.css', encrypted_content: 'BBB', signature: 'cd', mode: 'append' }];

let stub; // { base, seen: [...] }

before(async () => { stub = await startStub(); });
after(() => stub.close());
beforeEach(() => { stub.seen.length = 0; });

test('paid with inline injectables: valid, forwarded, headers, query, preflight', async () => {
  const r = await runHarness({ license: 'paid-inline', domain: 'shop.example.com', checkType: 'check_project', injectables: true });
  assert.equal(r.outcome, 'ready');
  assert.equal(r.valid, true);
  assert.equal(r.onReadyCalls, 1);
  assert.equal(r.redirectedTo, null);
  assert.equal(r.modalShown, false);
  assert.deepEqual(r.forwardedInjectables, INLINE);

  const [check, forward, ...rest] = r.requests;
  assert.equal(rest.length, 0);
  const url = new URL(check.url);
  assert.equal(check.method, 'POST');
  assert.equal(url.pathname, '/api/v1/project/has-paid');
  assert.equal(url.searchParams.get('action'), 'check_project');
  assert.equal(url.searchParams.get('include'), 'injectables');
  assert.equal(check.headers['X-LICENSE-KEY'], 'paid-inline');
  assert.equal(check.headers['X-Devpayr-Domain'], 'shop.example.com');
  assert.equal(check.headers['X-Requested-With'], 'DevPayr-SDK');
  assert.equal(check.body, '{}');
  assert.equal(forward.url, r.injectablesEndpoint);
  assert.deepEqual(JSON.parse(forward.body), { injectables: INLINE });

  assert.equal(r.preflight.allowed, true);
  assert.equal(r.preflight.status, 204);
  assert.deepEqual(r.preflight.requestHeaders, ['content-type', 'x-devpayr-domain', 'x-license-key', 'x-requested-with']);
  // What the server saw: the preflight, then the POST carrying Origin like a browser's.
  const [opt, post] = stub.seen;
  assert.equal(opt.method, 'OPTIONS');
  assert.equal(opt.headers.origin, 'http://shop.example.com');
  assert.equal(opt.headers['access-control-request-method'], 'POST');
  assert.equal(opt.headers['access-control-request-headers'], 'content-type,x-devpayr-domain,x-license-key,x-requested-with');
  assert.equal(post.method, 'POST');
  assert.equal(post.headers.origin, 'http://shop.example.com');
  assert.equal(r.requests[0].response.corsAllowed, true);

  // Success is cached under sha256(license).
  assert.ok(r.localStorage[`devpayr:lastSuccess:${sha256hex('paid-inline')}`]);
});

test('paid without data.injectables: falls back to POST injectable/stream and forwards its data', async () => {
  const r = await runHarness({ license: 'paid-stream', domain: 'shop.example.com', injectables: true, projectId: 42 });
  assert.equal(r.valid, true);
  assert.deepEqual(r.requests.map((q) => `${q.method} ${new URL(q.url).pathname}`), [
    'POST /api/v1/project/has-paid',
    'POST /api/v1/injectable/stream',
    'POST /devpayr/injectables',
  ]);
  const stream = r.requests[1];
  assert.deepEqual(JSON.parse(stream.body), { license: 'paid-stream', projectId: 42 });
  assert.equal(stream.headers['X-LICENSE-KEY'], 'paid-stream');
  assert.equal(stream.preflight.allowed, true);
  assert.deepEqual(r.forwardedInjectables, STREAMED);
  assert.deepEqual(r.forwarded[0], { injectables: STREAMED, next_cursor: null, has_more: false });
});

test('injectables off and no checkType: no query parameters, nothing forwarded', async () => {
  const r = await runHarness({ license: 'paid-inline', domain: 'shop.example.com' });
  assert.equal(r.valid, true);
  assert.equal(r.requests.length, 1);
  assert.equal(new URL(r.requests[0].url).search, '');
  assert.equal(r.forwardedInjectables, null);
});

test('has_paid false: default behaviour redirects to devpayr.com/upgrade', async () => {
  const r = await runHarness({ license: 'unpaid', domain: 'shop.example.com' });
  assert.equal(r.outcome, 'redirect');
  assert.equal(r.valid, false);
  assert.equal(r.redirectedTo, 'https://devpayr.com/upgrade');
  assert.equal(r.modalShown, false);
  assert.deepEqual(r.localStorage, {});
});

test('403 with message, invalidBehavior modal: modal with the default text', async () => {
  const r = await runHarness({ license: 'revoked', domain: 'shop.example.com', invalidBehavior: 'modal' });
  assert.equal(r.outcome, 'modal');
  assert.equal(r.valid, false);
  assert.equal(r.modalShown, true);
  assert.equal(r.redirectedTo, null);
  assert.match(r.modalText, /Unlicensed Software/);
  assert.match(r.modalText, /The project owner did not pay the developer/);
  assert.equal(r.requests[0].response.status, 403);
  assert.deepEqual(r.requests[0].response.body, { message: 'License revoked.' });
  assert.ok(r.logs.some((l) => l.level === 'error' && /403/.test(l.text)));
});

test('403 with redirectUrl: redirects there', async () => {
  const r = await runHarness({ license: 'revoked', domain: 'shop.example.com', invalidBehavior: 'redirect', redirectUrl: 'https://vendor.example/buy' });
  assert.equal(r.redirectedTo, 'https://vendor.example/buy');
});

test('has_paid "true" as a string is not success (strict === true)', async () => {
  const r = await runHarness({ license: 'paid-string', domain: 'shop.example.com' });
  assert.equal(r.valid, false);
  assert.equal(r.outcome, 'redirect');
});

test('cached success: trusted forever without recheck, rechecked next day with recheck:true', async () => {
  const twoDaysAgo = new Date(Date.now() - 48 * 3600e3).toISOString();
  const cached = await runHarness({ license: 'unpaid', domain: 'shop.example.com', lastSuccess: twoDaysAgo });
  assert.equal(cached.valid, true);
  assert.equal(cached.requests.length, 0);

  const rechecked = await runHarness({ license: 'paid-inline', domain: 'shop.example.com', lastSuccess: twoDaysAgo, recheck: true });
  assert.equal(rechecked.valid, true);
  assert.equal(rechecked.requests.length, 1);
  assert.notEqual(rechecked.localStorage[`devpayr:lastSuccess:${sha256hex('paid-inline')}`], twoDaysAgo);

  const today = await runHarness({ license: 'unpaid', domain: 'shop.example.com', lastSuccess: new Date().toISOString(), recheck: true });
  assert.equal(today.valid, true);
  assert.equal(today.requests.length, 0);
});

test('no domain option: X-Devpayr-Domain is the page hostname', async () => {
  const r = await runHarness({ license: 'paid-inline', pageUrl: 'https://app.customer.test:8443/dash' });
  assert.equal(r.requests[0].headers['X-Devpayr-Domain'], 'app.customer.test');
  assert.equal(r.preflight.origin, 'https://app.customer.test:8443');
});

test('server without CORS: preflight reported as not allowed; enforceCors makes the SDK fail', async () => {
  const base = `${stub.origin}/nocors/api/v1/`;
  const r = await runHarness({ baseUrl: base, license: 'paid-inline', domain: 'shop.example.com' });
  assert.equal(r.valid, true); // not enforced by default: Node's fetch has no CORS
  assert.equal(r.preflight.allowed, false);
  assert.equal(r.preflight.status, 405);
  assert.equal(r.preflight.checks.origin, false);
  assert.deepEqual(r.preflight.missingHeaders, ['content-type', 'x-devpayr-domain', 'x-license-key', 'x-requested-with']);
  assert.equal(r.requests[0].response.corsAllowed, false);

  stub.seen.length = 0;
  const enforced = await runHarness({ baseUrl: base, license: 'paid-inline', domain: 'shop.example.com', enforceCors: true });
  assert.equal(enforced.valid, false);
  assert.equal(enforced.redirectedTo, 'https://devpayr.com/upgrade');
  assert.match(enforced.requests[0].error, /preflight/);
  assert.deepEqual(stub.seen.map((s) => s.method), ['OPTIONS']); // the POST never left, as in a browser
});

test('preflightHeaders "all" also requests accept', async () => {
  const r = await runHarness({ license: 'paid-inline', domain: 'shop.example.com', preflightHeaders: 'all' });
  assert.deepEqual(r.preflight.requestHeaders, ['accept', 'content-type', 'x-devpayr-domain', 'x-license-key', 'x-requested-with']);
  assert.equal(r.preflight.allowed, true);
});

test('options on stdin work like the argument', async () => {
  const { code, stdout } = await exec(['-'], JSON.stringify({ baseUrl: stub.base, license: 'unpaid', domain: 'shop.example.com' }));
  assert.equal(code, 0);
  assert.equal(JSON.parse(stdout).redirectedTo, 'https://devpayr.com/upgrade');
});

test('preflight:false sends no OPTIONS and no Origin', async () => {
  const r = await runHarness({ license: 'paid-inline', domain: 'shop.example.com', preflight: false });
  assert.equal(r.valid, true);
  assert.equal(r.preflight, null);
  assert.deepEqual(stub.seen.map((s) => s.method), ['POST']);
  assert.equal(stub.seen[0].headers.origin, undefined);
});

test('baseUrl without trailing slash: the SDK drops the last path segment', async () => {
  const r = await runHarness({ baseUrl: `${stub.origin}/api/v1`, license: 'paid-inline', domain: 'shop.example.com' });
  assert.equal(new URL(r.requests[0].url).pathname, '/api/project/has-paid');
  assert.equal(r.valid, false);
});

test('server never answers: timeout reported, exit 0', async () => {
  const r = await runHarness({ license: 'hang', domain: 'shop.example.com', timeout: 600 });
  assert.equal(r.timedOut, true);
  assert.equal(r.outcome, 'none');
  assert.equal(r.valid, false);
});

test('bad options: harness error, exit 2', async () => {
  const { code, stdout } = await exec(['{"license":"x"}']);
  assert.equal(code, 2);
  assert.equal(stdout, '');
});

// ---------------------------------------------------------------------------------------------

async function runHarness(opts) {
  const { code, stdout, stderr } = await exec([JSON.stringify({ baseUrl: stub.base, ...opts })]);
  assert.equal(code, 0, `run.mjs exited ${code}: ${stderr}`);
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 1, `expected one JSON line, got: ${stdout}`);
  return JSON.parse(lines[0]);
}

function exec(args, stdin = '') {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [RUN, ...args], { timeout: 20000 }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code ?? 1 : 0, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

function sha256hex(s) {
  return createHash('sha256').update(s).digest('hex');
}

function startStub() {
  const seen = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://stub');
      seen.push({ method: req.method, path: url.pathname, query: url.search, headers: req.headers, body: Buffer.concat(chunks).toString() });
      const cors = !url.pathname.startsWith('/nocors/');
      const path = url.pathname.replace(/^\/nocors/, '');
      const send = (status, body) => {
        const h = { 'Content-Type': 'application/json' };
        if (cors) h['Access-Control-Allow-Origin'] = '*';
        res.writeHead(status, h).end(JSON.stringify(body));
      };

      if (req.method === 'OPTIONS') {
        if (!cors) return res.writeHead(405).end();
        return res.writeHead(204, {
          'Access-Control-Allow-Origin': '*',
          'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
          'Access-Control-Allow-Headers': LICENSE_HEADERS,
          'Access-Control-Max-Age': '600',
        }).end();
      }
      const envelope = (data) => ({ status: 'success', message: 'Success', data, errors: null });
      if (req.method === 'POST' && path === '/api/v1/project/has-paid') {
        switch (req.headers['x-license-key']) {
          case 'paid-inline': return send(200, envelope({ has_paid: true, injectables: INLINE }));
          case 'paid-stream': return send(200, envelope({ has_paid: true }));
          case 'paid-string': return send(200, envelope({ has_paid: 'true' }));
          case 'unpaid': return send(200, envelope({ has_paid: false }));
          case 'revoked': return send(403, { message: 'License revoked.' });
          case 'hang': return; // never answer
          default: return send(401, { message: 'Invalid license key.' });
        }
      }
      if (req.method === 'POST' && path === '/api/v1/injectable/stream') {
        return send(200, envelope({ injectables: STREAMED, next_cursor: null, has_more: false }));
      }
      send(404, { message: 'Not found.' });
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const origin = `http://127.0.0.1:${server.address().port}`;
      resolve({ origin, base: `${origin}/api/v1/`, seen, close: () => { server.closeAllConnections(); server.close(); } });
    });
  });
}
