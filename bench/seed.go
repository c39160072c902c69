package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/httpapi"
	"github.com/latchkey/latchkey/internal/keys"
	"github.com/latchkey/latchkey/internal/licensing"
	"github.com/latchkey/latchkey/internal/secret"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store"
)

// seeded is what the scenarios need to know about the data.
type seeded struct {
	OwnerKey      string   // a global key of the owner
	BigProject    int64    // holds most licenses
	CappedProject int64    // licenses with a (high) daily cap
	Uncapped      []string // license keys in the big project, sampled
	Capped        []string // license keys with a cap
	Seated        []string // license keys with max_concurrent (the heartbeat scenario)
	HotLicenses   []int64  // license IDs read through the API
	APIKeys       []string // secrets of many keys with licenses:read
	DeepCursors   []string // cursors into the deepest half of the big project
	LicenseCount  int
	MinID, MaxID  int64 // license IDs of the big project
}

const (
	poolSize   = 10_000 // license keys kept for the validation scenarios
	cappedSize = 1_000
	hotSize    = 100
	batchRows  = 500
)

// seed fills a fresh store: an owner, two projects, nLicenses licenses and
// nKeys API keys, in multi-row INSERTs (the store's own methods create the
// few objects that need its rules).
func seed(ctx context.Context, st *store.Store, key *secret.Key, nLicenses, nKeys int, log func(string, ...any)) (*seeded, error) {
	svc := service.New(service.Config{Store: st, Secret: key, PasswordCost: 4})
	u, org, err := svc.CreateUser(ctx, nil, service.CreateUserInput{Email: "bench@latchkey.test", Password: "benchmark password", OrgName: "Bench"})
	if err != nil {
		return nil, err
	}
	owner := core.SystemActor(org.ID, "bench")
	owner.UserID = u.ID
	_, ownerKey, err := svc.CreateAPIKey(ctx, owner, u.ID, service.KeyInput{Name: "owner"})
	if err != nil {
		return nil, err
	}
	s := &seeded{OwnerKey: ownerKey, LicenseCount: nLicenses}
	big, err := svc.CreateProject(ctx, owner, service.ProjectInput{Name: service.Some("Big"), HasPaid: service.Some(true)})
	if err != nil {
		return nil, err
	}
	capped, err := svc.CreateProject(ctx, owner, service.ProjectInput{Name: service.Some("Capped"), HasPaid: service.Some(true)})
	if err != nil {
		return nil, err
	}
	s.BigProject, s.CappedProject = big.ID, capped.ID
	if _, err := svc.CreateDomain(ctx, owner, big.ID, service.DomainInput{Domain: service.Some("shop.example.com"),
		Environment: service.Some("production"), IsVerified: service.Some(true), HasPaid: service.Some(true)}); err != nil {
		return nil, err
	}

	box := key.Box(service.LicenseBoxPurpose)
	now := time.Now().UTC().Truncate(time.Microsecond)
	start := time.Now()
	every := max(1, nLicenses/poolSize)
	insert := func(project int64, n int, capN int64, keep func(i int, k string)) error {
		for from := 0; from < n; from += batchRows {
			rows := min(batchRows, n-from)
			var sb strings.Builder
			sb.WriteString(`INSERT INTO licenses (project_id, key_digest, key_enc, title, status, validate_against,
				is_test_license, allow_configs, max_usage_per_day, created_at, updated_at) VALUES `)
			args := make([]any, 0, rows*9)
			for r := range rows {
				i := from + r
				k := licensing.NewKey(now)
				if keep != nil {
					keep(i, k)
				}
				if r > 0 {
					sb.WriteString(",")
				}
				b := len(args)
				fmt.Fprintf(&sb, "($%d,$%d,$%d,$%d,'active','license_domains',FALSE,FALSE,$%d,$%d,$%d)", b+1, b+2, b+3, b+4, b+5, b+6, b+7)
				var capArg any
				if capN > 0 {
					capArg = capN
				}
				args = append(args, project, licensing.KeyDigest(k), box.Seal([]byte(k)), fmt.Sprintf("License %08d", i), capArg, now, now)
			}
			if _, err := st.DB().ExecContext(ctx, sb.String(), args...); err != nil {
				return fmt.Errorf("seed licenses: %w", err)
			}
			if from > 0 && from%200_000 == 0 {
				log("seeded licenses", "done", from, "elapsed", time.Since(start).Round(time.Second))
			}
		}
		return nil
	}
	if err := insert(big.ID, nLicenses, 0, func(i int, k string) {
		if i%every == 0 && len(s.Uncapped) < poolSize {
			s.Uncapped = append(s.Uncapped, k)
		}
	}); err != nil {
		return nil, err
	}
	if err := insert(capped.ID, cappedSize, 1_000_000_000, func(i int, k string) { s.Capped = append(s.Capped, k) }); err != nil {
		return nil, err
	}
	if err := seedSeated(ctx, svc, owner, st, s, insert); err != nil {
		return nil, err
	}
	if err := seedMetadata(ctx, st, big.ID); err != nil {
		return nil, err
	}
	log("seeded licenses", "count", nLicenses+cappedSize+seatedSize, "elapsed", time.Since(start).Round(time.Millisecond))

	// License IDs: the big project's are contiguous, in insertion order.
	var minID, maxID int64
	if err := st.DB().QueryRowContext(ctx, `SELECT min(id), max(id) FROM licenses WHERE project_id = $1`, big.ID).Scan(&minID, &maxID); err != nil {
		return nil, err
	}
	s.MinID, s.MaxID = minID, maxID
	for i := range hotSize {
		s.HotLicenses = append(s.HotLicenses, minID+int64(i)*max(1, (maxID-minID)/hotSize))
	}
	cursorKey := key.Derive("cursor")
	// Cursors into the oldest half (the deepest pages, newest first), each
	// with more than a page of licenses below it.
	deep := (maxID - minID) / 2
	const nCursors = 10_000
	for i := range int64(nCursors) {
		at := minID + 51 + i*max(0, deep-51)/nCursors
		s.DeepCursors = append(s.DeepCursors, httpapi.LicenseListCursor(cursorKey, big.ID, at))
	}

	start = time.Now()
	scopes := core.NewScopeSet(core.ScopeLicensesRead, core.ScopeProjectsRead).String()
	for from := 0; from < nKeys; from += batchRows {
		rows := min(batchRows, nKeys-from)
		var sb strings.Builder
		sb.WriteString(`INSERT INTO api_keys (org_id, user_id, name, description, public_id, digest, last4, env, scopes,
			allowed_ips, rate_limit, created_by, created_at, updated_at) VALUES `)
		args := make([]any, 0, rows*9)
		for r := range rows {
			m := keys.Mint(core.EnvLive)
			s.APIKeys = append(s.APIKeys, m.Secret)
			if r > 0 {
				sb.WriteString(",")
			}
			b := len(args)
			fmt.Fprintf(&sb, "($%d,$%d,$%d,'','%s',$%d,$%d,'live',$%d,'',0,'bench',$%d,$%d)", b+1, b+2, b+3, m.PublicID, b+4, b+5, b+6, b+7, b+8)
			args = append(args, org.ID, u.ID, fmt.Sprintf("reader %d", from+r), m.Digest, m.Last4, scopes, now, now)
		}
		if _, err := st.DB().ExecContext(ctx, sb.String(), args...); err != nil {
			return nil, fmt.Errorf("seed keys: %w", err)
		}
	}
	log("seeded API keys", "count", nKeys, "elapsed", time.Since(start).Round(time.Millisecond))
	return s, nil
}
