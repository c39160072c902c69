package httpapi

import (
	"context"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/view"
)

// Offline license files (issue 16; docs/license-files.md): a vendor's
// backend checks one out by API key, or a copy holding the license key
// fetches its own from the runtime route.

// licenseFileJSON is the answer to a client that asked for JSON.
type licenseFileJSON struct {
	File      string `json:"file"`
	ExpiresAt string `json:"expires_at"`
	KeyID     string `json:"kid"`
	Encrypted bool   `json:"encrypted"`
}

// fileLicense is the "license" claim of a file: what a copy shows or
// enforces offline. Never the key. The customer's name and e-mail are
// included: the file is the customer's own and "licensed to" is what
// license files are read for.
type fileLicense struct {
	ID            int64   `json:"id"`
	ProjectID     int64   `json:"project_id"`
	ProjectName   string  `json:"project_name"`
	Title         string  `json:"title"`
	Status        string  `json:"status"`
	ExpiresAt     *string `json:"expires_at"`
	IsTestLicense bool    `json:"is_test_license"`
	CustomerName  *string `json:"customer_name,omitempty"`
	CustomerEmail *string `json:"customer_email,omitempty"`
	ExternalID    *string `json:"external_id,omitempty"`
	CreatedAt     string  `json:"created_at"`
}

// issuer returns the function that makes a license file, with the active
// signing key read once before the checkout's transaction.
func (h *api) licenseFileIssuer(ctx context.Context) (service.LicenseFileIssuer, error) {
	signer, err := h.svc.Signer(ctx)
	if err != nil {
		return nil, err
	}
	return func(l *core.License, p *core.Project, key string, in service.LicenseFileInput) (*service.IssuedLicenseFile, error) {
		now := h.now()
		c := h.claims(now, l, in.Identifier, licensing.CodeValid)
		c.ExpiresAt = licensing.Bound(now, in.Lifetime(), l.ExpiresAt).Unix()
		c.License = fileLicense{ID: l.ID, ProjectID: l.ProjectID, ProjectName: p.Name, Title: l.Title, Status: l.Status,
			ExpiresAt: view.Time(l.ExpiresAt), IsTestLicense: l.IsTestLicense, CustomerName: l.CustomerName,
			CustomerEmail: l.CustomerEmail, ExternalID: l.ExternalID, CreatedAt: view.TimeV(l.CreatedAt)}
		token, err := signer.SignJWS(licensing.TypeLicenseFile, c)
		if err != nil {
			return nil, err
		}
		if p.LicenseFileEncryption {
			if token, err = licensing.EncryptFile(token, key); err != nil {
				return nil, err
			}
		}
		return &service.IssuedLicenseFile{File: licensing.Armor(token), ID: c.ID, KID: signer.KID,
			ExpiresAt: time.Unix(c.ExpiresAt, 0), Encrypted: p.LicenseFileEncryption}, nil
	}, nil
}

// fileTTL reads the ttl parameter (seconds) into in.
func fileTTL(in *service.LicenseFileInput, raw string, sent bool) {
	if !sent {
		return
	}
	n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
	switch {
	case err != nil:
		in.Problems.Add("ttl", "The ttl field must be an integer.")
	case n == 0:
		in.Problems.Add("ttl", service.LicenseFileTTLRange)
	default:
		in.TTL = n
	}
}

// wantsJSON reports whether the client asked for the JSON envelope rather
// than the file itself.
func wantsJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "application/json" {
			return true
		}
	}
	return false
}

// writeLicenseFile answers with the file: application/x-pem-file as an
// attachment, or the JSON envelope for Accept: application/json.
func writeLicenseFile(w http.ResponseWriter, r *http.Request, licenseID int64, f *service.IssuedLicenseFile) error {
	if wantsJSON(r) {
		return ok(w, http.StatusOK, "", licenseFileJSON{File: f.File, ExpiresAt: view.TimeV(f.ExpiresAt), KeyID: f.KID,
			Encrypted: f.Encrypted})
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/x-pem-file")
	hd.Set("Content-Disposition", `attachment; filename="license-`+strconv.FormatInt(licenseID, 10)+`.lic"`)
	hd.Set("Content-Length", strconv.Itoa(len(f.File)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(f.File))
	return nil
}

// licenseFile is GET /project/{project}/licenses/{license}/file: a
// checkout by API key (licenses:write).
func (h *api) licenseFile(w http.ResponseWriter, r *http.Request) error {
	pid, err := pathID(r, "project", "Project")
	if err != nil {
		return err
	}
	lid, err := pathID(r, "license", "License")
	if err != nil {
		return err
	}
	q := query(r)
	in := service.LicenseFileInput{Identifier: strings.TrimSpace(q.Get("identifier")), Problems: core.Problems{}}
	fileTTL(&in, q.Get("ttl"), q.Has("ttl"))
	issue, err := h.licenseFileIssuer(r.Context())
	if err != nil {
		return err
	}
	f, err := h.svc.CheckoutLicenseFile(r.Context(), actorFrom(r), pid, lid, in, issue)
	if err != nil {
		return err
	}
	return writeLicenseFile(w, r, lid, f)
}

// runtimeLicenseFile is GET|POST /licenses/file: the copy holding the
// license key fetches its own file. It is a validation (counted as one);
// only VALID gets a file, every other outcome is refused with the status
// the runtime routes give it and the validation's code.
func (h *api) runtimeLicenseFile(w http.ResponseWriter, r *http.Request) error {
	rr, err := h.readRuntime(w, r)
	if err != nil {
		return err
	}
	b := rr.body
	q := query(r)
	in := service.LicenseFileInput{Problems: b.problems()}
	if b.has("ttl") {
		if n, sent := b.integer("ttl"); sent {
			fileTTL(&in, strconv.FormatInt(n, 10), true)
		}
	} else {
		fileTTL(&in, q.Get("ttl"), q.Has("ttl"))
	}
	projectID, _ := b.integer("project_id")
	if rr.key == "" {
		in.Problems.Add("license", "The license field is required: send the key in X-LICENSE-KEY or as license.")
	}
	// Refused before the validation: a bad request counts no use.
	if err := service.CheckLicenseFileInput(&in).Err(); err != nil {
		return err
	}
	res, err := h.validate(r, rr, projectID, true)
	if err != nil {
		return err
	}
	if res.RateLimit.Limit > 0 && res.Code != licensing.CodeRateLimited {
		setLimitHeaders(w, res.RateLimit)
	}
	if !res.Valid() {
		if err := h.runtimeError(w, r, res); err != nil {
			return err
		}
		// UNPAID, which the payment routes answer 200: no file either.
		return &core.Error{Code: core.EForbidden, Reason: res.Code, Message: licensing.Messages[res.Code]}
	}
	in.Identifier = res.Identifier
	issue, err := h.licenseFileIssuer(r.Context())
	if err != nil {
		return err
	}
	f, err := h.svc.RuntimeCheckout(r.Context(), res, rr.key, r.Header.Get("User-Agent"), in, issue)
	if err != nil {
		return err
	}
	return writeLicenseFile(w, r, res.License.ID, f)
}

// LicenseFileIssuer returns what makes license files for callers outside
// the API (the dashboard's download, which may not import this package's
// internals): the same files, claims and signing key the routes use.
func LicenseFileIssuer(svc *service.Service, issuer string, now func() time.Time) func(ctx context.Context) (service.LicenseFileIssuer, error) {
	if now == nil {
		now = time.Now
	}
	h := &api{svc: svc, issuer: issuer, now: now}
	return h.licenseFileIssuer
}
