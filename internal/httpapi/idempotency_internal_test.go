package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/secret"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// TestIdempotencyWhatIsStored runs the middleware over handlers that fail
// in every way a real one can, on a real store and over loopback HTTP:
// 5xx and 429 answers, a panic and an answer too large to store release
// the key (the retry runs again); 4xx and empty answers are stored, with
// the headers that describe them and without those of the request.
func TestIdempotencyWhatIsStored(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			clock := storetest.NewClock(storetest.T0)
			st, _ := b.Open(t, clock.Now)
			key, err := secret.FromString("idempotency-internal-test-secret-0123456789")
			if err != nil {
				t.Fatal(err)
			}
			svc := service.New(service.Config{Store: st, Secret: key, PasswordCost: 4, Now: clock.Now})
			ctx := context.Background()
			u, _, err := svc.CreateUser(ctx, nil, service.CreateUserInput{Email: "i@example.com", Password: "internal pw 1", OrgName: "I"})
			if err != nil {
				t.Fatal(err)
			}
			m, err := st.ListUserOrganizations(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			k, _, err := svc.CreateAPIKey(ctx, core.SystemActor(m[0].OrgID, "test"), u.ID, service.KeyInput{Name: "k"})
			if err != nil {
				t.Fatal(err)
			}
			actor := &core.Actor{Type: core.ActorAPIKey, KeyID: k.ID, OrgID: m[0].OrgID, UserID: u.ID}

			h := &api{svc: svc}
			a := adapter{log: slog.New(slog.DiscardHandler)}
			var runs int
			var answer handlerFunc
			inner := h.idempotent(a, 1<<20, func(w http.ResponseWriter, r *http.Request) error {
				runs++
				if body, _ := io.ReadAll(r.Body); string(body) != `{"n":1}` {
					t.Errorf("the handler read %q", body)
				}
				return answer(w, r)
			})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer func() {
					if recover() != nil {
						w.WriteHeader(http.StatusInternalServerError) // as internal/server's recovery does
					}
				}()
				w.Header()["X-RateLimit-Remaining"] = []string{"59"} // set before, as requireKey does
				a.wrap(inner).ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, actor)))
			}))
			t.Cleanup(srv.Close)
			send := func(idem string) (int, http.Header, []byte) {
				t.Helper()
				req, err := http.NewRequest("POST", srv.URL+"/api/v1/x", strings.NewReader(`{"n":1}`))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set(IdempotencyKeyHeader, idem)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = resp.Body.Close() }()
				body, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				return resp.StatusCode, resp.Header, body
			}

			big := bytes.Repeat([]byte("x"), maxStoredAnswer+1)
			tests := []struct {
				name   string
				answer handlerFunc
				status int
				stored bool
			}{
				{"internal error", func(w http.ResponseWriter, r *http.Request) error { return errors.New("boom") }, 500, false},
				{"database away", func(w http.ResponseWriter, r *http.Request) error {
					return &core.Error{Code: core.EUnavailable, Message: "away"}
				}, 503, false},
				{"written 502", func(w http.ResponseWriter, r *http.Request) error { w.WriteHeader(502); return nil }, 502, false},
				{"rate limited", func(w http.ResponseWriter, r *http.Request) error {
					return &core.Error{Code: core.ERateLimited, Message: "slow down"}
				}, 429, false},
				{"panic", func(w http.ResponseWriter, r *http.Request) error { panic("handler bug") }, 500, false},
				{"too large to store", func(w http.ResponseWriter, r *http.Request) error {
					_, _ = w.Write(big)
					return nil
				}, 200, false},
				{"conflict", func(w http.ResponseWriter, r *http.Request) error {
					return &core.Error{Code: core.EConflict, Message: "state"}
				}, 409, true},
				{"validation", func(w http.ResponseWriter, r *http.Request) error {
					return core.Invalid("name", "The name field is required.")
				}, 422, true},
				{"nothing written", func(w http.ResponseWriter, r *http.Request) error { return nil }, 200, true},
				{"created", func(w http.ResponseWriter, r *http.Request) error {
					w.Header().Set("Location", "/api/v1/x/1")
					w.Header()["X-RateLimit-Limit"] = []string{"60"}
					return ok(w, 201, "Created.", map[string]int{"id": 1})
				}, 201, true},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					answer, runs = tc.answer, 0
					idem := "key " + tc.name
					status, hdr, body := send(idem)
					if status != tc.status || hdr.Get(IdempotentReplayedHeader) != "" {
						t.Fatalf("first answer %d (replayed %q), want %d: %.200s", status, hdr.Get(IdempotentReplayedHeader), tc.status, body)
					}
					status2, hdr2, body2 := send(idem)
					if !tc.stored {
						if runs != 2 || hdr2.Get(IdempotentReplayedHeader) != "" {
							t.Fatalf("a %d answer was stored: %d runs, replayed %q", status, runs, hdr2.Get(IdempotentReplayedHeader))
						}
						return
					}
					if runs != 1 || status2 != status || !bytes.Equal(body2, body) || hdr2.Get(IdempotentReplayedHeader) != "true" {
						t.Fatalf("not replayed: %d runs, %d %q, replayed %q", runs, status2, body2, hdr2.Get(IdempotentReplayedHeader))
					}
					for _, name := range []string{"Content-Type", "Location", "Cache-Control", "Content-Length"} {
						if hdr2.Get(name) != hdr.Get(name) {
							t.Fatalf("replayed %s %q, want %q", name, hdr2.Get(name), hdr.Get(name))
						}
					}
					if hdr2.Get("X-RateLimit-Limit") != "" || hdr2.Get("X-RateLimit-Remaining") != "59" {
						t.Fatalf("replayed the request's rate-limit headers: %v", hdr2)
					}
				})
			}
		})
	}
}
