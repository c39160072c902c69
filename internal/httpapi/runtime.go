package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/view"
)

// corsHeaders are what DevPayr's browser SDK sends from customer pages.
const corsHeaders = "X-LICENSE-KEY, X-Devpayr-Domain, X-Requested-With, Content-Type, Accept, Authorization, X-API-KEY"

// cors lets any origin call the runtime routes: they are called from
// customers' web pages, and they need no credential but the license key
// the page itself holds. Preflights are answered here; other responses get
// the allow-origin header.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Access-Control-Allow-Origin"] = hdrAnyOrigin
		h["Access-Control-Expose-Headers"] = hdrExposeLimit
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
			// The signed-response opt-in's two headers (signed.go) are
			// allowed too: a preflight cannot know whether they will come.
			h.Set("Access-Control-Allow-Headers", corsHeaders+", "+SignatureRequestHeader+", "+NonceHeader)
			h.Set("Access-Control-Max-Age", "86400")
			h.Add("Vary", "Origin")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// runtimeRequest reads what every runtime route takes: the license key
// (X-LICENSE-KEY header, then "license" in the body, then in the query),
// the runtime identifier (X-Devpayr-Domain, then "domain"), and DevPayr's
// switches, which are read from the query string even on POST.
type runtimeRequest struct {
	key          string
	identifier   string
	checkProject bool
	injectables  bool
	body         *body
	seat         *seatRequest // a heartbeat (seats.go)
}

func (h *api) readRuntime(w http.ResponseWriter, r *http.Request) (*runtimeRequest, error) {
	b, err := readBody(w, r, h.maxBody)
	if err != nil {
		return nil, err
	}
	q := runtimeQuery(r)
	rr := &runtimeRequest{body: b}
	rr.key = strings.TrimSpace(r.Header.Get("X-License-Key"))
	if rr.key == "" {
		rr.key, _ = b.str("license")
	}
	if rr.key == "" {
		rr.key = q.Get("license")
	}
	rr.identifier = r.Header.Get("X-Devpayr-Domain")
	if rr.identifier == "" {
		rr.identifier, _ = b.str("domain")
	}
	if rr.identifier == "" {
		rr.identifier = q.Get("domain")
	}
	// The body and the query were checked already; the headers were not.
	if !core.ValidText(rr.key) {
		return nil, core.InvalidText("license")
	}
	if !core.ValidText(rr.identifier) {
		return nil, core.InvalidText("domain")
	}
	rr.checkProject = q.Get("action") == "check_project"
	rr.injectables = q.Get("include") == "injectables"
	delete(b.p, "license") // a malformed optional field is not an error here
	delete(b.p, "domain")
	return rr, nil
}

// validateInput is the engine's input for a runtime request.
func (h *api) validateInput(r *http.Request, rr *runtimeRequest, projectID int64, count bool) service.ValidateInput {
	ip := core.ClientIP(r.Context())
	country := ""
	if h.geo != nil {
		country, _ = h.geo.Country(ip, r.Header.Get(h.countryHeader), core.ViaTrustedProxy(r.Context()))
	}
	return service.ValidateInput{Key: rr.key, Identifier: rr.identifier, IP: ip, Country: country, CheckProject: rr.checkProject,
		ProjectID: projectID, Count: count, UserAgent: r.Header.Get("User-Agent")}
}

// validate runs the engine for a runtime request.
func (h *api) validate(r *http.Request, rr *runtimeRequest, projectID int64, count bool) (*service.ValidateResult, error) {
	res, err := h.engine(r.Context(), rr, h.validateInput(r, rr, projectID, count))
	if err != nil {
		return nil, err
	}
	if h.onValidation != nil {
		h.onValidation(res.Code)
	}
	h.throttleUnknown(r, res)
	return res, nil
}

// throttleUnknown counts an unknown or missing key against the client IP.
func (h *api) throttleUnknown(r *http.Request, res *service.ValidateResult) {
	// An unknown or missing key counts against the client IP, so that
	// guessing license keys is throttled like guessing API keys; past the
	// budget the answer is a rate limit (and ipGuard.gate refuses the
	// address's next requests before any work).
	if res.Code == licensing.CodeNotFound || res.Code == licensing.CodeKeyMissing {
		if lim, ok := h.ip.fail(r); !ok {
			res.Code, res.RateLimit = licensing.CodeRateLimited, lim
		}
	}
}

// runtimeError maps a failed validation to DevPayr's status codes; every
// body carries a message. It returns nil for VALID and UNPAID, which are
// answered 200 with has_paid.
func (h *api) runtimeError(w http.ResponseWriter, r *http.Request, res *service.ValidateResult) error {
	code := res.Code
	if code == licensing.CodeValid || code == licensing.CodeUnpaid {
		return nil // before the error value: the common answer allocates nothing here
	}
	e := &core.Error{Reason: code, Message: licensing.Messages[code]}
	switch code {
	case licensing.CodeKeyMissing:
		e.Code = core.EUnauthorized
	case licensing.CodeNotFound:
		e.Code = core.ENotFound
	case licensing.CodeDomainRequired:
		e.Code = core.EBadRequest
	case licensing.CodeUsageExceeded:
		e.Code = core.ERateLimited
		now := h.now().UTC()
		midnight := now.Truncate(24 * time.Hour).Add(24 * time.Hour)
		w.Header().Set("Retry-After", strconv.Itoa(int(midnight.Sub(now)/time.Second)+1))
	case licensing.CodeRateLimited:
		e.Code = core.ERateLimited
		return limited(w, res.RateLimit, h.now())
	default:
		e.Code = core.EForbidden
	}
	return e
}

// deliveryJSON is an injectable as delivered to a validated copy: DevPayr's
// field names plus the aliases the Node SDK reads (name, path, content).
type deliveryJSON struct {
	Slug             string          `json:"slug"`
	Name             string          `json:"name"`
	Type             string          `json:"type"`
	Mode             string          `json:"mode"`
	EncryptedContent string          `json:"encrypted_content"`
	Content          string          `json:"content"`
	FilePath         *string         `json:"file_path"`
	TargetPath       string          `json:"target_path"`
	Path             string          `json:"path"`
	Signature        string          `json:"signature"`
	ContentHash      string          `json:"content_hash"`
	Meta             json.RawMessage `json:"meta"`
}

func deliveryView(i *core.Injectable) deliveryJSON {
	meta := i.Meta
	if len(meta) == 0 {
		meta = json.RawMessage("{}")
	}
	return deliveryJSON{Slug: i.Slug, Name: i.Slug, Type: i.Type, Mode: i.Mode, EncryptedContent: i.EncryptedContent,
		Content: i.EncryptedContent, FilePath: i.FilePath, TargetPath: i.TargetPath, Path: i.TargetPath,
		Signature: i.Signature, ContentHash: i.ContentHash, Meta: meta}
}

func (h *api) deliveries(r *http.Request, projectID int64, paid bool) ([]deliveryJSON, error) {
	list, err := h.validator.Injectables(r.Context(), projectID, paid)
	if err != nil {
		return nil, err
	}
	out := make([]deliveryJSON, len(list))
	for i := range list {
		out[i] = deliveryView(&list[i])
	}
	return out, nil
}

// hasPaidData is the data of DevPayr's payment answers.
type hasPaidData struct {
	HasPaid     bool           `json:"has_paid"`
	Code        string         `json:"code,omitempty"`
	Injectables []deliveryJSON `json:"injectables,omitempty"`
}

// runtimeHasPaid is POST /project/has-paid: the runtime validation the
// SDKs call at start-up.
func (h *api) runtimeHasPaid(w http.ResponseWriter, r *http.Request) error {
	rr, err := h.readRuntime(w, r)
	if err != nil {
		return err
	}
	res, err := h.validate(r, rr, 0, true)
	if err != nil {
		return err
	}
	if err := h.runtimeError(w, r, res); err != nil {
		return err
	}
	if res.RateLimit.Limit > 0 {
		setLimitHeaders(w, res.RateLimit)
	}
	data := hasPaidData{HasPaid: res.HasPaid, Code: res.Code}
	if rr.injectables && res.HasPaid {
		if data.Injectables, err = h.deliveries(r, res.License.ProjectID, true); err != nil {
			return err
		}
		if data.Injectables == nil {
			data.Injectables = []deliveryJSON{}
		}
	}
	return okHasPaid(w, data)
}

// keyHasPaid is GET /project/{project}/has-paid: the payment status for a
// vendor's backend, by API key.
func (h *api) keyHasPaid(w http.ResponseWriter, r *http.Request) error {
	pid, err := pathID(r, "project", "Project")
	if err != nil {
		return err
	}
	q := query(r)
	domain := r.Header.Get("X-Devpayr-Domain")
	if !core.ValidText(domain) {
		return core.InvalidText("domain")
	}
	include := q.Get("include") == "injectables"
	paid, p, err := h.svc.PaymentStatus(r.Context(), actorFrom(r), pid, domain, q.Get("action") == "check_project", include)
	if err != nil {
		return err
	}
	data := hasPaidData{HasPaid: paid}
	if include && paid {
		if data.Injectables, err = h.deliveries(r, p.ID, true); err != nil {
			return err
		}
		if data.Injectables == nil {
			data.Injectables = []deliveryJSON{}
		}
	}
	return ok(w, http.StatusOK, "", data)
}

// licenseSummary is what the native validation shows of a license: never
// its key.
type licenseSummary struct {
	ID                     int64   `json:"id"`
	ProjectID              int64   `json:"project_id"`
	Title                  string  `json:"title"`
	Status                 string  `json:"status"`
	ExpiresAt              *string `json:"expires_at"`
	IsTestLicense          bool    `json:"is_test_license"`
	DomainID               *int64  `json:"domain_id"`
	MaxDomains             *int64  `json:"max_domains"`
	MaxSubdomainsPerDomain *int64  `json:"max_subdomains_per_domain"`
	MaxUsagePerDay         *int64  `json:"max_usage_per_day"`
}

type validationJSON struct {
	Valid       bool            `json:"valid"`
	Code        string          `json:"code"`
	Message     string          `json:"message"`
	HasPaid     bool            `json:"has_paid"`
	Domain      string          `json:"domain,omitempty"`
	License     *licenseSummary `json:"license"`
	Usage       *usageJSON      `json:"usage,omitempty"`
	Injectables []deliveryJSON  `json:"injectables,omitempty"`
	Proof       *proofJSON      `json:"proof,omitempty"`
	Seat        seatField       `json:"seat,omitzero"`
	// Checks is every rule's verdict, with "explain": true.
	Checks *[]licensing.Check `json:"checks,omitempty"`
}

type usageJSON struct {
	Today int64 `json:"today"`
	Limit int64 `json:"limit"`
}

type proofJSON struct {
	Token     string `json:"token"`
	ExpiresAt string `json:"expires_at"`
	KeyID     string `json:"kid"`
}

// MaxProofTTL bounds how long an offline proof may be trusted.
const MaxProofTTL = 30 * 24 * time.Hour

// nativeValidate is POST /licenses/validate: the same engine with a
// machine-readable answer. Every outcome is 200 with valid and code,
// except a request without a key (422) and rate limits (429).
func (h *api) nativeValidate(w http.ResponseWriter, r *http.Request) error {
	rr, err := h.readRuntime(w, r)
	if err != nil {
		return err
	}
	b := rr.body
	if v, sent := b.boolean("check_project"); sent {
		rr.checkProject = v
	}
	if v, sent := b.boolean("include_injectables"); sent {
		rr.injectables = v
	}
	wantProof, _ := b.boolean("proof")
	explain, _ := b.boolean("explain")
	ttl := 24 * time.Hour
	if n, sent := b.integer("proof_ttl"); sent {
		// Compared in seconds: converted first, 9223372037 s and more
		// overflowed time.Duration into a proof already expired.
		if n < 60 || n > int64(MaxProofTTL/time.Second) {
			b.problems().Add("proof_ttl", "The proof ttl field must be between 60 and 2592000 seconds.")
		} else {
			ttl = time.Duration(n) * time.Second
		}
	}
	projectID, _ := b.integer("project_id")
	readSeat(r, rr)
	if rr.key == "" {
		b.problems().Add("license", "The license field is required: send the key in X-LICENSE-KEY or as license.")
	}
	if err := b.err(); err != nil {
		return err
	}
	var res *service.ValidateResult
	var checks []licensing.Check
	if explain {
		// Nothing counted or recorded: the validator only reads.
		var seat *string
		if rr.seat != nil && !rr.seat.release {
			seat = &rr.seat.instance
		}
		res, checks, err = h.validator.Explain(r.Context(), h.validateInput(r, rr, projectID, true), seat)
		if err == nil {
			h.throttleUnknown(r, res)
		}
	} else {
		res, err = h.validate(r, rr, projectID, true)
	}
	if err != nil {
		return err
	}
	if res.Code == licensing.CodeRateLimited {
		return limited(w, res.RateLimit, h.now())
	}
	if res.RateLimit.Limit > 0 {
		setLimitHeaders(w, res.RateLimit)
	}
	out := validationJSON{Valid: res.Valid(), Code: res.Code, Message: licensing.Messages[res.Code], HasPaid: res.HasPaid, Domain: res.Identifier}
	out.Seat = seatAnswer(rr)
	if l := res.License; l != nil && res.Code != licensing.CodeProjectMismatch {
		out.License = &licenseSummary{ID: l.ID, ProjectID: l.ProjectID, Title: l.Title, Status: l.Status, ExpiresAt: view.Time(l.ExpiresAt),
			IsTestLicense: l.IsTestLicense, DomainID: view.OptID(l.DomainID), MaxDomains: l.MaxDomains,
			MaxSubdomainsPerDomain: l.MaxSubdomainsPerDomain, MaxUsagePerDay: l.MaxUsagePerDay}
		if res.Cap > 0 {
			out.Usage = &usageJSON{Today: res.UsedToday, Limit: res.Cap}
		}
	}
	if explain {
		// An explanation validated nothing: no injectables, no proof.
		if checks == nil {
			checks = []licensing.Check{}
		}
		out.Checks = &checks
		return ok(w, http.StatusOK, out.Message, out)
	}
	if res.Valid() {
		if rr.injectables {
			if out.Injectables, err = h.deliveries(r, res.License.ProjectID, true); err != nil {
				return err
			}
		}
		if wantProof {
			if out.Proof, err = h.proof(r.Context(), res, ttl); err != nil {
				return err
			}
		}
	}
	return okValidation(w, out.Message, &out)
}

// stream is GET|POST /injectable/stream: the active injectables of the
// license's project, after the runtime checks; only_if_paid items only when
// paid. It checks but does not count a use: the copy was counted when it
// called has-paid.
func (h *api) stream(w http.ResponseWriter, r *http.Request) error {
	rr, err := h.readRuntime(w, r)
	if err != nil {
		return err
	}
	res, err := h.validate(r, rr, 0, false)
	if err != nil {
		return err
	}
	if err := h.runtimeError(w, r, res); err != nil {
		return err
	}
	list, err := h.validator.Injectables(r.Context(), res.License.ProjectID, res.HasPaid)
	if err != nil {
		return err
	}
	lid := "stream/" + strconv.FormatInt(res.License.ProjectID, 10)
	after, err := h.cursors.decode(lid, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	n := perPage(r, 50, 50)
	items := make([]deliveryJSON, 0, n)
	var next *string
	var last int64
	for i := range list {
		if list[i].ID <= after {
			continue
		}
		if len(items) == n {
			c := h.cursors.encode(lid, last)
			next = &c
			break
		}
		items = append(items, deliveryView(&list[i]))
		last = list[i].ID
	}
	return ok(w, http.StatusOK, "", map[string]any{"injectables": items, "next_cursor": next, "has_more": next != nil})
}
