package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/latchkey/latchkey/internal/core"
)

// committer runs the transactions of a single-writer database (SQLite) in
// groups: every transaction waiting when the writer becomes free runs
// inside one database transaction, each in a savepoint of its own so that
// one failing rolls back only itself, and the group commits once. Each
// caller gets its answer only after that commit, so an acknowledged write
// is as durable as before; the commit's cost (writing the changed pages to
// the WAL) is shared by the group, which is what bounds write throughput on
// SQLite.
type committer struct {
	s      *Store
	jobs   chan *job
	stop   chan struct{}
	exited chan struct{} // closed when the loop has returned
	wg     sync.WaitGroup
	once   sync.Once
}

var errClosed = errors.New("store: closed")

type job struct {
	ctx  context.Context
	fn   func(core.Store) error
	done chan error
	// misses collects statements run unprepared, to prepare after commit.
	misses []string
}

// maxGroup bounds a group so one commit never holds callers long.
const maxGroup = 64

func newCommitter(s *Store) *committer {
	c := &committer{s: s, jobs: make(chan *job, 1024), stop: make(chan struct{}), exited: make(chan struct{})}
	c.wg.Go(c.loop)
	return c
}

// run hands fn to the committer and waits for its group's commit.
func (c *committer) run(ctx context.Context, fn func(core.Store) error) error {
	j := &job{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case <-c.stop:
		return errClosed
	default:
	}
	select {
	case c.jobs <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.exited:
		return errClosed
	}
	// The job runs even if ctx ends now: its outcome is decided by the
	// group, and the caller learns it. A job still queued when the store
	// closes never runs.
	select {
	case err := <-j.done:
		return err
	case <-c.exited:
		select {
		case err := <-j.done:
			return err
		default:
			return errClosed
		}
	}
}

func (c *committer) close() {
	c.once.Do(func() { close(c.stop) })
	c.wg.Wait()
}

func (c *committer) loop() {
	defer close(c.exited)
	for {
		var first *job
		select {
		case first = <-c.jobs:
		case <-c.stop:
			return
		}
		group := []*job{first}
	more:
		for len(group) < maxGroup {
			select {
			case j := <-c.jobs:
				group = append(group, j)
			default:
				break more
			}
		}
		c.commit(group)
	}
}

// commit runs one group in one transaction.
func (c *committer) commit(group []*job) {
	s := c.s
	// Not a caller's context: one caller giving up must not roll back the
	// others' work.
	ctx := context.Background()
	results := make([]error, len(group))
	tx, err := s.writer.db.BeginTx(ctx, nil)
	if err != nil {
		for _, j := range group {
			j.done <- fmt.Errorf("store: begin: %w", err)
		}
		return
	}
	ok := 0
	for i, j := range group {
		sp := "g" + strconv.Itoa(i)
		if _, err := tx.ExecContext(ctx, "SAVEPOINT "+sp); err != nil {
			results[i] = fmt.Errorf("store: savepoint: %w", err)
			continue
		}
		child := *s
		child.tx = tx
		child.misses = &j.misses
		if err := j.ctx.Err(); err != nil {
			results[i] = err
		} else {
			results[i] = j.fn(&child)
		}
		if results[i] != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO "+sp); err != nil {
				// The transaction is in an unknown state: fail the group.
				_ = tx.Rollback()
				for k, jj := range group {
					if k == i {
						jj.done <- results[i]
					} else {
						jj.done <- fmt.Errorf("store: rollback to savepoint: %w", err)
					}
				}
				return
			}
		} else {
			ok++
		}
		if _, err := tx.ExecContext(ctx, "RELEASE "+sp); err != nil && results[i] == nil {
			results[i] = fmt.Errorf("store: release savepoint: %w", err)
		}
	}
	if ok == 0 {
		_ = tx.Rollback()
	} else if err := tx.Commit(); err != nil {
		for i := range results {
			if results[i] == nil {
				results[i] = fmt.Errorf("store: commit: %w", err)
			}
		}
	}
	for i, j := range group {
		for _, q := range j.misses {
			_, _ = s.writer.stmt(ctx, q)
		}
		j.done <- results[i]
	}
}
