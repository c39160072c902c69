package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cliResult is one run of the client commands.
type cliResult struct {
	code   int
	stdout string
	stderr string
}

// cli runs the built binary against l with apiKey (empty: none).
func (l *live) cli(apiKey string, args ...string) cliResult {
	l.t.Helper()
	cmd := exec.Command(binary(l.t), args...)
	cmd.Env = append(os.Environ(), "LATCHKEY_URL=http://"+l.addr, "LATCHKEY_API_KEY="+apiKey)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := cliResult{stdout: out.String(), stderr: errb.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		l.t.Fatalf("latchkey %v: %v", args, err)
	}
	return r
}

// ok runs a command that must succeed and decodes its --output json.
func (l *live) ok(apiKey string, v any, args ...string) {
	l.t.Helper()
	r := l.cli(apiKey, append(args, "--output", "json")...)
	if r.code != 0 || r.stderr != "" {
		l.t.Fatalf("latchkey %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
			l.t.Fatalf("latchkey %s printed %q: %v", strings.Join(args, " "), r.stdout, err)
		}
	}
}

// fails runs a command that must fail with exit status code and one line
// on standard error that contains want: text, or under --output json a
// JSON object with the same exit code.
func (l *live) fails(apiKey string, code int, want string, args ...string) cliResult {
	l.t.Helper()
	r := l.cli(apiKey, args...)
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	var je struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		ExitCode int    `json:"exit_code"`
	}
	jsonOut := slices.Contains(args, "json")
	ok := r.code == code && len(lines) == 1 && strings.Contains(lines[0], want)
	if jsonOut {
		ok = ok && json.Unmarshal([]byte(lines[0]), &je) == nil && je.ExitCode == code && je.Code != ""
	} else {
		ok = ok && strings.HasPrefix(lines[0], "latchkey: ")
	}
	if !ok {
		l.t.Fatalf("latchkey %s: exit %d, stderr %q; want exit %d and one line with %q", strings.Join(args, " "), r.code, r.stderr, code, want)
	}
	return r
}

type cliRecord struct {
	ID       int64  `json:"id"`
	UUID     string `json:"uuid"`
	Status   string `json:"status"`
	Secret   string `json:"secret"`
	PublicID string `json:"public_id"`
	Valid    bool   `json:"valid"`
	Code     string `json:"code"`
	Name     string `json:"name"`
}

// TestCLIStory runs the story through the built binary's client
// commands against a live `latchkey serve`, checking exit codes and
// --output json.
func TestCLIStory(t *testing.T) {
	for name, env := range backendEnvs(t) {
		t.Run(name, func(t *testing.T) {
			l := startLive(t, env)
			owner := l.apiKey
			id := func(n int64) string { return strconv.FormatInt(n, 10) }

			var p, other, d, lic cliRecord
			l.ok(owner, &p, "projects", "create", "--name", "Pro Plugin", "--has-paid")
			l.ok(owner, &other, "projects", "create", "--name", "Other product")
			l.ok(owner, &d, "domains", "create", "--project", id(p.ID), "--domain", "shop.example.com", "--verified", "--has-paid")
			l.ok(owner, &lic, "licenses", "create", "--project", id(p.ID), "--title", "Customer A", "--domain-id", id(d.ID))
			if lic.UUID == "" || lic.Status != "active" {
				t.Fatalf("license %+v", lic)
			}

			// validate needs no API key; its exit status is the verdict.
			var v cliRecord
			l.ok("", &v, "validate", "--license", lic.UUID, "--domain", "shop.example.com")
			if !v.Valid || v.Code != "VALID" {
				t.Fatalf("validation %+v", v)
			}
			l.ok(owner, &lic, "licenses", "suspend", id(lic.ID), "--project", id(p.ID))
			if lic.Status != "suspended" {
				t.Fatalf("suspended: %+v", lic)
			}
			r := l.fails("", 1, "This license is suspended.", "validate", "--license", lic.UUID, "--domain", "shop.example.com", "-o", "json")
			if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Valid || v.Code != "SUSPENDED" {
				t.Fatalf("refused validation printed %q (%v)", r.stdout, err)
			}
			l.fails(owner, 1, "cannot be suspended", "licenses", "suspend", id(lic.ID), "--project", id(p.ID))
			l.ok(owner, &lic, "licenses", "reactivate", id(lic.ID), "--project", id(p.ID))
			l.ok("", &v, "validate", "--license", lic.UUID, "--domain", "shop.example.com")

			var key cliRecord
			l.ok(owner, &key, "keys", "create", "--name", "deploy pipeline", "--project", id(p.ID))
			if key.Secret == "" {
				t.Fatalf("key %+v", key)
			}
			r = l.fails(key.Secret, 3, "API key does not match project owner.", "projects", "show", id(other.ID), "-o", "json")
			if r.stdout != "" || !strings.Contains(r.stderr, "PROJECT_MISMATCH") {
				t.Fatalf("refusal printed %q / %q", r.stdout, r.stderr)
			}
			var visible []cliRecord
			l.ok(key.Secret, &visible, "projects", "list")
			if len(visible) != 1 || visible[0].ID != p.ID {
				t.Fatalf("the scoped key sees %+v", visible)
			}

			var rot struct {
				Key      cliRecord `json:"key"`
				Previous cliRecord `json:"previous"`
			}
			rotatedAt := time.Now()
			l.ok(key.Secret, &rot, "keys", "rotate", id(key.ID), "--grace", "1s")
			if rot.Key.Secret == "" || rot.Previous.ID != key.ID {
				t.Fatalf("rotation %+v", rot)
			}
			l.ok(rot.Key.Secret, nil, "projects", "show", id(p.ID))
			for deadline := time.Now().Add(20 * time.Second); ; {
				r := l.cli(key.Secret, "projects", "show", id(p.ID))
				if r.code != 0 {
					l.fails(key.Secret, 3, "Invalid or expired API key.", "projects", "show", id(p.ID))
					if time.Since(rotatedAt) < time.Second {
						t.Fatal("the old key was refused within its grace")
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the old key still works long after its grace")
				}
				time.Sleep(100 * time.Millisecond)
			}

			var events []struct {
				Action   string `json:"action"`
				TargetID int64  `json:"target_id"`
			}
			l.ok(owner, &events, "audit", "list", "--limit", "0")
			type step struct {
				action string
				target int64
			}
			var got []step
			for _, e := range events {
				got = append(got, step{e.Action, e.TargetID})
			}
			for _, want := range []step{{"project.create", p.ID}, {"project.create", other.ID}, {"domain.create", d.ID},
				{"license.create", lic.ID}, {"license.suspend", lic.ID}, {"license.reactivate", lic.ID},
				{"api_key.create", key.ID}, {"api_key.rotate", key.ID}} {
				if !slices.Contains(got, want) {
					t.Errorf("audit list lacks %+v: %+v", want, got)
				}
			}

			// The other verbs: updates, injectables (with decryption), payments, key management.
			var upd struct {
				ExpiresAt *string `json:"expires_at"`
				MaxDomain *int64  `json:"max_domains"`
				IsPrimary bool    `json:"is_primary"`
			}
			l.ok(owner, &upd, "licenses", "update", id(lic.ID), "--project", id(p.ID), "--expires", "2030-01-01", "--max-domains", "4")
			if upd.ExpiresAt == nil || upd.MaxDomain == nil || *upd.MaxDomain != 4 {
				t.Fatalf("license update %+v", upd)
			}
			l.ok(owner, &upd, "licenses", "update", id(lic.ID), "--project", id(p.ID), "--no-expiry")
			if upd.ExpiresAt != nil {
				t.Fatalf("--no-expiry left %v", *upd.ExpiresAt)
			}
			l.ok(owner, &upd, "domains", "update", id(d.ID), "--project", id(p.ID), "--primary")
			if !upd.IsPrimary {
				t.Fatal("domains update --primary")
			}
			var inj cliRecord
			l.ok(owner, &inj, "injectables", "create", "--project", id(p.ID), "--slug", "banner", "--type", "snippet", "--mode", "inject",
				"--target-path", "js/banner.js", "--secret", "s3cret-for-copies", "--content", `console.log("licensed")`)
			if r := l.cli(owner, "injectables", "decrypt", id(inj.ID), "--project", id(p.ID), "--secret", "s3cret-for-copies"); r.code != 0 ||
				r.stdout != `console.log("licensed")` {
				t.Fatalf("decrypt: exit %d %q %q", r.code, r.stdout, r.stderr)
			}
			l.fails(owner, 1, "signature does not match", "injectables", "decrypt", id(inj.ID), "--project", id(p.ID), "--secret", "wrong-secret")
			var paid struct {
				HasPaid bool `json:"has_paid"`
			}
			l.ok(owner, &paid, "payments", "status", "--project", id(p.ID), "--domain", "shop.example.com")
			if !paid.HasPaid {
				t.Fatal("payments status: not paid")
			}
			var usage struct {
				KeyID int64 `json:"key_id"`
			}
			l.ok(owner, &usage, "keys", "usage", id(rot.Key.ID), "--days", "7")
			var revoked cliRecord
			l.ok(owner, &revoked, "keys", "revoke", id(rot.Key.ID), "--yes")
			if usage.KeyID != rot.Key.ID || revoked.Status != "revoked" {
				t.Fatalf("usage %+v, revoked %+v", usage, revoked)
			}
			l.fails(rot.Key.Secret, 3, "Invalid or expired API key.", "projects", "list")
			l.ok(owner, nil, "injectables", "delete", id(inj.ID), "--project", id(p.ID), "--yes")

			// Tables for people.
			r = l.cli(owner, "licenses", "list", "--project", id(p.ID))
			if r.code != 0 || !strings.Contains(r.stdout, "TITLE") || !strings.Contains(r.stdout, "Customer A") || !strings.Contains(r.stdout, lic.UUID) {
				t.Fatalf("table: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			// Failures the server reports, and the CLI's own.
			l.fails(owner, 1, "The title field is required.", "licenses", "create", "--project", id(p.ID), "--title", "")
			l.fails(owner, 4, "not found", "projects", "show", "987654")
			l.fails(owner, 2, "--project", "licenses", "show", id(lic.ID)) // list without --project lists every project
			l.fails(owner, 2, "unknown command", "licenses", "frobnicate")
			l.fails(owner, 2, "unknown flag", "projects", "list", "--colour")
			l.fails("", 3, "no API key", "projects", "list")
			l.fails("sk_live_notakey", 3, "Invalid or expired API key.", "projects", "list")

			// Completion: the script, fixed values, and project IDs from the server.
			if r := l.cli(owner, "completion", "bash"); r.code != 0 || !strings.Contains(r.stdout, "__start_latchkey") {
				t.Fatalf("completion bash: exit %d %q", r.code, r.stderr)
			}
			if r := l.cli(owner, "__complete", "licenses", "list", "--status", ""); !strings.Contains(r.stdout, "suspended") {
				t.Fatalf("status completion %q", r.stdout)
			}
			if r := l.cli(owner, "__complete", "projects", "show", ""); !strings.Contains(r.stdout, id(p.ID)+"\tPro Plugin") {
				t.Fatalf("project completion %q", r.stdout)
			}
		})
	}
}
