package service

import (
	"context"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
)

// Bulk actions on licenses (issue 14).
const (
	BulkSuspend     = "suspend"
	BulkReactivate  = "reactivate"
	BulkRevoke      = "revoke"
	BulkExtend      = "extend"
	BulkSetMetadata = "set_metadata"
)

// MaxBulk is the most records one bulk action changes: its one transaction
// stays short enough not to hold the (SQLite: only) writer for long.
const MaxBulk = 10_000

// BulkSampleSize is how many matches a dry run shows.
const BulkSampleSize = 20

// BulkLicenseInput is a bulk action on the licenses a filter selects.
type BulkLicenseInput struct {
	// Problems holds what was wrong with the request before it reached
	// the rules (unknown filter keys, wrong types).
	Problems core.Problems
	Filter   core.LicenseFilter
	Action   string
	DryRun   bool
	// Duration and From are extend's arguments (From: RenewFromExpiry,
	// the default, or RenewFromNow).
	Duration Opt[string]
	From     Opt[string]
	// Metadata is set_metadata's merge patch; set with a nil patch, it
	// removes every entry.
	Metadata Opt[MetadataPatch]
}

// BulkLicenseResult is what a bulk action selected (dry run) or changed.
type BulkLicenseResult struct {
	Action string
	DryRun bool
	Count  int64
	// Sample holds the first BulkSampleSize licenses, newest first: as
	// they are (dry run) or as the action left them.
	Sample []core.License
}

// bulkEvents names the event each changed license announces: the one the
// single-license route of the action emits.
var bulkEvents = map[string]string{BulkSuspend: EventLicenseSuspended, BulkReactivate: EventLicenseReactivated,
	BulkRevoke: EventLicenseRevoked, BulkExtend: EventLicenseRenewed, BulkSetMetadata: EventLicenseUpdated}

// checkBulkLicense validates the action and its arguments, and the filter
// (its names prefixed "filter."), before anything is read or written.
func checkBulkLicense(in *BulkLicenseInput) (time.Duration, core.Problems) {
	p := core.Problems{}
	p.Merge(in.Problems)
	p.Merge(checkLicenseFilter(&in.Filter, "filter."))
	if len(in.Filter.IDs) > MaxBulk {
		p.Add("filter.ids", "The filter.ids field must not have more than "+strconv.Itoa(MaxBulk)+" items.")
	}
	for _, id := range in.Filter.IDs {
		if id <= 0 {
			p.Add("filter.ids", "The filter.ids field must hold license IDs (positive integers).")
			break
		}
	}
	var d time.Duration
	switch in.Action {
	case BulkSuspend, BulkReactivate, BulkRevoke, BulkExtend, BulkSetMetadata:
	case "":
		p.Add("action", "The action field is required.")
	default:
		p.Add("action", "The selected action is invalid: use suspend, reactivate, revoke, extend or set_metadata.")
	}
	if in.Action == BulkExtend {
		var err error
		switch {
		case !in.Duration.Set:
			p.Add("duration", "The duration field is required for the extend action.")
		default:
			if d, err = licensing.ParseDuration(in.Duration.V); err != nil {
				p.Add("duration", "The duration field must be a duration such as 30d, 12h, 1y or a number of seconds (at most 100 years).")
			}
		}
		switch in.From.V {
		case "":
			in.From.V = RenewFromExpiry
		case RenewFromExpiry, RenewFromNow:
		default:
			p.Add("from", "The selected from is invalid: use expiry or now.")
		}
	} else {
		// An argument another action takes is a mistake worth hearing
		// about (a suspend sent with a duration meant to be an extend).
		for name, set := range map[string]bool{"duration": in.Duration.Set, "from": in.From.Set} {
			if set {
				p.Add(name, "The "+name+" field is only used by the extend action.")
			}
		}
	}
	if in.Action == BulkSetMetadata {
		switch {
		case !in.Metadata.Set:
			p.Add("metadata", "The metadata field is required for the set_metadata action.")
		case in.Metadata.V != nil && len(in.Metadata.V) == 0:
			p.Add("metadata", "The metadata field must name at least one key (null removes every entry).")
		case len(in.Metadata.V) > MaxMetadataKeys:
			p.Add("metadata", "The metadata field must not have more than "+strconv.Itoa(MaxMetadataKeys)+" keys.")
		default:
			checkMetadata(p, "metadata", in.Metadata.V)
		}
	} else if in.Metadata.Set {
		p.Add("metadata", "The metadata field is only used by the set_metadata action.")
	}
	return d, p
}

// bulkScope folds the state the action applies to into the filter, so
// that what is counted is exactly what changes: suspend and revoke apply
// to active licenses, reactivate to revoked or suspended ones that have
// not expired (as the single routes), extend from the expiry to licenses
// that have one (a perpetual license stays perpetual; from now, to any),
// set_metadata to every match.
func bulkScope(f *core.LicenseFilter, in *BulkLicenseInput, now time.Time) {
	switch in.Action {
	case BulkSuspend, BulkRevoke:
		f.Statuses = []string{core.LicenseActive}
	case BulkReactivate:
		f.Statuses = []string{core.LicenseRevoked, core.LicenseSuspended}
		f.LiveAt = now
	case BulkExtend:
		f.Expiring = in.From.V != RenewFromNow
	}
}

// bulkUpdate is the change the action makes to one license.
func bulkUpdate(l *core.License, in *BulkLicenseInput, d time.Duration, now time.Time) (core.LicenseUpdate, error) {
	var none *time.Time
	at := &now
	switch in.Action {
	case BulkSuspend:
		st := core.LicenseSuspended
		return core.LicenseUpdate{Status: &st, SuspendedAt: &at}, nil
	case BulkRevoke:
		st := core.LicenseRevoked
		return core.LicenseUpdate{Status: &st, RevokedAt: &at}, nil
	case BulkReactivate:
		st := core.LicenseActive
		return core.LicenseUpdate{Status: &st, RevokedAt: &none, SuspendedAt: &none}, nil
	case BulkExtend:
		exp, err := renewedExpiry(l, d, in.From.V, now)
		if err != nil {
			return core.LicenseUpdate{}, err
		}
		return core.LicenseUpdate{ExpiresAt: &exp}, nil
	}
	var m map[string]string
	if in.Metadata.V != nil {
		var err error
		if m, err = applyMetadata("metadata", l.Metadata, in.Metadata.V); err != nil {
			return core.LicenseUpdate{}, core.Invalid("metadata", "The metadata of license "+strconv.FormatInt(l.ID, 10)+
				" would have more than "+strconv.Itoa(MaxMetadataKeys)+" keys: nothing was changed.")
		}
	}
	return core.LicenseUpdate{Metadata: &m}, nil
}

// errGlobalKeyRequired refuses a bulk action across projects to a
// project-bound actor.
var errGlobalKeyRequired = &core.Error{Code: core.EForbidden, Reason: core.ReasonGlobalKeyRequired,
	Message: "Only global API keys can run a bulk action across projects."}

// errTooMany refuses a bulk action selecting more than MaxBulk records.
func errTooMany(n int64, what string) error {
	return core.Invalid("filter", "The filter selects "+strconv.FormatInt(n, 10)+" "+what+": a bulk action changes at most "+
		strconv.Itoa(MaxBulk)+". Narrow the filter and run it in parts.")
}

// BulkLicenses runs a bulk action on the project's licenses the filter
// selects. A dry run counts them and returns the first BulkSampleSize; a
// real run changes at most MaxBulk in one transaction, with one audit
// event for the whole action and, per license, the event and cache
// invalidation its single route makes.
//
// projectID 0 runs it across every live project of the actor's
// organization (the dashboard's "All licenses"); a project-bound actor is
// refused, as everywhere that spans the organization.
func (s *Service) BulkLicenses(ctx context.Context, actor *core.Actor, projectID int64, in BulkLicenseInput) (*BulkLicenseResult, error) {
	if projectID == 0 {
		if actor.ProjectID != 0 {
			return nil, errGlobalKeyRequired
		}
		if err := actor.Require(core.ScopeLicensesWrite); err != nil {
			return nil, err
		}
	} else if _, err := s.projectAccess(ctx, s.store, actor, projectID, core.ScopeLicensesWrite); err != nil {
		return nil, err
	}
	d, probs := checkBulkLicense(&in)
	if err := probs.Err(); err != nil {
		return nil, err
	}
	base := in.Filter
	base.ProjectID, base.OrgID, base.BeforeID, base.Limit, base.Offset = projectID, 0, 0, 0, 0
	if projectID == 0 {
		base.OrgID = actor.OrgID
	}
	scopeLicenses(actor, &base)
	res := &BulkLicenseResult{Action: in.Action, DryRun: in.DryRun}
	if in.DryRun {
		f := base
		bulkScope(&f, &in, s.now())
		n, err := s.store.CountMatchingLicenses(ctx, f)
		if err != nil {
			return nil, err
		}
		f.Limit = BulkSampleSize
		ls, err := s.store.ListLicenses(ctx, f)
		if err != nil {
			return nil, err
		}
		for i := range ls {
			if err := s.reveal(&ls[i]); err != nil {
				return nil, err
			}
		}
		res.Count, res.Sample = n, ls
		return res, nil
	}
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		res.Count, res.Sample = 0, nil // the group commit may run this twice
		orgID := actor.OrgID
		if projectID != 0 {
			p, err := s.projectAccess(ctx, st, actor, projectID, core.ScopeLicensesWrite)
			if err != nil {
				return err
			}
			orgID = p.OrgID
		}
		now := s.now()
		f := base
		bulkScope(&f, &in, now)
		n, err := st.CountMatchingLicenses(ctx, f)
		if err != nil {
			return err
		}
		if n > MaxBulk {
			return errTooMany(n, "licenses")
		}
		f.Limit = MaxBulk + 1
		ls, err := st.ListLicenses(ctx, f)
		if err != nil {
			return err
		}
		for i := range ls {
			before := &ls[i]
			upd, err := bulkUpdate(before, &in, d, now)
			if err != nil {
				return err
			}
			after, err := st.UpdateLicense(ctx, before.ID, upd)
			if err != nil {
				return err
			}
			changed(core.Change{Kind: core.ChangeLicense, ID: before.ID})
			if err := s.emitLicense(ctx, st, orgID, bulkEvents[in.Action], before, after); err != nil {
				return err
			}
			if len(res.Sample) < BulkSampleSize {
				res.Sample = append(res.Sample, *after)
			}
		}
		res.Count = int64(len(ls))
		projects := map[int64]bool{}
		for i := range ls {
			if !projects[ls[i].ProjectID] {
				projects[ls[i].ProjectID] = true
				catalogChanged(changed, ls[i].ProjectID)
			}
		}
		return audit(ctx, st, actor.Audit("license.bulk_"+in.Action, "license", 0, projectID, bulkAudit(&in, res.Count)))
	})
	if err != nil {
		return nil, err
	}
	for i := range res.Sample {
		if err := s.reveal(&res.Sample[i]); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// bulkAudit names the filter as sent (a pasted license key as such, never
// its text), the action's arguments and the count.
func bulkAudit(in *BulkLicenseInput, n int64) map[string]any {
	f := in.Filter
	filter := map[string]any{}
	for name, v := range map[string]string{"status": f.Status, "search": f.Search, "external_id": f.ExternalID,
		"customer_email": f.CustomerEmail, "q": f.Query} {
		if v != "" {
			filter[name] = v
		}
	}
	if f.QueryDigest != nil {
		filter["q"] = "[a license key]"
	}
	if len(f.Metadata) > 0 {
		filter["metadata"] = f.Metadata
	}
	if f.IDs != nil {
		filter["ids"] = f.IDs
	}
	d := map[string]any{"filter": filter, "count": n}
	switch in.Action {
	case BulkExtend:
		d["duration"], d["from"] = in.Duration.V, in.From.V
	case BulkSetMetadata:
		d["metadata"] = in.Metadata.V
	}
	return d
}
