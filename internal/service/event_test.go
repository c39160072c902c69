package service

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestEventIDsSortEvenWithAStoppedClock(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	prev := newEventID(at)
	for i := range 10_000 { // past the 4,096 a millisecond's counter holds
		id := newEventID(at)
		if len(id) != 36 || !strings.HasPrefix(id, "evt_") || id <= prev {
			t.Fatalf("id %d: %q after %q", i, id, prev)
		}
		prev = id
	}
	if later := newEventID(at.Add(time.Hour)); later <= prev {
		t.Fatalf("an hour later: %q after %q", later, prev)
	}
}

func TestEventDataStaysUnderAMegabyte(t *testing.T) {
	big, _ := json.Marshal(map[string]any{"id": 7, "meta": strings.Repeat("x", 2<<20)})
	data := eventData(big, map[string]json.RawMessage{"meta": json.RawMessage(`"old"`)}, 7)
	if len(data) > maxEventBody {
		t.Fatalf("%d bytes", len(data))
	}
	var d struct {
		Object   map[string]any
		Previous map[string]any
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	if d.Object["object_too_large"] != true || d.Object["id"] != float64(7) || len(d.Previous) != 0 {
		t.Fatalf("data %s", data)
	}
	small := eventData(json.RawMessage(`{"id":1}`), nil, 1)
	if string(small) != `{"object":{"id":1},"previous":{}}` {
		t.Fatalf("small %s", small)
	}
}

func TestPreviousHoldsOnlyWhatChanged(t *testing.T) {
	before := json.RawMessage(`{"id":1,"status":"active","title":"A","suspended_at":null,"updated_at":"t1","meta":{"a":1}}`)
	after := json.RawMessage(`{"id":1,"status":"suspended","title":"A","suspended_at":"t2","updated_at":"t2","meta":{ "a": 1 }}`)
	got, _ := json.Marshal(previous(before, after))
	if string(got) != `{"status":"active","suspended_at":null}` {
		t.Fatalf("previous %s", got)
	}
}
