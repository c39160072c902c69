package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	clientwebhook "github.com/latchkey/latchkey/client/webhook"
	"github.com/latchkey/latchkey/internal/webhook"
)

var (
	t0   = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	body = []byte(`{"id":"evt_01","type":"license.revoked","created_at":"2026-12-01T12:00:00Z","data":{"object":{"id":7}}}`)
)

// What a receiver in any language does: HMAC-SHA256 of t + "." + body
// with the secret, hex, compared with a v1 of the header.
func independentlyValid(header, secret string, payload []byte) bool {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + string(payload)))
	want := hex.EncodeToString(m.Sum(nil))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return true
		}
	}
	return false
}

func TestSignVerifies(t *testing.T) {
	oldSecret, newSecret, other := webhook.NewSecret(), webhook.NewSecret(), webhook.NewSecret()
	rotating := webhook.Sign(body, t0, newSecret, oldSecret)
	tests := []struct {
		name    string
		header  string
		secret  string
		payload []byte
		now     time.Time
		err     error
	}{
		{"the secret", webhook.Sign(body, t0, newSecret), newSecret, body, t0, nil},
		{"rotation: the new secret", rotating, newSecret, body, t0, nil},
		{"rotation: the old secret", rotating, oldSecret, body, t0, nil},
		{"another endpoint's secret", rotating, other, body, t0, clientwebhook.ErrSignature},
		{"a changed body", rotating, newSecret, append([]byte(" "), body...), t0, clientwebhook.ErrSignature},
		{"another time in the header", strings.Replace(rotating, "t="+strconv.FormatInt(t0.Unix(), 10), "t="+strconv.FormatInt(t0.Unix()+1, 10), 1),
			newSecret, body, t0, clientwebhook.ErrSignature},
		{"replayed after the tolerance", rotating, newSecret, body, t0.Add(5*time.Minute + time.Second), clientwebhook.ErrTimestamp},
		{"within the tolerance", rotating, newSecret, body, t0.Add(5 * time.Minute), nil},
		{"from the future", rotating, newSecret, body, t0.Add(-6 * time.Minute), clientwebhook.ErrTimestamp},
		{"no header", "", newSecret, body, t0, clientwebhook.ErrNoSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := clientwebhook.VerifyAt(tc.payload, tc.header, tc.secret, 0, tc.now)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Verify: %v, want %v", err, tc.err)
			}
			if indep := independentlyValid(tc.header, tc.secret, tc.payload); indep != (tc.err == nil || errors.Is(tc.err, clientwebhook.ErrTimestamp)) {
				t.Fatalf("an independent HMAC says %v", indep)
			}
			if err == nil && (ev.ID != "evt_01" || ev.Type != "license.revoked" || !ev.CreatedAt.Equal(t0) || string(ev.Data.Object) != `{"id":7}`) {
				t.Fatalf("event = %+v", ev)
			}
		})
	}
}

func TestNewSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s := webhook.NewSecret()
		if !strings.HasPrefix(s, webhook.SecretPrefix) || len(s) != len(webhook.SecretPrefix)+43 || seen[s] {
			t.Fatalf("secret %q", s)
		}
		seen[s] = true
	}
}
