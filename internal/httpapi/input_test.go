package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// The two kinds of text PostgreSQL refuses (SQLSTATE 22021) and SQLite
// stores: as JSON string content (encoding/json decodes "\u0000" to a NUL
// and silently turns a raw invalid byte into U+FFFD), and percent-encoded
// for query strings and form bodies.
var (
	badJSON  = []struct{ name, text string }{{"NUL", `a\u0000b`}, {"invalid UTF-8", "a\xffb"}}
	badQuery = []struct{ name, text string }{{"NUL", "a%00b"}, {"invalid UTF-8", "a%FFb"}}
)

const (
	badTextMsg = "must be valid UTF-8 text without NUL bytes"
	badEscMsg  = "is not correctly percent-encoded"
)

// inputFixture is a catalog plus an injectable, an API key to update and
// a license key for the runtime routes.
type inputFixture struct {
	*catalog
	injectable, apiKey int64
	licenseKey         string
}

func newInputFixture(t *testing.T, b storetest.Backend) *inputFixture {
	t.Helper()
	f := &inputFixture{catalog: newCatalog(t, b)}
	ctx := context.Background()
	a := f.owner.Actor()
	// Paid, so that a runtime request that got through would be counted.
	if _, err := f.n.Service().UpdateProject(ctx, a, f.p1, service.ProjectInput{HasPaid: service.Some(true)}); err != nil {
		t.Fatal(err)
	}
	i, err := f.n.Service().CreateInjectable(ctx, a, f.p1, service.InjectableInput{Type: service.Some("snippet"), Mode: service.Some("inject"),
		TargetPath: service.Some("a.js"), Secret: service.Some(injSecret), Content: service.Some("x"),
		OnlyIfPaid: service.Some(false), IsActive: service.Some(true)})
	if err != nil {
		t.Fatal(err)
	}
	f.injectable = i.ID
	k, _ := f.n.CreateKey(t, f.owner, service.KeyInput{Name: "to edit"})
	f.apiKey = k.ID
	l, err := f.n.Service().CreateLicense(ctx, a, f.p1, service.LicenseInput{Title: service.Some("runtime")})
	if err != nil {
		t.Fatal(err)
	}
	f.licenseKey = l.UUID
	return f
}

// writes counts what the instance has recorded: audit events (every
// management write records one in its transaction) and the runtime
// engine's pending uses.
func (f *inputFixture) writes(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	var n int
	for _, org := range []int64{f.owner.OrgID, f.other.OrgID} {
		evs, err := f.n.Store.ListAudit(ctx, core.AuditFilter{OrgID: org, Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		n += len(evs)
	}
	pending := 0
	ls, err := f.n.Store.ListLicenses(ctx, core.LicenseFilter{ProjectID: f.p1, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		for _, c := range f.n.Stack.Validator.Pending(l.ID) {
			pending += int(c)
		}
	}
	return strings.Join([]string{id(int64(n)), id(int64(pending))}, "/")
}

// wantRefused checks a 422 whose errors name field with msg, and that
// nothing was written.
func wantRefused(t *testing.T, f *inputFixture, before string, r *apptest.Response, field, msg string) {
	t.Helper()
	if r.Status != 422 {
		t.Fatalf("status %d, want 422: %s", r.Status, r.Body)
	}
	if !strings.Contains(strings.Join(r.Env.Errors[field], " "), msg) {
		t.Fatalf("errors %v do not name %q with %q", r.Env.Errors, field, msg)
	}
	if after := f.writes(t); after != before {
		t.Fatalf("a refused request wrote: %s -> %s", before, after)
	}
}

// jsonWith returns base as JSON with field set to the raw JSON string
// content text, shaped as the field is (a string, an array of strings, or
// an object).
func jsonWith(t *testing.T, base map[string]any, field, text string) []byte {
	t.Helper()
	m := map[string]any{}
	for k, v := range base {
		m[k] = v
	}
	const mark = "BAD-TEXT-MARK"
	switch field {
	case "scopes", "allowed_ips":
		if _, isList := base[field].([]string); isList {
			m[field] = []string{mark}
			break
		}
		m[field] = mark
	case "meta":
		m[field] = map[string]any{"k": mark}
	default:
		m[field] = mark
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Replace(raw, []byte(mark), []byte(text), 1)
}

// TestBadTextRefused sends a NUL and invalid UTF-8 through every text
// field of every write endpoint (JSON, form and multipart bodies), every
// query parameter and the runtime headers: each answers the same 422
// naming the field, on both backends, and writes nothing. PostgreSQL
// answered 500 and SQLite 201/200.
func TestBadTextRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		f := newInputFixture(t, b)
		n := f.n
		key := apptest.Key(f.key)
		p, d, l, i, k := id(f.p1), id(f.d1), id(f.lic1), id(f.injectable), id(f.apiKey)
		project := map[string]any{"name": "New", "slug": "new-project", "description": "d", "default_redirect_url": "https://example.com/r",
			"logo_url": "https://example.com/l.png", "webhook_url": "https://example.com/h", "webhook_secret": "whsecret-0123456789",
			"meta": map[string]any{"a": 1}}
		domain := map[string]any{"domain": "new.example.com", "environment": "production"}
		license := map[string]any{"title": "T", "allowed_ips": "10.0.0.0/8", "allowed_countries": "NG", "validate_against": "license_domains",
			"expires_at": "2030-01-01"}
		injectable := map[string]any{"title": "T", "slug": "new-inj", "type": "snippet", "mode": "inject", "target_path": "b.js",
			"secret": injSecret, "content": "x", "validate_endpoint": "https://example.com/v", "only_if_paid": false, "is_active": true,
			"meta": map[string]any{"a": 1}}
		apiKey := map[string]any{"name": "K", "description": "d", "scopes": []string{"projects:read"}, "env": "live",
			"expires_at": "2030-01-01", "allowed_ips": []string{"10.0.0.0/8"}}
		runtime := map[string]any{"license": f.licenseKey, "domain": "shop.example.com"}
		writes := []struct {
			method, path string
			base         map[string]any
			fields       []string
		}{
			{"POST", "/api/v1/project", project, []string{"name", "slug", "description", "default_redirect_url", "logo_url", "webhook_url", "webhook_secret", "meta"}},
			{"PUT", "/api/v1/project/" + p, project, []string{"name", "slug", "description", "default_redirect_url", "logo_url", "webhook_url", "webhook_secret", "meta"}},
			{"POST", "/api/v1/project/" + p + "/domains", domain, []string{"domain", "environment"}},
			{"PUT", "/api/v1/project/" + p + "/domain/" + d, domain, []string{"domain", "environment"}},
			{"POST", "/api/v1/project/" + p + "/licenses", license, []string{"title", "allowed_ips", "allowed_countries", "validate_against", "expires_at"}},
			{"PATCH", "/api/v1/project/" + p + "/licenses/" + l, license, []string{"title", "allowed_ips", "allowed_countries", "validate_against", "expires_at"}},
			{"POST", "/api/v1/project/" + p + "/licenses/" + l + "/revoke", map[string]any{}, []string{"reason"}},
			{"POST", "/api/v1/project/" + p + "/injectables", injectable, []string{"title", "slug", "type", "mode", "target_path", "secret", "content", "validate_endpoint", "meta"}},
			{"PUT", "/api/v1/project/" + p + "/injectables/" + i, injectable, []string{"title", "slug", "type", "mode", "target_path", "secret", "content", "validate_endpoint", "meta"}},
			{"POST", "/api/v1/api-keys", apiKey, []string{"name", "description", "scopes", "env", "expires_at", "allowed_ips"}},
			{"PATCH", "/api/v1/api-keys/" + k, apiKey, []string{"name", "description", "scopes", "expires_at", "allowed_ips"}},
			{"POST", "/api/v1/api-keys/" + k + "/rotate", map[string]any{"grace_seconds": 60}, []string{"grace_seconds"}},
			{"POST", "/api/v1/project/has-paid", runtime, []string{"license", "domain"}},
			{"POST", "/api/v1/licenses/validate", runtime, []string{"license", "domain"}},
			{"POST", "/api/v1/injectable/stream", runtime, []string{"license", "domain"}},
		}
		for _, w := range writes {
			for _, field := range w.fields {
				for _, bad := range badJSON {
					t.Run(w.method+" "+w.path+" "+field+" "+bad.name, func(t *testing.T) {
						before := f.writes(t)
						r := n.Do(t, w.method, w.path, jsonWith(t, w.base, field, bad.text), key...)
						wantRefused(t, f, before, r, field, badTextMsg)
					})
				}
			}
		}
		t.Run("JSON field name", func(t *testing.T) {
			before := f.writes(t)
			r := n.Do(t, "POST", "/api/v1/project", `{"name":"N","x\u0000":1}`, key...)
			wantRefused(t, f, before, r, "body", badTextMsg)
		})
		t.Run("meta key", func(t *testing.T) {
			before := f.writes(t)
			r := n.Do(t, "POST", "/api/v1/project", `{"name":"N","meta":{"a\u0000":1}}`, key...)
			wantRefused(t, f, before, r, "meta", badTextMsg)
		})
		t.Run("meta as a JSON string", func(t *testing.T) {
			before := f.writes(t)
			r := n.Do(t, "POST", "/api/v1/project", `{"name":"N","meta":"{\"a\":\"\\u0000\"}"}`, key...)
			wantRefused(t, f, before, r, "meta", badTextMsg)
		})

		// Form bodies (curl -d) go through the same decoder.
		form := []string{"Content-Type", "application/x-www-form-urlencoded", key[0], key[1]}
		for _, bad := range badQuery {
			t.Run("form "+bad.name, func(t *testing.T) {
				before := f.writes(t)
				wantRefused(t, f, before, n.Do(t, "POST", "/api/v1/project", "slug=ok&name="+bad.text, form...), "name", badTextMsg)
			})
		}
		t.Run("form malformed escape", func(t *testing.T) {
			before := f.writes(t)
			wantRefused(t, f, before, n.Do(t, "POST", "/api/v1/project", "slug=ok&name=%zz", form...), "name", badEscMsg)
		})

		// Multipart injectables: every field and the file name.
		multi := map[string]string{"title": "T", "slug": "multi", "type": "file", "mode": "write", "target_path": "f.bin",
			"secret": injSecret, "validate_endpoint": "https://example.com/v", "only_if_paid": "0", "is_active": "1"}
		for _, path := range []string{"/api/v1/project/" + p + "/injectables", "/api/v1/project/" + p + "/injectables/" + i} {
			for field := range multi {
				for _, bad := range []struct{ name, text string }{{"NUL", "a\x00b"}, {"invalid UTF-8", "a\xffb"}} {
					t.Run("multipart "+path+" "+field+" "+bad.name, func(t *testing.T) {
						fields := map[string]string{"_method": "PUT"}
						for k, v := range multi {
							fields[k] = v
						}
						fields[field] = bad.text
						ct, body := multipartBody(t, fields, "f.bin", []byte("data"))
						before := f.writes(t)
						wantRefused(t, f, before, postMultipart(t, n, "POST", path, f.key, ct, body), field, badTextMsg)
					})
				}
			}
			for _, bad := range badQuery {
				t.Run("multipart "+path+" file name "+bad.name, func(t *testing.T) {
					var buf bytes.Buffer
					mw := multipart.NewWriter(&buf)
					for k, v := range multi {
						_ = mw.WriteField(k, v)
					}
					_ = mw.WriteField("_method", "PUT")
					// RFC 2231: the name is percent-decoded by the server.
					h := textproto.MIMEHeader{"Content-Disposition": {`form-data; name="file"; filename*=UTF-8''` + bad.text + `.bin`}}
					pw, _ := mw.CreatePart(h)
					_, _ = pw.Write([]byte("data"))
					if err := mw.Close(); err != nil {
						t.Fatal(err)
					}
					before := f.writes(t)
					wantRefused(t, f, before, postMultipart(t, n, "POST", path, f.key, mw.FormDataContentType(), buf.Bytes()), "file", badTextMsg)
				})
			}
		}

		// Every query parameter a route reads.
		queries := []struct {
			method, path string
			params       []string
		}{
			{"GET", "/api/v1/projects", []string{"cursor", "per_page"}},
			{"GET", "/api/v1/project/" + p, []string{"unknown"}},
			{"GET", "/api/v1/project/" + p + "/domains", []string{"cursor", "per_page"}},
			{"GET", "/api/v1/project/" + p + "/licenses", []string{"status", "search", "cursor", "per_page"}},
			{"GET", "/api/v1/project/" + p + "/injectables", []string{"cursor", "per_page"}},
			{"GET", "/api/v1/project/" + p + "/has-paid", []string{"action", "include"}},
			{"GET", "/api/v1/api-keys", []string{"cursor", "per_page"}},
			{"GET", "/api/v1/api-keys/" + k + "/usage", []string{"days"}},
			{"GET", "/api/v1/audit", []string{"action", "actor_type", "target_type", "actor_id", "target_id", "project_id", "since", "until", "cursor", "per_page"}},
			{"POST", "/api/v1/project/has-paid?license=" + f.licenseKey, []string{"domain", "action", "include"}},
			{"POST", "/api/v1/project/has-paid?domain=shop.example.com", []string{"license"}},
			{"POST", "/api/v1/licenses/validate?license=" + f.licenseKey, []string{"domain"}},
			{"GET", "/api/v1/injectable/stream?license=" + f.licenseKey, []string{"domain", "cursor", "per_page"}},
		}
		for _, q := range queries {
			for _, param := range q.params {
				cases := append(append([]struct{ name, text string }{}, badQuery...), struct{ name, text string }{"malformed", "%%%%"})
				for _, bad := range cases {
					t.Run(q.method+" "+q.path+" ?"+param+" "+bad.name, func(t *testing.T) {
						sep := "?"
						if strings.Contains(q.path, "?") {
							sep = "&"
						}
						before := f.writes(t)
						r := n.Do(t, q.method, q.path+sep+param+"="+bad.text, nil, key...)
						msg := badTextMsg
						if bad.name == "malformed" {
							msg = badEscMsg
						}
						wantRefused(t, f, before, r, param, msg)
					})
				}
			}
		}

		// Runtime headers. net/http refuses a NUL in a header itself; an
		// invalid byte gets through.
		for _, h := range []struct {
			method, path, header, field string
		}{
			{"POST", "/api/v1/project/has-paid", "X-Devpayr-Domain", "domain"},
			{"POST", "/api/v1/project/has-paid", "X-License-Key", "license"},
			{"POST", "/api/v1/licenses/validate", "X-Devpayr-Domain", "domain"},
			{"GET", "/api/v1/injectable/stream", "X-Devpayr-Domain", "domain"},
			{"GET", "/api/v1/project/" + p + "/has-paid", "X-Devpayr-Domain", "domain"},
		} {
			t.Run(h.method+" "+h.path+" "+h.header, func(t *testing.T) {
				hdr := append([]string{}, key...)
				hdr = append(hdr, "X-License-Key", f.licenseKey, "X-Devpayr-Domain", "shop.example.com")
				for j := 0; j < len(hdr); j += 2 {
					if hdr[j] == h.header {
						hdr[j+1] = "shop\xff.example.com"
					}
				}
				before := f.writes(t)
				wantRefused(t, f, before, n.Do(t, h.method, h.path, nil, hdr...), h.field, badTextMsg)
			})
		}

		// A User-Agent is not the client's field to get wrong: an invalid
		// byte in it is stored as U+FFFD in the audit log, not refused.
		r := n.Do(t, "POST", "/api/v1/project", map[string]any{"name": "UA"}, append([]string{"User-Agent", "agent\xff/1"}, key...)...)
		wantStatus(t, r, 201)
		evs, err := n.Store.ListAudit(context.Background(), core.AuditFilter{OrgID: f.owner.OrgID, Limit: 1})
		if err != nil || len(evs) != 1 || evs[0].UserAgent != "agent\uFFFD/1" {
			t.Fatalf("audit user agent: %+v %v", evs, err)
		}
	})
}

// TestRuntimeIdentifierEdge: a runtime identifier that breaks the text
// rule is refused at the edge; one that normalisation shortens is cut on a
// character boundary, so that its use and activation are flushed (on
// PostgreSQL the flush failed with SQLSTATE 22021 and retried forever).
func TestRuntimeIdentifierEdge(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		ctx := context.Background()
		lid := licenseID(t, rt, "basic")
		// Refused: nothing is counted.
		for _, body := range []string{`{"domain":"shop\u0000.example.com"}`, "{\"domain\":\"shop\xff.example.com\"}"} {
			r := rt.n.Do(t, "POST", "/api/v1/project/has-paid", body, "X-LICENSE-KEY", rt.keys["basic"])
			wantStatus(t, r, 422, badTextMsg)
			if r.Env.Errors["domain"] == nil {
				t.Fatalf("errors %v do not name domain", r.Env.Errors)
			}
		}
		long := strings.Repeat("é", 200)
		for _, c := range []check{{license: "basic", domain: long}, {license: "basic", domain: "ok.example.org"}} {
			if r := rt.devpayr(t, c); r.Status != 200 {
				t.Fatalf("%.20q: %d %s", c.domain, r.Status, r.Body)
			}
		}
		if err := rt.n.Stack.Validator.Flush(ctx); err != nil {
			t.Fatalf("flush: %v", err)
		}
		day := rt.n.Clock.Now().UTC().Format(time.DateOnly)
		u, err := rt.n.Store.LicenseUsage(ctx, lid, day, day)
		if err != nil || len(u) != 1 || u[0].Count != 2 {
			t.Fatalf("usage: %v %v, want 2", u, err)
		}
		acts, err := rt.n.Store.ListActivations(ctx, lid)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, a := range acts {
			if a.Identifier == strings.Repeat("é", 127) {
				found = true
			}
		}
		if !found || len(acts) != 2 {
			t.Fatalf("activations %+v, want the identifier cut to 127 × é", acts)
		}
	})
}

// TestMalformedQuery: a parameter that (*url.URL).Query would drop (bad
// percent-encoding, a semicolon) is a 422 naming it, never a silent
// default such as the first page; well-formed text, non-ASCII included,
// still works.
func TestMalformedQuery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		c := newCatalog(t, b)
		licenses := "/api/v1/project/" + id(c.p1) + "/licenses"
		for _, tc := range []struct{ query, field, msg string }{
			{"cursor=%%%%", "cursor", badEscMsg},
			{"per_page=1&cursor=%zz", "cursor", badEscMsg},
			{"search=a%2", "search", badEscMsg},
			{"%zz=1", "%zz", badEscMsg},
			{"search=a;b", "search", "semicolon"},
		} {
			t.Run(tc.query, func(t *testing.T) {
				r := c.n.Do(t, "GET", licenses+"?"+tc.query, nil, apptest.Key(c.key)...)
				wantStatus(t, r, 422, tc.msg)
				if len(r.Env.Errors[tc.field]) == 0 {
					t.Fatalf("errors %v do not name %q", r.Env.Errors, tc.field)
				}
			})
		}
		r := c.n.Do(t, "GET", licenses+"?search=Customer%20A&per_page=1&x=caf%C3%A9", nil, apptest.Key(c.key)...)
		wantStatus(t, r, 200, `"title":"Customer A"`)
	})
}

// TestProofTTLBounds: proof_ttl is compared in seconds, before it becomes a
// time.Duration: 9223372037 s overflowed it and signed a proof that had
// expired in 1734.
func TestProofTTLBounds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		now := rt.n.Clock.Now()
		for _, tc := range []struct {
			ttl    any
			status int
			want   time.Time
		}{
			{59, 422, time.Time{}},
			{60, 200, now.Add(time.Minute)},
			{2592000, 200, now.Add(30 * 24 * time.Hour)},
			{2592001, 422, time.Time{}},
			{9223372037, 422, time.Time{}},
			{"9223372036854775807", 422, time.Time{}},
			{-9223372036854775807, 422, time.Time{}},
		} {
			t.Run(fmt.Sprint(tc.ttl), func(t *testing.T) {
				r, _ := rt.native(t, check{license: "basic", domain: "shop.example.com"}, map[string]any{"proof": true, "proof_ttl": tc.ttl})
				wantStatus(t, r, tc.status)
				if tc.status != 200 {
					if len(r.Env.Errors["proof_ttl"]) == 0 {
						t.Fatalf("errors %v do not name proof_ttl", r.Env.Errors)
					}
					return
				}
				var v struct {
					Proof struct {
						ExpiresAt string `json:"expires_at"`
					} `json:"proof"`
				}
				r.Decode(t, &v)
				if got, err := time.Parse(time.RFC3339, v.Proof.ExpiresAt); err != nil || !got.Equal(tc.want.Truncate(time.Second)) {
					t.Fatalf("proof expires %q, want %v", v.Proof.ExpiresAt, tc.want)
				}
			})
		}
	})
}
