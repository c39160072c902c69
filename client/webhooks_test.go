package client_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/client/webhook"
)

// TestWebhookEndpointUpdateSendsOnlyWhatIsSet: an update never resets a
// field it does not mention, and ClearProject is an explicit null.
func TestWebhookEndpointUpdateSendsOnlyWhatIsSet(t *testing.T) {
	for _, tc := range []struct {
		in   client.WebhookEndpointUpdate
		want string
	}{
		{client.WebhookEndpointUpdate{}, `{}`},
		{client.WebhookEndpointUpdate{Enabled: client.Ptr(false)}, `{"enabled":false}`},
		{client.WebhookEndpointUpdate{ClearProject: true, Description: client.Ptr("")}, `{"description":"","project_id":null}`},
		{client.WebhookEndpointUpdate{URL: client.Ptr("https://b.example.com/h"), Events: []string{client.AllEvents}, ProjectID: client.Ptr[int64](7),
			Ordered: client.Ptr(true), ExpiringDays: client.Ptr(30)},
			`{"url":"https://b.example.com/h","events":["*"],"project_id":7,"ordered":true,"expiring_days":30}`},
	} {
		b, err := json.Marshal(tc.in)
		if err != nil || string(b) != tc.want {
			t.Errorf("%+v encodes as %s (%v), want %s", tc.in, b, err, tc.want)
		}
	}
}

// TestEventHasTheDeliveredShape: an event read from the API and the same
// event received by an endpoint (client/webhook) decode to the same
// values, so a program can handle both with one piece of code.
func TestEventHasTheDeliveredShape(t *testing.T) {
	body := []byte(`{"id":"evt_0193f1c2a4b87c3e9d0a1b2c3d4e5f60","type":"license.suspended","created_at":"2026-12-02T10:15:00Z",
		"data":{"object":{"id":42,"project_id":7,"status":"suspended"},"previous":{"status":"active","suspended_at":null}},
		"project_id":7,"resource_type":"license","resource_id":42}`)
	var listed client.Event
	var delivered webhook.Event
	if err := json.Unmarshal(body, &listed); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &delivered); err != nil {
		t.Fatal(err)
	}
	if listed.ID != delivered.ID || listed.Type != delivered.Type || !listed.CreatedAt.Equal(delivered.CreatedAt) ||
		string(listed.Data.Object) != string(delivered.Data.Object) || string(listed.Data.Previous) != string(delivered.Data.Previous) {
		t.Fatalf("listed %+v, delivered %+v", listed, delivered)
	}
	if listed.ProjectID == nil || *listed.ProjectID != 7 || listed.ResourceType != "license" || listed.ResourceID != 42 {
		t.Fatalf("listed %+v", listed)
	}
	// The fields they share have the same names and tags.
	shared := map[string]string{}
	lt, dt := reflect.TypeFor[client.Event](), reflect.TypeFor[webhook.Event]()
	for i := range dt.NumField() {
		shared[dt.Field(i).Name] = dt.Field(i).Tag.Get("json")
	}
	for name, tag := range shared {
		f, ok := lt.FieldByName(name)
		if !ok || f.Tag.Get("json") != tag {
			t.Errorf("client.Event.%s: %v %q, want the tag %q of webhook.Event", name, ok, f.Tag.Get("json"), tag)
		}
	}
}

func TestEventsGetNeedsAnID(t *testing.T) {
	c := must(client.New("http://127.0.0.1:1", "k", client.WithRetries(0)))(t)
	if _, err := c.Events.Get(context.Background(), ""); err == nil || err.Error() != "latchkey: the event ID is empty" {
		t.Fatalf("err = %v", err)
	}
}

// must fails the test on err, else returns v: must(client.New(…))(t).
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
