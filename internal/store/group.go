package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/latchkey/latchkey/internal/core"
)

// committer runs the transactions of a single-writer database (SQLite) in
// groups: every transaction waiting when the writer becomes free runs
// inside one database transaction, and the group commits once (a failing
// one makes the group run again one by one, so it rolls back only itself). Each
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
		if len(c.jobs) == 0 {
			// Let the goroutines that are about to write enqueue first: on
			// a busy server this turns groups of one into groups of several
			// for the cost of one scheduler pass.
			runtime.Gosched()
		}
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

// commit runs one group in one transaction. Most transactions succeed, so
// the group runs without savepoints (SQLite parses each one, which cost
// more than the writes being grouped); if one fails, the group is rolled
// back and every job runs again alone, in a transaction of its own, which
// gives each job exactly the outcome it would have had alone. The service's
// transaction functions are written to be run again (they reset what they
// collect).
func (c *committer) commit(group []*job) {
	if len(group) == 1 {
		c.alone(group[0])
		return
	}
	s := c.s
	// Not a caller's context: one caller giving up must not roll back the
	// others' work.
	ctx := context.Background()
	tx, err := s.writer.db.BeginTx(ctx, nil)
	if err != nil {
		for _, j := range group {
			j.done <- fmt.Errorf("store: begin: %w", err)
		}
		return
	}
	for _, j := range group {
		if err := c.runIn(tx, j); err != nil {
			_ = tx.Rollback()
			for _, jj := range group {
				jj.misses = jj.misses[:0]
				c.alone(jj)
			}
			return
		}
	}
	err = tx.Commit()
	if err != nil {
		err = fmt.Errorf("store: commit: %w", err)
	}
	for _, j := range group {
		c.prepareMisses(j)
		j.done <- err
	}
}

// runIn runs one job's function inside tx.
func (c *committer) runIn(tx *sql.Tx, j *job) error {
	if err := j.ctx.Err(); err != nil {
		return err
	}
	child := *c.s
	child.tx = tx
	child.misses = &j.misses
	return j.fn(&child)
}

// alone runs one job in a transaction of its own and answers it.
func (c *committer) alone(j *job) {
	tx, err := c.s.writer.db.BeginTx(context.Background(), nil)
	if err != nil {
		j.done <- fmt.Errorf("store: begin: %w", err)
		return
	}
	if err := c.runIn(tx, j); err != nil {
		_ = tx.Rollback()
		c.prepareMisses(j)
		j.done <- err
		return
	}
	if err := tx.Commit(); err != nil {
		j.done <- fmt.Errorf("store: commit: %w", err)
		return
	}
	c.prepareMisses(j)
	j.done <- nil
}

// prepareMisses prepares, now that the write connection is free, the
// statements the job ran unprepared.
func (c *committer) prepareMisses(j *job) {
	for _, q := range j.misses {
		_, _ = c.s.writer.stmt(context.Background(), q)
	}
}
