package service

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// outcomes counts the validator's answers about known licenses by result
// code and UTC hour, in memory until the next flush (the usage flush), like
// keys.Usage counts API-key requests: an answer costs a map increment
// under one of 64 locks, never a database write. A flush empties the maps
// with clear, which keeps their room, so in steady state (the same
// licenses answered hour after hour) counting allocates nothing.
type outcomes struct {
	shards  [outcomeShards]outcomeShard
	dropped atomic.Int64
}

const outcomeShards = 64

// maxPendingOutcomes bounds what a node holds between two flushes. Keys
// are real licenses (unknown keys are not counted), codes and hours are
// few, so the bound is reached only by a database that stays down for
// long; what does not fit is counted in dropped and reported at the next
// flush.
const maxPendingOutcomes = 1 << 20

type outcomeShard struct {
	mu sync.Mutex
	m  map[outcomeKey]outcomeCount
}

type outcomeKey struct {
	license int64
	hour    int64 // hours since the Unix epoch
	code    string
}

type outcomeCount struct {
	project int64
	n       int64
}

func newOutcomes() *outcomes {
	o := &outcomes{}
	for i := range o.shards {
		o.shards[i].m = map[outcomeKey]outcomeCount{}
	}
	return o
}

// add counts one answer. Answers without a license (a missing or unknown
// key) belong to no project and are not counted.
func (o *outcomes) add(res *ValidateResult, now time.Time) {
	if res == nil || res.License == nil {
		return
	}
	o.addN(res.License.ID, res.License.ProjectID, res.Code, now.Unix()/3600, 1)
}

func (o *outcomes) addN(license, project int64, code string, hour, n int64) {
	k := outcomeKey{license: license, hour: hour, code: code}
	sh := &o.shards[uint64(license)%outcomeShards]
	sh.mu.Lock()
	c, ok := sh.m[k]
	if !ok && len(sh.m) >= maxPendingOutcomes/outcomeShards {
		sh.mu.Unlock()
		o.dropped.Add(n)
		return
	}
	c.project, c.n = project, c.n+n
	sh.m[k] = c
	sh.mu.Unlock()
}

// pending returns the unflushed counts that match, by license, hour and
// code, for reads to add to what is stored.
func (o *outcomes) pending(match func(license, project int64) bool) []core.OutcomeCount {
	var out []core.OutcomeCount
	for i := range o.shards {
		sh := &o.shards[i]
		sh.mu.Lock()
		for k, c := range sh.m {
			if match(k.license, c.project) {
				out = append(out, core.OutcomeCount{ProjectID: c.project, LicenseID: k.license, Hour: hourTime(k.hour), Code: k.code, Count: c.n})
			}
		}
		sh.mu.Unlock()
	}
	return out
}

func hourTime(h int64) time.Time { return time.Unix(h*3600, 0).UTC() }

// flush writes everything counted. What fails to write goes back to be
// written by the next flush, except counts the database refuses as
// invalid, which no retry would fix.
func (o *outcomes) flush(ctx context.Context, st core.InsightStore) error {
	var batch []core.OutcomeCount
	for i := range o.shards {
		sh := &o.shards[i]
		sh.mu.Lock()
		for k, c := range sh.m {
			batch = append(batch, core.OutcomeCount{ProjectID: c.project, LicenseID: k.license, Hour: hourTime(k.hour), Code: k.code, Count: c.n})
		}
		clear(sh.m)
		sh.mu.Unlock()
	}
	var err error
	if dropped := o.dropped.Swap(0); dropped > 0 {
		err = core.Errorf(core.EUnavailable, "%d runtime outcomes were not counted: too many waited for a flush", dropped)
	}
	if len(batch) == 0 {
		return err
	}
	if werr := st.RecordOutcomes(ctx, batch); werr != nil {
		if !core.IsCode(werr, core.EInvalid) {
			for _, c := range batch {
				o.addN(c.LicenseID, c.ProjectID, c.Code, c.Hour.Unix()/3600, c.Count)
			}
		}
		return errors.Join(err, werr)
	}
	return err
}
