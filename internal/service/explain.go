package service

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/internal/licensing"
	"github.com/latchkey/latchkey/internal/ratelimit"
)

// Explain answers what Validate would, and why: every rule's verdict
// (licensing.Explain), with the usage and churn counts read from the
// store. It writes nothing at all: no use counted, no activation recorded
// or last-seen time moved, no event, no seat. in.Count is taken as set
// (the answer is the native validation's, which counts). A request that
// stops before the license's rules (no key, unknown key, another project,
// rate limited) has no checks.
//
// The per-license rate limit applies: an explanation costs the server at
// least what a validation does.
//
// seat, when not nil, is the instance of a validation that asks for a seat
// ("seat": true): the seats rule is then checked (read only) and takes part
// in the answer, as it would in that validation; otherwise it is reported
// as not checked.
func (v *Validator) Explain(ctx context.Context, in ValidateInput, seat *string) (*ValidateResult, []licensing.Check, error) {
	now := v.now()
	res := &ValidateResult{Identifier: licensing.NormalizeIdentifier(in.Identifier)}
	key := licensing.NormalizeKey(in.Key)
	if key == "" {
		res.Code = licensing.CodeKeyMissing
		return res, nil, nil
	}
	if !licensing.WellFormedKey(key) {
		res.Code = licensing.CodeNotFound
		return res, nil, nil
	}
	snap, _, err := v.snapshot(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	if snap == nil {
		res.Code = licensing.CodeNotFound
		return res, nil, nil
	}
	lic := &snap.License
	res.License, res.Project = lic, &snap.Project
	if in.ProjectID != 0 && in.ProjectID != lic.ProjectID {
		res.Code = licensing.CodeProjectMismatch
		return res, nil, nil
	}
	if v.limiter != nil {
		res.RateLimit = v.limiter.Allow(ratelimit.Key{Kind: "l", ID: lic.ID}, v.licenseLimit, now)
		if !res.RateLimit.Allowed {
			res.Code = licensing.CodeRateLimited
			return res, nil, nil
		}
	}
	day := now.UTC().Format(time.DateOnly)
	var reads licensing.ExplainReads
	if res.Cap = limitValue(lic.MaxUsagePerDay); res.Cap > 0 {
		if reads.UsedToday, err = v.usedToday(ctx, lic.ID, day); err != nil {
			return nil, nil, err
		}
		res.UsedToday = reads.UsedToday
	}
	if limitValue(lic.MaxNewActivationsPerDay) > 0 && res.Identifier != "" {
		if reads.Churn, err = v.store.ActivationChurn(ctx, lic.ID, day); err != nil {
			return nil, nil, err
		}
	}
	if seat != nil && limitValue(lic.MaxConcurrent) > 0 {
		passed, detail, err := v.SeatCheck(ctx, lic, *seat)
		if err != nil {
			return nil, nil, err
		}
		reads.Seats = &licensing.Check{Rule: licensing.RuleSeats, Code: licensing.CodeValid, Passed: passed, Detail: detail}
		if !passed {
			reads.Seats.Code = licensing.CodeSeatsExhausted
		}
	}
	r := licensing.Request{Identifier: res.Identifier, IP: in.IP, Country: in.Country, CheckProject: in.CheckProject, Now: now}
	x := licensing.Explain(snap, r, reads)
	res.Code, res.HasPaid = x.Code, x.HasPaid
	return res, x.Checks, nil
}
