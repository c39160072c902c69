package web

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/core"
)

// formOnly are the fields of forms that never carry a message of their
// own: tokens and hidden values the dashboard sets itself.
var formOnly = map[string]bool{"_csrf": true, "submission": true, "form": true, "next": true, "invitation": true,
	"accept": true, "viewport": true, "test": true}

// apiOnly are fields the service names in its messages that no dashboard
// form posts (bulk filters, the API's field names of a body); their
// messages reach the dashboard only through the API.
var apiOnly = map[string]bool{"filter.ids": true, "filter.owner_id": true, "filter.owner_email": true,
	"filter.project_id": true, "filter.env": true, "filter": true, "license": true, "instance": true,
	// A plan's caps (max_projects, …) are set by the operator's command.
	"max_": true}

// TestEveryFormFieldHasALabel walks every form template's inputs, selects
// and text areas, and the fields the service's sources name in their
// messages: each must have a label, so a new field cannot reach a page
// under its API name.
func TestEveryFormFieldHasALabel(t *testing.T) {
	tmpls, err := filepath.Glob("templates/*.html")
	if err != nil || len(tmpls) == 0 {
		t.Fatalf("templates: %v", err)
	}
	inputRE := regexp.MustCompile(`<(?:input|select|textarea)\b[^>]*\bname="([a-z_.]+)"`)
	partialRE := regexp.MustCompile(`"Name" "([a-z_.]+)"`)
	hiddenRE := regexp.MustCompile(`type="hidden"`)
	var missing []string
	seen := map[string]bool{}
	for _, p := range tmpls {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range inputRE.FindAllStringSubmatch(string(b), -1) {
			if hiddenRE.MatchString(m[0]) || formOnly[m[1]] {
				continue
			}
			seen[m[1]] = true
			if _, ok := fieldLabels[m[1]]; !ok {
				missing = append(missing, filepath.Base(p)+": "+m[1])
			}
		}
		for _, m := range partialRE.FindAllStringSubmatch(string(b), -1) {
			seen[m[1]] = true
			if _, ok := fieldLabels[m[1]]; !ok {
				missing = append(missing, filepath.Base(p)+": "+m[1])
			}
		}
	}
	if len(seen) < 40 {
		t.Fatalf("found only %d form fields: the walk is broken", len(seen))
	}
	// The fields of the service's messages.
	srcs, err := filepath.Glob("../service/*.go")
	if err != nil {
		t.Fatal(err)
	}
	fieldRE := regexp.MustCompile(`(?:\.Add|core\.Invalid|core\.InvalidText|invalidText)\("([a-z_.]+)"`)
	serviceFields := 0
	for _, p := range srcs {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range fieldRE.FindAllStringSubmatch(string(b), -1) {
			serviceFields++
			if _, ok := fieldLabels[m[1]]; !ok && !apiOnly[m[1]] {
				missing = append(missing, filepath.Base(p)+": "+m[1])
			}
		}
	}
	if serviceFields < 50 {
		t.Fatalf("found only %d field messages in the service: the walk is broken", serviceFields)
	}
	sort.Strings(missing)
	for _, m := range slicesCompact(missing) {
		t.Errorf("no label for the field %s (add it to fieldLabels)", m)
	}
}

func slicesCompact(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// TestHumanMessages: service messages read with the forms' labels; the
// words of a sentence that are not fields stay.
func TestHumanMessages(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"The allowed ips field must be a comma-separated list of valid IP addresses (or CIDR blocks): \"x\" is not one.",
			"The Allowed IPs field must be a comma-separated list of valid IP addresses (or CIDR blocks): \"x\" is not one."},
		{"The expires at field must be a date after now.", "The Expires field must be a date after now."},
		{"The expires in field cannot be sent with expires at: send one of them.",
			"The Expires in field cannot be sent with Expires: send one of them."},
		{"The allowed_ips field must be valid UTF-8 text without NUL bytes.",
			"The Allowed IPs field must be valid UTF-8 text without NUL bytes."},
		{"The selected project id is invalid.", "The selected Project is invalid."},
		{"The title field is required. (and 2 more errors)", "The Title field is required. (and 2 more errors)"},
		{"The file field is required when type is file.", "The File field is required when type is file."},
		{"The organization name is required.", "The organization name is required."},
	} {
		if got := humanMessage(tc.in); got != tc.want {
			t.Errorf("humanMessage(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
	e := humanError(core.Invalid("name", "The name field must be valid UTF-8 text without NUL bytes."), map[string]string{"name": "org_name"})
	if got := e.Fields["org_name"]; len(got) != 1 || got[0] != "The Organization name field must be valid UTF-8 text without NUL bytes." {
		t.Errorf("renamed: %+v", e.Fields)
	}
	// The service's error is not changed: the API shows it as it is.
	orig := core.Invalid("allowed_ips", "The allowed ips field is bad.")
	_ = humanError(orig, nil)
	if orig.Message != "The allowed ips field is bad." || orig.Fields["allowed_ips"][0] != "The allowed ips field is bad." {
		t.Errorf("the service's error changed: %+v", orig)
	}
}
