package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// signedAnswer is one raw runtime answer, with the request that was sent
// (Verifier.Response reads the request target from it).
type signedAnswer struct {
	resp *http.Response
	body []byte
}

// sendRaw sends one request to n and reads the whole answer. headers are
// name/value pairs.
func sendRaw(t *testing.T, hc *http.Client, n *apptest.Node, method, path, body string, headers ...string) signedAnswer {
	t.Helper()
	return sendRawCtx(context.Background(), t, hc, n, method, path, body, headers...)
}

// sendRawCtx is sendRaw with a context (lenient: outside the documented
// request schemas).
func sendRawCtx(ctx context.Context, t *testing.T, hc *http.Client, n *apptest.Node, method, path, body string, headers ...string) signedAnswer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, n.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return signedAnswer{resp: resp, body: raw}
}

// nodeKeys is the node's published JWK Set.
func nodeKeys(t *testing.T, n *apptest.Node) *client.KeySet {
	t.Helper()
	r := n.Do(t, "GET", "/.well-known/jwks.json", nil)
	ks, err := client.ParseKeySet(r.Body)
	if err != nil {
		t.Fatalf("%v: %s", err, r.Body)
	}
	return ks
}

func newNonce(t *testing.T) string {
	t.Helper()
	nonce, err := client.NewNonce()
	if err != nil {
		t.Fatal(err)
	}
	return nonce
}

// TestSignedResponses drives every runtime route with the opt-in (header
// and query forms) and checks each answer verifies, errors and 429s
// included, and that every tampering the scheme exists to catch fails.
func TestSignedResponses(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b, func(c *config.Config) { c.IPRateLimit = 2 })
		n := rt.n
		rt.n.Clock.Set(rt.n.Clock.Now().Truncate(time.Minute).Add(time.Second))
		seats := seatLicense(t, n, rt.owner, rt.paid, "seats", 2, 60)
		v := &client.Verifier{Keys: nodeKeys(t, n), Now: n.Clock.Now}
		hc := &http.Client{Transport: newConformance(t, loadOpenAPI(t), n.URL)}
		ctx := context.Background()
		basic := rt.keys["basic"]
		optIn := func(nonce string) []string {
			return []string{"Latchkey-Signature-Request", "v1", "Latchkey-Nonce", nonce, "X-Devpayr-Domain", "shop.example.com"}
		}

		cases := []struct {
			name, method, path, body string
			headers                  []string // beside the opt-in
			status                   int
			contains                 string
		}{
			{"has-paid", "POST", "/api/v1/project/has-paid", "", []string{"X-LICENSE-KEY", basic}, 200, `"has_paid":true`},
			{"has-paid, DevPayr's query", "POST", "/api/v1/project/has-paid?action=check_project", "", []string{"X-LICENSE-KEY", basic}, 200, `"code":"VALID"`},
			{"has-paid revoked (403)", "POST", "/api/v1/project/has-paid", "", []string{"X-LICENSE-KEY", rt.keys["revoked"]}, 403, `"code":"REVOKED"`},
			{"stream GET", "GET", "/api/v1/injectable/stream?license=" + basic, "", nil, 200, `"injectables":[]`},
			{"stream POST", "POST", "/api/v1/injectable/stream", `{"license":"` + basic + `"}`, nil, 200, `"has_more":false`},
			{"validate", "POST", "/api/v1/licenses/validate", `{"license":"` + basic + `"}`, nil, 200, `"valid":true`},
			{"validate via /v1", "POST", "/v1/licenses/validate", `{"license":"` + basic + `"}`, nil, 200, `"valid":true`},
			{"validate without a key (422)", "POST", "/api/v1/licenses/validate", `{}`, nil, 422, `"license"`},
			{"license file", "GET", "/api/v1/licenses/file?license=" + basic, "", nil, 200, "BEGIN LATCHKEY LICENSE FILE"},
			{"license file as JSON", "POST", "/api/v1/licenses/file", `{"license":"` + basic + `","ttl":3600}`, []string{"Accept", "application/json"}, 200, `"encrypted":false`},
			{"heartbeat", "POST", "/api/v1/licenses/heartbeat", `{"instance":"a"}`, []string{"X-LICENSE-KEY", seats.UUID}, 200, `"held":1`},
			{"heartbeat release", "DELETE", "/api/v1/licenses/heartbeat?instance=a", "", []string{"X-LICENSE-KEY", seats.UUID}, 200, `"released":true`},
			{"unknown key (404)", "POST", "/api/v1/project/has-paid", "", []string{"X-LICENSE-KEY", rt.keys["unknown"]}, 404, `"NOT_FOUND"`},
			{"unknown key again (404)", "POST", "/api/v1/project/has-paid", "", []string{"X-LICENSE-KEY", rt.keys["unknown"]}, 404, `"NOT_FOUND"`},
			{"guessing throttled (429)", "POST", "/api/v1/project/has-paid", "", []string{"X-LICENSE-KEY", rt.keys["unknown"]}, 429, `"RATE_LIMITED"`},
			{"refused at the gate (429)", "POST", "/api/v1/licenses/validate", `{"license":"` + basic + `"}`, nil, 429, `"RATE_LIMITED"`},
		}
		for _, c := range cases {
			nonce := newNonce(t)
			a := sendRaw(t, hc, n, c.method, c.path, c.body, append(optIn(nonce), c.headers...)...)
			if a.resp.StatusCode != c.status || !bytes.Contains(a.body, []byte(c.contains)) {
				t.Fatalf("%s: %d %s", c.name, a.resp.StatusCode, a.body)
			}
			if err := v.Response(ctx, a.resp, a.body, nonce); err != nil {
				t.Fatalf("%s: %v\n%v", c.name, err, a.resp.Header)
			}
			sig := a.resp.Header.Get("Latchkey-Signature")
			if !strings.HasPrefix(sig, `keyid="`) || !strings.Contains(sig, `, algorithm="ed25519", headers="(request-target) date digest nonce", signature="`) {
				t.Fatalf("%s: header %q", c.name, sig)
			}
			if got := a.resp.Header.Get("Date"); got != n.Clock.Now().UTC().Format(http.TimeFormat) {
				t.Fatalf("%s: Date %q is not the API's clock", c.name, got)
			}
			if a.resp.Header.Get("Latchkey-Nonce") != "" {
				t.Fatalf("%s: the nonce is echoed", c.name)
			}
			if exp := a.resp.Header.Get("Access-Control-Expose-Headers"); !strings.HasSuffix(exp, ", Date, Digest, Latchkey-Signature") {
				t.Fatalf("%s: expose %q", c.name, exp)
			}
		}
		n.Clock.Advance(time.Minute) // a new IP window

		// A browser page may send the opt-in: preflights allow both headers.
		pre := n.Do(t, "OPTIONS", "/api/v1/licenses/validate", nil, "Origin", "https://shop.example.com",
			"Access-Control-Request-Headers", "latchkey-signature-request, latchkey-nonce")
		if allow := pre.Header.Get("Access-Control-Allow-Headers"); pre.Status != 204 ||
			!strings.Contains(allow, "Latchkey-Signature-Request") || !strings.Contains(allow, "Latchkey-Nonce") {
			t.Fatalf("preflight: %d %q", pre.Status, allow)
		}

		// The query form, for clients that cannot set headers.
		nonce := newNonce(t)
		a := sendRaw(t, hc, n, "POST", "/api/v1/project/has-paid?signed=1&nonce="+nonce+"&domain=shop.example.com", "", "X-LICENSE-KEY", basic)
		if a.resp.StatusCode != 200 {
			t.Fatalf("query form: %d %s", a.resp.StatusCode, a.body)
		}
		if err := v.Response(ctx, a.resp, a.body, nonce); err != nil {
			t.Fatalf("query form: %v", err)
		}

		// One good answer, then every way of misusing it.
		nonce = newNonce(t)
		good := sendRaw(t, hc, n, "POST", "/api/v1/licenses/validate", `{"license":"`+basic+`"}`, optIn(nonce)...)
		if err := v.Response(ctx, good.resp, good.body, nonce); err != nil {
			t.Fatal(err)
		}
		flipped := slices.Clone(good.body)
		flipped[bytes.Index(flipped, []byte("true"))] = 'T'
		other := *good.resp
		otherReq := good.resp.Request.Clone(ctx)
		otherReq.URL = &url.URL{Scheme: "http", Host: otherReq.URL.Host, Path: "/api/v1/project/has-paid"}
		other.Request = otherReq
		otherKey, _, _ := ed25519.GenerateKey(rand.Reader)
		reDigested := good.resp.Header.Clone()
		reDigested.Set("Digest", digestOf(flipped))
		withHeader := func(h http.Header) *http.Response {
			r := *good.resp
			r.Header = h
			return &r
		}
		stripped := good.resp.Header.Clone()
		stripped.Del("Latchkey-Signature")
		bad := []struct {
			name  string
			v     *client.Verifier
			resp  *http.Response
			body  []byte
			nonce string
			also  error
		}{
			{"one body byte changed", v, good.resp, flipped, nonce, nil},
			{"body changed and Digest recomputed", v, withHeader(reDigested), flipped, nonce, nil},
			{"another nonce (a replay)", v, good.resp, good.body, newNonce(t), nil},
			{"another path", v, &other, good.body, nonce, nil},
			{"Date past the skew", &client.Verifier{Keys: v.Keys, Now: func() time.Time { return n.Clock.Now().Add(2 * time.Minute) }}, good.resp, good.body, nonce, nil},
			{"Date ahead of the skew", &client.Verifier{Keys: v.Keys, Now: func() time.Time { return n.Clock.Now().Add(-2 * time.Minute) }}, good.resp, good.body, nonce, nil},
			{"unknown kid", &client.Verifier{Keys: client.NewKeySet(otherKey), Now: n.Clock.Now}, good.resp, good.body, nonce, client.ErrUnknownKey},
			{"no signature", v, withHeader(stripped), good.body, nonce, nil},
		}
		for _, c := range bad {
			err := c.v.Response(ctx, c.resp, c.body, c.nonce)
			if !errors.Is(err, client.ErrResponseSignature) || (c.also != nil && !errors.Is(err, c.also)) {
				t.Errorf("%s: err = %v, want ErrResponseSignature", c.name, err)
			}
		}
		// Within the skew still verifies.
		near := &client.Verifier{Keys: v.Keys, Now: func() time.Time { return n.Clock.Now().Add(50 * time.Second) }}
		if err := near.Response(ctx, good.resp, good.body, nonce); err != nil {
			t.Errorf("within the skew: %v", err)
		}

		// A rotation signs with the new key at once; the old key's answers
		// still verify against a set that holds both.
		nk, err := n.Service().RotateSigningKey(ctx, core.SystemActor(0, "test"))
		if err != nil {
			t.Fatal(err)
		}
		nonce = newNonce(t)
		rotated := sendRaw(t, hc, n, "POST", "/api/v1/licenses/validate", `{"license":"`+basic+`"}`, optIn(nonce)...)
		if !strings.HasPrefix(rotated.resp.Header.Get("Latchkey-Signature"), `keyid="`+nk.KID+`"`) {
			t.Fatalf("after rotation: %s", rotated.resp.Header.Get("Latchkey-Signature"))
		}
		if err := v.Response(ctx, rotated.resp, rotated.body, nonce); !errors.Is(err, client.ErrUnknownKey) {
			t.Fatalf("old set, new key: %v", err)
		}
		both := &client.Verifier{Keys: nodeKeys(t, n), Now: n.Clock.Now}
		if err := both.Response(ctx, rotated.resp, rotated.body, nonce); err != nil {
			t.Fatal(err)
		}
		if err := both.Response(ctx, good.resp, good.body, good.resp.Request.Header.Get("Latchkey-Nonce")); err != nil {
			t.Fatal(err)
		}
		failuresOf(t, hc)
	})
}

// digestOf is the Digest an attacker would put beside a changed body.
func digestOf(body []byte) string {
	sum := sha256.Sum256(body)
	return "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
}

// failuresOf fails the test with the conformance transport's mismatches:
// every request and answer above must match the OpenAPI document.
func failuresOf(t *testing.T, hc *http.Client) {
	t.Helper()
	c := hc.Transport.(*conformance)
	for _, f := range c.failures {
		t.Error(f)
	}
}

// TestUnsignedUnchanged proves the opt-in costs nothing to those who do
// not use it: the same answer, byte for byte, and not one new header, also
// when a nonce is sent alone.
func TestUnsignedUnchanged(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		n := rt.n
		basic := rt.keys["basic"]
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/api/v1/project/has-paid?include=injectables", ""},
			{"POST", "/api/v1/licenses/validate", `{"license":"` + basic + `"}`},
			{"GET", "/api/v1/injectable/stream?license=" + basic, ""},
			{"POST", "/api/v1/project/has-paid?signed_up=1", ""},
		} {
			h := []string{"X-LICENSE-KEY", basic, "X-Devpayr-Domain", "shop.example.com"}
			plain := sendRaw(t, http.DefaultClient, n, c.method, c.path, c.body, h...)
			nonceOnly := sendRaw(t, http.DefaultClient, n, c.method, c.path, c.body, append(h, "Latchkey-Nonce", "abc")...)
			nonce := newNonce(t)
			signed := sendRaw(t, http.DefaultClient, n, c.method, c.path, c.body, append(h, "Latchkey-Signature-Request", "v1", "Latchkey-Nonce", nonce)...)
			if plain.resp.StatusCode != 200 || signed.resp.StatusCode != 200 {
				t.Fatalf("%s: %d %d %s", c.path, plain.resp.StatusCode, signed.resp.StatusCode, plain.body)
			}
			for _, a := range []signedAnswer{plain, nonceOnly} {
				if !bytes.Equal(a.body, signed.body) {
					t.Fatalf("%s: the body differs:\n%s\n%s", c.path, a.body, signed.body)
				}
				for _, name := range []string{"Latchkey-Signature", "Digest"} {
					if a.resp.Header.Get(name) != "" {
						t.Fatalf("%s: %s on an unsigned answer", c.path, name)
					}
				}
				if got := a.resp.Header.Get("Access-Control-Expose-Headers"); got != "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, X-Request-ID" {
					t.Fatalf("%s: expose %q", c.path, got)
				}
				names := func(h http.Header) []string {
					var out []string
					for k := range h {
						if k != "Latchkey-Signature" && k != "Digest" {
							out = append(out, k)
						}
					}
					slices.Sort(out)
					return out
				}
				if got, want := names(a.resp.Header), names(signed.resp.Header); !slices.Equal(got, want) {
					t.Fatalf("%s: headers %v, signed %v", c.path, got, want)
				}
			}
		}
	})
}

// TestSignatureRequestRefused checks a bad opt-in is a 422 naming the field
// as it was sent, before any work: the capped license's use is not counted.
func TestSignatureRequestRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		n := rt.n
		capped := rt.keys["capped"]
		hc := &http.Client{Transport: newConformance(t, loadOpenAPI(t), n.URL)}
		long := strings.Repeat("n", 257)
		cases := []struct {
			name, path string
			headers    []string
			field      string
		}{
			{"no nonce", "/api/v1/licenses/validate", []string{"Latchkey-Signature-Request", "v1"}, "nonce"},
			{"empty nonce header", "/api/v1/licenses/validate", []string{"Latchkey-Signature-Request", "v1", "Latchkey-Nonce", ""}, "Latchkey-Nonce"},
			{"a space in the nonce", "/api/v1/licenses/validate", []string{"Latchkey-Signature-Request", "v1", "Latchkey-Nonce", "a b"}, "Latchkey-Nonce"},
			{"a non-ASCII nonce", "/api/v1/licenses/validate", []string{"Latchkey-Signature-Request", "v1", "Latchkey-Nonce", "é"}, "Latchkey-Nonce"},
			{"a nonce of 257", "/api/v1/licenses/validate", []string{"Latchkey-Signature-Request", "v1", "Latchkey-Nonce", long}, "Latchkey-Nonce"},
			{"a NUL in the query nonce", "/api/v1/licenses/validate?signed=1&nonce=a%00b", nil, "nonce"},
			{"a newline in the query nonce", "/api/v1/licenses/validate?signed=1&nonce=a%0Ab", nil, "nonce"},
			{"two query nonces", "/api/v1/licenses/validate?signed=1&nonce=a&nonce=b", nil, "nonce"},
			{"another version", "/api/v1/licenses/validate", []string{"Latchkey-Signature-Request", "v2", "Latchkey-Nonce", "abc"}, "Latchkey-Signature-Request"},
			{"signed=yes", "/api/v1/licenses/validate?signed=yes&nonce=abc", nil, "signed"},
			{"has-paid without a nonce", "/api/v1/project/has-paid?signed=1", nil, "nonce"},
		}
		for _, c := range cases {
			a := sendRawCtx(lenient(context.Background()), t, hc, n, "POST", c.path, `{"license":"`+capped+`"}`,
				append([]string{"X-LICENSE-KEY", capped, "X-Devpayr-Domain", "shop.example.com"}, c.headers...)...)
			var env apptest.Envelope
			if err := json.Unmarshal(a.body, &env); err != nil {
				t.Fatalf("%s: %s", c.name, a.body)
			}
			if a.resp.StatusCode != 422 || env.Status != "error" || len(env.Errors[c.field]) == 0 || len(env.Errors) != 1 ||
				!strings.Contains(env.Message, c.field) {
				t.Fatalf("%s: %d %s", c.name, a.resp.StatusCode, a.body)
			}
			if a.resp.Header.Get("Latchkey-Signature") != "" || a.resp.Header.Get("Cache-Control") != "no-store" ||
				a.resp.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Fatalf("%s: headers %v", c.name, a.resp.Header)
			}
		}
		// Nothing above counted a use: the first real validation is today's first.
		r, v := rt.native(t, check{license: "capped", domain: "shop.example.com"}, nil)
		if r.Status != 200 || v.Usage == nil || v.Usage.Today != 1 {
			t.Fatalf("after the refusals: %d %s", r.Status, r.Body)
		}
		failuresOf(t, hc)
	})
}

// TestSignedSDK runs the SDK's runtime calls with WithSignedResponses
// against a real node, then through a transport that tampers with the
// answers: every tampered call fails with ErrResponseSignature.
func TestSignedSDK(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		n := rt.n
		seats := seatLicense(t, n, rt.owner, rt.paid, "seats", 2, 60)
		v := &client.Verifier{Keys: nodeKeys(t, n), Now: n.Clock.Now}
		conf := newConformance(t, loadOpenAPI(t), n.URL)
		tamper := &tamperer{next: conf}
		c, err := client.New(n.URL, "", client.WithHTTPClient(&http.Client{Transport: tamper}), client.WithRetries(0), client.WithSignedResponses(v))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		basic := rt.keys["basic"]
		rr := client.RuntimeRequest{License: basic, Domain: "shop.example.com"}
		calls := []struct {
			name string
			call func() error
		}{
			{"validate", func() error {
				res, err := c.Validate.License(ctx, client.ValidateRequest{License: basic, Domain: "shop.example.com"})
				if err == nil && !res.Valid {
					t.Fatalf("validate: %+v", res)
				}
				return err
			}},
			{"has-paid", func() error {
				ps, err := c.Validate.HasPaid(ctx, rr, true)
				if err == nil && !ps.HasPaid {
					t.Fatalf("has-paid: %+v", ps)
				}
				return err
			}},
			{"stream", func() error {
				for _, err := range c.Injectables.Stream(ctx, rr) {
					if err != nil {
						return err
					}
				}
				return nil
			}},
			{"heartbeat", func() error {
				_, err := c.Validate.Heartbeat(ctx, client.HeartbeatRequest{License: seats.UUID, Domain: "shop.example.com", Instance: "sdk"})
				return err
			}},
			{"release", func() error {
				_, err := c.Validate.Release(ctx, client.HeartbeatRequest{License: seats.UUID, Domain: "shop.example.com", Instance: "sdk"})
				return err
			}},
		}
		for _, call := range calls {
			tamper.mode = ""
			if err := call.call(); err != nil {
				t.Fatalf("%s: %v", call.name, err)
			}
			if got := tamper.last.Get("Latchkey-Signature-Request"); got != "v1" || tamper.last.Get("Latchkey-Nonce") == "" {
				t.Fatalf("%s: the SDK did not opt in: %v", call.name, tamper.last)
			}
			for _, mode := range []string{"body", "strip", "nonce"} {
				tamper.mode = mode
				if err := call.call(); !errors.Is(err, client.ErrResponseSignature) {
					t.Errorf("%s, tampered (%s): err = %v", call.name, mode, err)
				}
			}
		}
		// A refusal is verified before it is believed: a signed 404 is the
		// server's *Error, an unsigned one is not.
		tamper.mode = ""
		_, err = c.Validate.HasPaid(ctx, client.RuntimeRequest{License: rt.keys["unknown"]}, false)
		var apiErr *client.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
			t.Fatalf("unknown key: %v", err)
		}
		tamper.mode = "strip"
		if _, err = c.Validate.HasPaid(ctx, client.RuntimeRequest{License: rt.keys["revoked"]}, false); !errors.Is(err, client.ErrResponseSignature) {
			t.Fatalf("unsigned refusal: %v", err)
		}
		// Without the option the SDK sends no opt-in.
		tamper.mode = ""
		plain, _ := client.New(n.URL, "", client.WithHTTPClient(&http.Client{Transport: tamper}), client.WithRetries(0))
		if _, err := plain.Validate.License(ctx, client.ValidateRequest{License: basic}); err != nil {
			t.Fatal(err)
		}
		if tamper.last.Get("Latchkey-Signature-Request") != "" || tamper.last.Get("Latchkey-Nonce") != "" {
			t.Fatalf("opt-in sent without the option: %v", tamper.last)
		}
		for _, f := range conf.failures {
			t.Error(f)
		}
	})
}

// tamperer is a man in the middle: mode "body" changes one byte of the
// answer, "strip" removes its signature, "nonce" swaps the request's nonce
// for another before it leaves (the server signs over a nonce the client
// did not choose, as a replayed answer would be).
type tamperer struct {
	next http.RoundTripper
	mode string
	last http.Header
}

func (tp *tamperer) RoundTrip(req *http.Request) (*http.Response, error) {
	tp.last = req.Header.Clone()
	if tp.mode == "nonce" {
		req = req.Clone(req.Context())
		req.Header.Set("Latchkey-Nonce", "someone-elses-nonce")
	}
	resp, err := tp.next.RoundTrip(req)
	if err != nil || tp.mode == "" || tp.mode == "nonce" {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close() // read to the end above
	if err != nil {
		return nil, err
	}
	switch tp.mode {
	case "body":
		i := bytes.IndexByte(body, ':')
		body[i+1] = ' '
	case "strip":
		resp.Header.Del("Latchkey-Signature")
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}
