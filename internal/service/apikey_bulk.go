package service

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// BulkKeyInput is a bulk revocation of the API keys a filter selects.
type BulkKeyInput struct {
	// Problems holds what was wrong with the request before it reached
	// the rules (unknown filter keys, wrong types).
	Problems core.Problems
	// The filter: every field set narrows it. OwnerID and OwnerEmail name
	// the keys' owner (one or the other); LastUsedBefore counts never-used
	// keys as used before.
	OwnerID        int64
	OwnerEmail     string
	ProjectID      int64
	NamePrefix     string
	LastUsedBefore *time.Time
	Env            string
	Action         string
	DryRun         bool
}

// BulkKeyResult is what a bulk revocation selected (dry run) or revoked.
type BulkKeyResult struct {
	Action string
	DryRun bool
	Count  int64
	// Sample holds the first BulkSampleSize keys, newest first.
	Sample []core.APIKey
}

// BulkKeyRevoke is the one bulk action on API keys.
const BulkKeyRevoke = "revoke"

func checkBulkKeys(in *BulkKeyInput) core.Problems {
	p := core.Problems{}
	p.Merge(in.Problems)
	switch in.Action {
	case BulkKeyRevoke:
	case "":
		p.Add("action", "The action field is required.")
	default:
		p.Add("action", "The selected action is invalid: API keys can only be revoked in bulk.")
	}
	in.OwnerEmail = strings.TrimSpace(in.OwnerEmail)
	for name, v := range map[string]string{"filter.owner_email": in.OwnerEmail, "filter.name_prefix": in.NamePrefix} {
		if !core.ValidText(v) {
			p.Add(name, core.InvalidText(name).Message)
		}
		maxLen(p, name, v, 255)
	}
	if in.OwnerID != 0 && in.OwnerEmail != "" {
		p.Add("filter.owner_email", "Send filter.owner_id or filter.owner_email, not both.")
	}
	if in.OwnerID < 0 {
		p.Add("filter.owner_id", "The filter.owner_id field must be a user ID (a positive integer).")
	}
	if in.ProjectID < 0 {
		p.Add("filter.project_id", "The filter.project_id field must be a project ID (a positive integer).")
	}
	switch in.Env {
	case "", core.EnvLive, core.EnvTest:
	default:
		p.Add("filter.env", "The selected filter.env is invalid: use live or test.")
	}
	return p
}

// BulkAPIKeys revokes, in one transaction, the unrevoked keys the filter
// selects among those the actor may see (as the listing: the actor's own
// keys only for a role that does not manage others'; a project-bound key's
// project only). The calling key is never among them: it is revoked by
// itself. If any selected key holds rights beyond the actor's, nothing is
// revoked (as single revocation); a dry run answers the same refusal, so
// that it predicts the real run.
func (s *Service) BulkAPIKeys(ctx context.Context, actor *core.Actor, in BulkKeyInput) (*BulkKeyResult, error) {
	if err := s.requireKeyManager(ctx, actor); err != nil {
		return nil, err
	}
	if err := checkBulkKeys(&in).Err(); err != nil {
		return nil, err
	}
	f := core.APIKeyFilter{OrgID: actor.OrgID, ProjectID: actor.ProjectID, NamePrefix: in.NamePrefix, Env: in.Env,
		LastUsedBefore: in.LastUsedBefore, Unrevoked: true}
	if in.ProjectID != 0 {
		p, err := s.projectFor(ctx, s.store, actor, in.ProjectID)
		if err != nil {
			return nil, err
		}
		f.ProjectID = p.ID
	}
	none := false // the filter names an owner the actor cannot see, or nobody
	switch {
	case in.OwnerID != 0:
		f.UserID = in.OwnerID
	case in.OwnerEmail != "":
		u, err := s.store.UserByEmail(ctx, in.OwnerEmail)
		switch {
		case core.IsCode(err, core.ENotFound):
			none = true
		case err != nil:
			return nil, err
		default:
			f.UserID = u.ID
		}
	}
	if actor.Type != core.ActorSystem && !actor.Role.ManagesOthersKeys() {
		if f.UserID != 0 && f.UserID != actor.UserID {
			none = true
		}
		f.UserID = actor.UserID
	}
	if none {
		f.UserID = -1 // no user has it: the selection is empty, and the action still audited
	}
	res := &BulkKeyResult{Action: in.Action, DryRun: in.DryRun}
	if in.DryRun {
		ks, err := s.bulkKeys(ctx, s.store, actor, f)
		if err != nil {
			return nil, err
		}
		res.Count = int64(len(ks))
		res.Sample = ks[:min(len(ks), BulkSampleSize)]
		return res, nil
	}
	err := s.write(ctx, func(st core.Store, changed func(core.Change)) error {
		res.Count, res.Sample = 0, nil // the group commit may run this twice
		ks, err := s.bulkKeys(ctx, st, actor, f)
		if err != nil {
			return err
		}
		if len(ks) > MaxBulk {
			return errTooMany(int64(len(ks)), "API keys")
		}
		now := s.now()
		for i := range ks {
			k := &ks[i]
			out, err := st.RevokeAPIKey(ctx, k.ID, now)
			if err != nil {
				return err
			}
			changed(core.Change{Kind: core.ChangeAPIKey, ID: k.ID})
			if err := s.emitAPIKey(ctx, st, EventAPIKeyRevoked, k, out); err != nil {
				return err
			}
			if len(res.Sample) < BulkSampleSize {
				res.Sample = append(res.Sample, *out)
			}
		}
		res.Count = int64(len(ks))
		return audit(ctx, st, actor.Audit("api_key.bulk_revoke", "api_key", 0, f.ProjectID, bulkKeyAudit(&in, res.Count)))
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// bulkKeys returns the keys f selects, without the calling key, up to
// MaxBulk+1 (one more says "too many"); an error if any holds rights
// beyond the actor's.
func (s *Service) bulkKeys(ctx context.Context, st core.Store, actor *core.Actor, f core.APIKeyFilter) ([]core.APIKey, error) {
	var out []core.APIKey
	f.Limit = 1000
	for {
		page, err := st.ListAPIKeys(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, k := range page {
			if actor.Type == core.ActorAPIKey && k.ID == actor.KeyID {
				continue
			}
			out = append(out, k)
		}
		if len(page) < f.Limit || len(out) > MaxBulk {
			break
		}
		f.BeforeID = page[len(page)-1].ID
	}
	if len(out) > MaxBulk {
		return out, nil // refused by the caller with the count so far
	}
	// What each key can do now: its scopes within its owner's current role
	// (nothing once the owner has left); owners repeat, so ask once each.
	roles := map[int64]core.Role{}
	beyond := 0
	for i := range out {
		k := &out[i]
		role, ok := roles[k.UserID]
		if !ok {
			m, err := st.Membership(ctx, k.OrgID, k.UserID)
			switch {
			case core.IsCode(err, core.ENotFound):
			case err != nil:
				return nil, err
			default:
				role = m.Role
			}
			roles[k.UserID] = role
		}
		if (k.Scopes&role.Scopes())&^actor.Scopes != 0 {
			beyond++
		}
	}
	if beyond > 0 {
		return nil, &core.Error{Code: core.EForbidden, Reason: errRevokeBeyondRights.Reason,
			Message: strconv.Itoa(beyond) + " of the selected API keys hold scopes beyond your own rights; you cannot revoke them. Narrow the filter."}
	}
	return out, nil
}

// bulkKeyAudit names the filter as sent and the count.
func bulkKeyAudit(in *BulkKeyInput, n int64) map[string]any {
	filter := map[string]any{}
	if in.OwnerID != 0 {
		filter["owner_id"] = in.OwnerID
	}
	if in.ProjectID != 0 {
		filter["project_id"] = in.ProjectID
	}
	for name, v := range map[string]string{"owner_email": in.OwnerEmail, "name_prefix": in.NamePrefix, "env": in.Env} {
		if v != "" {
			filter[name] = v
		}
	}
	if in.LastUsedBefore != nil {
		filter["last_used_before"] = in.LastUsedBefore.UTC().Format(time.RFC3339)
	}
	return map[string]any{"filter": filter, "count": n}
}
