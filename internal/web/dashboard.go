package web

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/ratelimit"
	"github.com/latchkey/latchkey/internal/service"
)

// dashboard holds the handlers' shared dependencies.
type dashboard struct {
	svc       *service.Service
	validator *service.Validator
	usage     *keys.Usage
	limiter   *ratelimit.Limiter
	log       *slog.Logger
	now       func() time.Time
	pages     map[string]*template.Template
	cop       *http.CrossOriginProtection
	secure    string // SecureCookies
	publicURL string // without a trailing slash; "" when not configured
	publicTLS bool   // the public URL is https: cookies are always Secure
	reveal    Sealer
	once      *submissions // key creation's one-time form tokens
	// licenseFiles makes offline license files; nil: no download.
	licenseFiles func(ctx context.Context) (service.LicenseFileIssuer, error)

	// setupMu serialises first-run posts on this node, so two browsers
	// racing on a fresh instance cannot both become its first owner. (Nodes
	// sharing a fresh PostgreSQL database do not share it: start one node
	// first, or create the first user with "latchkey admin create-user".)
	setupMu sync.Mutex
	// setUp remembers that the instance has users; users are never
	// deleted, so once true it stays true and the count is not read again.
	setUp atomic.Bool
}

func newDashboard(deps Deps) *dashboard {
	d := &dashboard{
		svc: deps.Service, validator: deps.Validator, usage: deps.Usage, limiter: deps.Limiter,
		log: deps.Logger, now: deps.Now, secure: deps.SecureCookies, reveal: deps.Reveal, licenseFiles: deps.LicenseFiles,
	}
	if d.reveal == nil {
		d.reveal = newProcessSealer()
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.now == nil {
		d.now = time.Now
	}
	d.once = newSubmissions(d.now)
	if d.limiter == nil {
		d.limiter = ratelimit.New()
	}
	d.pages = parseTemplates(d.now)
	d.cop = http.NewCrossOriginProtection()
	if u, err := url.Parse(deps.PublicURL); err == nil && u.Scheme != "" && u.Host != "" {
		// Behind a proxy that rewrites Host, the browser's Origin is the
		// public URL's, not the Host the server sees.
		_ = d.cop.AddTrustedOrigin(u.Scheme + "://" + u.Host)
		d.publicTLS = u.Scheme == "https"
		d.publicURL = strings.TrimSuffix(deps.PublicURL, "/")
	}
	d.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.fail(w, r, errCrossOrigin)
	}))
	return d
}

var errCrossOrigin = &core.Error{Code: core.EForbidden, Reason: core.ReasonCSRF,
	Message: "This form was sent from another site, so it was refused. Reload the page and try again."}

var errBadToken = &core.Error{Code: core.EForbidden, Reason: core.ReasonCSRF,
	Message: "This form has expired or was not sent from this dashboard. Reload the page and try again."}

// handlerFunc is a page or action; a returned error becomes an error page.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// wrap turns a handlerFunc into an http.Handler: the one place errors
// become responses.
func (d *dashboard) wrap(f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r); err != nil {
			d.fail(w, r, err)
		}
	})
}

// guard adds the browser security headers and refuses cross-origin form
// posts (http.CrossOriginProtection: Sec-Fetch-Site, then Origin vs Host).
func (d *dashboard) guard(next http.Handler) http.Handler {
	protected := d.cop.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// No inline script or style anywhere, so the policy can be strict:
		// an injected <script> or style attribute does not run.
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; "+
			"base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if d.https(r) {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		protected.ServeHTTP(w, r)
	})
}

// publicError returns the error a person should see: the service speaks to
// API clients ("This API key is missing…"), the dashboard to people.
func publicError(err error, r *http.Request) (*core.Error, bool) {
	var e *core.Error
	if !errors.As(err, &e) {
		return nil, false
	}
	switch e.Reason {
	case core.ReasonProjectMismatch, core.ReasonDomainNotInProject, core.ReasonLicenseNotInProject:
		// Another organization's project, or a record of another project
		// in the path: as if it did not exist.
		return &core.Error{Code: core.ENotFound, Message: "There is no such page."}, true
	case core.ReasonMissingScope:
		role := "your role"
		if s := sessionOf(r); s != nil {
			role = "your role (" + string(s.Role) + ")"
		}
		return &core.Error{Code: core.EForbidden, Reason: e.Reason,
			Message: "You cannot do this: " + role + " does not allow it."}, true
	}
	return humanError(e, nil), true
}

// fail renders an error page. Internal errors are logged with the request
// ID and shown only as that ID.
func (d *dashboard) fail(w http.ResponseWriter, r *http.Request, err error) {
	if core.ClientGone(r.Context(), err) {
		w.WriteHeader(core.StatusClientClosed) // the browser left: no page, no error logged
		return
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = &core.Error{Code: core.ETooLarge, Message: "The form is larger than " + strconv.FormatInt(mbe.Limit>>20, 10) + " MiB."}
	}
	e, ok := publicError(err, r)
	if ok && e.Code == core.EUnavailable {
		d.log.WarnContext(r.Context(), "dashboard: database unavailable", "err", e.Err, "path", r.URL.Path,
			"request_id", core.RequestID(r.Context()))
	}
	if !ok {
		id := core.RequestID(r.Context())
		d.log.ErrorContext(r.Context(), "dashboard", "err", err, "method", r.Method, "path", r.URL.Path, "request_id", id)
		e = &core.Error{Code: core.EInternal, Message: "Something went wrong on our side (request " + id + ")."}
	}
	status := core.HTTPStatus(e.Code)
	v := &view{Title: http.StatusText(status), Data: e}
	if rerr := d.render(w, r, status, "error", v); rerr != nil {
		d.log.ErrorContext(r.Context(), "render error page", "err", rerr)
		http.Error(w, e.Message, status)
	}
}

func (d *dashboard) notFound(w http.ResponseWriter, r *http.Request) error {
	// Show the page with the sidebar when the visitor is signed in.
	if info, err := d.svc.Session(r.Context(), sessionToken(r)); err == nil {
		r = r.WithContext(withSession(r.Context(), info))
	}
	d.fail(w, r, core.Errorf(core.ENotFound, "There is no page at %s.", r.URL.Path))
	return nil
}

// redirect answers a form post or a moved page with 303 See Other, so the
// browser follows with a GET (Post/Redirect/Get).
func redirect(w http.ResponseWriter, r *http.Request, to string) error {
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// pathID reads a numeric path segment; anything else is a 404.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, core.Errorf(core.ENotFound, "There is no page at %s.", r.URL.Path)
	}
	return id, nil
}
