package service

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/internal/cache"
	"github.com/latchkey/latchkey/internal/core"
)

// Bounds of the service's caches: the hot set of reads, not the catalogue.
const (
	maxCachedProjects = 50_000
	maxCachedLicenses = 20_000 // about 15 MB
)

// projectCache keeps projects by ID for the access checks that every
// project route makes.
type projectCache struct {
	c *cache.Cache[int64, *core.Project]
}

func newProjectCache(set *cache.Set, ttl time.Duration, now func() time.Time) projectCache {
	return projectCache{cache.NewIn(set, cache.Config[int64, *core.Project]{Name: "project", MaxEntries: maxCachedProjects, TTL: ttl, Now: now})}
}

// get returns a copy of the project: callers may change what they get.
func (pc projectCache) get(ctx context.Context, st core.Store, id int64) (*core.Project, error) {
	if p, ok := pc.c.Get(id); ok {
		cp := *p
		return &cp, nil
	}
	t := pc.c.Begin()
	p, err := st.Project(ctx, id)
	if err != nil {
		return nil, err
	}
	pc.c.Put(t, id, p, core.ProjectDeps(id)...)
	cp := *p
	return &cp, nil
}

// licenseCache keeps licenses by ID, with their key decrypted, for the API
// and dashboard reads of one license.
type licenseCache struct {
	c *cache.Cache[int64, *core.License]
}

func newLicenseCache(set *cache.Set, ttl time.Duration, now func() time.Time) licenseCache {
	return licenseCache{cache.NewIn(set, cache.Config[int64, *core.License]{Name: "license", MaxEntries: maxCachedLicenses, TTL: ttl, Now: now})}
}

func (lc licenseCache) get(ctx context.Context, s *Service, id int64) (*core.License, error) {
	if l, ok := lc.c.Get(id); ok {
		cp := *l
		return &cp, nil
	}
	t := lc.c.Begin()
	l, err := s.store.License(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.reveal(l); err != nil {
		return nil, err
	}
	lc.c.Put(t, id, l, core.LicenseDeps(l)...)
	cp := *l
	return &cp, nil
}
