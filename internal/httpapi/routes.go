// Package httpapi serves the REST API under /api/v1: DevPayr's routes,
// wire-compatible, and Latchkey's native ones, with the same envelope and
// conventions.
package httpapi

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/geoip"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/metrics"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/service"
)

// Deps holds what the API needs.
type Deps struct {
	Logger       *slog.Logger
	Service      *service.Service
	Keys         *keys.Authenticator
	Usage        *keys.Usage
	Limiter      *ratelimit.Limiter
	Metrics      *metrics.Metrics
	KeyRateLimit int
	IPRateLimit  int
	MaxBodyBytes int64
	CursorKey    []byte
	CacheTTL     time.Duration
	Validator    *service.Validator
	Geo          *geoip.Resolver
	// CountryHeader names the header a trusted proxy puts the caller's
	// country in (Cloudflare's CF-IPCountry).
	CountryHeader string
	// Issuer is the iss claim of proofs and license files.
	Issuer string
	Now    func() time.Time

	// MaxKeyRateLimit caps every key's own limit, also one stored before
	// the ceiling was lowered; 0: no cap.
	MaxKeyRateLimit int
	// PublicURL, when set, makes the doc_url of error bodies absolute.
	PublicURL string
}

// api holds the handlers' shared dependencies.
type api struct {
	svc     *service.Service
	auth    *authenticator
	ip      *ipGuard
	cursors cursors
	cache   *respCache
	maxBody int64
	now     func() time.Time

	validator     *service.Validator
	geo           *geoip.Resolver
	countryHeader string
	issuer        string
	onValidation  func(code string)
}

// Register adds every API route to mux and returns their patterns (for the
// OpenAPI conformance test). This function is the map of the API surface.
func Register(mux *http.ServeMux, d Deps) []string {
	var patterns []string
	handle := func(pattern string, h http.Handler) {
		patterns = append(patterns, pattern)
		mux.Handle(pattern, h)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	a := adapter{log: d.Logger, docs: strings.TrimRight(d.PublicURL, "/") + core.DocPath}
	ip := &ipGuard{limiter: d.Limiter, limit: d.IPRateLimit, now: d.Now}
	h := &api{
		svc:     d.Service,
		cursors: cursors{key: d.CursorKey},
		cache:   newRespCache(d.Service.Caches(), d.CacheTTL, d.Now),

		validator: d.Validator, geo: d.Geo, countryHeader: d.CountryHeader, issuer: d.Issuer,
		maxBody: d.MaxBodyBytes,
		now:     d.Now,
		ip:      ip,
		auth: &authenticator{
			keys: d.Keys, usage: d.Usage, limiter: d.Limiter, ip: ip,
			keyLimit: d.KeyRateLimit, maxKeyLimit: d.MaxKeyRateLimit, now: d.Now,
		},
	}
	if d.Metrics != nil {
		h.auth.onResult = func(r string) { d.Metrics.AuthResults.WithLabelValues(r).Inc() }
		h.onValidation = func(code string) { d.Metrics.Validations.WithLabelValues(code).Inc() }
	}
	// Every route authenticated by an API key honours Idempotency-Key on
	// POST and PATCH (idempotency.go); uploads read larger bodies.
	key := func(f handlerFunc) http.Handler {
		return a.wrap(h.auth.requireKey(h.idempotent(a, d.MaxBodyBytes, cleanQuery(f))))
	}
	upload := func(f handlerFunc) http.Handler {
		return a.wrap(h.auth.requireKey(h.idempotent(a, max(d.MaxBodyBytes, maxMultipart+64<<10), cleanQuery(f))))
	}
	cachedKey := func(scope core.Scope, f handlerFunc) http.Handler { return key(h.cached(scope, f)) }

	// A malformed query string is a 400 here as on every other route.
	handle("GET /api/v1/{$}", a.wrap(cleanQuery(handleRoot())))
	handle("GET /api/v1/openapi.json", cors(a.wrap(cleanQuery(handleOpenAPI()))))
	handle("GET /api/v1/errors", cors(a.wrap(cleanQuery(handleErrorCatalogue(a)))))

	// Runtime (license key): called by customers' copies, from browsers too.
	// The license checks are throttled per client IP before any work.
	runtime := func(f handlerFunc) http.Handler { return cors(a.wrap(cleanQuery(f))) }
	// Every answer of a license check, errors and 429s included, is signed
	// when the caller opts in (issue 16; signed.go).
	check := func(f handlerFunc) http.Handler { return cors(h.signed(a, a.wrap(ip.gate(cleanQuery(f))))) }
	handle("POST /api/v1/project/has-paid", check(h.runtimeHasPaid))
	handle("OPTIONS /api/v1/project/has-paid", runtime(nil))
	handle("GET /api/v1/injectable/stream", check(h.stream))
	handle("POST /api/v1/injectable/stream", check(h.stream))
	handle("OPTIONS /api/v1/injectable/stream", runtime(nil))
	handle("POST /api/v1/licenses/validate", check(h.nativeValidate))
	handle("OPTIONS /api/v1/licenses/validate", runtime(nil))
	// Concurrent seats (issue 14): a heartbeat is a validation in seat mode.
	handle("POST /api/v1/licenses/heartbeat", check(h.heartbeat(false)))
	handle("DELETE /api/v1/licenses/heartbeat", check(h.heartbeat(true)))
	handle("OPTIONS /api/v1/licenses/heartbeat", runtime(nil))
	handle("GET /api/v1/keys/license-signing", runtime(h.signingKey))
	handle("OPTIONS /api/v1/keys/license-signing", runtime(nil))
	// The JWK Set of every key that verifies (issue 16; signing.go).
	handle("GET /.well-known/jwks.json", runtime(h.jwks))
	handle("OPTIONS /.well-known/jwks.json", runtime(nil))
	// Offline license files for the copy holding the key (issue 16;
	// license_file.go): a validation that answers with a signed file.
	handle("GET /api/v1/licenses/file", check(h.runtimeLicenseFile))
	handle("POST /api/v1/licenses/file", check(h.runtimeLicenseFile))
	handle("OPTIONS /api/v1/licenses/file", runtime(nil))

	// Payment status by API key (DevPayr 3.4).
	handle("GET /api/v1/project/{project}/has-paid", key(h.keyHasPaid))

	// Projects (DevPayr 3.1). The SDKs update with PUT, the docs say PATCH.
	handle("GET /api/v1/projects", key(h.listProjects))
	handle("POST /api/v1/project", key(h.createProject))
	handle("GET /api/v1/project/{project}", cachedKey(core.ScopeProjectsRead, h.showProject))
	handle("PUT /api/v1/project/{project}", key(h.updateProject))
	handle("PATCH /api/v1/project/{project}", key(h.updateProject))
	handle("DELETE /api/v1/project/{project}", key(h.deleteProject))
	// Organization-wide license defaults (issue 15; license_defaults.go).
	handle("GET /api/v1/organization/license-defaults", key(h.showOrgLicenseDefaults))
	handle("PUT /api/v1/organization/license-defaults", key(h.setOrgLicenseDefaults))

	// Domains (DevPayr 3.2): the SDKs mix /domain/{d} and /domains/{d};
	// every verb answers on both spellings.
	handle("GET /api/v1/project/{project}/domains", cachedKey(core.ScopeDomainsRead, h.listDomains))
	handle("POST /api/v1/project/{project}/domains", key(h.createDomain))
	for _, seg := range []string{"domain", "domains"} {
		handle("GET /api/v1/project/{project}/"+seg+"/{domain}", cachedKey(core.ScopeDomainsRead, h.showDomain))
		handle("PUT /api/v1/project/{project}/"+seg+"/{domain}", key(h.updateDomain))
		handle("PATCH /api/v1/project/{project}/"+seg+"/{domain}", key(h.updateDomain))
		handle("DELETE /api/v1/project/{project}/"+seg+"/{domain}", key(h.deleteDomain))
	}

	// Licenses (DevPayr 3.3, plus native update and suspend).
	handle("GET /api/v1/project/{project}/licenses", cachedKey(core.ScopeLicensesRead, h.listLicenses))
	handle("POST /api/v1/project/{project}/licenses", key(h.createLicense))
	handle("GET /api/v1/project/{project}/licenses/{license}", cachedKey(core.ScopeLicensesRead, h.showLicense))
	handle("PATCH /api/v1/project/{project}/licenses/{license}", key(h.updateLicense))
	handle("PUT /api/v1/project/{project}/licenses/{license}", key(h.updateLicense))
	handle("DELETE /api/v1/project/{project}/licenses/{license}", key(h.deleteLicense))
	handle("POST /api/v1/project/{project}/licenses/{license}/revoke", key(h.licenseTransition(h.svc.RevokeLicense, "License revoked successfully.")))
	handle("POST /api/v1/project/{project}/licenses/{license}/suspend", key(h.licenseTransition(h.svc.SuspendLicense, "License suspended successfully.")))
	handle("POST /api/v1/project/{project}/licenses/{license}/reactivate", key(h.licenseTransition(h.svc.ReactivateLicense, "License reactivated successfully.")))

	// Bulk actions by filter (issue 14).
	handle("POST /api/v1/project/{project}/licenses/bulk", key(h.bulkLicenses))
	handle("POST /api/v1/api-keys/bulk", key(h.bulkKeys))
	// Licenses across projects, and renewal (issue 14). The cross-project
	// list is not in the response cache: it depends on every project.
	handle("GET /api/v1/licenses", key(h.listAllLicenses))
	handle("POST /api/v1/project/{project}/licenses/{license}/renew", key(h.renewLicense))
	// Concurrent seats of a license (issue 14): never cached, heartbeats
	// change them without a change notification.
	handle("GET /api/v1/project/{project}/licenses/{license}/seats", key(h.listSeats))
	handle("DELETE /api/v1/project/{project}/licenses/{license}/seats/{seat}", key(h.deleteSeat))
	// Activations of a license (issue 14).
	handle("GET /api/v1/project/{project}/licenses/{license}/activations", key(h.listActivations))
	handle("DELETE /api/v1/project/{project}/licenses/{license}/activations/{activation}", key(h.deleteActivation))
	// Offline license file checkout by API key (issue 16; license_file.go).
	handle("GET /api/v1/project/{project}/licenses/{license}/file", key(h.licenseFile))

	// Injectables (DevPayr 3.5): JSON or multipart.
	handle("GET /api/v1/project/{project}/injectables", key(h.listInjectables))
	handle("POST /api/v1/project/{project}/injectables", upload(h.createInjectable))
	handle("GET /api/v1/project/{project}/injectables/{injectable}", key(h.showInjectable))
	handle("PUT /api/v1/project/{project}/injectables/{injectable}", upload(h.updateInjectable))
	handle("PATCH /api/v1/project/{project}/injectables/{injectable}", upload(h.updateInjectable))
	handle("POST /api/v1/project/{project}/injectables/{injectable}", upload(h.updateInjectable))
	handle("DELETE /api/v1/project/{project}/injectables/{injectable}", key(h.deleteInjectable))

	// API keys (native).
	handle("POST /api/v1/api-keys", key(h.createKey))
	handle("GET /api/v1/api-keys", key(h.listKeys))
	handle("GET /api/v1/api-keys/{id}", key(h.showKey))
	handle("PATCH /api/v1/api-keys/{id}", key(h.updateKey))
	handle("DELETE /api/v1/api-keys/{id}", key(h.revokeKey))
	handle("POST /api/v1/api-keys/{id}/revoke", key(h.revokeKey))
	handle("POST /api/v1/api-keys/{id}/rotate", key(h.rotateKey))
	handle("GET /api/v1/api-keys/{id}/usage", key(h.keyUsage))

	// The organization's plan, policy and usage (issue 15).
	handle("GET /api/v1/organization", key(h.showOrganization))
	handle("PUT /api/v1/organization/policy", key(h.setPolicy))
	// Organization rename (issue 19; deletion is the dashboard's only).
	handle("PATCH /api/v1/organization", key(h.renameOrganization))

	// Runtime answers by result code (issue 19; usage.go): the
	// organization's, a project's, a license's.
	handle("GET /api/v1/usage", key(h.usage("organization")))
	handle("GET /api/v1/project/{project}/usage", key(h.usage("project")))
	handle("GET /api/v1/project/{project}/licenses/{license}/usage", key(h.usage("license")))

	// Audit log (native).
	handle("GET /api/v1/audit", key(h.listAudit))

	// Webhooks: endpoints, their deliveries, and the events (issue 13).
	handle("POST /api/v1/webhook-endpoints", key(h.createEndpoint))
	handle("GET /api/v1/webhook-endpoints", key(h.listEndpoints))
	handle("GET /api/v1/webhook-endpoints/{id}", key(h.showEndpoint))
	handle("PATCH /api/v1/webhook-endpoints/{id}", key(h.updateEndpoint))
	handle("DELETE /api/v1/webhook-endpoints/{id}", key(h.deleteEndpoint))
	handle("POST /api/v1/webhook-endpoints/{id}/rotate-secret", key(h.rotateEndpointSecret))
	handle("POST /api/v1/webhook-endpoints/{id}/test", key(h.testEndpoint))
	handle("GET /api/v1/webhook-endpoints/{id}/deliveries", key(h.listDeliveries))
	handle("GET /api/v1/webhook-endpoints/{id}/deliveries/{delivery}", key(h.showDelivery))
	handle("POST /api/v1/webhook-endpoints/{id}/deliveries/{delivery}/retry", key(h.retryDelivery))
	handle("GET /api/v1/events", key(h.listEvents))
	handle("GET /api/v1/events/{id}", key(h.showEvent))

	handle("/api/", a.wrap(handleUnknownRoute()))
	// Some DevPayr docs show https://api.devpayr.com/v1/…: serve /v1/* as
	// /api/v1/*.
	mux.Handle("/v1/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/api" + r.URL.Path
		r2.URL.RawPath = ""
		mux.ServeHTTP(w, r2)
	}))
	return patterns
}
