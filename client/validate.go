package client

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Validation result codes (Validation.Code, and Error.Code of DevPayr's
// has-paid route).
const (
	CodeValid               = "VALID"
	CodeUnpaid              = "UNPAID"
	CodeKeyMissing          = "KEY_MISSING"
	CodeNotFound            = "NOT_FOUND"
	CodeProjectMismatch     = "PROJECT_MISMATCH"
	CodeRateLimited         = "RATE_LIMITED"
	CodeProjectInactive     = "PROJECT_INACTIVE"
	CodeRevoked             = "REVOKED"
	CodeSuspended           = "SUSPENDED"
	CodeExpired             = "EXPIRED"
	CodeDomainRequired      = "DOMAIN_REQUIRED"
	CodeDomainNotAllowed    = "DOMAIN_NOT_ALLOWED"
	CodeTooManyDomains      = "TOO_MANY_DOMAINS"
	CodeTooManySubdomains   = "TOO_MANY_SUBDOMAINS"
	CodeTooManyActivations  = "TOO_MANY_ACTIVATIONS"
	CodeEnvironmentMismatch = "ENVIRONMENT_MISMATCH"
	CodeIPNotAllowed        = "IP_NOT_ALLOWED"
	CodeCountryNotAllowed   = "COUNTRY_NOT_ALLOWED"
	CodeUsageExceeded       = "USAGE_EXCEEDED"
)

// ValidateRequest is the body of Validate.License.
type ValidateRequest struct {
	// License is the license key (its UUID). Required.
	License string
	// Domain is the runtime identifier: the host the copy runs on, or a
	// fingerprint.
	Domain string
	// ProjectID, when set, refuses a license of another project
	// (PROJECT_MISMATCH).
	ProjectID int64
	// CheckProject asks for the project's payment status rather than the
	// domain's.
	CheckProject bool
	// IncludeInjectables adds the project's injectables to a valid answer.
	IncludeInjectables bool
	// Proof asks for a signed offline proof (valid answers only), trusted
	// for ProofTTL (60 s to 30 days; 0 means the server's 24 hours).
	Proof    bool
	ProofTTL time.Duration
	// Explain evaluates every rule and returns them in Validation.Checks,
	// counting nothing and recording nothing (no use, no activation); the
	// answer carries no injectables and no proof.
	Explain bool
}

// Check is one rule's verdict in an explanation: Code is CodeValid when it
// passed, otherwise the result code a validation stopped by it answers.
type Check struct {
	Rule   string `json:"rule"`
	Code   string `json:"code"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail"`
}

// Validation is the native validation's answer. Valid is false for every
// code but VALID; the call itself succeeds.
type Validation struct {
	Valid       bool            `json:"valid"`
	Code        string          `json:"code"`
	Message     string          `json:"message"`
	HasPaid     bool            `json:"has_paid"`
	Domain      string          `json:"domain"`
	License     *LicenseSummary `json:"license"`
	Usage       *Usage          `json:"usage"`
	Injectables []Delivery      `json:"injectables"`
	Proof       *ProofToken     `json:"proof"`
	// Checks holds every rule's verdict, in order, when Explain was set.
	Checks []Check `json:"checks"`
}

// LicenseSummary is what a validation shows of the license (never its
// key).
type LicenseSummary struct {
	ID                     int64      `json:"id"`
	ProjectID              int64      `json:"project_id"`
	Title                  string     `json:"title"`
	Status                 string     `json:"status"`
	ExpiresAt              *time.Time `json:"expires_at"`
	IsTestLicense          bool       `json:"is_test_license"`
	DomainID               *int64     `json:"domain_id"`
	MaxDomains             *int64     `json:"max_domains"`
	MaxSubdomainsPerDomain *int64     `json:"max_subdomains_per_domain"`
	MaxUsagePerDay         *int64     `json:"max_usage_per_day"`
}

// Usage is a capped license's passing validations today.
type Usage struct {
	Today int64 `json:"today"`
	Limit int64 `json:"limit"`
}

// ProofToken is a signed offline proof; verify it with VerifyProof.
type ProofToken struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	KeyID     string    `json:"kid"`
}

// PaymentStatus is DevPayr's payment answer.
type PaymentStatus struct {
	HasPaid bool `json:"has_paid"`
	// Code is VALID or UNPAID on the runtime route; empty on the API-key
	// route.
	Code string `json:"code"`
	// Injectables are present when asked for and paid.
	Injectables []Delivery `json:"injectables"`
}

// SigningKey is the server's public key for offline proofs.
type SigningKey struct {
	Alg       string
	KeyID     string
	PublicKey ed25519.PublicKey
	// PEM is the key as a PEM SubjectPublicKeyInfo block.
	PEM string
}

// ValidateService validates licenses as customers' copies do, with the
// license key alone (the client's API key is not sent), and verifies
// offline proofs.
type ValidateService struct {
	c *Client
}

// License runs the native validation (POST /licenses/validate). Every
// verdict is a *Validation with Valid and Code; an error means the request
// itself failed (rate limited, no key, network).
func (s *ValidateService) License(ctx context.Context, in ValidateRequest, opts ...CallOption) (*Validation, error) {
	h, err := RuntimeRequest{License: in.License, Domain: in.Domain}.header()
	if err != nil {
		return nil, err
	}
	body := map[string]any{}
	if in.Domain != "" {
		body["domain"] = in.Domain
	}
	if in.ProjectID != 0 {
		body["project_id"] = in.ProjectID
	}
	if in.CheckProject {
		body["check_project"] = true
	}
	if in.IncludeInjectables {
		body["include_injectables"] = true
	}
	if in.Proof {
		body["proof"] = true
		if in.ProofTTL > 0 {
			body["proof_ttl"] = int64(math.Ceil(in.ProofTTL.Seconds()))
		}
	}
	if in.Explain {
		body["explain"] = true
	}
	var v Validation
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodPost, path: "licenses/validate", body: body, header: h, noAuth: true, signed: true}, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// HasPaid runs DevPayr's runtime check (POST /project/has-paid), the one
// DevPayr's SDKs call at start-up. VALID and UNPAID answer a
// *PaymentStatus; every other verdict is an *Error whose Code names it
// (REVOKED, DOMAIN_NOT_ALLOWED…). It counts a use of the license.
func (s *ValidateService) HasPaid(ctx context.Context, rr RuntimeRequest, includeInjectables bool, opts ...CallOption) (*PaymentStatus, error) {
	h, err := rr.header()
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if rr.CheckProject {
		q.Set("action", "check_project")
	}
	if includeInjectables {
		q.Set("include", "injectables")
	}
	var ps PaymentStatus
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodPost, path: "project/has-paid", query: q, header: h, noAuth: true, signed: true}, &ps); err != nil {
		return nil, err
	}
	return &ps, nil
}

// SigningKey fetches the server's public key for offline proofs. Ship it
// inside your application and call VerifyProof, which needs no network.
func (s *ValidateService) SigningKey(ctx context.Context, opts ...CallOption) (*SigningKey, error) {
	var out struct {
		Alg       string `json:"alg"`
		KeyID     string `json:"kid"`
		PublicKey string `json:"public_key"`
		PEM       string `json:"pem"`
	}
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodGet, path: "keys/license-signing", noAuth: true}, &out); err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(out.PublicKey)
	if err != nil || len(raw) != ed25519.PublicKeySize || out.Alg != "Ed25519" {
		return nil, fmt.Errorf("latchkey: the server's signing key is not an Ed25519 public key")
	}
	pub := ed25519.PublicKey(raw)
	if KeyID(pub) != out.KeyID {
		return nil, fmt.Errorf("latchkey: the server's signing key does not match its kid %q", out.KeyID)
	}
	return &SigningKey{Alg: out.Alg, KeyID: out.KeyID, PublicKey: pub, PEM: out.PEM}, nil
}

// VerifyProof verifies an offline proof against the server's JWK Set
// (Client.KeySet: fetched, cached, and fetched again when a proof names a
// key rotated in since), with DefaultSkew and no claim checks: the caller
// still checks that ProjectID and Domain are its own, or uses a Verifier
// with ProjectID and Identifier set. Applications that must work offline
// ship the JWK Set (ParseKeySet) and use a Verifier instead.
func (s *ValidateService) VerifyProof(ctx context.Context, token string) (*Proof, error) {
	v := &Verifier{Keys: s.c.KeySet()}
	return v.Proof(ctx, token)
}

// PaymentQuery is the query of Payments.Status.
type PaymentQuery struct {
	// Domain asks about that domain's payment status.
	Domain string
	// CheckProject asks about the project's.
	CheckProject bool
	// IncludeInjectables adds the project's injectables when paid.
	IncludeInjectables bool
}

// PaymentService reads payment status with the API key (scope
// payments:read); has_paid is set by updating a project or a domain
// (payments:write).
type PaymentService struct{ c *Client }

// Status returns whether a project (or one of its domains) has paid, as
// DevPayr's GET /project/{p}/has-paid answers a vendor's backend.
func (s *PaymentService) Status(ctx context.Context, projectID int64, q PaymentQuery, opts ...CallOption) (*PaymentStatus, error) {
	v := url.Values{}
	if q.CheckProject {
		v.Set("action", "check_project")
	}
	if q.IncludeInjectables {
		v.Set("include", "injectables")
	}
	var h http.Header
	if q.Domain != "" {
		h = http.Header{"X-Devpayr-Domain": {q.Domain}}
	}
	var ps PaymentStatus
	if _, err := s.c.do(ctx, &request{opts: opts, method: http.MethodGet, path: "project/" + strconv.FormatInt(projectID, 10) + "/has-paid", query: v, header: h}, &ps); err != nil {
		return nil, err
	}
	return &ps, nil
}
