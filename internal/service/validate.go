package service

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/cache"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
	"github.com/latchkey/latchkey/internal/ratelimit"
)

// ValidateInput is one runtime validation request.
type ValidateInput struct {
	Key          string
	Identifier   string // X-Devpayr-Domain as sent
	IP           netip.Addr
	Country      string // "" when unknown
	CheckProject bool
	// ProjectID, when not 0, is the project the caller expects the license
	// to belong to.
	ProjectID int64
	// Count says whether a passing validation counts as a use (has-paid and
	// the native route) or only checks (the injectable stream).
	Count bool
	// UserAgent is the caller's User-Agent as sent, stored on its
	// activation (cleaned and cut to maxUserAgent bytes when written).
	UserAgent string
}

// maxUserAgent bounds the user agent stored on an activation.
const maxUserAgent = 255

// cleanUserAgent makes a sighting's user agent storable: it is not the
// client's to get right, so it is cleaned rather than refused.
func cleanUserAgent(ua string) string { return core.CleanText(ua, maxUserAgent) }

// ValidateResult is the outcome. Only internal failures are errors;
// everything a client can cause is a Code.
type ValidateResult struct {
	Code       string
	HasPaid    bool
	License    *core.License // nil when not found
	Project    *core.Project
	Matched    *core.Domain
	Identifier string
	UsedToday  int64 // for capped licenses: today's count after this use
	Cap        int64
	RateLimit  ratelimit.Result
}

// Valid reports whether the copy may run.
func (r *ValidateResult) Valid() bool { return r.Code == licensing.CodeValid }

// Validator is the runtime validation engine with its caches. A license
// that was validated before is answered from memory: no database read.
// Uncapped licenses make no synchronous write either (uses and activation
// times are counted in memory and flushed in batches); a capped license
// makes exactly one atomic write per passing validation, acknowledged only
// once it is durable, so a cap of N admits exactly N uses a day even across
// a crash.
type Validator struct {
	store        core.Store
	now          func() time.Time
	ttl          time.Duration
	negativeTTL  time.Duration
	limiter      *ratelimit.Limiter
	licenseLimit int

	// snaps holds license snapshots by key digest,
	// tagged with core.LicenseDeps; inj a project's active injectables.
	snaps *cache.Cache[[32]byte, *licensing.Snapshot]
	inj   *cache.Cache[int64, []core.Injectable]
	// absent remembers digests no license has, apart from snaps and
	// smaller: a flood of invented keys can neither grow memory past it
	// nor push real licenses out of snaps.
	absent *cache.Cache[[32]byte, struct{}]

	pending pendingUses
	// outcomes counts every answer about a known license by code and hour
	// (outcome.go), flushed with the uses.
	outcomes *outcomes

	svc    *Service
	events *runtimeEvents
}

// ValidatorConfig configures a Validator.
type ValidatorConfig struct {
	TTL          time.Duration
	Limiter      *ratelimit.Limiter
	LicenseLimit int // validations per minute per license
}

// Bounds of the validator's caches, in bytes: a snapshot holds its
// project's domains, and an injectable its encrypted content.
const (
	maxSnapshotBytes   = 64 << 20
	maxInjectableBytes = 32 << 20
	maxAbsentKeys      = 16_384 // about 2.5 MB
)

// NewValidator returns a validator over the service's store, with its
// caches registered in the service's set.
func (s *Service) NewValidator(cfg ValidatorConfig) *Validator {
	ttl := cfg.TTL
	if ttl == 0 {
		ttl = s.cacheTTL
	}
	v := &Validator{
		store: s.store, now: s.now, ttl: ttl, negativeTTL: min(ttl, 30*time.Second),
		limiter: cfg.Limiter, licenseLimit: cfg.LicenseLimit,
		snaps: cache.NewIn(s.caches, cache.Config[[32]byte, *licensing.Snapshot]{Name: "license_snapshot",
			MaxBytes: maxSnapshotBytes, Weigh: weighSnapshot, Now: s.now}),
		inj: cache.NewIn(s.caches, cache.Config[int64, []core.Injectable]{Name: "injectables",
			MaxBytes: maxInjectableBytes, Weigh: weighInjectables, TTL: ttl, Now: s.now}),
		absent: cache.NewIn(s.caches, cache.Config[[32]byte, struct{}]{Name: "license_unknown", MaxEntries: maxAbsentKeys, Now: s.now}),
	}
	v.pending.m = map[pendingKey]*pendingUse{}
	v.outcomes = newOutcomes()
	v.svc, v.events = s, newRuntimeEvents(s.caches, s.now)
	return v
}

// weighSnapshot estimates a snapshot's memory: the structs, and what grows
// with the project's domains and the license's activations.
func weighSnapshot(_ [32]byte, s *licensing.Snapshot) uint32 {
	n := 1200 + 200*len(s.Domains) + 128*len(s.Activations) + 48*len(s.IPs) + 16*len(s.Countries)
	return uint32(min(n, 1<<30))
}

func weighInjectables(_ int64, list []core.Injectable) uint32 {
	n := 64
	for i := range list {
		in := &list[i]
		n += 400 + len(in.EncryptedContent) + len(in.Signature) + len(in.Meta) + len(in.Slug) + len(in.TargetPath) + len(in.ContentHash)
	}
	return uint32(min(n, 1<<30))
}

// snapshot returns the cached snapshot for a key, loading it on a miss,
// and the key's digest. It returns nil for an unknown key.
func (v *Validator) snapshot(ctx context.Context, key string) (*licensing.Snapshot, [32]byte, error) {
	d := sha256.Sum256([]byte(key))
	if snap, ok := v.snaps.Get(d); ok {
		return snap, d, nil
	}
	if _, ok := v.absent.Get(d); ok {
		return nil, d, nil
	}
	t, ta := v.snaps.Begin(), v.absent.Begin()
	snap, err := v.load(ctx, d[:])
	if err != nil {
		return nil, d, err
	}
	if snap == nil {
		v.absent.PutFor(ta, d, struct{}{}, v.negativeTTL)
	} else {
		v.snaps.PutFor(t, d, snap, v.ttl, core.LicenseDeps(&snap.License)...)
		v.pending.reloaded(snap.License.ID)
	}
	return snap, d, nil
}

func (v *Validator) load(ctx context.Context, digest []byte) (*licensing.Snapshot, error) {
	l, err := v.store.LicenseByDigest(ctx, append([]byte(nil), digest...))
	if core.IsCode(err, core.ENotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p, err := v.store.Project(ctx, l.ProjectID)
	if core.IsCode(err, core.ENotFound) {
		return nil, nil // the project was deleted: its licenses are gone
	}
	if err != nil {
		return nil, err
	}
	domains, err := v.store.ListDomains(ctx, core.DomainFilter{ProjectID: p.ID, Limit: 100000})
	if err != nil {
		return nil, err
	}
	acts, err := v.store.ListActivations(ctx, l.ID)
	if err != nil {
		return nil, err
	}
	return licensing.NewSnapshot(*l, *p, domains, acts), nil
}

// forget drops one license's cached snapshot on this node (when the
// database knows activations the snapshot does not).
func (v *Validator) forget(licenseID int64) {
	v.snaps.Invalidate(core.Change{Kind: core.ChangeLicense, ID: licenseID})
}

// learn adds an activation this node just wrote to the license's cached
// snapshot, copy-on-write (snapshots are read without locks), so the next
// validation needs no reload.
func (v *Validator) learn(digest [32]byte, identifier, base string) {
	v.snaps.Update(digest, func(s *licensing.Snapshot) *licensing.Snapshot { return s.WithActivation(identifier, base) })
}

// Validate runs one validation, and counts its answer (outcome.go).
func (v *Validator) Validate(ctx context.Context, in ValidateInput) (*ValidateResult, error) {
	now := v.now()
	res, err := v.validate(ctx, in, now)
	if err == nil {
		v.outcomes.add(res, now)
	}
	return res, err
}

// validate runs one validation without counting its answer (Heartbeat
// counts its own, after the seat rule).
func (v *Validator) validate(ctx context.Context, in ValidateInput, now time.Time) (*ValidateResult, error) {
	res := &ValidateResult{Identifier: licensing.NormalizeIdentifier(in.Identifier)}
	key := licensing.NormalizeKey(in.Key)
	if key == "" {
		res.Code = licensing.CodeKeyMissing
		return res, nil
	}
	if !licensing.WellFormedKey(key) {
		// Not a key this server issues: refused before any lookup, so a
		// client sending garbage costs no cache entry and no query.
		res.Code = licensing.CodeNotFound
		return res, nil
	}
	snap, digest, err := v.snapshot(ctx, key)
	if err != nil {
		return nil, err
	}
	if snap == nil {
		res.Code = licensing.CodeNotFound
		return res, nil
	}
	// The snapshot is never changed once cached (copy-on-write), so the
	// result may point into it: no copy of two large structs per request.
	lic := &snap.License
	res.License, res.Project = lic, &snap.Project
	if in.ProjectID != 0 && in.ProjectID != lic.ProjectID {
		res.Code = licensing.CodeProjectMismatch
		return res, nil
	}
	if v.limiter != nil {
		res.RateLimit = v.limiter.Allow(ratelimit.Key{Kind: "l", ID: lic.ID}, v.licenseLimit, now)
		if !res.RateLimit.Allowed {
			res.Code = licensing.CodeRateLimited
			return res, nil
		}
	}
	dec := licensing.Decide(snap, licensing.Request{Identifier: res.Identifier, IP: in.IP, Country: in.Country,
		CheckProject: in.CheckProject, Now: now})
	res.Code, res.HasPaid, res.Matched = dec.Code, dec.HasPaid, dec.Matched
	if dec.Code != licensing.CodeValid {
		return res, nil
	}
	day := now.UTC().Format(time.DateOnly)
	capN := limitValue(lic.MaxUsagePerDay)
	res.Cap = capN
	// Unpaid is a failure: it is not counted, but a cap already reached
	// is reported first, as the cap comes before payment.
	if !dec.HasPaid || !in.Count {
		if capN > 0 {
			used, err := v.usedToday(ctx, lic.ID, day)
			if err != nil {
				return nil, err
			}
			res.UsedToday = used
			if used >= capN {
				res.Code = licensing.CodeUsageExceeded
				v.capReached(snap, day)
				return res, nil
			}
		}
		if !dec.HasPaid {
			res.Code = licensing.CodeUnpaid
			return res, nil
		}
	}
	act := dec.Activation
	mustWrite := act != nil && act.Limited
	if in.Count && capN > 0 {
		mustWrite = true
	}
	if !mustWrite {
		// A sighting new to this flush window may be a new activation: the
		// snapshot of a license without domain limits does not learn its
		// activations, so this is the cheap place to notice.
		if v.pending.add(lic.ID, day, in.Count, act, res.Identifier, in.IP, in.Country, in.UserAgent, now) && act != nil {
			v.activated(snap, act.Identifier)
		}
		return res, nil
	}
	w := core.ValidationWrite{LicenseID: lic.ID, Day: day}
	if in.Count {
		w.Cap = capN
	}
	if act != nil {
		w.Activation = &core.Activation{Identifier: act.Identifier, BaseDomain: act.Base, LastSeenAt: now, LastIP: in.IP.String(),
			Country: in.Country, UserAgent: cleanUserAgent(in.UserAgent)}
		w.MaxDomains, w.MaxSubdomains = act.MaxDomains, act.MaxSubdomains
		w.NewPerDay, w.FreeActivations = act.NewPerDay, act.MaxDomains
	}
	outcome, count, err := v.store.RecordValidation(ctx, w)
	if err != nil {
		return nil, err
	}
	switch outcome {
	case core.WriteUsageExceeded:
		res.Code = licensing.CodeUsageExceeded
		v.capReached(snap, day)
		return res, nil
	case core.WriteTooManyDomains:
		res.Code = licensing.CodeTooManyDomains
		v.forget(lic.ID)
		return res, nil
	case core.WriteTooManySubs:
		res.Code = licensing.CodeTooManySubdomains
		v.forget(lic.ID)
		return res, nil
	case core.WriteTooManyActivations:
		res.Code = licensing.CodeTooManyActivations
		return res, nil
	}
	res.UsedToday = count
	if act != nil {
		v.learn(digest, act.Identifier, act.Base)
		v.activated(snap, act.Identifier)
		if in.Count && capN == 0 {
			// Without a cap the write stored only the activation: the use
			// is counted with the other uncapped ones at the next flush.
			v.pending.add(lic.ID, day, true, nil, "", in.IP, "", "", now)
		}
	} else if res.Identifier != "" && !dec.Local {
		v.pending.add(lic.ID, day, false, nil, res.Identifier, in.IP, in.Country, in.UserAgent, now) // last sighting only
	}
	return res, nil
}

func limitValue(p *int64) int64 {
	if p == nil || *p <= 0 {
		return 0
	}
	return *p
}

// usedToday returns the stored count of today's uses (the capped path
// writes synchronously, so the store is exact for capped licenses).
func (v *Validator) usedToday(ctx context.Context, licenseID int64, day string) (int64, error) {
	days, err := v.store.LicenseUsage(ctx, licenseID, day, day)
	if err != nil || len(days) == 0 {
		return 0, err
	}
	return days[0].Count, nil
}

// Injectables returns the active injectables of a project that may be
// delivered: those marked only_if_paid only when paid.
func (v *Validator) Injectables(ctx context.Context, projectID int64, paid bool) ([]core.Injectable, error) {
	list, ok := v.inj.Get(projectID)
	if !ok {
		t := v.inj.Begin()
		var err error
		list, err = v.store.ListInjectables(ctx, core.InjectableFilter{ProjectID: projectID, OnlyActive: true, Limit: 10000})
		if err != nil {
			return nil, err
		}
		v.inj.Put(t, projectID, list, core.InjectablesDeps(projectID)...)
	}
	if paid {
		return list, nil
	}
	out := make([]core.Injectable, 0, len(list))
	for _, i := range list {
		if !i.OnlyIfPaid {
			out = append(out, i)
		}
	}
	return out, nil
}

// Pending returns this node's unflushed counts for a license, by day.
func (v *Validator) Pending(licenseID int64) map[string]int64 { return v.pending.counts(licenseID) }

// Flush writes the uses counted in memory. Cached snapshots are left as
// they are: activations flushed here belong to licenses without domain
// limits, whose decisions do not depend on them.
//
// A batch is one transaction. When the store refuses it, its parts (each
// day's count, each sighting) are written one by one, so that one bad part
// never holds back the others: a part refused as EInvalid (a value the
// database cannot store, which no retry fixes) is dropped and reported in
// the returned error; at any other failure (the database is unreachable)
// that part and those not yet written go back for the next flush.
//
// The runtime outcomes counted since the last flush are written after the
// uses, whatever became of those.
func (v *Validator) Flush(ctx context.Context) error {
	return errors.Join(v.flushUses(ctx), v.outcomes.flush(ctx, v.store))
}

func (v *Validator) flushUses(ctx context.Context) error {
	batch, back := v.pending.take()
	if len(batch) == 0 {
		return nil
	}
	err := v.store.RecordLicenseUses(ctx, batch)
	if err == nil {
		v.pending.wrote(batch, v.now())
		return nil
	}
	if !core.IsCode(err, core.EInvalid) {
		back()
		return err
	}
	parts := splitUses(batch)
	var written []core.LicenseUse
	var dropped []error
	defer func() { v.pending.wrote(written, v.now()) }()
	for i, part := range parts {
		err := v.store.RecordLicenseUses(ctx, part)
		switch {
		case err == nil:
			written = append(written, part...)
		case core.IsCode(err, core.EInvalid):
			dropped = append(dropped, fmt.Errorf("dropped usage of license %d on %s (count %d, sightings %q): %w",
				part[0].LicenseID, part[0].Day, part[0].Count, identifiers(part[0]), err))
		default:
			for _, rest := range parts[i:] {
				v.pending.restore(rest[0])
			}
			return errors.Join(append(dropped, err)...)
		}
	}
	return errors.Join(dropped...)
}

// splitUses cuts a batch into one-use batches that each write one thing:
// a day's count, or one sighting.
func splitUses(batch []core.LicenseUse) [][]core.LicenseUse {
	var out [][]core.LicenseUse
	for _, u := range batch {
		if u.Count > 0 {
			out = append(out, []core.LicenseUse{{LicenseID: u.LicenseID, Day: u.Day, Count: u.Count}})
		}
		for _, a := range u.Seen {
			out = append(out, []core.LicenseUse{{LicenseID: u.LicenseID, Day: u.Day, Seen: []core.Activation{a}}})
		}
		for _, a := range u.Touched {
			out = append(out, []core.LicenseUse{{LicenseID: u.LicenseID, Day: u.Day, Touched: []core.Activation{a}}})
		}
	}
	return out
}

func identifiers(u core.LicenseUse) []string {
	out := make([]string, 0, len(u.Seen)+len(u.Touched))
	for _, a := range u.Seen {
		out = append(out, a.Identifier)
	}
	for _, a := range u.Touched {
		out = append(out, a.Identifier)
	}
	return out
}

// Run flushes every interval until ctx ends, then once more. Every flush
// runs under flush, not ctx: it must not be cut off when the loop is told
// to stop, but must end at the shutdown deadline (keys.Usage.Run).
func (v *Validator) Run(ctx, flush context.Context, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := v.Flush(flush); err != nil && onErr != nil {
				onErr(err)
			}
			return
		case <-t.C:
			if err := v.Flush(flush); err != nil && onErr != nil {
				onErr(err)
			}
		}
	}
}

// pendingUses counts uncapped validations and activation sightings in
// memory until the next flush.
type pendingUses struct {
	mu sync.Mutex
	m  map[pendingKey]*pendingUse
	// written holds when each activation's last-seen time was last
	// stored by this node. A sighting within seenEvery of that is not
	// written again: without this, a busy license rewrites its activation
	// row on every flush, which cost a seventh of the CPU of the uncapped
	// validation benchmark for a timestamp nobody reads to the second.
	// By license, so that a license's snapshot loaded again (after any
	// change to it, such as an activation removed, on any node) forgets
	// them: the next sighting is written, and made again if removed.
	written map[int64]map[string]time.Time
}

// seenEvery is the resolution of an activation's last_seen_at.
const seenEvery = time.Minute

type pendingKey struct {
	license int64
	day     string
}

type pendingUse struct {
	count int64
	seen  map[string]seen
}

// seen is the latest sighting of an identifier; the address is formatted
// only when flushed.
type seen struct {
	base string
	at   time.Time
	ip   netip.Addr
	// country and ua are the sighting's, the user agent cut but not yet
	// cleaned (done once, when flushed).
	country, ua string
	// touch: every sighting was of an identifier the snapshot knew, so
	// the flush only updates its activation and never creates it again
	// (one removed meanwhile stays removed).
	touch bool
}

func (p *pendingUses) add(licenseID int64, day string, count bool, act *licensing.NewActivation, identifier string, ip netip.Addr,
	country, ua string, now time.Time) (fresh bool) {
	if !count && identifier == "" {
		return false
	}
	k := pendingKey{licenseID, day}
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.m[k]
	if u == nil {
		u = &pendingUse{}
		p.m[k] = u
	}
	if count {
		u.count++
	}
	if identifier == "" || licensing.IsLocal(identifier) {
		return false
	}
	if t, ok := p.written[licenseID][identifier]; ok && now.Sub(t) < seenEvery {
		return false
	}
	if u.seen == nil {
		u.seen = map[string]seen{}
	}
	a, ok := u.seen[identifier]
	if !ok {
		a.touch = true
		if act != nil {
			a.base = act.Base
		} else {
			a.base = licensing.BaseDomain(identifier)
		}
	}
	a.at, a.ip, a.country, a.ua = now, ip, country, core.TruncateText(ua, maxUserAgent)
	a.touch = a.touch && act == nil
	u.seen[identifier] = a
	return !ok
}

// wrote records the sightings of a stored batch, and forgets those older
// than seenEvery, so the map holds only the last minute's activations.
func (p *pendingUses) wrote(batch []core.LicenseUse, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.written == nil {
		p.written = map[int64]map[string]time.Time{}
	}
	for l, m := range p.written {
		for id, t := range m {
			if now.Sub(t) >= seenEvery {
				delete(m, id)
			}
		}
		if len(m) == 0 {
			delete(p.written, l)
		}
	}
	for _, u := range batch {
		for _, list := range [][]core.Activation{u.Seen, u.Touched} {
			for _, a := range list {
				m := p.written[u.LicenseID]
				if m == nil {
					m = map[string]time.Time{}
					p.written[u.LicenseID] = m
				}
				m[a.Identifier] = a.LastSeenAt
			}
		}
	}
}

// reloaded forgets what was written for a license whose snapshot was
// loaded again.
func (p *pendingUses) reloaded(licenseID int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.written, licenseID)
}

// restore puts one use that could not be written back into the pending
// set, merged with what was counted since.
func (p *pendingUses) restore(u core.LicenseUse) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := pendingKey{u.LicenseID, u.Day}
	cur := p.m[k]
	if cur == nil {
		cur = &pendingUse{}
		p.m[k] = cur
	}
	cur.count += u.Count
	put := func(a core.Activation, touch bool) {
		c, ok := cur.seen[a.Identifier]
		if !ok || a.LastSeenAt.After(c.at) {
			if cur.seen == nil {
				cur.seen = map[string]seen{}
			}
			ip, _ := netip.ParseAddr(a.LastIP)
			cur.seen[a.Identifier] = seen{base: a.BaseDomain, at: a.LastSeenAt, ip: ip, country: a.Country, ua: a.UserAgent,
				touch: touch && (!ok || c.touch)}
		} else if !touch {
			c.touch = false
			cur.seen[a.Identifier] = c
		}
	}
	for _, a := range u.Seen {
		put(a, false)
	}
	for _, a := range u.Touched {
		put(a, true)
	}
}

func (p *pendingUses) counts(licenseID int64) map[string]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out map[string]int64
	for k, u := range p.m {
		if k.license == licenseID && u.count > 0 {
			if out == nil {
				out = map[string]int64{}
			}
			out[k.day] += u.count
		}
	}
	return out
}

// take empties the pending set and returns it as a batch, with a function
// that puts it back if the write fails.
func (p *pendingUses) take() ([]core.LicenseUse, func()) {
	p.mu.Lock()
	taken := p.m
	p.m = map[pendingKey]*pendingUse{}
	p.mu.Unlock()
	batch := make([]core.LicenseUse, 0, len(taken))
	for k, u := range taken {
		lu := core.LicenseUse{LicenseID: k.license, Day: k.day, Count: u.count}
		for id, a := range u.seen {
			act := core.Activation{Identifier: id, BaseDomain: a.base, LastSeenAt: a.at, Country: a.country, UserAgent: cleanUserAgent(a.ua)}
			if a.ip.IsValid() {
				act.LastIP = a.ip.String()
			}
			if a.touch {
				lu.Touched = append(lu.Touched, act)
			} else {
				lu.Seen = append(lu.Seen, act)
			}
		}
		batch = append(batch, lu)
	}
	return batch, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for k, u := range taken {
			cur := p.m[k]
			if cur == nil {
				p.m[k] = u
				continue
			}
			cur.count += u.count
			for id, a := range u.seen {
				c, ok := cur.seen[id]
				if ok {
					// Created again if either sighting would create it.
					a.touch, c.touch = a.touch && c.touch, a.touch && c.touch
				}
				if !ok || a.at.After(c.at) {
					if cur.seen == nil {
						cur.seen = map[string]seen{}
					}
					cur.seen[id] = a
				} else {
					cur.seen[id] = c
				}
			}
		}
	}
}
