package service

import (
	"context"

	"github.com/latchkey/latchkey/internal/core"
)

// OnChange registers fn to be told, synchronously and after commit, of
// every change this node makes. Caches use it to drop stale records before
// the write's response goes out, so the very next request sees the change.
func (s *Service) OnChange(fn func(core.Change)) {
	s.listeners = append(s.listeners, fn)
}

// Invalidate tells this node's caches about c (used for changes that
// arrive from other nodes).
func (s *Service) Invalidate(c core.Change) {
	for _, fn := range s.listeners {
		fn(c)
	}
}

// write runs fn in one transaction. fn reports what it changed through
// changed: the changes are published to other nodes in the same
// transaction (delivered only if it commits) and dropped from this node's
// caches right after the commit.
func (s *Service) write(ctx context.Context, fn func(st core.Store, changed func(core.Change)) error) error {
	var changes []core.Change
	err := s.store.InTx(ctx, func(st core.Store) error {
		changes = changes[:0]
		if err := fn(st, func(c core.Change) { changes = append(changes, c) }); err != nil {
			return err
		}
		for _, c := range changes {
			if err := st.Publish(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, c := range changes {
		s.Invalidate(c)
	}
	if s.barrier != nil && narrows(changes) {
		// A revocation must be refused by the next request at every
		// node, not once the others' notifications arrive: answer only
		// when they have applied it.
		s.barrier(ctx)
	}
	if s.deliveriesDue.Swap(false) {
		select {
		case s.wake <- struct{}{}:
		default: // already woken
		}
	}
	return nil
}

// SetBarrier sets what a write calls after its commit to wait for the
// other nodes to apply its changes (see postgres.Listener.Barrier).
func (s *Service) SetBarrier(fn func(ctx context.Context)) { s.barrier = fn }

// narrows reports whether changes may take away something a cached copy
// on another node still grants: anything but a new record under a project
// (a catalog change alone), which no other node can have cached yet.
func narrows(changes []core.Change) bool {
	for _, c := range changes {
		if c.Kind != core.ChangeCatalog {
			return true
		}
	}
	return false
}
