package client

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// signingServer signs its answers as the scheme says, written apart from
// the server's code so that the two must agree on the text of the scheme.
// status answers in turn; the last one repeats.
type signingServer struct {
	priv   ed25519.PrivateKey
	now    time.Time
	status []int

	mu     sync.Mutex
	nonces []string
}

func (s *signingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.nonces = append(s.nonces, r.Header.Get(NonceHeader))
	status := s.status[min(len(s.nonces), len(s.status))-1]
	s.mu.Unlock()
	body := []byte(`{"status":"success","message":"Success","data":{"has_paid":true,"code":"VALID"},"errors":null}` + "\n")
	if status != http.StatusOK {
		body = []byte(`{"status":"error","message":"Too Many Attempts.","data":null,"errors":null,"code":"RATE_LIMITED"}` + "\n")
		w.Header().Set("Retry-After", "1")
	}
	if r.Header.Get(SignatureRequestHeader) == SignatureVersion {
		sum := sha256.Sum256(body)
		digest := "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
		date := s.now.UTC().Format(http.TimeFormat)
		msg := "(request-target): " + strings.ToLower(r.Method) + " " + r.RequestURI + "\ndate: " + date +
			"\ndigest: " + digest + "\nnonce: " + r.Header.Get(NonceHeader)
		sig := ed25519.Sign(s.priv, []byte(msg))
		w.Header().Set("Date", date)
		w.Header().Set("Digest", digest)
		w.Header().Set(SignatureHeader, `keyid="`+KeyID(s.priv.Public().(ed25519.PublicKey))+`", algorithm="ed25519", headers="`+
			SignedHeaders+`", signature="`+base64.StdEncoding.EncodeToString(sig)+`"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func newSigningServer(t *testing.T, status ...int) (*signingServer, *httptest.Server, *Verifier) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if len(status) == 0 {
		status = []int{http.StatusOK}
	}
	s := &signingServer{priv: priv, now: time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC), status: status}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv, &Verifier{Keys: NewKeySet(pub), Now: func() time.Time { return s.now }}
}

// get sends one signed request to srv and returns the answer and nonce.
func get(t *testing.T, srv *httptest.Server, path string) (*http.Response, []byte, string) {
	t.Helper()
	nonce, err := NewNonce()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+path, nil)
	req.Header.Set(SignatureRequestHeader, SignatureVersion)
	req.Header.Set(NonceHeader, nonce)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body, nonce
}

func TestResponseHeaderStrictness(t *testing.T) {
	_, srv, v := newSigningServer(t)
	resp, body, nonce := get(t, srv, "/api/v1/project/has-paid?action=check_project")
	ctx := context.Background()
	if err := v.Response(ctx, resp, body, nonce); err != nil {
		t.Fatalf("a good answer: %v", err)
	}
	good := resp.Header.Get(SignatureHeader)
	params, err := parseSignatureHeader(good)
	if err != nil {
		t.Fatal(err)
	}
	sig := params["signature"]
	kid := params["keyid"]
	cases := []struct {
		name   string
		header string // the Latchkey-Signature value
		edit   func(h http.Header)
		ok     bool
	}{
		{"as sent", good, nil, true},
		{"another order", `signature="` + sig + `", headers="` + SignedHeaders + `", keyid="` + kid + `", algorithm="ed25519"`, nil, true},
		{"no space after commas", strings.ReplaceAll(good, ", ", ","), nil, true},
		{"algorithm hs2019", strings.Replace(good, `"ed25519"`, `"hs2019"`, 1), nil, false},
		{"algorithm ED25519", strings.Replace(good, `"ed25519"`, `"ED25519"`, 1), nil, false},
		{"headers without nonce", strings.Replace(good, " nonce\"", "\"", 1), nil, false},
		{"headers reordered", strings.Replace(good, "date digest", "digest date", 1), nil, false},
		{"an unknown parameter", good + `, created="1"`, nil, false},
		{"keyid twice", `keyid="x", ` + good, nil, false},
		{"no keyid", strings.Replace(good, `keyid="`+kid+`", `, "", 1), nil, false},
		{"an unquoted value", strings.Replace(good, `algorithm="ed25519"`, `algorithm=ed25519`, 1), nil, false},
		{"an escape", strings.Replace(good, `keyid="`, `keyid="\`, 1), nil, false},
		{"an unterminated value", strings.TrimSuffix(good, `"`), nil, false},
		{"a trailing comma", good + ",", nil, false},
		{"garbage after a value", good + "x", nil, false},
		{"base64url signature", strings.Replace(good, sig, base64.RawURLEncoding.EncodeToString(mustB64(t, sig)), 1), nil, false},
		{"short signature", strings.Replace(good, sig, base64.StdEncoding.EncodeToString(mustB64(t, sig)[:32]), 1), nil, false},
		{"empty", "", nil, false},
		{"two signatures", good, func(h http.Header) { h.Add(SignatureHeader, good) }, false},
		{"two Dates", good, func(h http.Header) { h.Add("Date", h.Get("Date")) }, false},
		{"no Digest", good, func(h http.Header) { h.Del("Digest") }, false},
		{"Digest of another algorithm", good, func(h http.Header) { h.Set("Digest", strings.Replace(h.Get("Digest"), "SHA-256", "SHA-512", 1)) }, false},
		{"Date not an HTTP date", good, func(h http.Header) { h.Set("Date", v.Now().Format(time.RFC3339)) }, false},
	}
	for _, c := range cases {
		r := *resp
		r.Header = resp.Header.Clone()
		if c.header == "" {
			r.Header.Del(SignatureHeader)
		} else {
			r.Header.Set(SignatureHeader, c.header)
		}
		if c.edit != nil {
			c.edit(r.Header)
		}
		err := v.Response(ctx, &r, body, nonce)
		if c.ok != (err == nil) || (err != nil && !errors.Is(err, ErrResponseSignature)) {
			t.Errorf("%s: err = %v", c.name, err)
		}
	}
	// The caller's own mistakes.
	for name, call := range map[string]func() error{
		"a nonce with a space": func() error { return v.Response(ctx, resp, body, "a b") },
		"an empty nonce":       func() error { return v.Response(ctx, resp, body, "") },
		"no request":           func() error { r := *resp; r.Request = nil; return v.Response(ctx, &r, body, nonce) },
	} {
		if err := call(); !errors.Is(err, ErrResponseSignature) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if err := (&Verifier{}).Response(ctx, resp, body, nonce); err == nil {
		t.Error("a verifier without keys verified")
	}
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSignedResponsesRetry checks a retried call sends a fresh nonce each
// time and verifies the 429 it retries on as well as the final answer.
func TestSignedResponsesRetry(t *testing.T) {
	s, srv, v := newSigningServer(t, http.StatusTooManyRequests, http.StatusOK)
	c, err := New(srv.URL, "", WithSignedResponses(v))
	if err != nil {
		t.Fatal(err)
	}
	c.sleep = func(context.Context, time.Duration) error { return nil }
	ps, err := c.Validate.HasPaid(context.Background(), RuntimeRequest{License: "01234567-89ab-cdef-0123-456789abcdef"}, false)
	if err != nil || !ps.HasPaid {
		t.Fatalf("%+v %v", ps, err)
	}
	if len(s.nonces) != 2 || s.nonces[0] == s.nonces[1] || s.nonces[0] == "" {
		t.Fatalf("nonces %q", s.nonces)
	}
	// A verifier with another key fails the call, and does not retry it.
	s.nonces, s.status = nil, []int{http.StatusTooManyRequests}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	c2, _ := New(srv.URL, "", WithSignedResponses(&Verifier{Keys: NewKeySet(other), Now: v.Now}))
	c2.sleep = c.sleep
	_, err = c2.Validate.HasPaid(context.Background(), RuntimeRequest{License: "01234567-89ab-cdef-0123-456789abcdef"}, false)
	if !errors.Is(err, ErrResponseSignature) || !errors.Is(err, ErrUnknownKey) || len(s.nonces) != 1 {
		t.Fatalf("err = %v after %d requests", err, len(s.nonces))
	}
	// The other calls (API-key routes, Ping) do not opt in.
	s.nonces, s.status = nil, []int{http.StatusOK}
	if _, err := c.Payments.Status(context.Background(), 1, PaymentQuery{}); err != nil {
		t.Fatal(err)
	}
	if len(s.nonces) != 1 || s.nonces[0] != "" {
		t.Fatalf("an API-key call opted in: %q", s.nonces)
	}
}

func TestNewNonce(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		n, err := NewNonce()
		if err != nil || len(n) != 22 || !validNonce(n) || seen[n] {
			t.Fatalf("%q %v", n, err)
		}
		seen[n] = true
	}
}
