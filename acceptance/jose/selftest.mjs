// Tests verify.mjs against a stub server on 127.0.0.1 that signs as the
// issue 16 contract says Latchkey does (proofs, signed responses, license
// files plain and encrypted), so the harness's own logic is checked
// without the Go server: `node selftest.mjs` exits 0 when every case holds.

import crypto from 'node:crypto';
import http from 'node:http';
import { execFile } from 'node:child_process';
import * as jose from 'jose';

const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
const jwk = await jose.exportJWK(publicKey);
const kid = crypto.createHash('sha256').update(Buffer.from(jwk.x, 'base64url')).digest('hex').slice(0, 16);
const jwks = { keys: [{ ...jwk, kid, alg: 'EdDSA', use: 'sig' }] };
const issuer = 'https://stub.test';

function sign(typ, claims, ttl) {
  const now = Math.floor(Date.now() / 1000);
  return new jose.SignJWT({ ...claims, iss: issuer, sub: '7', aud: '3', iat: now, nbf: now, exp: now + ttl, jti: 'x' })
    .setProtectedHeader({ alg: 'EdDSA', kid, typ })
    .sign(privateKey);
}

function armour(token) {
  return `-----BEGIN LATCHKEY LICENSE FILE-----\n${token.match(/.{1,64}/g).join('\n')}\n-----END LATCHKEY LICENSE FILE-----\n`;
}

const licenseKey = '019ae9f4-18b2-706b-b728-3f77c6bd9217';
const fileKey = new Uint8Array(crypto.hkdfSync('sha256', Buffer.from(licenseKey), 'latchkey license file', 'A256GCM', 32));

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    if (req.url === '/.well-known/jwks.json') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(jwks));
      return;
    }
    const out = Buffer.from(JSON.stringify({ status: 'success', data: { valid: true, code: 'VALID' } }));
    const headers = { 'Content-Type': 'application/json' };
    const q = new URL(req.url, 'http://stub').searchParams;
    const nonce = req.headers['latchkey-nonce'] ?? q.get('nonce');
    const optedIn = req.headers['latchkey-signature-request'] === 'v1' || q.get('signed') === '1';
    if (optedIn && !req.url.includes('unsigned')) {
      const date = new Date().toUTCString();
      const digest = 'SHA-256=' + crypto.createHash('sha256').update(out).digest('base64');
      const signing = [`(request-target): ${req.method.toLowerCase()} ${req.url}`, `date: ${date}`, `digest: ${digest}`, `nonce: ${nonce}`].join('\n');
      const sig = crypto.sign(null, Buffer.from(signing), privateKey).toString('base64');
      Object.assign(headers, {
        Date: date, Digest: digest,
        'Latchkey-Signature': `keyid="${kid}", algorithm="ed25519", headers="(request-target) date digest nonce", signature="${sig}"`,
      });
    }
    res.writeHead(200, headers).end(out);
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

const proof = await sign('license-proof+jwt', { identifier: 'shop.example.com', result: 'VALID' }, 3600);
const fileJWS = await sign('license-file+jwt', { identifier: 'pc', result: 'VALID', license: { id: 7 } }, 60);
const jwe = await new jose.CompactEncrypt(new TextEncoder().encode(fileJWS))
  .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', cty: 'JWT', typ: 'license-file+jwe' })
  .encrypt(fileKey);
const later = new Date(Date.now() + 120_000).toISOString();
const resp = { kind: 'response', method: 'POST', url: `${base}/api/v1/licenses/validate?x=1`, body: { domain: 'shop.example.com' } };

const cases = [
  [{ name: 'proof', kind: 'proof', token: proof, issuer, audience: '3' }, 'ok'],
  [{ name: 'proof, other audience', kind: 'proof', token: proof, issuer, audience: '4' }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
  [{ name: 'proof as file', kind: 'licenseFile', file: armour(proof), issuer }, 'ERR_JWT_CLAIM_VALIDATION_FAILED'],
  [{ name: 'response', ...resp }, 'ok'],
  [{ name: 'response, GET', ...resp, method: 'GET', body: undefined, url: `${base}/api/v1/injectable/stream?license=k&signed=1` }, 'ok'],
  [{ name: 'response, query opt-in', ...resp, optIn: 'query' }, 'ok'],
  [{ name: 'response, query opt-in, other nonce', ...resp, optIn: 'query', verifyNonce: 'n2' }, 'ERR_SIGNATURE'],
  [{ name: 'response, body byte', ...resp, tamperBody: true }, 'ERR_DIGEST'],
  [{ name: 'response, other nonce', ...resp, nonce: 'n1', verifyNonce: 'n2' }, 'ERR_SIGNATURE'],
  [{ name: 'response, other path', ...resp, requestTarget: '/api/v1/licenses/validate' }, 'ERR_SIGNATURE'],
  [{ name: 'response, old Date', ...resp, currentDate: new Date(Date.now() + 600_000).toISOString() }, 'ERR_DATE'],
  [{ name: 'response, unsigned', ...resp, url: `${base}/unsigned` }, 'ERR_UNSIGNED'],
  [{ name: 'response, unknown kid', ...resp, jwks: { keys: [] } }, 'ERR_JWKS_NO_MATCHING_KEY'],
  [{ name: 'file', kind: 'licenseFile', file: armour(fileJWS), issuer, audience: '3' }, 'ok'],
  [{ name: 'file, expired', kind: 'licenseFile', file: armour(fileJWS), currentDate: later }, 'ERR_JWT_EXPIRED'],
  [{ name: 'file, encrypted', kind: 'licenseFile', file: armour(jwe), licenseKey }, 'ok'],
  [{ name: 'file, encrypted, wrong key', kind: 'licenseFile', file: armour(jwe), licenseKey: 'another' }, 'ERR_JWE_DECRYPTION_FAILED'],
  [{ name: 'file, encrypted, no key', kind: 'licenseFile', file: armour(jwe) }, 'ERR_NO_KEY'],
  [{ name: 'file, not armoured', kind: 'licenseFile', file: fileJWS }, 'ERR_ARMOUR'],
];

let failed = 0;
try {
  const input = JSON.stringify({ jwksUrl: `${base}/.well-known/jwks.json`, checks: cases.map(([c]) => c) });
  // Run verify.mjs as the Go test does: a child process (async, so this
  // process keeps serving the stub meanwhile).
  const out = await new Promise((resolve, reject) => {
    const child = execFile('node', ['verify.mjs', '-'], { cwd: new URL('.', import.meta.url) }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout));
    child.stdin.end(input);
  });
  const { results } = JSON.parse(out);
  for (const [c, want] of cases) {
    const r = results[c.name];
    const got = r.ok ? 'ok' : r.code;
    if (got !== want) {
      failed++;
      console.error(`FAIL ${c.name}: ${got} (${r.error ?? ''}), want ${want}`);
    } else {
      console.error(`ok   ${c.name}`);
    }
  }
  if (results['file, encrypted'].jweHeader?.enc !== 'A256GCM' || results['file'].payload?.license?.id !== 7) {
    failed++;
    console.error('FAIL file details', results['file, encrypted'], results['file']);
  }
} finally {
  server.close();
}
process.exit(failed ? 1 : 0);
