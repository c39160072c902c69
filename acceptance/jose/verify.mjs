// Verifies Latchkey's signed artefacts with the npm `jose` library, as a
// customer's Node application would: offline proofs (compact JWS, EdDSA),
// signed responses (Latchkey-Signature over a signing string, checked with
// the JWK from the JWK Set and node:crypto) and license files (armoured
// JWS, or JWE holding the JWS). See README.md for the input and output.
//
//   node verify.mjs '<options JSON>'      (or the JSON on stdin)
//
// Exit 0 with one JSON line on stdout when every check ran (whatever it
// concluded); 2 with the reason on stderr when the harness itself failed.

import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as jose from 'jose';

const TYP_PROOF = 'license-proof+jwt';
const TYP_FILE = 'license-file+jwt';
const SIGNED_HEADERS = '(request-target) date digest nonce';

function fail(msg) {
  process.stderr.write(`verify.mjs: ${msg}\n`);
  process.exit(2);
}

function readOptions() {
  const arg = process.argv[2];
  const text = arg === undefined || arg === '-' ? readFileSync(0, 'utf8') : arg;
  try {
    return JSON.parse(text);
  } catch (e) {
    fail(`options are not JSON: ${e.message}`);
  }
}

// keySet is what jwtVerify and compactVerify take: the live JWK Set
// (createRemoteJWKSet, which refetches on an unknown kid) or a JWK Set
// given inline (createLocalJWKSet, as an application shipping it would).
function keySet(opts, check) {
  if (check.jwks) return jose.createLocalJWKSet(check.jwks);
  if (!opts.jwksUrl) fail('jwksUrl is required');
  return remote;
}

let remote;

// verifyOptions are jwtVerify's options: the algorithm pinned to EdDSA,
// the token type, issuer, audience and a clock.
function verifyOptions(check, typ) {
  const o = { algorithms: check.algorithms ?? ['EdDSA'], typ: check.typ ?? typ };
  if (check.issuer !== undefined) o.issuer = check.issuer;
  if (check.audience !== undefined) o.audience = check.audience;
  if (check.currentDate) o.currentDate = new Date(check.currentDate);
  if (check.clockTolerance !== undefined) o.clockTolerance = check.clockTolerance;
  if (check.algorithms === null) delete o.algorithms;
  return o;
}

function failure(e) {
  return { ok: false, code: e.code ?? e.name ?? 'Error', error: e.message };
}

async function checkJWT(opts, check, typ) {
  const { payload, protectedHeader } = await jose.jwtVerify(check.token, keySet(opts, check), verifyOptions(check, typ));
  return { ok: true, header: protectedHeader, payload };
}

// unarmour returns the compact token inside a license file.
function unarmour(text) {
  const m = /-----BEGIN LATCHKEY LICENSE FILE-----\r?\n([\s\S]*?)\r?\n?-----END LATCHKEY LICENSE FILE-----/.exec(text);
  if (!m) throw Object.assign(new Error('not an armoured Latchkey license file'), { code: 'ERR_ARMOUR' });
  return m[1].replace(/\s+/g, '');
}

// fileKey is the JWE key of an encrypted license file:
// HKDF-SHA256(license key, salt "latchkey license file", info "A256GCM").
function fileKey(licenseKey) {
  return new Uint8Array(crypto.hkdfSync('sha256', Buffer.from(licenseKey, 'utf8'), 'latchkey license file', 'A256GCM', 32));
}

async function checkLicenseFile(opts, check) {
  let token = unarmour(check.file);
  let jwe = null;
  if (token.split('.').length === 5) {
    if (!check.licenseKey) throw Object.assign(new Error('an encrypted license file needs the license key'), { code: 'ERR_NO_KEY' });
    const { plaintext, protectedHeader } = await jose.compactDecrypt(token, fileKey(check.licenseKey));
    jwe = protectedHeader;
    token = new TextDecoder().decode(plaintext);
  }
  const res = await checkJWT(opts, { ...check, token }, TYP_FILE);
  return { ...res, encrypted: jwe !== null, jweHeader: jwe };
}

// parseSignature reads a Latchkey-Signature header strictly:
// keyid="…", algorithm="ed25519", headers="…", signature="…".
function parseSignature(value) {
  const out = {};
  const re = /\s*([a-z]+)="([^"]*)"\s*(,|$)/gy;
  let m;
  let end = 0;
  while (end < value.length && (m = re.exec(value)) !== null) {
    if (m[1] in out) throw new Error(`parameter ${m[1]} twice`);
    out[m[1]] = m[2];
    end = re.lastIndex;
    if (m[3] === '') break;
  }
  if (end !== value.length) throw new Error('malformed Latchkey-Signature');
  for (const k of ['keyid', 'algorithm', 'headers', 'signature']) {
    if (!(k in out)) throw new Error(`Latchkey-Signature has no ${k}`);
  }
  if (out.algorithm !== 'ed25519') throw new Error(`algorithm ${out.algorithm}`);
  if (out.headers !== SIGNED_HEADERS) throw new Error(`headers "${out.headers}"`);
  return out;
}

// checkResponse sends a request with the signature opt-in and a nonce,
// then verifies the answer as a client must: Digest of the body, Date
// within the skew, and the Ed25519 signature over the signing string with
// the JWK the JWK Set names by keyid (jose.importJWK → KeyObject, then
// node:crypto verify). tamperBody changes one byte of the body first;
// verifyNonce checks the answer against another nonce (a replay).
async function checkResponse(opts, check) {
  const nonce = check.nonce ?? crypto.randomBytes(16).toString('hex');
  const url = new URL(check.url);
  // The opt-in as headers, or (optIn "query") as signed=1&nonce=… for
  // clients that cannot set headers.
  const headers = check.optIn === 'query' ? { ...(check.headers ?? {}) }
    : { 'Latchkey-Signature-Request': 'v1', 'Latchkey-Nonce': nonce, ...(check.headers ?? {}) };
  if (check.optIn === 'query') {
    url.searchParams.set('signed', '1');
    url.searchParams.set('nonce', nonce);
  }
  const init = { method: check.method ?? 'POST', headers };
  if (check.body !== undefined) {
    init.body = typeof check.body === 'string' ? check.body : JSON.stringify(check.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const resp = await fetch(url, init);
  let body = Buffer.from(await resp.arrayBuffer());
  const status = resp.status;
  try {
    if (check.tamperBody) {
      body = Buffer.from(body);
      const i = body.indexOf('"') >= 0 ? body.indexOf('"') + 1 : 0;
      body[i] ^= 0x01;
    }
    const sigHeader = resp.headers.get('latchkey-signature');
    const date = resp.headers.get('date');
    const digest = resp.headers.get('digest');
    if (!sigHeader || !date || !digest) throw Object.assign(new Error('the answer is not signed'), { code: 'ERR_UNSIGNED' });
    const sig = parseSignature(sigHeader);
    const want = 'SHA-256=' + crypto.createHash('sha256').update(body).digest('base64');
    if (digest !== want) throw Object.assign(new Error('Digest does not match the body'), { code: 'ERR_DIGEST' });
    const skew = (check.skewSeconds ?? 60) * 1000;
    const now = check.currentDate ? new Date(check.currentDate).getTime() : Date.now();
    if (Math.abs(now - Date.parse(date)) > skew) throw Object.assign(new Error(`Date ${date} outside the skew`), { code: 'ERR_DATE' });
    const jwks = check.jwks ?? (await (await fetch(opts.jwksUrl)).json());
    const jwk = jwks.keys.find((k) => k.kid === sig.keyid);
    if (!jwk) throw Object.assign(new Error(`no key ${sig.keyid} in the JWK Set`), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
    const key = await jose.importJWK(jwk, 'EdDSA');
    const target = `${init.method.toLowerCase()} ${check.requestTarget ?? url.pathname + url.search}`;
    const signing = [`(request-target): ${target}`, `date: ${date}`, `digest: ${digest}`, `nonce: ${check.verifyNonce ?? nonce}`].join('\n');
    if (!crypto.verify(null, Buffer.from(signing), key, Buffer.from(sig.signature, 'base64'))) {
      throw Object.assign(new Error('signature does not verify'), { code: 'ERR_SIGNATURE' });
    }
    return { ok: true, status, kid: sig.keyid };
  } catch (e) {
    return { ...failure(e), status };
  }
}

async function run(opts, check) {
  switch (check.kind) {
    case 'proof':
      return checkJWT(opts, check, TYP_PROOF);
    case 'licenseFile':
      return checkLicenseFile(opts, check);
    case 'response':
      return checkResponse(opts, check);
    default:
      fail(`check ${check.name}: unknown kind ${check.kind}`);
  }
}

const opts = readOptions();
if (!Array.isArray(opts.checks)) fail('checks must be an array');
if (opts.jwksUrl) remote = jose.createRemoteJWKSet(new URL(opts.jwksUrl), { cooldownDuration: 0 });
const results = {};
for (const check of opts.checks) {
  if (!check.name) fail('every check needs a name');
  try {
    results[check.name] = await run(opts, check);
  } catch (e) {
    results[check.name] = failure(e);
  }
}
const pkg = JSON.parse(readFileSync(new URL('./node_modules/jose/package.json', import.meta.url), 'utf8'));
process.stdout.write(JSON.stringify({ jose: pkg.version, node: process.version, results }) + '\n');
