package service

import (
	"context"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// Offline license files (issue 16; docs/license-files.md). A checkout
// hands a copy a signed file it may trust offline until the file expires;
// it is recorded (audit license.checked_out, event license.checked_out) in
// the same transaction, so that every file in the wild can be accounted
// for.

// The bounds of a license file's lifetime.
const (
	MinLicenseFileTTL     = time.Minute
	MaxLicenseFileTTL     = 365 * 24 * time.Hour
	DefaultLicenseFileTTL = 30 * 24 * time.Hour
)

// LicenseFileTTLRange is the refusal of a ttl out of bounds (also of a ttl
// of 0 that was sent: 0 means the default only when ttl is left out).
const LicenseFileTTLRange = "The ttl field must be between 60 and 31536000 seconds."

// maxFileIdentifier bounds the identifier a file is issued for, as a
// domain is bounded.
const maxFileIdentifier = 255

// LicenseFileInput is what a checkout asks for.
type LicenseFileInput struct {
	// Identifier is the runtime identifier (domain, "ip:…") the file is for;
	// "" issues a file for any.
	Identifier string
	// TTL is the file's lifetime in seconds; 0 is DefaultLicenseFileTTL.
	// Seconds, not a Duration: a huge value must be refused, not overflow.
	TTL int64
	// Problems are what the request's parsing found wrong (a ttl that is no
	// integer), reported with the rules' own after the access checks.
	Problems core.Problems
}

// IssuedLicenseFile is one license file, as the issuer made it.
type IssuedLicenseFile struct {
	// File is the armoured file.
	File      string
	ID        string // the jti
	KID       string
	ExpiresAt time.Time
	Encrypted bool
}

// LicenseFileIssuer makes the file of license l of project p. key is the
// license key (the file key of an encrypted file). It runs inside the
// checkout's transaction and may run more than once (group commit): it must
// only compute.
type LicenseFileIssuer func(l *core.License, p *core.Project, key string, in LicenseFileInput) (*IssuedLicenseFile, error)

// Lifetime returns the file's lifetime.
func (in LicenseFileInput) Lifetime() time.Duration { return time.Duration(in.TTL) * time.Second }

// CheckLicenseFileInput normalises in (the default ttl) and returns what is
// wrong with it, so that a runtime request is refused before it counts.
func CheckLicenseFileInput(in *LicenseFileInput) core.Problems {
	p := core.Problems{}
	p.Merge(in.Problems)
	if in.TTL == 0 && !p.Has("ttl") {
		in.TTL = int64(DefaultLicenseFileTTL / time.Second)
	}
	if !p.Has("ttl") && (in.TTL < int64(MinLicenseFileTTL/time.Second) || in.TTL > int64(MaxLicenseFileTTL/time.Second)) {
		p.Add("ttl", LicenseFileTTLRange)
	}
	if !core.ValidText(in.Identifier) {
		p.Add("identifier", "The identifier field must be valid UTF-8 text without control characters.")
	} else if len(in.Identifier) > maxFileIdentifier {
		p.Add("identifier", "The identifier field must not be greater than 255 characters.")
	}
	return p
}

// checkoutRefusal is why license l gets no file at now: one that cannot
// validate gets none.
func checkoutRefusal(l *core.License, now time.Time) error {
	switch {
	case l.Status == core.LicenseRevoked:
		return stateError("The license is revoked, so no license file can be issued.")
	case l.Status == core.LicenseSuspended:
		return stateError("The license is suspended, so no license file can be issued.")
	case l.Status != core.LicenseActive:
		return stateError("The license is not active, so no license file can be issued.")
	case l.Expired(now):
		return stateError("The license has expired, so no license file can be issued.")
	}
	return nil
}

// CheckoutLicenseFile issues a license file for license id of the project
// (scope licenses:write: a file grants offline use, as a license does).
func (s *Service) CheckoutLicenseFile(ctx context.Context, actor *core.Actor, projectID, id int64, in LicenseFileInput,
	issue LicenseFileIssuer) (*IssuedLicenseFile, error) {
	// Checked before the transaction, reported after the access checks.
	probs := CheckLicenseFileInput(&in)
	var out *IssuedLicenseFile
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		p, l, err := recordAccess(ctx, s, st, actor, projectID, core.ScopeLicensesWrite, licenseRecord, id, core.NotFound("License"))
		if err != nil {
			return err
		}
		if err := probs.Err(); err != nil {
			return err
		}
		if err := checkoutRefusal(l, s.now()); err != nil {
			return err
		}
		if err := s.reveal(l); err != nil {
			return err
		}
		out, err = s.recordCheckout(ctx, st, actor, p, l, l.UUID, in, "api", issue)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RuntimeCheckout issues a license file to the copy holding license key
// key, whose validation res passed: the runtime route (its caller checked
// res.Valid()).
func (s *Service) RuntimeCheckout(ctx context.Context, res *ValidateResult, key, userAgent string, in LicenseFileInput,
	issue LicenseFileIssuer) (*IssuedLicenseFile, error) {
	if err := CheckLicenseFileInput(&in).Err(); err != nil {
		return nil, err
	}
	l, p := res.License, res.Project
	actor := &core.Actor{Type: core.ActorLicense, OrgID: p.OrgID, Label: "license " + strconv.FormatInt(l.ID, 10),
		Addr: core.ClientIP(ctx), UserAgent: userAgent}
	var out *IssuedLicenseFile
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		var err error
		out, err = s.recordCheckout(ctx, st, actor, p, l, key, in, "runtime", issue)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// recordCheckout issues the file and records it, in st's transaction.
func (s *Service) recordCheckout(ctx context.Context, st core.Store, actor *core.Actor, p *core.Project, l *core.License,
	key string, in LicenseFileInput, via string, issue LicenseFileIssuer) (*IssuedLicenseFile, error) {
	f, err := issue(l, p, key, in)
	if err != nil {
		return nil, err
	}
	if err := s.emitLicense(ctx, st, p.OrgID, EventLicenseCheckedOut, nil, l); err != nil {
		return nil, err
	}
	d := map[string]any{"jti": f.ID, "kid": f.KID, "expires_at": f.ExpiresAt.UTC().Format(time.RFC3339),
		"encrypted": f.Encrypted, "ttl": in.TTL, "via": via}
	if in.Identifier != "" {
		d["identifier"] = in.Identifier
	}
	if err := audit(ctx, st, actor.Audit("license.checked_out", "license", l.ID, p.ID, d)); err != nil {
		return nil, err
	}
	return f, nil
}
