package service

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
)

// Where a renewal counts its duration from.
const (
	RenewFromExpiry = "expiry" // the current expiry, or now when it is past
	RenewFromNow    = "now"
)

// RenewInput is a renewal as sent: Duration as licensing.ParseDuration
// reads it, From "expiry" (the default) or "now".
type RenewInput struct {
	// Problems holds what the transport found wrong (a wrong JSON type).
	Problems core.Problems
	Duration string
	From     string
}

// errNoExpiry refuses from=expiry on a license that never expires: adding
// a duration to "never" has no meaning, and guessing "now" would shorten
// the license.
var errNoExpiry = core.Invalid("from", "The license does not expire: send from=now to give it an expiry.")

// renewedExpiry is the expiry of l renewed by d: from "expiry" (or "") the
// later of its current expiry and now, plus d; from "now", now plus d. It
// is the one rule of renewals and of bulk extend.
func renewedExpiry(l *core.License, d time.Duration, from string, now time.Time) (*time.Time, error) {
	var base time.Time
	switch from {
	case "", RenewFromExpiry:
		if l.ExpiresAt == nil {
			return nil, errNoExpiry
		}
		base = *l.ExpiresAt
		if base.Before(now) {
			base = now
		}
	case RenewFromNow:
		base = now
	default:
		return nil, core.Invalid("from", "The from field must be expiry or now.")
	}
	t := base.Add(d).UTC()
	return &t, nil
}

// checkRenew validates a renewal's fields (not the license's state).
func checkRenew(in *RenewInput) (time.Duration, core.Problems) {
	p := core.Problems{}
	p.Merge(in.Problems)
	var d time.Duration
	if !p.Has("duration") {
		var err error
		if d, err = licensing.ParseDuration(in.Duration); err != nil {
			p.Add("duration", licensing.DurationHint("duration"))
		}
	}
	switch in.From {
	case "", RenewFromExpiry, RenewFromNow:
	default:
		if !p.Has("from") {
			p.Add("from", "The from field must be expiry or now.")
		}
	}
	return d, p
}

// RenewLicense extends a license's expiry by a duration, from its current
// expiry or from now. The status is left alone: a renewed expired license
// validates again, a revoked one stays revoked.
func (s *Service) RenewLicense(ctx context.Context, actor *core.Actor, projectID, id int64, in RenewInput) (*core.License, error) {
	d, checked := checkRenew(&in)
	var out *core.License
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		p, l, err := recordAccess(ctx, s, st, actor, projectID, core.ScopeLicensesWrite, licenseRecord, id, errLicenseNotInProject)
		if err != nil {
			return err
		}
		if err := checked.Err(); err != nil {
			return err
		}
		now := s.now()
		exp, err := renewedExpiry(l, d, in.From, now)
		if err != nil {
			return err
		}
		out, err = st.UpdateLicense(ctx, l.ID, core.LicenseUpdate{ExpiresAt: &exp})
		if err != nil {
			return err
		}
		changed(core.Change{Kind: core.ChangeLicense, ID: l.ID})
		catalogChanged(changed, projectID)
		if err := s.emitLicense(ctx, st, p.OrgID, EventLicenseRenewed, l, out); err != nil {
			return err
		}
		from := in.From
		if from == "" {
			from = RenewFromExpiry
		}
		a := map[string]any{"title": l.Title, "from": nil, "to": exp.Format(time.RFC3339), "duration_seconds": int64(d / time.Second),
			"renew_from": from}
		if l.ExpiresAt != nil {
			a["from"] = l.ExpiresAt.UTC().Format(time.RFC3339)
		}
		return audit(ctx, st, actor.Audit("license.renew", "license", l.ID, projectID, a))
	})
	if err != nil {
		return nil, err
	}
	return out, s.reveal(out)
}
