package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/config"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/httpapi"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// The OpenAPI document (internal/httpapi/openapi.json) is kept true by
// three checks: it is a valid OpenAPI 3.1 document; every route pattern
// Register returns is documented, and every documented operation is
// registered; and real responses of every operation, successes and
// failures, validate against it.

func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPI())
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	return doc
}

var restWildcard = regexp.MustCompile(`\{(\w+)\.\.\.\}`)

// operationOf turns a ServeMux pattern into the document's method and path
// ("GET /api/v1/project/{project}" → "GET", "/project/{project}"). ok is
// false for patterns without a method (the /api/ catch-all). A pattern
// outside /api/v1 ("GET /.well-known/jwks.json") keeps its whole path and
// has root set: the document holds it only in a path item whose own
// servers are the site root (rootServed).
func operationOf(pattern string) (method, path string, root, ok bool) {
	method, path, ok = strings.Cut(pattern, " ")
	if !ok {
		return "", "", false, false
	}
	if rest, under := strings.CutPrefix(path, "/api/v1"); under {
		path = rest
	} else {
		root = true
	}
	path = restWildcard.ReplaceAllString(strings.TrimSuffix(path, "{$}"), "{$1}")
	if path == "" {
		path = "/"
	}
	return method, path, root, true
}

// rootServed reports whether a path item is served at the site root
// rather than under the document's /api/v1: its own servers say "/".
func rootServed(item *openapi3.PathItem) bool {
	return len(item.Servers) == 1 && item.Servers[0].URL == "/"
}

// undocumented returns the registered patterns the document lacks.
func undocumented(doc *openapi3.T, patterns []string) []string {
	var out []string
	for _, p := range patterns {
		if !strings.Contains(p, " ") {
			continue // "/api/": the catch-all 404
		}
		method, path, root, _ := operationOf(p)
		item := doc.Paths.Value(path)
		switch {
		case root && (item == nil || !rootServed(item) || item.GetOperation(method) == nil):
			out = append(out, p+" (not under /api/v1)")
		case !root && (item == nil || rootServed(item) || item.GetOperation(method) == nil):
			out = append(out, p)
		}
	}
	return out
}

// unregistered returns the documented operations no pattern serves.
func unregistered(doc *openapi3.T, patterns []string) []string {
	served := map[string]bool{}
	for _, p := range patterns {
		if method, path, root, ok := operationOf(p); ok {
			served[fmt.Sprint(method, " ", path, " ", root)] = true
		}
	}
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !served[fmt.Sprint(method, " ", path, " ", rootServed(item))] {
				out = append(out, method+" "+path)
			}
		}
	}
	sort.Strings(out)
	return out
}

func registeredRoutes(t *testing.T) []string {
	t.Helper()
	n := apptest.New(t, storetest.Backends(t)[0])
	if len(n.Stack.APIRoutes) < 50 {
		t.Fatalf("Register returned only %d patterns", len(n.Stack.APIRoutes))
	}
	return n.Stack.APIRoutes
}

func TestEveryRouteIsDocumented(t *testing.T) {
	doc := loadOpenAPI(t)
	routes := registeredRoutes(t)
	if missing := undocumented(doc, routes); len(missing) > 0 {
		t.Errorf("routes missing from openapi.json:\n  %s", strings.Join(missing, "\n  "))
	}
	if stale := unregistered(doc, routes); len(stale) > 0 {
		t.Errorf("operations in openapi.json that no route serves:\n  %s", strings.Join(stale, "\n  "))
	}
}

// TestConformanceCheckFailsOnGaps proves the check above can fail: a route
// added without documentation, and documentation of a route that is gone,
// are both reported, and nothing else is.
func TestConformanceCheckFailsOnGaps(t *testing.T) {
	doc := loadOpenAPI(t)
	routes := registeredRoutes(t)

	added := []string{
		"POST /api/v1/project/{project}/licenses/{license}/transfer", // a new path
		"DELETE /api/v1/audit",              // a new method on a documented path
		"GET /api/v1/exports/{file...}",     // a rest wildcard
		"GET /v2/projects",                  // outside /api/v1
		"DELETE /.well-known/jwks.json",     // a new method on a documented root path
		"GET /api/v1/.well-known/jwks.json", // a root path's twin under /api/v1
	}
	got := undocumented(doc, append(slices.Clone(routes), added...))
	want := []string{added[0], added[1], added[2], added[3] + " (not under /api/v1)", added[4] + " (not under /api/v1)", added[5]}
	if !slices.Equal(got, want) {
		t.Errorf("undocumented routes reported as %q, want %q", got, want)
	}

	removed := slices.DeleteFunc(slices.Clone(routes), func(p string) bool {
		return p == "GET /api/v1/audit" || p == "POST /api/v1/api-keys/{id}/rotate" || p == "GET /.well-known/jwks.json"
	})
	if got, want := unregistered(doc, removed), []string{"GET /.well-known/jwks.json", "GET /audit", "POST /api-keys/{id}/rotate"}; !slices.Equal(got, want) {
		t.Errorf("documented routes without a handler reported as %q, want %q", got, want)
	}
	for pattern, want := range map[string]string{
		"GET /api/v1/{$}":                                 "GET /",
		"GET /api/v1/project/{project}":                   "GET /project/{project}",
		"OPTIONS /api/v1/licenses/validate":               "OPTIONS /licenses/validate",
		"GET /api/v1/injectable/{path...}":                "GET /injectable/{path}",
		"PATCH /api/v1/project/{project}/domain/{domain}": "PATCH /project/{project}/domain/{domain}",
		"GET /.well-known/jwks.json":                      "GET /.well-known/jwks.json (root)",
	} {
		m, p, root, ok := operationOf(pattern)
		got := m + " " + p
		if root {
			got += " (root)"
		}
		if !ok || got != want {
			t.Errorf("operationOf(%q) = %q %v, want %q", pattern, got, ok, want)
		}
	}
}

// conformance is an http.RoundTripper that validates every request and
// response it carries against the document, and records which operations
// it saw answered.
type conformance struct {
	t      *testing.T
	router routers.Router
	next   http.RoundTripper

	mu       sync.Mutex
	seen     map[string]map[int]bool // "METHOD /path" → statuses validated
	failures []string
}

type skipRequestCheck struct{}

// lenient marks a request that is deliberately outside the documented
// request schemas (malformed JSON, DevPayr's lenient forms, no key): its
// response is still validated.
func lenient(ctx context.Context) context.Context {
	return context.WithValue(ctx, skipRequestCheck{}, true)
}

func newConformance(t *testing.T, doc *openapi3.T, baseURL string) *conformance {
	t.Helper()
	doc.Servers = openapi3.Servers{{URL: baseURL + "/api/v1"}, {URL: baseURL + "/v1"}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &conformance{t: t, router: router, next: http.DefaultTransport, seen: map[string]map[int]bool{}}
}

func (c *conformance) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failures = append(c.failures, fmt.Sprintf(format, args...))
}

func (c *conformance) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		_ = req.Body.Close() // read to the end above
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close() // read to the end above
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if err != nil {
		return nil, err
	}

	check := req.Clone(req.Context())
	check.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := c.router.FindRoute(check)
	if err != nil {
		c.fail("%s %s: not in the document: %v", req.Method, req.URL.Path, err)
		return resp, nil
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route, Options: opts}
	ctx := context.Background()
	if skip, _ := req.Context().Value(skipRequestCheck{}).(bool); !skip && !strings.HasPrefix(req.Header.Get("Content-Type"), "multipart/") {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			c.fail("%s %s: the request does not match the document: %v\n%s", req.Method, req.URL.Path, err, reqBody)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: opts}
	out.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		c.fail("%s %s → %d: the response does not match the document: %v\n%s", req.Method, req.URL.Path, resp.StatusCode, err, respBody)
	} else {
		op := req.Method + " " + route.Path
		c.mu.Lock()
		if c.seen[op] == nil {
			c.seen[op] = map[int]bool{}
		}
		c.seen[op][resp.StatusCode] = true
		c.mu.Unlock()
	}
	return resp, nil
}

// report fails the test with every mismatch, and with every documented
// operation no validated response exercised.
func (c *conformance) report(doc *openapi3.T) {
	c.t.Helper()
	for _, f := range c.failures {
		c.t.Error(f)
	}
	var unexercised []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if len(c.seen[method+" "+path]) == 0 {
				unexercised = append(unexercised, method+" "+path)
			}
		}
	}
	sort.Strings(unexercised)
	if len(unexercised) > 0 {
		c.t.Errorf("documented operations no validated response exercised:\n  %s", strings.Join(unexercised, "\n  "))
	}
	statuses := map[int]bool{}
	for _, s := range c.seen {
		for code := range s {
			statuses[code] = true
		}
	}
	for _, code := range []int{200, 201, 204, 400, 401, 403, 404, 409, 413, 422, 429} {
		if !statuses[code] {
			c.t.Errorf("no validated response had status %d", code)
		}
	}
}

// TestResponsesMatchDocument sends every documented operation, with
// successes and failures, through the SDK where it has a method and as
// raw requests where it does not (DevPayr's aliases, lenient bodies,
// preflights), and validates every request and response against the
// document.
func TestResponsesMatchDocument(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		n := apptest.New(t, b, func(c *config.Config) { c.MaxBodyBytes = 64 << 10 })
		owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
		_, key := n.CreateKey(t, owner, service.KeyInput{Name: "owner"})
		_, slow := n.CreateKey(t, owner, service.KeyInput{Name: "one a minute", RateLimit: 1})
		conf := newConformance(t, loadOpenAPI(t), n.URL)
		hc := &http.Client{Transport: conf}
		c, err := client.New(n.URL, key, client.WithHTTPClient(hc), client.WithRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		anon, _ := client.New(n.URL, "", client.WithHTTPClient(hc), client.WithRetries(0))
		ctx := context.Background()
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		wantErr := func(err, sentinel error) {
			t.Helper()
			if !errors.Is(err, sentinel) {
				t.Fatalf("err = %v, want %v", err, sentinel)
			}
		}
		raw := func(ctx context.Context, method, path string, body []byte, header ...string) (int, json.RawMessage) {
			t.Helper()
			var rd io.Reader
			if body != nil {
				rd = bytes.NewReader(body)
			}
			req, err := http.NewRequestWithContext(ctx, method, n.URL+path, rd)
			if err != nil {
				t.Fatal(err)
			}
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			for i := 0; i+1 < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }() // a test's read-only response
			var env struct {
				Data json.RawMessage `json:"data"`
			}
			b, _ := io.ReadAll(resp.Body)
			_ = json.Unmarshal(b, &env)
			return resp.StatusCode, env.Data
		}
		withKey := []string{"X-API-KEY", key}
		want := func(got, status int) {
			t.Helper()
			if got != status {
				t.Fatalf("status %d, want %d", got, status)
			}
		}

		// Meta.
		must(c.Ping(ctx))
		st, _ := raw(ctx, "GET", "/api/v1/openapi.json", nil)
		want(st, 200)
		st, _ = raw(ctx, "GET", "/api/v1/errors", nil)
		want(st, 200)
		for _, path := range []string{"/api/v1/?q=%zz", "/api/v1/openapi.json?q=%zz", "/api/v1/errors?q=%zz"} {
			st, _ = raw(lenient(ctx), "GET", path, nil) // a malformed query string
			want(st, 422)
		}

		// Projects.
		p, err := c.Projects.Create(ctx, client.ProjectCreate{Name: "Pro Plugin", Description: "x", HasPaid: client.Ptr(true),
			Meta: json.RawMessage(`{"tier":"pro"}`), WebhookURL: "https://acme.test/hook", WebhookSecret: "whsec"})
		must(err)
		pid := id(p.ID)
		throwaway, err := c.Projects.Create(ctx, client.ProjectCreate{Name: "Throwaway"})
		must(err)
		_, err = c.Projects.Create(ctx, client.ProjectCreate{})
		wantErr(err, client.ErrValidation)
		_, err = client.Collect(c.Projects.List(ctx, &client.ListOptions{PerPage: 1}))
		must(err)
		_, err = c.Projects.Get(ctx, p.ID)
		must(err)
		_, err = c.Projects.Get(ctx, p.ID) // a cached read
		must(err)
		_, err = c.Projects.Get(ctx, 987654)
		wantErr(err, client.ErrNotFound)
		_, err = c.Projects.Update(ctx, p.ID, client.ProjectUpdate{Description: client.Ptr("")})
		must(err)
		st, _ = raw(ctx, "PUT", "/api/v1/project/"+pid, []byte(`{"name":"Pro Plugin","logo_url":"https://acme.test/logo.png"}`), withKey...)
		want(st, 200)
		st, _ = raw(lenient(ctx), "PUT", "/api/v1/project/"+pid, []byte(`{"name":`), withKey...)
		want(st, 400)
		st, _ = raw(lenient(ctx), "POST", "/api/v1/project", bytes.Repeat([]byte(" "), 70<<10), withKey...)
		want(st, 413)
		st, _ = raw(lenient(ctx), "GET", "/api/v1/projects", nil)
		want(st, 401)
		st, _ = raw(lenient(ctx), "GET", "/v1/projects", nil, "X-API-KEY", "sk_live_"+strings.Repeat("a", 38))
		want(st, 403)
		st, _ = raw(ctx, "GET", "/api/v1/projects", nil, "X-API-KEY", slow)
		want(st, 200)
		st, _ = raw(ctx, "GET", "/api/v1/projects", nil, "X-API-KEY", slow)
		want(st, 429)
		must(c.Projects.Delete(ctx, throwaway.ID))

		// Domains, on both spellings.
		d, err := c.Domains.Create(ctx, p.ID, client.DomainCreate{Domain: "shop.example.com", Environment: client.EnvProduction,
			IsVerified: client.Ptr(true), HasPaid: client.Ptr(true), IsPrimary: client.Ptr(true)})
		must(err)
		d2, err := c.Domains.Create(ctx, p.ID, client.DomainCreate{Domain: "staging.example.com", Environment: client.EnvStaging})
		must(err)
		_, err = c.Domains.Create(lenient(ctx), p.ID, client.DomainCreate{Domain: "not a host", Environment: "moon"})
		wantErr(err, client.ErrValidation)
		_, err = client.Collect(c.Domains.List(ctx, p.ID, &client.ListOptions{PerPage: 1}))
		must(err)
		_, err = c.Domains.Get(ctx, p.ID, d.ID)
		must(err)
		_, err = c.Domains.Update(ctx, p.ID, d2.ID, client.DomainUpdate{IsLocked: client.Ptr(true)})
		must(err)
		dpath := "/api/v1/project/" + pid + "/domain/" + id(d2.ID)
		st, _ = raw(ctx, "GET", dpath, nil, withKey...)
		want(st, 200)
		st, _ = raw(ctx, "PUT", dpath, []byte(`{"is_verified":true}`), withKey...)
		want(st, 200)
		st, _ = raw(ctx, "PATCH", dpath, []byte(`{"is_active":true}`), withKey...)
		want(st, 200)
		st, _ = raw(ctx, "PUT", "/api/v1/project/"+pid+"/domains/"+id(d2.ID), []byte(`{"environment":"development"}`), withKey...)
		want(st, 200)
		st, _ = raw(ctx, "DELETE", dpath, nil, withKey...)
		want(st, 200)
		st, _ = raw(ctx, "DELETE", "/api/v1/project/"+pid+"/domains/"+id(d2.ID), nil, withKey...)
		want(st, 404)
		d3, err := c.Domains.Create(ctx, p.ID, client.DomainCreate{Domain: "old.example.com", Environment: client.EnvProduction})
		must(err)
		must(c.Domains.Delete(ctx, p.ID, d3.ID))

		// Licenses.
		l, err := c.Licenses.Create(ctx, p.ID, client.LicenseCreate{Title: "Customer A", DomainID: &d.ID, MaxUsagePerDay: client.Ptr[int64](100),
			AllowedCountries: "NG, US", ExpiresAt: client.Ptr(n.Clock.Now().Add(365 * 24 * time.Hour))})
		must(err)
		lpath := "/api/v1/project/" + pid + "/licenses/" + id(l.ID)
		_, err = c.Licenses.Create(ctx, p.ID, client.LicenseCreate{Title: "Customer A"})
		wantErr(err, client.ErrValidation)
		_, err = client.Collect(c.Licenses.List(ctx, p.ID, &client.LicenseFilter{Status: client.LicenseActive, Search: "Customer", PerPage: 1}))
		must(err)
		_, err = c.Licenses.Get(ctx, p.ID, l.ID)
		must(err)
		_, err = c.Licenses.Update(ctx, p.ID, l.ID, client.LicenseUpdate{ClearExpiry: true, AllowedCountries: client.Ptr("")})
		must(err)
		st, _ = raw(ctx, "PUT", lpath, []byte(`{"max_domains":3,"allowed_ips":["127.0.0.1","10.0.0.0/8"]}`), withKey...)
		want(st, 200)
		_, err = c.Licenses.Suspend(ctx, p.ID, l.ID)
		must(err)
		_, err = c.Licenses.Suspend(ctx, p.ID, l.ID)
		wantErr(err, client.ErrForbidden)
		_, err = c.Licenses.Reactivate(ctx, p.ID, l.ID)
		must(err)
		gone, err := c.Licenses.Create(ctx, p.ID, client.LicenseCreate{Title: "Gone"})
		must(err)
		_, err = c.Licenses.Revoke(ctx, p.ID, gone.ID)
		must(err)
		st, _ = raw(lenient(ctx), "POST", "/api/v1/project/"+pid+"/licenses/"+id(gone.ID)+"/reactivate", []byte(`[]`), withKey...)
		want(st, 200)
		must(c.Licenses.Delete(ctx, p.ID, gone.ID))
		// Bulk actions (issue 14): a dry run, a real run, a refused filter.
		_, err = c.Licenses.Bulk(ctx, p.ID, client.BulkLicenses{Filter: client.BulkLicenseFilter{Search: "Customer"}, Action: client.BulkSuspend, DryRun: true})
		must(err)
		_, err = c.Licenses.Bulk(ctx, p.ID, client.BulkLicenses{Action: client.BulkExtend, Duration: "30d", From: "now"})
		must(err)
		st, _ = raw(lenient(ctx), "POST", "/api/v1/project/"+pid+"/licenses/bulk", []byte(`{"action":"suspend","filter":{"plan":"x"}}`), withKey...)
		want(st, 422)
		_, err = c.APIKeys.Bulk(ctx, client.BulkAPIKeys{Filter: client.BulkAPIKeyFilter{NamePrefix: "nobody"}, DryRun: true})
		must(err)
		// Issue 14: the customer fields, filters, the cross-project list,
		// renewal and the external ID conflict.
		biz, err := c.Licenses.Create(ctx, p.ID, client.LicenseCreate{Title: "Business", CustomerName: "Ada", CustomerEmail: "ada@example.com",
			ExternalID: "sub_1", Metadata: map[string]string{"plan": "gold"}, MaxConcurrent: client.Ptr[int64](2),
			HeartbeatTTL: client.Ptr[int64](60), MaxNewActivationsPerDay: client.Ptr[int64](3), ExpiresIn: "30d"})
		must(err)
		_, err = c.Licenses.Create(ctx, p.ID, client.LicenseCreate{Title: "Duplicate", ExternalID: "sub_1"})
		wantErr(err, client.ErrConflict)
		_, err = c.Licenses.Update(ctx, p.ID, biz.ID, client.LicenseUpdate{Metadata: map[string]string{"plan": "", "tier": "2"}})
		must(err)
		_, err = client.Collect(c.Licenses.List(ctx, p.ID, &client.LicenseFilter{Query: biz.UUID, Metadata: map[string]string{"tier": "2"}}))
		must(err)
		_, err = client.Collect(c.Licenses.ListAll(ctx, &client.LicenseFilter{CustomerEmail: "ADA@example.com", PerPage: 1}))
		must(err)
		_, err = client.Collect(c.Licenses.ListAll(ctx, &client.LicenseFilter{ProjectID: 999999}))
		wantErr(err, client.ErrNotFound)
		_, err = c.Licenses.Renew(ctx, p.ID, biz.ID, client.LicenseRenew{Duration: "1y"})
		must(err)
		perpetual, err := c.Licenses.Create(ctx, p.ID, client.LicenseCreate{Title: "Perpetual"})
		must(err)
		_, err = c.Licenses.Renew(ctx, p.ID, perpetual.ID, client.LicenseRenew{Duration: "1y"})
		wantErr(err, client.ErrValidation) // no expiry: from=now is needed

		// Injectables: JSON, multipart, and the POST + _method=PUT update.
		const secret = "s3cret-injectable"
		in, err := c.Injectables.Create(ctx, p.ID, client.InjectableCreate{Slug: "banner", Type: "snippet", Mode: "inject",
			TargetPath: "js/banner.js", Secret: secret, Content: "console.log(1)", OnlyIfPaid: true, IsActive: true,
			Meta: json.RawMessage(`{"v":1}`)})
		must(err)
		file, err := c.Injectables.Create(ctx, p.ID, client.InjectableCreate{Slug: "config", Type: "file", Mode: "write",
			TargetPath: "config/app.json", Secret: secret, IsActive: true, File: &client.File{Name: "app.json", Data: []byte(`{"a":1}`)}})
		must(err)
		_, err = c.Injectables.Create(lenient(ctx), p.ID, client.InjectableCreate{Type: "snippet"})
		wantErr(err, client.ErrValidation)
		_, err = client.Collect(c.Injectables.List(ctx, p.ID, &client.ListOptions{PerPage: 1}))
		must(err)
		_, err = c.Injectables.Get(ctx, p.ID, in.ID)
		must(err)
		_, err = c.Injectables.Update(ctx, p.ID, in.ID, client.InjectableUpdate{Title: client.Ptr("Banner")})
		must(err)
		ipath := "/api/v1/project/" + pid + "/injectables/" + id(file.ID)
		st, _ = raw(ctx, "PATCH", ipath, []byte(`{"only_if_paid":false}`), withKey...)
		want(st, 200)
		st, _ = postForm(t, hc, n.URL+ipath, key, map[string]string{"_method": "PUT", "title": "App config"})
		want(st, 200)
		st, _ = postForm(t, hc, n.URL+ipath, key, map[string]string{"title": "no override"})
		want(st, 404)
		st, _ = raw(ctx, "DELETE", ipath, nil, withKey...)
		want(st, 200)

		// Payment status by API key.
		_, err = c.Payments.Status(ctx, p.ID, client.PaymentQuery{Domain: "shop.example.com", IncludeInjectables: true})
		must(err)
		_, err = c.Payments.Status(ctx, p.ID, client.PaymentQuery{CheckProject: true})
		must(err)

		// Runtime: preflights, validation, has-paid, stream, signing key.
		for _, path := range []string{"/api/v1/project/has-paid", "/api/v1/injectable/stream", "/api/v1/licenses/validate", "/api/v1/keys/license-signing"} {
			st, _ = raw(ctx, "OPTIONS", path, nil, "Origin", "https://shop.example.com", "Access-Control-Request-Method", "POST")
			want(st, 204)
		}
		v, err := anon.Validate.License(ctx, client.ValidateRequest{License: l.UUID, Domain: "shop.example.com", IncludeInjectables: true,
			Proof: true, ProofTTL: time.Hour})
		must(err)
		if !v.Valid || v.Proof == nil || v.Usage == nil || len(v.Injectables) != 1 {
			t.Fatalf("validation %+v", v)
		}
		if v, err := anon.Validate.License(ctx, client.ValidateRequest{License: l.UUID, Domain: "pirate.example.net"}); err != nil || v.Valid {
			t.Fatalf("pirate: %+v %v", v, err)
		}
		if v, err := anon.Validate.License(ctx, client.ValidateRequest{License: "019ae9f4-18b2-706b-b728-3f77c6bd9217"}); err != nil || v.Code != "NOT_FOUND" {
			t.Fatalf("unknown key: %+v %v", v, err)
		}
		st, _ = raw(ctx, "POST", "/api/v1/licenses/validate", []byte(`{}`))
		want(st, 422)
		_, err = anon.Validate.HasPaid(ctx, client.RuntimeRequest{License: l.UUID, Domain: "shop.example.com"}, true)
		must(err)
		_, err = anon.Validate.HasPaid(ctx, client.RuntimeRequest{License: l.UUID, Domain: "pirate.example.net"}, false)
		wantErr(err, client.ErrForbidden)
		_, err = anon.Validate.HasPaid(ctx, client.RuntimeRequest{License: l.UUID}, false)
		wantErr(err, client.ErrBadRequest)
		_, err = anon.Validate.HasPaid(ctx, client.RuntimeRequest{License: "019ae9f4-18b2-706b-b728-3f77c6bd9217"}, false)
		wantErr(err, client.ErrNotFound)
		st, _ = raw(lenient(ctx), "POST", "/api/v1/project/has-paid", nil)
		want(st, 401)
		st, _ = raw(lenient(ctx), "POST", "/api/v1/project/has-paid?domain=%00", []byte(`{"license":"`+l.UUID+`"}`))
		want(st, 422)
		_, err = client.Collect(anon.Injectables.Stream(ctx, client.RuntimeRequest{License: l.UUID, Domain: "shop.example.com"}))
		must(err)
		st, _ = raw(ctx, "POST", "/api/v1/injectable/stream?action=check_project", []byte(`{"license":"`+l.UUID+`","domain":"shop.example.com"}`))
		want(st, 200)
		_, err = anon.Validate.SigningKey(ctx)
		must(err)
		// The JWK Set, at the site root (a path item with its own server).
		st, _ = raw(ctx, "OPTIONS", "/.well-known/jwks.json", nil, "Origin", "https://shop.example.com", "Access-Control-Request-Method", "GET")
		want(st, 204)
		ks, err := anon.KeySet().Refresh(ctx)
		must(err)
		if len(ks.KIDs()) != 1 || ks.KIDs()[0] != v.Proof.KeyID {
			t.Fatalf("JWK Set %v, want the proof's kid %s", ks.KIDs(), v.Proof.KeyID)
		}

		// Seats: heartbeats (SDK and raw), release, the vendor's list and delete.
		sl, err := c.Licenses.Create(ctx, p.ID, client.LicenseCreate{Title: "Seated"})
		must(err)
		oneSeat := int64(1)
		ms := &oneSeat
		_, err = n.Store.UpdateLicense(ctx, sl.ID, core.LicenseUpdate{MaxConcurrent: &ms})
		must(err)
		st, _ = raw(ctx, "OPTIONS", "/api/v1/licenses/heartbeat", nil, "Origin", "https://shop.example.com", "Access-Control-Request-Method", "DELETE")
		want(st, 204)
		hbReq := client.HeartbeatRequest{License: sl.UUID, Instance: "pc-1", Domain: "shop.example.com"}
		hb, err := anon.Validate.Heartbeat(ctx, hbReq)
		must(err)
		if hb.Code != client.CodeValid || hb.Seat == nil {
			t.Fatalf("heartbeat %+v", hb)
		}
		if hb, err := anon.Validate.Heartbeat(ctx, client.HeartbeatRequest{License: sl.UUID, Instance: "pc-2", Domain: "shop.example.com"}); err != nil || hb.Code != client.CodeSeatsExhausted {
			t.Fatalf("second instance: %+v %v", hb, err)
		}
		_, err = anon.Validate.Heartbeat(ctx, client.HeartbeatRequest{License: l.UUID, Instance: "pc-1", Domain: "shop.example.com"})
		must(err) // seat: null
		st, _ = raw(ctx, "POST", "/api/v1/licenses/validate", []byte(`{"seat":true,"instance":"pc-1","domain":"shop.example.com","license":"`+sl.UUID+`"}`))
		want(st, 200)
		st, _ = raw(ctx, "POST", "/api/v1/licenses/heartbeat", []byte(`{"instance":""}`), "X-LICENSE-KEY", sl.UUID)
		want(st, 422)
		seatsPath := "/api/v1/project/" + pid + "/licenses/" + id(sl.ID) + "/seats"
		seats, err := c.Licenses.Seats(ctx, p.ID, sl.ID)
		must(err)
		st, _ = raw(lenient(ctx), "GET", seatsPath, nil)
		want(st, 401)
		st, _ = raw(lenient(ctx), "GET", "/api/v1/project/"+pid+"/licenses/987654/seats", nil, withKey...)
		want(st, 404)
		_, err = c.Licenses.DeleteSeat(ctx, p.ID, sl.ID, seats[0].ID)
		must(err)
		_, err = c.Licenses.DeleteSeat(lenient(ctx), p.ID, sl.ID, seats[0].ID)
		wantErr(err, client.ErrNotFound)
		_, err = anon.Validate.Heartbeat(ctx, hbReq)
		must(err)
		_, err = anon.Validate.Release(ctx, hbReq)
		must(err)
		// Activations and explain (issue 14).
		x, err := anon.Validate.License(ctx, client.ValidateRequest{License: l.UUID, Domain: "pirate.example.net", Explain: true})
		must(err)
		if x.Valid || len(x.Checks) == 0 {
			t.Fatalf("explained %+v", x)
		}
		acts, err := client.Collect(c.Activations.List(ctx, p.ID, l.ID, &client.ListOptions{PerPage: 1}))
		must(err)
		if len(acts) == 0 {
			t.Fatal("no activation to delete")
		}
		_, err = c.Activations.Delete(ctx, p.ID, l.ID, acts[0].ID)
		must(err)
		_, err = c.Activations.Delete(lenient(ctx), p.ID, l.ID, acts[0].ID)
		wantErr(err, client.ErrNotFound)
		st, _ = raw(lenient(ctx), "GET", "/api/v1/project/"+pid+"/licenses/"+id(l.ID)+"/activations?cursor=nonsense", nil, withKey...)
		want(st, 422)
		// License files (issue 16): the checkout (JSON and the file itself),
		// the runtime route, refusals.
		_, err = c.Licenses.File(ctx, p.ID, l.ID, &client.LicenseFileOptions{Identifier: "shop.example.com", TTL: time.Hour})
		must(err)
		st, _ = raw(ctx, "GET", lpath+"/file?ttl=3600", nil, withKey...)
		want(st, 200)
		st, _ = raw(ctx, "GET", lpath+"/file?ttl=1", nil, withKey...)
		want(st, 422)
		_, err = anon.Validate.LicenseFile(ctx, client.LicenseFileRequest{License: l.UUID, Domain: "shop.example.com"})
		must(err)
		st, _ = raw(ctx, "GET", "/api/v1/licenses/file?ttl=600", nil, "X-LICENSE-KEY", l.UUID, "X-Devpayr-Domain", "shop.example.com",
			"Accept", "application/json")
		want(st, 200)
		_, err = anon.Validate.LicenseFile(ctx, client.LicenseFileRequest{License: l.UUID, Domain: "pirate.example.net"})
		wantErr(err, client.ErrForbidden)
		st, _ = raw(ctx, "OPTIONS", "/api/v1/licenses/file", nil, "Origin", "https://shop.example.com", "Access-Control-Request-Method", "POST")
		want(st, 204)

		// API keys.
		k, err := c.APIKeys.Create(ctx, client.APIKeyCreate{Name: "deploy", ProjectID: p.ID, Scopes: []string{"licenses:read"},
			AllowedIPs: []string{"127.0.0.1"}, RateLimitPerMinute: 100, ExpiresAt: client.Ptr(n.Clock.Now().Add(time.Hour))})
		must(err)
		_, err = c.APIKeys.Create(lenient(ctx), client.APIKeyCreate{Name: "bad", Scopes: []string{"everything"}})
		wantErr(err, client.ErrValidation)
		_, err = client.Collect(c.APIKeys.List(ctx, &client.ListOptions{PerPage: 2}))
		must(err)
		_, err = c.APIKeys.Get(ctx, k.ID)
		must(err)
		_, err = c.APIKeys.Update(ctx, k.ID, client.APIKeyUpdate{Description: client.Ptr("CI"), ClearExpiry: true, ClearAllowedIPs: true})
		must(err)
		_, err = c.APIKeys.Usage(ctx, k.ID, 7)
		must(err)
		rot, err := c.APIKeys.Rotate(ctx, k.ID, time.Minute)
		must(err)
		_, err = c.APIKeys.Rotate(ctx, k.ID, time.Minute)
		wantErr(err, client.ErrConflict)
		_, err = c.APIKeys.Revoke(ctx, rot.Key.ID)
		must(err)
		_, err = c.APIKeys.Update(ctx, rot.Key.ID, client.APIKeyUpdate{Name: client.Ptr("again")})
		wantErr(err, client.ErrConflict)
		st, _ = raw(ctx, "DELETE", "/api/v1/api-keys/"+id(k.ID), nil, withKey...)
		want(st, 200)

		// Audit.
		_, err = client.Collect(c.Audit.List(ctx, &client.AuditFilter{Action: "license.", ProjectID: p.ID, Since: n.Clock.Now().Add(-time.Hour), PerPage: 2}))
		must(err)
		_, err = client.Collect(c.Audit.List(ctx, &client.AuditFilter{ActorType: "api_key", TargetType: "api_key", TargetID: k.ID}))
		must(err)
		st, _ = raw(ctx, "GET", "/api/v1/audit?since=yesterday", nil, withKey...)
		want(st, 422)

		// Webhooks and events (raw until the SDK has them).
		epBody := []byte(`{"url":"https://hooks.acme.test/latchkey","events":["license.created","license.revoked"],"project_id":` + pid +
			`,"description":"billing","expiring_days":3}`)
		st, data := raw(ctx, "POST", "/api/v1/webhook-endpoints", epBody, withKey...)
		want(st, 201)
		var ep struct{ ID int64 }
		must(json.Unmarshal(data, &ep))
		eid := "/api/v1/webhook-endpoints/" + id(ep.ID)
		st, _ = raw(lenient(ctx), "POST", "/api/v1/webhook-endpoints", []byte(`{"url":"http://127.0.0.1/x","events":["nope"]}`), withKey...)
		want(st, 422)
		st, _ = raw(ctx, "GET", "/api/v1/webhook-endpoints?per_page=1", nil, withKey...)
		want(st, 200)
		st, _ = raw(ctx, "GET", eid, nil, withKey...)
		want(st, 200)
		st, _ = raw(ctx, "PATCH", eid, []byte(`{"enabled":false,"ordered":false}`), withKey...)
		want(st, 200)
		st, _ = raw(ctx, "PATCH", eid, []byte(`{"enabled":true}`), withKey...)
		want(st, 200)
		st, _ = raw(ctx, "POST", eid+"/rotate-secret", []byte(`{"grace_seconds":60}`), withKey...)
		want(st, 201)
		st, data = raw(ctx, "POST", eid+"/test", nil, withKey...)
		want(st, 202)
		var ping struct{ ID string }
		must(json.Unmarshal(data, &ping))
		st, _ = raw(ctx, "GET", eid+"/deliveries?status=pending", nil, withKey...)
		want(st, 200)
		st, data = raw(ctx, "GET", eid+"/deliveries", nil, withKey...)
		want(st, 200)
		var ds []struct{ ID int64 }
		must(json.Unmarshal(data, &struct{ Data any }{&ds}))
		if len(ds) == 0 {
			t.Fatal("no delivery of the ping")
		}
		// Retried once its first attempt (to a name that does not resolve)
		// is logged: while a worker holds it, a retry is refused (409).
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
			st, data = raw(ctx, "GET", eid+"/deliveries/"+id(ds[0].ID), nil, withKey...)
			want(st, 200)
			var d struct{ Attempts int }
			must(json.Unmarshal(data, &d))
			if d.Attempts > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the ping was not attempted within a minute")
			}
		}
		st, _ = raw(ctx, "POST", eid+"/deliveries/"+id(ds[0].ID)+"/retry", nil, withKey...)
		want(st, 202)
		st, _ = raw(lenient(ctx), "GET", eid+"/deliveries?status=sideways", nil, withKey...)
		want(st, 422)
		st, _ = raw(ctx, "GET", "/api/v1/events?type=license.*&per_page=2", nil, withKey...)
		want(st, 200)
		st, _ = raw(ctx, "GET", "/api/v1/events/"+ping.ID, nil, withKey...)
		want(st, 200)
		st, _ = raw(lenient(ctx), "GET", "/api/v1/events/evt_0123", nil, withKey...)
		want(st, 404)
		st, _ = raw(ctx, "DELETE", eid, nil, withKey...)
		want(st, 200)

		// The organization's plan, policy and usage (issue 15).
		org, err := c.Organization.Get(ctx, p.ID)
		must(err)
		if org.Plan != nil || org.UsageProjectID != p.ID {
			t.Fatalf("organization %+v", org)
		}
		week := int64(7 * 86400)
		_, err = c.Organization.SetPolicy(ctx, client.Policy{DeveloperScopes: []string{"licenses:read"}, DefaultKeyLifetime: &week})
		must(err)
		_, err = c.Organization.SetPolicy(ctx, client.Policy{DeveloperScopes: []string{"root"}})
		wantErr(err, client.ErrValidation)
		_, err = c.Organization.SetPolicy(ctx, client.Policy{})
		must(err)
		// License defaults (issue 15): a project's and the organization's.
		_, err = c.LicenseDefaults.UpdateProject(ctx, p.ID, client.LicenseDefaultsPatch{
			Set: client.LicenseDefaults{MaxDomains: client.Ptr[int64](2), ExpiresIn: client.Ptr("30d")}})
		must(err)
		_, err = c.LicenseDefaults.SetOrganization(ctx, client.LicenseDefaults{AllowConfigs: client.Ptr(true)})
		must(err)
		_, err = c.LicenseDefaults.Organization(ctx)
		must(err)
		st, _ = raw(lenient(ctx), "PUT", "/api/v1/organization/license-defaults", []byte(`{"license_defaults":{"max_domains":-1}}`), withKey...)
		want(st, 422)
		st, _ = raw(lenient(ctx), "PUT", "/api/v1/organization/license-defaults", []byte(`{}`))
		want(st, 401)
		// Renaming the organization (issue 19).
		st, _ = raw(ctx, "PATCH", "/api/v1/organization", []byte(`{"name":"Renamed Org"}`), withKey...)
		want(st, 200)
		st, _ = raw(lenient(ctx), "PATCH", "/api/v1/organization", []byte(`{"name":"  "}`), withKey...)
		want(st, 422)

		// Runtime answers by result code (issue 19).
		for _, path := range []string{"/api/v1/usage?range=24h", "/api/v1/project/" + pid + "/usage?range=7d",
			"/api/v1/project/" + pid + "/licenses/" + id(l.ID) + "/usage"} {
			st, _ = raw(ctx, "GET", path, nil, withKey...)
			want(st, 200)
		}
		st, _ = raw(lenient(ctx), "GET", "/api/v1/usage?range=1y", nil, withKey...)
		want(st, 422)

		// Last: deleting the project.
		must(c.Projects.Delete(ctx, p.ID))
		conf.report(loadOpenAPI(t))
	})
}

// TestConformanceCatchesDrift proves the response check can fail: against
// copies of the document that drifted from the server (a field the server
// sends is missing, a type changed, a status code is undocumented, a route
// is unknown), the same kind of traffic is reported.
func TestConformanceCatchesDrift(t *testing.T) {
	n := apptest.New(t, storetest.Backends(t)[0])
	owner := n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)
	_, key := n.CreateKey(t, owner, service.KeyInput{Name: "owner"})
	p, err := n.Service().CreateProject(context.Background(), owner.Actor(), service.ProjectInput{Name: service.Some("Pro Plugin")})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		drift func(doc *openapi3.T)
		path  string
		want  string
	}{
		"a field the server sends is not documented": {
			drift: func(doc *openapi3.T) {
				delete(doc.Components.Schemas["Project"].Value.Properties, "has_webhook_secret")
			},
			path: "/api/v1/project/" + id(p.ID), want: "has_webhook_secret",
		},
		"a documented type changed": {
			drift: func(doc *openapi3.T) {
				doc.Components.Schemas["ProjectPage"].Value.Properties["per_page"].Value.Type = &openapi3.Types{"string"}
			},
			path: "/api/v1/projects", want: "per_page",
		},
		"a status is not documented": {
			drift: func(doc *openapi3.T) { doc.Paths.Value("/project/{project}").Get.Responses.Delete("404") },
			path:  "/api/v1/project/987654", want: "404",
		},
		"a route is not documented": {
			drift: func(doc *openapi3.T) { doc.Paths.Delete("/audit") },
			path:  "/api/v1/audit", want: "not in the document",
		},
	} {
		t.Run(name, func(t *testing.T) {
			doc := loadOpenAPI(t)
			tc.drift(doc)
			conf := newConformance(t, doc, n.URL)
			req, _ := http.NewRequest("GET", n.URL+tc.path, nil)
			req.Header.Set("X-API-KEY", key)
			resp, err := (&http.Client{Transport: conf}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close() // a test's read-only response
			if len(conf.failures) != 1 || !strings.Contains(conf.failures[0], tc.want) {
				t.Fatalf("failures %q, want one naming %q", conf.failures, tc.want)
			}
		})
	}
}

// postForm sends a multipart POST with fields.
func postForm(t *testing.T, hc *http.Client, url, key string, fields map[string]string) (int, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	_ = w.Close()
	req, _ := http.NewRequest("POST", url, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("X-API-KEY", key)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // a test's read-only response
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// rawOpenAPI is the document as plain JSON values, for the checks below
// that look at how it is written rather than at what it means.
func rawOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(httpapi.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// enumOf returns the string values of the enum of components.schemas[name].
func enumOf(t *testing.T, doc map[string]any, name string) []string {
	t.Helper()
	s, _ := doc["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
	if s == nil {
		t.Fatalf("components.schemas.%s is missing", name)
	}
	if s["type"] != "string" {
		t.Errorf("%s has type %v, want string", name, s["type"])
	}
	var out []string
	for _, v := range s["enum"].([]any) {
		out = append(out, v.(string))
	}
	return out
}

// TestOpenAPIErrorCodes keeps the document's ErrorCode enum exactly the
// catalogue's codes, in its order, and the error envelope pointing at it.
func TestOpenAPIErrorCodes(t *testing.T) {
	doc := rawOpenAPI(t)
	var want []string
	for _, c := range core.Codes() {
		want = append(want, c.Code)
	}
	if got := enumOf(t, doc, "ErrorCode"); !slices.Equal(got, want) {
		t.Errorf("components.schemas.ErrorCode.enum = %q,\nwant core.Codes(): %q", got, want)
	}
	errSchema := doc["components"].(map[string]any)["schemas"].(map[string]any)["Error"].(map[string]any)
	if ref := errSchema["properties"].(map[string]any)["code"].(map[string]any)["$ref"]; ref != "#/components/schemas/ErrorCode" {
		t.Errorf("Error.code is %v, want a $ref to ErrorCode", ref)
	}
	results := enumOf(t, doc, "ResultCode")
	if !slices.Contains(results, "VALID") {
		t.Errorf("ResultCode lacks VALID: %q", results)
	}
	for _, r := range results {
		if _, ok := core.LookupCode(r); !ok && r != "VALID" && r != "UNPAID" {
			t.Errorf("ResultCode %s is not in the error catalogue", r)
		}
	}
}

// generatorProblems lists what makes code generators (oapi-codegen, ogen,
// openapi-typescript) stumble: an enum or const without a type, an
// untyped object, a JSON body or response that is not a named component,
// parameter components whose Go names collide with other components, a
// named schema that is a const (ogen cannot encode a reference to one),
// paging parameters that are not integers, and operations without a
// description, a 4xx answer or (POST and PATCH with an API key) the
// Idempotency-Key header.
func generatorProblems(doc map[string]any) []string {
	var out []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			_, enum := x["enum"]
			_, konst := x["const"]
			if (enum || konst) && x["type"] == nil {
				out = append(out, path+": enum or const without type")
			}
			if x["type"] == "object" && x["properties"] == nil && x["additionalProperties"] == nil {
				out = append(out, path+": object without properties or additionalProperties")
			}
			if ts, ok := x["type"].([]any); ok && len(slices.DeleteFunc(slices.Clone(ts), func(t any) bool { return t == "null" })) > 1 {
				out = append(out, path+": several types in one schema (use oneOf)")
			}
			for k, e := range x {
				walk(path+"/"+k, e)
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprint(path, "/", i), e)
			}
		}
	}
	walk("#", doc)

	comps := doc["components"].(map[string]any)
	for name, sc := range comps["schemas"].(map[string]any) {
		if _, ok := sc.(map[string]any)["const"]; ok {
			// ogen cannot encode a $ref to a const schema.
			out = append(out, "components.schemas."+name+": const in a named schema (use a one-value enum)")
		}
	}
	goName := func(s string) string { return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s)) }
	names := map[string]string{}
	for _, kind := range []string{"schemas", "parameters", "responses", "requestBodies", "headers"} {
		m, _ := comps[kind].(map[string]any)
		for name := range m {
			if prev, dup := names[goName(name)]; dup {
				out = append(out, fmt.Sprintf("components.%s.%s: same generated name as %s", kind, name, prev))
			}
			names[goName(name)] = "components." + kind + "." + name
		}
	}
	params := comps["parameters"].(map[string]any)
	param := func(p any) map[string]any {
		m := p.(map[string]any)
		if ref, ok := m["$ref"].(string); ok {
			return params[strings.TrimPrefix(ref, "#/components/parameters/")].(map[string]any)
		}
		return m
	}
	named := func(where string, content any) {
		for ct, mt := range content.(map[string]any) {
			if !strings.Contains(ct, "json") {
				continue
			}
			if _, ok := mt.(map[string]any)["schema"].(map[string]any)["$ref"]; !ok {
				out = append(out, where+" "+ct+": inline schema, not a named component")
			}
		}
	}
	global := doc["security"]
	for path, item := range doc["paths"].(map[string]any) {
		for method, o := range item.(map[string]any) {
			op, ok := o.(map[string]any)
			if !ok || method == "servers" || method == "parameters" {
				continue
			}
			where := strings.ToUpper(method) + " " + path
			if d, _ := op["description"].(string); d == "" {
				out = append(out, where+": no description")
			}
			idem := false
			ps, _ := op["parameters"].([]any)
			for _, p := range ps {
				p := param(p)
				name, _ := p["name"].(string)
				if p["in"] == "query" && slices.Contains([]string{"per_page", "page", "limit", "days", "ttl"}, name) &&
					p["schema"].(map[string]any)["type"] != "integer" {
					out = append(out, fmt.Sprintf("%s: query parameter %v is not an integer", where, p["name"]))
				}
				idem = idem || p["name"] == "Idempotency-Key"
			}
			keyed := op["security"] == nil || fmt.Sprint(op["security"]) == fmt.Sprint(global)
			if keyed && (method == "post" || method == "patch") && !idem {
				out = append(out, where+": no Idempotency-Key parameter")
			}
			if rb, ok := op["requestBody"].(map[string]any); ok {
				named(where+" request", rb["content"])
			}
			has4xx := false
			for code, r := range op["responses"].(map[string]any) {
				has4xx = has4xx || strings.HasPrefix(code, "4")
				if c, ok := r.(map[string]any)["content"]; ok {
					named(where+" "+code, c)
				}
			}
			if !has4xx && method != "options" {
				out = append(out, where+": no 4xx response")
			}
		}
	}
	sort.Strings(out)
	return out
}

func TestOpenAPIIsGeneratorClean(t *testing.T) {
	if problems := generatorProblems(rawOpenAPI(t)); len(problems) > 0 {
		t.Errorf("openapi.json trips code generators:\n  %s", strings.Join(problems, "\n  "))
	}
}

// TestOpenAPIGeneratorCheckFails proves the check above finds each kind
// of problem it looks for.
func TestOpenAPIGeneratorCheckFails(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		spoil      func(doc map[string]any)
	}{
		{"untyped enum", "enum or const without type", func(doc map[string]any) {
			delete(schema(doc, "LicenseStatus"), "type")
		}},
		{"bare object", "object without properties", func(doc map[string]any) {
			schema(doc, "Project")["properties"].(map[string]any)["meta"] = map[string]any{"type": "object"}
		}},
		{"colliding names", "same generated name", func(doc map[string]any) {
			doc["components"].(map[string]any)["parameters"].(map[string]any)["domain"] = map[string]any{"name": "domain", "in": "query", "schema": map[string]any{"type": "string"}}
		}},
		{"inline envelope", "inline schema", func(doc map[string]any) {
			ok := operation(doc, "/project", "post")["responses"].(map[string]any)["201"].(map[string]any)
			ok["content"].(map[string]any)["application/json"] = map[string]any{"schema": schema(doc, "ProjectEnvelope")}
		}},
		{"named const", "const in a named schema", func(doc map[string]any) {
			doc["components"].(map[string]any)["schemas"].(map[string]any)["SuccessStatus"] = map[string]any{"type": "string", "const": "success"}
		}},
		{"string per_page", "not an integer", func(doc map[string]any) {
			doc["components"].(map[string]any)["parameters"].(map[string]any)["PerPageParam"].(map[string]any)["schema"] = map[string]any{"type": "string"}
		}},
		{"no description", "no description", func(doc map[string]any) {
			delete(operation(doc, "/projects", "get"), "description")
		}},
		{"no idempotency key", "no Idempotency-Key", func(doc map[string]any) {
			operation(doc, "/project", "post")["parameters"] = []any{}
		}},
		{"no 4xx", "no 4xx response", func(doc map[string]any) {
			operation(doc, "/errors", "get")["responses"] = map[string]any{"200": map[string]any{"description": "ok"}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := rawOpenAPI(t)
			tc.spoil(doc)
			got := strings.Join(generatorProblems(doc), "\n")
			if !strings.Contains(got, tc.want) {
				t.Errorf("problems = %q, want one saying %q", got, tc.want)
			}
		})
	}
}

func schema(doc map[string]any, name string) map[string]any {
	return doc["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
}

func operation(doc map[string]any, path, method string) map[string]any {
	return doc["paths"].(map[string]any)[path].(map[string]any)[method].(map[string]any)
}
