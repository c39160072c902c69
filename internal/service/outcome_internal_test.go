package service

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// outcomeSink is an InsightStore that keeps what it is given, or fails.
type outcomeSink struct {
	core.InsightStore
	err  error
	got  []core.OutcomeCount
	sent int
}

func (s *outcomeSink) RecordOutcomes(_ context.Context, c []core.OutcomeCount) error {
	s.sent++
	if s.err != nil {
		return s.err
	}
	s.got = append(s.got, c...)
	return nil
}

// TestOutcomeCountingAllocatesNothing: once a license was answered in
// the hour, counting its answers allocates nothing, also after a flush
// (the maps keep their room).
func TestOutcomeCountingAllocatesNothing(t *testing.T) {
	o := newOutcomes()
	res := &ValidateResult{Code: "VALID", License: &core.License{ID: 7, ProjectID: 3}}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	o.add(res, now)
	if err := o.flush(context.Background(), &outcomeSink{}); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() { o.add(res, now) }); n != 0 {
		t.Fatalf("%v allocations per answer, want 0", n)
	}
}

// TestOutcomeFlush: a flush writes each (license, hour, code) once with its
// count; a failed write puts the counts back for the next flush (merged
// with those counted since), a refused one (EInvalid) drops them; answers
// without a license are not counted; the bound drops and reports.
func TestOutcomeFlush(t *testing.T) {
	ctx := context.Background()
	o := newOutcomes()
	h := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	valid := &ValidateResult{Code: "VALID", License: &core.License{ID: 1, ProjectID: 9}}
	expired := &ValidateResult{Code: "EXPIRED", License: &core.License{ID: 1, ProjectID: 9}}
	o.add(valid, h)
	o.add(valid, h.Add(59*time.Minute))
	o.add(expired, h)
	o.add(valid, h.Add(time.Hour))
	o.add(&ValidateResult{Code: "NOT_FOUND"}, h)
	o.add(nil, h)

	down := &outcomeSink{err: errors.New("connection refused")}
	if err := o.flush(ctx, down); err == nil {
		t.Fatal("a failed write was not reported")
	}
	o.add(valid, h)
	sink := &outcomeSink{}
	if err := o.flush(ctx, sink); err != nil {
		t.Fatal(err)
	}
	want := map[core.OutcomeCount]bool{
		{LicenseID: 1, ProjectID: 9, Hour: h, Code: "VALID", Count: 3}:                true,
		{LicenseID: 1, ProjectID: 9, Hour: h, Code: "EXPIRED", Count: 1}:              true,
		{LicenseID: 1, ProjectID: 9, Hour: h.Add(time.Hour), Code: "VALID", Count: 1}: true,
	}
	if len(sink.got) != len(want) {
		t.Fatalf("flushed %+v, want %v", sink.got, want)
	}
	for _, c := range sink.got {
		if !want[c] {
			t.Fatalf("flushed %+v, want %v", sink.got, want)
		}
	}
	if err := o.flush(ctx, sink); err != nil || sink.sent != 1 {
		t.Fatalf("an empty flush wrote (%d writes, %v)", sink.sent, err)
	}

	o.add(valid, h)
	refused := &outcomeSink{err: core.Errorf(core.EInvalid, "refused")}
	if err := o.flush(ctx, refused); !core.IsCode(err, core.EInvalid) {
		t.Fatalf("refused write: %v", err)
	}
	if got := o.pending(func(int64, int64) bool { return true }); len(got) != 0 {
		t.Fatalf("refused counts kept: %+v", got)
	}

	// The bound: a shard full of licenses drops the next new one.
	for i := range int64(maxPendingOutcomes / outcomeShards) {
		o.addN(i*outcomeShards, 1, "VALID", 1, 1)
	}
	o.addN(maxPendingOutcomes*2, 1, "VALID", 1, 5) // same shard (0), a new key
	if err := o.flush(ctx, &outcomeSink{}); !core.IsCode(err, core.EUnavailable) {
		t.Fatalf("dropped answers not reported: %v", err)
	}
}
