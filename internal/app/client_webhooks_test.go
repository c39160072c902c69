package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Canned answers of the stub server: the API's JSON of each resource, as
// docs/webhooks.md shows it.
const (
	stubEndpoint = `{"id":3,"url":"https://billing.example.com/latchkey","description":"Billing sync","events":["license.created","license.revoked"],
		"project_id":7,"enabled":true,"ordered":true,"expiring_days":7,"source":"api","disabled_reason":null,"failing_since":null,
		"secret_rotating_until":null,"created_at":"2026-12-02T10:00:00Z","updated_at":"2026-12-02T10:00:00Z"}`
	stubDelivery = `{"id":18,"endpoint_id":3,"event_id":"evt_0193f1c2a4b87c3e9d0a1b2c3d4e5f60","event_type":"license.suspended",
		"status":"pending","attempts":2,"next_attempt_at":"2026-12-02T10:16:30Z","last_status_code":500,"created_at":"2026-12-02T10:15:00Z",
		"completed_at":null,"attempt_log":[
		{"at":"2026-12-02T10:15:00Z","status_code":500,"duration_ms":12,"error":null,"response":"oops"},
		{"at":"2026-12-02T10:15:31Z","status_code":null,"duration_ms":10000,"error":"timeout after 10s","response":""}]}`
	stubEvent = `{"id":"evt_0193f1c2a4b87c3e9d0a1b2c3d4e5f60","type":"license.suspended","created_at":"2026-12-02T10:15:00Z",
		"data":{"object":{"id":42,"status":"suspended"},"previous":{"status":"active"}},"project_id":7,"resource_type":"license","resource_id":42}`
)

// stubRequest is what the stub server received.
type stubRequest struct {
	method, path, query string
	body                map[string]any
}

// webhookStub is an API server that records every request and answers
// each webhook and event route with its canned resource.
func webhookStub(t *testing.T) (url string, requests func() []stubRequest) {
	t.Helper()
	var mu sync.Mutex
	var got []stubRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := stubRequest{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery}
		if len(b) > 0 {
			if err := json.Unmarshal(b, &req.body); err != nil {
				t.Errorf("%s %s: body %q is not a JSON object", r.Method, r.URL.Path, b)
			}
		}
		mu.Lock()
		got = append(got, req)
		mu.Unlock()
		rest := strings.TrimPrefix(r.URL.Path, "/api/v1/")
		var data string
		switch {
		case rest == "events", strings.HasSuffix(rest, "/deliveries"), rest == "webhook-endpoints":
			item := map[bool]string{true: stubEvent, false: stubEndpoint}[rest == "events"]
			if strings.HasSuffix(rest, "/deliveries") {
				item = stubDelivery
			}
			data = `{"data":[` + item + `],"next_cursor":null}`
		case strings.HasPrefix(rest, "events/"), strings.HasSuffix(rest, "/test"):
			data = stubEvent
		case strings.Contains(rest, "/deliveries/"):
			data = stubDelivery
		case r.Method == http.MethodDelete:
			data = "null"
		default:
			data = stubEndpoint
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"success","message":"Success","errors":null,"data":`+data+`}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []stubRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]stubRequest(nil), got...)
	}
}

// TestWebhookCommandsSend checks that each events and webhooks verb sends
// its route, its query and exactly the body its flags make: update sends
// only the flags given.
func TestWebhookCommandsSend(t *testing.T) {
	url, requests := webhookStub(t)
	vars := map[string]string{"LATCHKEY_API_KEY": "k", "LATCHKEY_URL": url}
	for _, tc := range []struct {
		args   []string
		method string
		path   string
		query  string // the exact query, "" for none
		body   string // the exact JSON body, "" for none
	}{
		{[]string{"events", "list"}, "GET", "/api/v1/events", "", ""},
		{[]string{"events", "list", "--type", "license.*", "--resource-type", "license", "--resource-id", "42", "--project", "7"}, "GET", "/api/v1/events",
			"project_id=7&resource_id=42&resource_type=license&type=license.%2A", ""},
		{[]string{"events", "show", "evt_0193f1c2a4b87c3e9d0a1b2c3d4e5f60"}, "GET", "/api/v1/events/evt_0193f1c2a4b87c3e9d0a1b2c3d4e5f60", "", ""},
		{[]string{"webhooks", "endpoints", "list"}, "GET", "/api/v1/webhook-endpoints", "", ""},
		{[]string{"webhooks", "endpoints", "show", "3"}, "GET", "/api/v1/webhook-endpoints/3", "", ""},
		{[]string{"webhooks", "endpoints", "create", "--endpoint-url", "https://b.example.com/h", "--events", "license.created, license.revoked"},
			"POST", "/api/v1/webhook-endpoints", "", `{"events":["license.created","license.revoked"],"url":"https://b.example.com/h"}`},
		{[]string{"webhooks", "endpoints", "create", "--endpoint-url", "https://b.example.com/h", "--events", "*", "--project", "7",
			"--description", "Billing sync", "--disabled", "--unordered", "--expiring-days", "14"}, "POST", "/api/v1/webhook-endpoints", "",
			`{"description":"Billing sync","enabled":false,"events":["*"],"expiring_days":14,"ordered":false,"project_id":7,"url":"https://b.example.com/h"}`},
		{[]string{"webhooks", "endpoints", "update", "3", "--enabled"}, "PATCH", "/api/v1/webhook-endpoints/3", "", `{"enabled":true}`},
		{[]string{"webhooks", "endpoints", "update", "3", "--disabled"}, "PATCH", "/api/v1/webhook-endpoints/3", "", `{"enabled":false}`},
		{[]string{"webhooks", "endpoints", "update", "3", "--all-projects", "--unordered=false", "--description", ""}, "PATCH", "/api/v1/webhook-endpoints/3", "",
			`{"description":"","ordered":true,"project_id":null}`},
		{[]string{"webhooks", "endpoints", "update", "3", "--endpoint-url", "https://c.example.com/h", "--events", "api_key.*", "--project", "8",
			"--expiring-days", "30"}, "PATCH", "/api/v1/webhook-endpoints/3", "",
			`{"events":["api_key.*"],"expiring_days":30,"project_id":8,"url":"https://c.example.com/h"}`},
		{[]string{"webhooks", "endpoints", "delete", "3", "--yes"}, "DELETE", "/api/v1/webhook-endpoints/3", "", ""},
		{[]string{"webhooks", "endpoints", "rotate-secret", "3"}, "POST", "/api/v1/webhook-endpoints/3/rotate-secret", "", `{"grace_seconds":86400}`},
		{[]string{"webhooks", "endpoints", "rotate-secret", "3", "--grace", "90m"}, "POST", "/api/v1/webhook-endpoints/3/rotate-secret", "", `{"grace_seconds":5400}`},
		{[]string{"webhooks", "endpoints", "rotate-secret", "3", "--grace", "0"}, "POST", "/api/v1/webhook-endpoints/3/rotate-secret", "", `{"grace_seconds":0}`},
		{[]string{"webhooks", "deliveries", "3"}, "GET", "/api/v1/webhook-endpoints/3/deliveries", "", ""},
		{[]string{"webhooks", "deliveries", "3", "--status", "failed"}, "GET", "/api/v1/webhook-endpoints/3/deliveries", "status=failed", ""},
		{[]string{"webhooks", "deliveries", "3", "18"}, "GET", "/api/v1/webhook-endpoints/3/deliveries/18", "", ""},
		{[]string{"webhooks", "retry", "3", "18"}, "POST", "/api/v1/webhook-endpoints/3/deliveries/18/retry", "", ""},
		{[]string{"webhooks", "test", "3"}, "POST", "/api/v1/webhook-endpoints/3/test", "", ""},
	} {
		name := strings.Join(tc.args, " ")
		before := len(requests())
		var out, errb bytes.Buffer
		err := Run(context.Background(), append(tc.args, "-o", "json"), Env{Getenv: func(k string) string { return vars[k] },
			Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
		if err != nil {
			t.Errorf("latchkey %s: %v", name, err)
			continue
		}
		if !json.Valid(out.Bytes()) || errb.Len() != 0 {
			t.Errorf("latchkey %s printed %q, stderr %q", name, out.String(), errb.String())
		}
		reqs := requests()[before:]
		if len(reqs) != 1 {
			t.Errorf("latchkey %s sent %d requests, want 1", name, len(reqs))
			continue
		}
		r := reqs[0]
		body := ""
		if r.body != nil {
			b, _ := json.Marshal(r.body) // map keys sorted: a stable form
			body = string(b)
		}
		if r.method != tc.method || r.path != tc.path || r.query != tc.query || body != tc.body {
			t.Errorf("latchkey %s sent %s %s?%s %s, want %s %s?%s %s", name, r.method, r.path, r.query, body, tc.method, tc.path, tc.query, tc.body)
		}
	}
}

// TestWebhookCommandsRefuseBadInput: input the command line can judge is
// refused on one line naming the flag or argument, before any request.
func TestWebhookCommandsRefuseBadInput(t *testing.T) {
	url, requests := webhookStub(t)
	vars := map[string]string{"LATCHKEY_API_KEY": "k", "LATCHKEY_URL": url}
	create := []string{"webhooks", "endpoints", "create"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append(create, "--events", "*"), "--endpoint-url: give the URL events are posted to"},
		{append(create, "--url", url, "--events", "*"), "(--url is the Latchkey server's)"},
		{append(create, "--endpoint-url", "", "--events", "*"), "--endpoint-url: give the URL"},
		{append(create, "--endpoint-url", "https://b.example.com/h"), "--events: give the event types"},
		{append(create, "--endpoint-url", "https://b.example.com/h", "--events", " , "), "--events: give at least one event type"},
		{append(create, "--endpoint-url", "https://b.example.com/h", "--events", "*", "--expiring-days", "0"), "--expiring-days: 0 is not between 1 and 90"},
		{append(create, "--endpoint-url", "https://b.example.com/h", "--events", "*", "--expiring-days", "91"), "--expiring-days: 91 is not between 1 and 90"},
		{append(create, "--endpoint-url", "https://b.example.com/h", "--events", "*", "--project", "seven"), `invalid argument "seven" for "--project"`},
		{append(create, "--endpoint-url", "https://b.example.com/h", "--events", "*", "--enabled"), "unknown flag: --enabled"},
		{append(create, "--endpoint-url", "https://b.example.com/h", "--events", "*", "--colour", "red"), "unknown flag: --colour"},
		{append(create, "extra", "--endpoint-url", "https://b.example.com/h", "--events", "*"), `unknown command "extra"`},
		{[]string{"webhooks", "endpoints", "update", "3", "--enabled", "--disabled"}, "none of the others can be"},
		{[]string{"webhooks", "endpoints", "update", "3", "--project", "7", "--all-projects"}, "none of the others can be"},
		{[]string{"webhooks", "endpoints", "update", "3", "--events", ""}, "--events: give at least one event type"},
		{[]string{"webhooks", "endpoints", "update", "3"}, "nothing to change: give at least one of --endpoint-url, --events"},
		{[]string{"webhooks", "endpoints", "update", "3", "--grace", "1h"}, "unknown flag: --grace"},
		{[]string{"webhooks", "endpoints", "update", "three", "--enabled"}, `endpoint ID: "three" is not a number`},
		{[]string{"webhooks", "endpoints", "update", "--enabled"}, "give the endpoint ID"},
		{[]string{"webhooks", "endpoints", "show", "0"}, `endpoint ID: "0" is not a number`},
		{[]string{"webhooks", "endpoints", "delete"}, "give the endpoint ID"},
		{[]string{"webhooks", "endpoints", "rotate-secret", "3", "--grace", "169h"}, "--grace: 169h0m0s is not between 0 and 168h"},
		{[]string{"webhooks", "endpoints", "rotate-secret", "3", "--grace", "-1s"}, "--grace: -1s is not between 0 and 168h"},
		{[]string{"webhooks", "endpoints", "rotate-secret", "3", "--grace", "2d"}, `invalid argument "2d" for "--grace"`},
		{[]string{"webhooks", "endpoints", "frob"}, `unknown command "frob" for "latchkey webhooks endpoints"`},
		{[]string{"webhooks", "frob"}, `unknown command "frob" for "latchkey webhooks"`},
		{[]string{"webhooks", "deliveries"}, "give the endpoint ID, and optionally a delivery ID"},
		{[]string{"webhooks", "deliveries", "3", "18", "19"}, "give the endpoint ID, and optionally a delivery ID"},
		{[]string{"webhooks", "deliveries", "x"}, `endpoint ID: "x" is not a number`},
		{[]string{"webhooks", "deliveries", "3", "y"}, `delivery ID: "y" is not a number`},
		{[]string{"webhooks", "deliveries", "3", "18", "--status", "failed"}, "--status: lists only"},
		{[]string{"webhooks", "retry", "3"}, "give the endpoint ID and the delivery ID"},
		{[]string{"webhooks", "retry", "3", "-1"}, "unknown shorthand flag: '1'"},
		{[]string{"webhooks", "test"}, "give the endpoint ID"},
		{[]string{"events", "show", "42"}, `event ID: "42" is not an event ID (evt_…`},
		{[]string{"events", "show"}, "give the event ID"},
		{[]string{"events", "list", "--resource-id", "42"}, "--resource-id: give --resource-type too"},
		{[]string{"events", "list", "--resource-id", "x"}, `invalid argument "x" for "--resource-id"`},
		{[]string{"events", "frob"}, `unknown command "frob" for "latchkey events"`},
	} {
		name := strings.Join(tc.args, " ")
		before := len(requests())
		var out, errb bytes.Buffer
		err := Run(context.Background(), tc.args, Env{Getenv: func(k string) string { return vars[k] }, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
		if err == nil {
			t.Errorf("latchkey %s succeeded", name)
			continue
		}
		line := ErrorLine(err)
		if !strings.Contains(line, tc.want) || strings.Contains(line, "\n") || out.Len() != 0 {
			t.Errorf("latchkey %s: %q (stdout %q), want one line with %q", name, line, out.String(), tc.want)
		}
		if n := len(requests()) - before; n != 0 {
			t.Errorf("latchkey %s sent %d requests", name, n)
		}
	}
}

// TestWebhookTables checks the table output: a delivery shows its fields
// and then one row per attempt; a created endpoint's secret comes with the
// warning on standard error, as keys create's does.
func TestWebhookTables(t *testing.T) {
	url, _ := webhookStub(t)
	vars := map[string]string{"LATCHKEY_API_KEY": "k", "LATCHKEY_URL": url}
	run := func(args ...string) (string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		if err := Run(context.Background(), args, Env{Getenv: func(k string) string { return vars[k] }, Stdin: strings.NewReader(""),
			Stdout: &out, Stderr: &errb}); err != nil {
			t.Fatalf("latchkey %s: %v", strings.Join(args, " "), err)
		}
		return squash(out.String()), errb.String()
	}
	out, _ := run("webhooks", "deliveries", "3", "18")
	for _, want := range []string{"event_type license.suspended", "completed_at -", "AT STATUS DURATION ERROR",
		"2026-12-02T10:15:00Z 500 12ms - oops", "2026-12-02T10:15:31Z - 10s timeout after 10s -"} {
		if !strings.Contains(out, want) {
			t.Errorf("deliveries 3 18 lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "attempt_log") {
		t.Errorf("the attempts are printed as a field too:\n%s", out)
	}
	out, _ = run("webhooks", "deliveries", "3")
	if !strings.Contains(out, "ID EVENT") || !strings.Contains(out, "18 evt_0193f1c2a4b87c3e9d0a1b2c3d4e5f60 license.suspended pending 2 500") {
		t.Errorf("deliveries 3:\n%s", out)
	}
	out, _ = run("events", "list")
	if !strings.Contains(out, "license.suspended license 42 7") {
		t.Errorf("events list:\n%s", out)
	}
	out, _ = run("webhooks", "endpoints", "list")
	if !strings.Contains(out, "3 https://billing.example.com/latchkey license.created,license.revoked 7 yes yes api") {
		t.Errorf("endpoints list:\n%s", out)
	}
	_, errOut := run("webhooks", "endpoints", "create", "--endpoint-url", "https://b.example.com/h", "--events", "*")
	if errOut != "Copy the secret now: it is not shown again.\n" {
		t.Errorf("create warned %q", errOut)
	}
	_, errOut = run("webhooks", "endpoints", "rotate-secret", "3")
	if errOut != "Copy the new secret now: it is not shown again.\n" {
		t.Errorf("rotate-secret warned %q", errOut)
	}
}

// squash collapses the runs of spaces that align a table's columns, so
// that a test names the cells rather than their widths.
func squash(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

// TestWebhookCompletion: --events completes the last item of its list
// with the event types, and events list --type with types and families,
// offline.
func TestWebhookCompletion(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"webhooks", "endpoints", "create", "--events", "license.created,lic"}, []string{"license.created,license.revoked", "license.created,*"}},
		{[]string{"webhooks", "endpoints", "update", "3", "--events", ""}, []string{"*", "api_key.rotated", "activation.created"}},
		{[]string{"events", "list", "--type", ""}, []string{"license.*", "api_key.*", "license.usage_cap_reached"}},
		{[]string{"webhooks", "deliveries", "3", "--status", ""}, []string{"pending", "succeeded", "failed"}},
	} {
		var out bytes.Buffer
		err := Run(context.Background(), append([]string{"__complete"}, tc.args...), Env{Getenv: func(string) string { return "" },
			Stdin: strings.NewReader(""), Stdout: &out, Stderr: io.Discard})
		if err != nil {
			t.Fatalf("complete %v: %v", tc.args, err)
		}
		lines := strings.Split(out.String(), "\n")
		for _, w := range tc.want {
			if !slices.Contains(lines, w) {
				t.Errorf("complete %v: no %q in\n%s", tc.args, w, out.String())
			}
		}
	}
}
