#!/usr/bin/env node
// run.mjs — run DevPayr's real browser SDK (@devpayr/frontend-sdk, the <script> build
// dist/devpayr-frontend.js installed from npm) against a live server, inside a minimal simulated
// browser page, and print ONE JSON line saying what the SDK concluded.
//
//   node run.mjs '<json options>'        (or pass the JSON on stdin, or as the argument "-")
//
// Exit status: 0 whenever the SDK was run and a report printed (even if the license was judged
// invalid or the wait timed out); 2 for harness errors (bad options, SDK not installed, crash).
// Everything except the final JSON line goes to stderr, so stdout can be parsed as-is.
// See README.md for the full contract.

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { createHash, webcrypto } from 'node:crypto';
import { dirname, join } from 'node:path';
import http from 'node:http';
import vm from 'node:vm';
import { format } from 'node:util';

const require = createRequire(import.meta.url);

class HarnessError extends Error {}

main().catch((err) => {
  process.stderr.write(`run.mjs: ${err instanceof HarnessError ? err.message : err?.stack || err}\n`);
  process.exit(2);
});

async function main() {
  const opts = parseOptions(await readInput());
  const sdk = loadSdk();
  const pageUrl = new URL(opts.pageUrl);
  const apiOrigin = new URL(opts.baseUrl).origin;

  // Everything observable about the run; turned into the report at the end.
  const state = {
    outcome: null, // first terminal event: 'ready' | 'redirect' | 'modal'
    onReadyCalls: 0,
    redirects: [],
    modalHtml: null,
    forwarded: [],
    requests: [],
    logs: [],
    pageErrors: [],
  };

  // The SDK never tells us it is done, so "done" is: a terminal event (or a page error) happened,
  // no fetch is in flight and nothing happened for settleMs. The quiet period covers the gaps
  // between one fetch settling and the SDK starting the next (has-paid -> stream -> forward).
  let pending = 0;
  let lastActivity = Date.now();
  const touch = () => { lastActivity = Date.now(); };

  // A browser logs uncaught errors in page scripts and carries on; so do we (Node 20 would
  // otherwise kill the process on the SDK's unhandled async rejection).
  process.on('unhandledRejection', (err) => { state.pageErrors.push(String(err?.stack || err)); touch(); });

  const capture = await startCaptureServer(state, touch);
  const injectablesEndpoint = opts.injectablesEndpoint === 'capture' ? capture.url : opts.injectablesEndpoint;

  // ---- the SDK's configuration object -------------------------------------------------------
  // The SDK finds its config as the first enumerable window property that is an object with a
  // string `license` (or `lk`). Only options the caller gave are set, so SDK defaults stay visible.
  const config = { license: opts.license, baseUrl: opts.baseUrl }; // baseUrl verbatim: the SDK needs its trailing '/'
  for (const key of ['domain', 'checkType', 'injectables', 'projectId', 'invalidBehavior', 'redirectUrl', 'modalText', 'recheck', 'debug']) {
    if (opts[key] !== undefined) config[key] = opts[key];
  }
  if (injectablesEndpoint) config.injectablesEndpoint = injectablesEndpoint;
  Object.assign(config, opts.config);
  config.onReady = () => { state.onReadyCalls++; state.outcome ??= 'ready'; touch(); };

  // ---- fetch: recorded, and optionally preceded by a CORS preflight like a browser's ----------
  const pageOrigin = pageUrl.origin;
  async function pageFetch(input, init = {}) {
    const url = String(input?.url ?? input);
    const method = String(init.method || 'GET').toUpperCase();
    const headers = plainHeaders(init.headers);
    const entry = { method, url, headers, body: init.body ?? null, preflight: null, response: null, error: null };
    state.requests.push(entry);
    pending++; touch();
    try {
      // Only calls to the server under test are treated as cross-origin API calls; the
      // forwarding endpoint belongs to the customer's own backend.
      const cors = opts.preflight && new URL(url).origin === apiOrigin;
      if (cors) {
        entry.preflight = await preflight(url, method, headers, pageOrigin, opts.preflightHeaders === 'all');
        if (opts.enforceCors && !entry.preflight.allowed) throw new TypeError('Failed to fetch (harness: CORS preflight not allowed)');
      }
      // Browsers add Origin to cross-origin requests; servers may echo it in Access-Control-Allow-Origin.
      const res = await fetch(url, { ...init, headers: cors ? { ...headers, Origin: pageOrigin } : headers });
      const text = await res.clone().text();
      entry.response = { status: res.status, body: parseMaybeJson(text) };
      if (cors) {
        const allowOrigin = res.headers.get('access-control-allow-origin');
        entry.response.allowOrigin = allowOrigin;
        entry.response.corsAllowed = allowOrigin === '*' || allowOrigin === pageOrigin;
        if (opts.enforceCors && !entry.response.corsAllowed) throw new TypeError('Failed to fetch (harness: response lacks Access-Control-Allow-Origin)');
      }
      return res;
    } catch (err) {
      entry.error = String(err?.message || err);
      throw err;
    } finally {
      pending--; touch();
    }
  }

  // ---- the simulated page -------------------------------------------------------------------
  const storage = new MemoryStorage();
  for (const [k, v] of Object.entries(opts.localStorage)) storage.setItem(k, v);
  if (opts.lastSuccess !== undefined) {
    storage.setItem(`devpayr:lastSuccess:${sha256hex(opts.license)}`, opts.lastSuccess);
  }

  const location = new PageLocation(pageUrl, (href) => { state.redirects.push(href); state.outcome ??= 'redirect'; touch(); });
  const document = {
    // 'complete' makes the SDK start immediately instead of waiting for DOMContentLoaded.
    readyState: 'complete',
    addEventListener() {},
    // Only the invalid-license modal creates and appends elements.
    createElement: (tag) => ({ tagName: String(tag).toUpperCase(), innerHTML: '' }),
    body: {
      appendChild(el) { state.modalHtml ??= String(el.innerHTML); state.outcome ??= 'modal'; touch(); return el; },
    },
  };
  const pageConsole = makeConsole(state.logs);

  // A fresh V8 context is the page's global object, so Object.keys(window) — which the SDK scans
  // for its config — sees only these names, in this order, then `window`/`self`.
  const page = vm.createContext({
    console: pageConsole,
    fetch: pageFetch,
    crypto: webcrypto, // crypto.subtle.digest('SHA-256') hashes the license for the cache key
    TextEncoder,
    URL,
    URLSearchParams,
    document,
    localStorage: storage,
    location,
    devpayrConfig: config,
  });
  vm.runInContext('var window = globalThis, self = globalThis;', page);

  const started = Date.now();
  try {
    vm.runInContext(sdk.source, page, { filename: sdk.file });
  } catch (err) {
    state.pageErrors.push(String(err?.stack || err));
  }

  // ---- wait until the SDK is done, or the timeout --------------------------------------------
  let timedOut = false;
  for (;;) {
    await new Promise((r) => setTimeout(r, 10));
    const concluded = state.outcome !== null || state.pageErrors.length > 0;
    if (concluded && pending === 0 && Date.now() - lastActivity >= opts.settleMs) break;
    if (Date.now() - started >= opts.timeout) { timedOut = true; break; }
  }

  const firstForward = state.forwarded[0];
  const report = {
    outcome: state.outcome ?? 'none',
    valid: state.outcome === 'ready',
    timedOut,
    onReadyCalls: state.onReadyCalls,
    redirectedTo: state.redirects[0] ?? null,
    modalShown: state.modalHtml !== null,
    modalText: state.modalHtml === null ? null : htmlToText(state.modalHtml),
    forwardedInjectables: Array.isArray(firstForward?.injectables) ? firstForward.injectables : null,
    forwarded: state.forwarded,
    requests: state.requests,
    preflight: state.requests.find((r) => r.preflight)?.preflight ?? null,
    localStorage: storage.toJSON(),
    logs: state.logs,
    pageErrors: state.pageErrors,
    injectablesEndpoint: injectablesEndpoint || null,
    sdk: { name: sdk.name, version: sdk.version, file: sdk.file, sha256: sdk.sha256 },
  };
  capture.close();
  process.stdout.write(JSON.stringify(report) + '\n', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------

async function readInput() {
  const arg = process.argv[2];
  if (arg !== undefined && arg !== '-') return arg;
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

function parseOptions(text) {
  let o;
  try { o = JSON.parse(text); } catch (err) { throw new HarnessError(`options are not valid JSON: ${err.message}`); }
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new HarnessError('options must be a JSON object');
  if (typeof o.baseUrl !== 'string' || !/^https?:\/\//.test(o.baseUrl)) throw new HarnessError('baseUrl (http(s) URL) is required');
  if (typeof o.license !== 'string' || o.license === '') throw new HarnessError('license (non-empty string) is required');
  const domainHost = typeof o.domain === 'string' && o.domain.trim() ? o.domain.trim() : 'localhost';
  return {
    ...o,
    pageUrl: o.pageUrl ?? `http://${domainHost}/`,
    injectablesEndpoint: o.injectablesEndpoint === undefined ? 'capture' : o.injectablesEndpoint,
    preflight: o.preflight ?? true,
    preflightHeaders: o.preflightHeaders ?? 'browser',
    enforceCors: o.enforceCors ?? false,
    timeout: Number(o.timeout ?? 5000),
    settleMs: Number(o.settleMs ?? 100),
    localStorage: o.localStorage ?? {},
    config: o.config ?? {},
  };
}

// The browser build (package export "./browser" = dist/devpayr-frontend.js) is what a
// <script src> tag loads; it is a classic script, so it runs unchanged in a vm context.
function loadSdk() {
  let file;
  try { file = require.resolve('@devpayr/frontend-sdk/browser'); } catch {
    throw new HarnessError('@devpayr/frontend-sdk is not installed: run `npm ci` in acceptance/devpayr-sdk');
  }
  // package.json is not exported by the package, so read it from disk next to dist/.
  const pkg = JSON.parse(readFileSync(join(dirname(file), '..', 'package.json'), 'utf8'));
  const source = readFileSync(file, 'utf8');
  return { name: pkg.name, version: pkg.version, file, source, sha256: sha256hex(source) };
}

// Receives what the SDK forwards to config.injectablesEndpoint (the customer's backend).
function startCaptureServer(state, touch) {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      state.forwarded.push(parseMaybeJson(Buffer.concat(chunks).toString('utf8')));
      touch();
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({
      url: `http://127.0.0.1:${server.address().port}/devpayr/injectables`,
      close: () => { server.closeAllConnections(); server.close(); },
    }));
  });
}

// Sends the OPTIONS request a browser would send before `method url` with `headers` from
// pageOrigin, and evaluates the answer with the Fetch standard's CORS-preflight rules.
// With allHeaders, every header the SDK sets is requested (stricter than any browser).
async function preflight(url, method, headers, pageOrigin, allHeaders) {
  const requested = allHeaders
    ? [...new Set(Object.keys(headers).map((n) => n.toLowerCase()))].sort()
    : nonSafelistedHeaderNames(headers);
  const reqHeaders = { Origin: pageOrigin, 'Access-Control-Request-Method': method };
  if (requested.length) reqHeaders['Access-Control-Request-Headers'] = requested.join(',');
  const res = await fetch(url, { method: 'OPTIONS', headers: reqHeaders });
  await res.arrayBuffer();
  const h = Object.fromEntries(res.headers); // names come back lowercased
  const allowOrigin = h['access-control-allow-origin'] ?? null;
  const allowMethods = splitList(h['access-control-allow-methods']);
  const allowHeaders = splitList(h['access-control-allow-headers']).map((s) => s.toLowerCase());
  const missingHeaders = allowHeaders.includes('*') ? [] : requested.filter((n) => !allowHeaders.includes(n));
  const methodListed = allowMethods.includes('*') || allowMethods.some((m) => m.toUpperCase() === method);
  const checks = {
    status: res.status >= 200 && res.status < 300,
    origin: allowOrigin === '*' || allowOrigin === pageOrigin,
    // GET/HEAD/POST are CORS-safelisted methods: browsers accept them even when not listed.
    method: ['GET', 'HEAD', 'POST'].includes(method) || methodListed,
    methodListed,
    headers: missingHeaders.length === 0,
  };
  return {
    url,
    origin: pageOrigin,
    requestHeaders: requested,
    status: res.status,
    allowed: checks.status && checks.origin && checks.method && checks.headers,
    checks,
    missingHeaders,
    headers: h,
  };
}

// Header names a browser lists in Access-Control-Request-Headers: lowercased, sorted, minus the
// CORS-safelisted ones. Simplified safelist (no value-byte or length checks), enough for the SDK's
// headers: Accept is safelisted; Content-Type only for the three "simple" media types.
function nonSafelistedHeaderNames(headers) {
  const simpleTypes = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];
  const names = [];
  for (const [name, value] of Object.entries(headers)) {
    const n = name.toLowerCase();
    if (['accept', 'accept-language', 'content-language'].includes(n)) continue;
    if (n === 'content-type' && simpleTypes.includes(String(value).split(';')[0].trim().toLowerCase())) continue;
    names.push(n);
  }
  return [...new Set(names)].sort();
}

// Headers exactly as the SDK passed them (original case kept, so tests can see the SDK's spelling).
function plainHeaders(h) {
  if (!h) return {};
  if (typeof h.entries === 'function' && !Array.isArray(h)) return Object.fromEntries(h.entries());
  return Object.fromEntries(Array.isArray(h) ? h : Object.entries(h));
}

function splitList(v) {
  return v ? v.split(',').map((s) => s.trim()).filter(Boolean) : [];
}

function parseMaybeJson(text) {
  if (text === '') return null;
  try { return JSON.parse(text); } catch { return text; }
}

function sha256hex(s) {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

// Visible text of the modal: drop <style>, tags and whitespace runs.
function htmlToText(html) {
  return html.replace(/<style[\s\S]*?<\/style>/gi, ' ').replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
}

// The SDK's console output goes to stderr (stdout is reserved for the report); warnings and
// errors are also kept for the report, since that is where the SDK explains failures.
function makeConsole(logs) {
  const emit = (level, keep) => (...args) => {
    const text = format(...args);
    process.stderr.write(`[page console.${level}] ${text}\n`);
    if (keep) logs.push({ level, text });
  };
  return { log: emit('log', false), info: emit('info', false), debug: emit('debug', false), warn: emit('warn', true), error: emit('error', true) };
}

// localStorage: Map-backed; private fields so nothing else is enumerable on it.
class MemoryStorage {
  #items = new Map();
  get length() { return this.#items.size; }
  key(i) { return [...this.#items.keys()][i] ?? null; }
  getItem(k) { return this.#items.has(String(k)) ? this.#items.get(String(k)) : null; }
  setItem(k, v) { this.#items.set(String(k), String(v)); }
  removeItem(k) { this.#items.delete(String(k)); }
  clear() { this.#items.clear(); }
  toJSON() { return Object.fromEntries(this.#items); }
}

// window.location: read-only view of the page URL; assigning href (the SDK's redirect) is
// recorded instead of navigating, and the page keeps its URL as it would until navigation commits.
class PageLocation {
  #url;
  #onNavigate;
  constructor(url, onNavigate) { this.#url = url; this.#onNavigate = onNavigate; }
  get href() { return this.#url.href; }
  set href(v) { this.#onNavigate(String(v)); }
  get origin() { return this.#url.origin; }
  get protocol() { return this.#url.protocol; }
  get host() { return this.#url.host; }
  get hostname() { return this.#url.hostname; }
  get port() { return this.#url.port; }
  get pathname() { return this.#url.pathname; }
  get search() { return this.#url.search; }
  get hash() { return this.#url.hash; }
  assign(v) { this.#onNavigate(String(v)); }
  replace(v) { this.#onNavigate(String(v)); }
  toString() { return this.#url.href; }
}
