package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

// planWorld is an organization with an owner's key and a project, and the
// operator's hand on its plan.
type planWorld struct {
	n     *apptest.Node
	owner apptest.Account
	key   string
	p     int64
	plan  bool // the plan "free" exists
}

func newPlanWorld(t *testing.T, b storetest.Backend) *planWorld {
	t.Helper()
	n := apptest.New(t, b, insecureWebhooks)
	w := &planWorld{n: n, owner: n.CreateUser(t, "Acme", "owner@acme.test", core.RoleOwner)}
	_, w.key = n.CreateKey(t, w.owner, service.KeyInput{Name: "owner"})
	p, err := n.Service().CreateProject(context.Background(), w.owner.Actor(), service.ProjectInput{Name: service.Some("Pro Plugin")})
	if err != nil {
		t.Fatal(err)
	}
	w.p = p.ID
	return w
}

var operator = core.SystemActor(0, "operator")

// setPlan puts the organization on the plan "free" with rules (nil: on no
// plan), as `latchkey admin plans` and `admin orgs set-plan` do.
func (w *planWorld) setPlan(t *testing.T, rules *core.Rules) {
	t.Helper()
	ctx := context.Background()
	svc := w.n.Service()
	if rules == nil {
		if _, _, err := svc.SetOrganizationPlan(ctx, operator, "Acme", ""); err != nil {
			t.Fatal(err)
		}
		return
	}
	var err error
	if w.plan {
		_, err = svc.UpdatePlan(ctx, operator, "free", "", func(r *core.Rules) { *r = *rules })
	} else {
		_, err = svc.CreatePlan(ctx, operator, "free", *rules)
	}
	if err != nil {
		t.Fatal(err)
	}
	w.plan = true
	if _, _, err := svc.SetOrganizationPlan(ctx, operator, "Acme", "free"); err != nil {
		t.Fatal(err)
	}
}

// setPolicy replaces the policy as an owner would.
func (w *planWorld) setPolicy(t *testing.T, pol core.Policy) {
	t.Helper()
	if _, err := w.n.Service().SetPolicy(context.Background(), w.owner.Actor(), pol); err != nil {
		t.Fatal(err)
	}
}

func (w *planWorld) usage(t *testing.T) core.Usage {
	t.Helper()
	al, err := w.n.Service().Allowance(context.Background(), w.owner.Actor(), w.p)
	if err != nil {
		t.Fatal(err)
	}
	return al.Usage
}

func (w *planWorld) do(t *testing.T, method, path string, body any, key ...string) *apptest.Response {
	t.Helper()
	k := w.key
	if len(key) > 0 {
		k = key[0]
	}
	return w.n.Do(t, method, path, body, apptest.Key(k)...)
}

// wantRefused checks a 403 with code and message.
func wantForbidden(t *testing.T, r *apptest.Response, code, message string) {
	t.Helper()
	if r.Status != 403 || r.Env.Code != code || r.Env.Message != message {
		t.Fatalf("got %d %s %q, want 403 %s %q: %s", r.Status, r.Env.Code, r.Env.Message, code, message, r.Body)
	}
}

func ptr[T any](v T) *T { return &v }

// result is a creation's outcome, over HTTP or through the service.
type result struct {
	status        int
	code, message string
	body          string
}

func httpResult(r *apptest.Response) result {
	return result{status: r.Status, code: r.Env.Code, message: r.Env.Message, body: string(r.Body)}
}

func serviceResult(err error) result {
	if err == nil {
		return result{status: 201}
	}
	var e *core.Error
	if !errors.As(err, &e) {
		return result{status: 500, message: err.Error()}
	}
	reason := e.Reason
	if reason == "" {
		reason = core.DefaultReason(e.Code)
	}
	return result{status: core.HTTPStatus(e.Code), code: reason, message: e.Message, body: fmt.Sprint(e.Fields)}
}

// TestPlanCaps takes every cap to its limit and one over it: the creation
// at the limit succeeds, the one over it is 403 PLAN_LIMIT with nothing
// written, also when its body is invalid (the plan is checked before
// validation); a plan lowered below the usage deletes nothing and blocks
// creations; without a plan there is no limit.
func TestPlanCaps(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		w := newPlanWorld(t, b)
		p := id(w.p)
		ctx := context.Background()
		rows := []struct {
			cap          core.Cap
			create       func(i int) result
			bad          func() result
			badFieldText string // what the validation says of bad without a plan
		}{
			{core.CapProjects,
				func(i int) result {
					return httpResult(w.do(t, "POST", "/api/v1/project", map[string]any{"name": fmt.Sprintf("Project %d", i)}))
				},
				func() result { return httpResult(w.do(t, "POST", "/api/v1/project", map[string]any{"name": ""})) },
				"name field is required"},
			{core.CapLicensesPerProject,
				func(i int) result {
					return httpResult(w.do(t, "POST", "/api/v1/project/"+p+"/licenses", map[string]any{"title": fmt.Sprintf("L%d", i)}))
				},
				func() result {
					return httpResult(w.do(t, "POST", "/api/v1/project/"+p+"/licenses", map[string]any{"title": "bad", "max_domains": "many"}))
				},
				"max domains"},
			{core.CapDomainsPerProject,
				func(i int) result {
					return httpResult(w.do(t, "POST", "/api/v1/project/"+p+"/domains",
						map[string]any{"domain": fmt.Sprintf("shop%d.example.com", i), "environment": "production"}))
				},
				func() result {
					return httpResult(w.do(t, "POST", "/api/v1/project/"+p+"/domains", map[string]any{"environment": "production"}))
				},
				"domain field is required"},
			{core.CapInjectablesPerProject,
				func(i int) result {
					return httpResult(w.do(t, "POST", "/api/v1/project/"+p+"/injectables", map[string]any{"type": "snippet", "mode": "inject",
						"target_path": "js/a.js", "secret": injSecret, "content": "x", "only_if_paid": true, "is_active": true,
						"slug": fmt.Sprintf("inj-%d", i)}))
				},
				func() result { return httpResult(w.do(t, "POST", "/api/v1/project/"+p+"/injectables", "{}")) },
				"type field is required"},
			{core.CapAPIKeys,
				func(i int) result {
					return httpResult(w.do(t, "POST", "/api/v1/api-keys", map[string]any{"name": fmt.Sprintf("k%d", i)}))
				},
				func() result { return httpResult(w.do(t, "POST", "/api/v1/api-keys", map[string]any{"name": ""})) },
				"name field is required"},
			{core.CapWebhookEndpoints,
				func(i int) result {
					return httpResult(w.do(t, "POST", "/api/v1/webhook-endpoints",
						map[string]any{"url": fmt.Sprintf("https://hooks.acme.test/%d", i), "events": []string{"license.created"}}))
				},
				func() result {
					return httpResult(w.do(t, "POST", "/api/v1/webhook-endpoints", map[string]any{"url": "nope", "events": []string{"license.created"}}))
				},
				"url"},
			// Members are invited in the dashboard (no API route): through
			// the service it calls.
			{core.CapMembers,
				func(i int) result {
					_, err := w.n.Service().Invite(ctx, w.owner.Actor(), service.InviteInput{
						Email: fmt.Sprintf("m%d@acme.test", i), Role: core.RoleDeveloper})
					return serviceResult(err)
				},
				func() result {
					_, err := w.n.Service().Invite(ctx, w.owner.Actor(), service.InviteInput{
						Email: "not an email", Role: core.RoleDeveloper})
					return serviceResult(err)
				},
				"valid email"},
		}
		for _, row := range rows {
			t.Run(string(row.cap), func(t *testing.T) {
				w.setPlan(t, nil)
				// Without a plan: no limit, and bad is a validation error.
				if r := row.bad(); r.status != 422 || !strings.Contains(r.body, row.badFieldText) {
					t.Fatalf("bad body without a plan: %+v", r)
				}
				if r := row.create(0); r.status != 201 {
					t.Fatalf("create without a plan: %+v", r)
				}
				base := w.usage(t)[row.cap]
				limit := base + 1
				rules := core.Rules{}
				rules.SetLimit(row.cap, &limit)
				w.setPlan(t, &rules)
				msg := fmt.Sprintf("Your plan (free) allows %d %s.", limit, row.cap.Noun())
				if r := row.create(1); r.status != 201 {
					t.Fatalf("create at the limit: %+v", r)
				}
				for name, try := range map[string]func() result{"valid": func() result { return row.create(2) }, "invalid": row.bad} {
					r := try()
					if r.status != 403 || r.code != core.ReasonPlanLimit || r.message != msg {
						t.Fatalf("%s over the limit: %+v, want 403 PLAN_LIMIT %q", name, r, msg)
					}
				}
				if got := w.usage(t)[row.cap]; got != limit {
					t.Fatalf("usage %d after the refusals, want %d", got, limit)
				}
				// Lowered below the usage: nothing deleted, creation blocked.
				lower := base - 1
				rules.SetLimit(row.cap, &lower)
				w.setPlan(t, &rules)
				if got := w.usage(t)[row.cap]; got != limit {
					t.Fatalf("usage %d after lowering the plan, want %d", got, limit)
				}
				if r := row.create(3); r.status != 403 || r.code != core.ReasonPlanLimit ||
					r.message != fmt.Sprintf("Your plan (free) allows %d %s.", lower, row.cap.Noun()) {
					t.Fatalf("create under a lowered plan: %+v", r)
				}
				// Another cap does not limit this one.
				rules = core.Rules{}
				other := core.CapProjects
				if row.cap == core.CapProjects {
					other = core.CapAPIKeys
				}
				rules.SetLimit(other, ptr(int64(1000)))
				w.setPlan(t, &rules)
				if r := row.create(4); r.status != 201 {
					t.Fatalf("create under another cap: %+v", r)
				}
				w.setPlan(t, nil)
			})
		}
	})
}

// TestPlanCapsAccessFirst: a request the caller may not make at all is
// refused for that, not for the plan.
func TestPlanCapsAccessFirst(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		w := newPlanWorld(t, b)
		_, readOnly := w.n.CreateKey(t, w.owner, service.KeyInput{Name: "ro", Scopes: []string{"projects:read", "licenses:read"}})
		other := w.n.CreateUser(t, "Globex", "owner@globex.test", core.RoleOwner)
		_, otherKey := w.n.CreateKey(t, other, service.KeyInput{Name: "theirs"})
		w.setPlan(t, &core.Rules{MaxProjects: ptr(int64(0)), MaxLicensesPerProject: ptr(int64(0)), MaxAPIKeys: ptr(int64(0))})
		if r := w.do(t, "POST", "/api/v1/project", map[string]any{"name": "x"}, readOnly); r.Status != 403 || r.Env.Code == core.ReasonPlanLimit {
			t.Fatalf("read-only key: %d %s", r.Status, r.Body)
		}
		if r := w.do(t, "POST", "/api/v1/project/"+id(w.p)+"/licenses", map[string]any{"title": "x"}, otherKey); r.Status != 404 && (r.Status != 403 || r.Env.Code == core.ReasonPlanLimit) {
			t.Fatalf("another organization's key: %d %s", r.Status, r.Body)
		}
		if r := w.do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "x"}, readOnly); r.Status != 403 || r.Env.Code == core.ReasonPlanLimit {
			t.Fatalf("key without api_keys:write: %d %s", r.Status, r.Body)
		}
		// The other organization has no plan.
		if r := w.do(t, "POST", "/api/v1/project", map[string]any{"name": "theirs"}, otherKey); r.Status != 201 {
			t.Fatalf("other organization: %d %s", r.Status, r.Body)
		}
	})
}

// TestPlanSwitchesOnKeys: every switch on API keys, forbidden by the plan
// (PLAN_LIMIT) or by the policy (POLICY_LIMIT), before validation, with
// nothing written; and what the same request does when allowed.
func TestPlanSwitchesOnKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		w := newPlanWorld(t, b)
		pid := w.p
		now := w.n.Clock.Now()
		in := func(d time.Duration) string { return now.Add(d).UTC().Format(time.RFC3339) }
		f := false
		day := int64(86400)
		rows := []struct {
			name    string
			sw      core.Switches
			body    map[string]any // refused
			what    string         // "does not allow …" or the whole message after "Your plan (free) " / "Your organization's policy "
			allowed map[string]any // passes the same rules
		}{
			{"global keys", core.Switches{GlobalKeys: &f}, map[string]any{"name": "g"},
				"does not allow global API keys.", map[string]any{"name": "bound", "project_id": pid}},
			{"keys without expiry", core.Switches{KeysWithoutExpiry: &f}, map[string]any{"name": "forever"},
				"does not allow API keys without an expiry.", map[string]any{"name": "dated", "expires_at": in(24 * time.Hour)}},
			{"max lifetime, too long", core.Switches{MaxKeyLifetime: ptr(30 * day)}, map[string]any{"name": "long", "expires_at": in(31 * 24 * time.Hour)},
				"allows API keys to live at most 30 days.", map[string]any{"name": "short", "expires_at": in(29 * 24 * time.Hour)}},
			{"max lifetime, no expiry", core.Switches{MaxKeyLifetime: ptr(30 * day)}, map[string]any{"name": "none"},
				"allows API keys to live at most 30 days: give the key an expiry.", map[string]any{"name": "dated", "expires_at": in(time.Hour)}},
			{"live keys without an IP allow-list", core.Switches{LiveKeysWithoutIPAllowlist: &f}, map[string]any{"name": "open", "allowed_ips": []string{" "}},
				"does not allow live API keys without an IP allow-list.", map[string]any{"name": "listed", "allowed_ips": []string{"127.0.0.1"}}},
			{"test keys need no IP allow-list", core.Switches{LiveKeysWithoutIPAllowlist: &f}, map[string]any{"name": "open", "env": "live"},
				"does not allow live API keys without an IP allow-list.", map[string]any{"name": "test", "env": "test"}},
		}
		for _, row := range rows {
			t.Run(row.name, func(t *testing.T) {
				for _, by := range []string{"plan", "policy"} {
					code, who := core.ReasonPlanLimit, "Your plan (free) "
					if by == "plan" {
						w.setPlan(t, &core.Rules{Switches: row.sw})
						w.setPolicy(t, core.Policy{})
					} else {
						w.setPlan(t, nil)
						w.setPolicy(t, core.Policy{Switches: row.sw})
						code, who = service.ReasonPolicyLimit, "Your organization's policy "
					}
					before := w.usage(t)[core.CapAPIKeys]
					wantForbidden(t, w.do(t, "POST", "/api/v1/api-keys", row.body), code, who+row.what)
					// Before validation: the same with a bad field.
					bad := map[string]any{"rate_limit_per_minute": "fast"}
					for k, v := range row.body {
						bad[k] = v
					}
					wantForbidden(t, w.do(t, "POST", "/api/v1/api-keys", bad), code, who+row.what)
					if got := w.usage(t)[core.CapAPIKeys]; got != before {
						t.Fatalf("%s: %d keys after the refusals, want %d", by, got, before)
					}
					if r := w.do(t, "POST", "/api/v1/api-keys", row.allowed); r.Status != 201 {
						t.Fatalf("%s: allowed key: %d %s", by, r.Status, r.Body)
					}
				}
				w.setPlan(t, nil)
				w.setPolicy(t, core.Policy{})
				if r := w.do(t, "POST", "/api/v1/api-keys", row.body); r.Status != 201 {
					t.Fatalf("without plan or policy: %d %s", r.Status, r.Body)
				}
			})
		}
	})
}

// TestPolicyKeyDefaultsAndScopes: the default key lifetime fills a missing
// expiry (within the maximum), and developers' keys stay within the
// developer scopes.
func TestPolicyKeyDefaultsAndScopes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		w := newPlanWorld(t, b)
		dev := w.n.CreateUser(t, "Acme", "dev@acme.test", core.RoleDeveloper)
		_, devKey := w.n.CreateKey(t, dev, service.KeyInput{Name: "dev"})
		devWide, _ := w.n.CreateKey(t, dev, service.KeyInput{Name: "wide, before the policy"})
		now := w.n.Clock.Now()
		day := int64(86400)
		w.setPolicy(t, core.Policy{DefaultKeyLifetime: ptr(7 * day)})
		var k keyView
		r := w.do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "defaulted"})
		wantStatus(t, r, 201)
		r.Decode(t, &k)
		if want := now.Add(7 * 24 * time.Hour).UTC().Format("2006-01-02T15:04"); k.ExpiresAt == nil || !strings.HasPrefix(*k.ExpiresAt, want) {
			t.Fatalf("expires_at %v, want %s", k.ExpiresAt, want)
		}
		// An expiry sent is kept.
		r = w.do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "dated", "expires_at": now.Add(48 * time.Hour).UTC().Format(time.RFC3339)})
		wantStatus(t, r, 201, now.Add(48*time.Hour).UTC().Format("2006-01-02T15:04"))
		// A plan lowered below the default: the default is cut to the plan's
		// maximum rather than refused.
		w.setPlan(t, &core.Rules{Switches: core.Switches{MaxKeyLifetime: ptr(3 * day)}})
		r = w.do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "cut"})
		wantStatus(t, r, 201, now.Add(72*time.Hour).UTC().Format("2006-01-02T15:04"))
		w.setPlan(t, nil)

		w.setPolicy(t, core.Policy{DeveloperScopes: ptr(core.NewScopeSet(core.ScopeLicensesRead, core.ScopeLicensesWrite, core.ScopeAPIKeysWrite))})
		before := w.usage(t)[core.CapAPIKeys]
		wantForbidden(t, w.do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "wide", "scopes": []string{"licenses:read", "projects:write"}}, devKey),
			service.ReasonPolicyLimit, "Your organization's policy does not let developers give their keys the scope projects:write.")
		wantForbidden(t, w.do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "", "scopes": []string{"projects:write", "nope"}}, devKey),
			service.ReasonPolicyLimit, "Your organization's policy does not let developers give their keys the scope projects:write.")
		if got := w.usage(t)[core.CapAPIKeys]; got != before {
			t.Fatalf("%d keys after the refusals, want %d", got, before)
		}
		r = w.do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "narrowed"}, devKey)
		wantStatus(t, r, 201)
		r.Decode(t, &k)
		if got := core.ScopeSetFromString(strings.Join(k.Scopes, " ")); got != core.NewScopeSet(core.ScopeLicensesRead, core.ScopeLicensesWrite, core.ScopeAPIKeysWrite) {
			t.Fatalf("developer's default scopes %v", k.Scopes)
		}
		devKeyID := k.ID
		wantForbidden(t, w.do(t, "PATCH", "/api/v1/api-keys/"+id(devKeyID), map[string]any{"scopes": []string{"projects:read"}}, devKey),
			service.ReasonPolicyLimit, "Your organization's policy does not let developers give their keys the scope projects:read.")
		// A key made before the policy keeps working and may be renamed,
		// but its successor would be a new key beyond the policy.
		wantStatus(t, w.do(t, "PATCH", "/api/v1/api-keys/"+id(devWide.ID), map[string]any{"name": "renamed"}), 200)
		wantStatus(t, w.do(t, "PATCH", "/api/v1/api-keys/"+id(devWide.ID), map[string]any{"scopes": []string{"licenses:read", "projects:read", "projects:write"}}), 200)
		wantForbidden(t, w.do(t, "PATCH", "/api/v1/api-keys/"+id(devWide.ID), map[string]any{"scopes": []string{"licenses:read", "domains:read"}}),
			service.ReasonPolicyLimit, "Your organization's policy does not let developers give their keys the scope domains:read.")
		wantForbidden(t, w.do(t, "POST", "/api/v1/api-keys/"+id(devWide.ID)+"/rotate", nil), service.ReasonPolicyLimit,
			"Your organization's policy does not let developers give their keys the scope projects:read.")
		// An owner's keys are not limited.
		wantStatus(t, w.do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "owner's", "scopes": []string{"projects:write"}}), 201)
		// Validation still runs after the policy.
		wantStatus(t, w.do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "", "scopes": []string{"licenses:read"}}, devKey), 422, "name field is required")
	})
}

// TestPlanRulesOnKeyChanges: a change or a rotation keeps the rules; what
// a request leaves alone is never checked, so stricter rules break no
// existing key.
func TestPlanRulesOnKeyChanges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		w := newPlanWorld(t, b)
		now := w.n.Clock.Now()
		exp := now.Add(10 * 24 * time.Hour)
		dated, _ := w.n.CreateKey(t, w.owner, service.KeyInput{Name: "dated", ProjectID: w.p, ExpiresAt: &exp, AllowedIPs: []string{"10.0.0.0/8"}})
		global, _ := w.n.CreateKey(t, w.owner, service.KeyInput{Name: "global"})
		forever, _ := w.n.CreateKey(t, w.owner, service.KeyInput{Name: "forever", ProjectID: w.p, AllowedIPs: []string{"10.0.0.1"}})
		f := false
		day := int64(86400)
		w.setPlan(t, &core.Rules{Switches: core.Switches{KeysWithoutExpiry: &f, LiveKeysWithoutIPAllowlist: &f, MaxKeyLifetime: ptr(30 * day)}})
		path := "/api/v1/api-keys/" + id(dated.ID)
		wantStatus(t, w.do(t, "PATCH", path, map[string]any{"name": "renamed"}), 200) // untouched rules
		wantStatus(t, w.do(t, "PATCH", "/api/v1/api-keys/"+id(global.ID), map[string]any{"name": "still global"}), 200)
		wantForbidden(t, w.do(t, "PATCH", path, map[string]any{"expires_at": nil}), core.ReasonPlanLimit, "Your plan (free) does not allow API keys without an expiry.")
		wantForbidden(t, w.do(t, "PATCH", path, map[string]any{"expires_at": now.Add(31 * 24 * time.Hour).UTC().Format(time.RFC3339), "name": ""}),
			core.ReasonPlanLimit, "Your plan (free) allows API keys to live at most 30 days.")
		wantForbidden(t, w.do(t, "PATCH", path, map[string]any{"allowed_ips": []string{}}), core.ReasonPlanLimit,
			"Your plan (free) does not allow live API keys without an IP allow-list.")
		wantStatus(t, w.do(t, "PATCH", path, map[string]any{"expires_at": now.Add(20 * 24 * time.Hour).UTC().Format(time.RFC3339)}), 200)
		wantStatus(t, w.do(t, "PATCH", path, map[string]any{"expires_at": "soon"}), 422, "expires at")
		// A key sent back as it is changes no ruled field: not refused.
		wantStatus(t, w.do(t, "PATCH", "/api/v1/api-keys/"+id(forever.ID), map[string]any{"expires_at": nil, "name": "forever still"}), 200)
		wantStatus(t, w.do(t, "PATCH", "/api/v1/api-keys/"+id(global.ID), map[string]any{"allowed_ips": []string{}}), 200)
		var k keyView
		w.do(t, "GET", path, nil).Decode(t, &k)
		if k.Name != "renamed" || k.ExpiresAt == nil || !strings.HasPrefix(*k.ExpiresAt, now.Add(20*24*time.Hour).UTC().Format("2006-01-02")) || len(k.AllowedIPs) != 1 {
			t.Fatalf("after the refusals: %+v", k)
		}

		// Rotation: the successor's expiry is brought within the rules.
		var rot struct {
			Key keyView `json:"key"`
		}
		r := w.do(t, "POST", "/api/v1/api-keys/"+id(forever.ID)+"/rotate", map[string]any{"grace_seconds": 0})
		wantStatus(t, r, 201)
		r.Decode(t, &rot)
		if want := now.Add(30 * 24 * time.Hour).UTC().Format("2006-01-02T15:04"); rot.Key.ExpiresAt == nil || !strings.HasPrefix(*rot.Key.ExpiresAt, want) {
			t.Fatalf("successor expires_at %v, want %s", rot.Key.ExpiresAt, want)
		}
		// A successor the rules forbid is refused: a global key under a
		// plan without global keys.
		w.setPlan(t, &core.Rules{Switches: core.Switches{GlobalKeys: &f}})
		before := w.usage(t)[core.CapAPIKeys]
		wantForbidden(t, w.do(t, "POST", "/api/v1/api-keys/"+id(global.ID)+"/rotate", nil), core.ReasonPlanLimit,
			"Your plan (free) does not allow global API keys.")
		if got := w.usage(t)[core.CapAPIKeys]; got != before {
			t.Fatalf("%d keys after a refused rotation, want %d", got, before)
		}
		// A rotation is not a creation: the cap does not apply.
		w.setPlan(t, &core.Rules{MaxAPIKeys: ptr(int64(0))})
		wantStatus(t, w.do(t, "POST", "/api/v1/api-keys/"+id(dated.ID)+"/rotate", nil), 201)
	})
}

// TestPlanProjectDeletion: with api_project_deletion off, an API key
// cannot delete a project; the dashboard (a session) still can.
func TestPlanProjectDeletion(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		w := newPlanWorld(t, b)
		f := false
		path := "/api/v1/project/" + id(w.p)
		for _, by := range []string{"plan", "policy"} {
			code, msg := core.ReasonPlanLimit, "Your plan (free) does not allow deleting projects through the API."
			if by == "plan" {
				w.setPlan(t, &core.Rules{Switches: core.Switches{APIProjectDeletion: &f}})
			} else {
				w.setPlan(t, nil)
				w.setPolicy(t, core.Policy{Switches: core.Switches{APIProjectDeletion: &f}})
				code, msg = service.ReasonPolicyLimit, "Your organization's policy does not allow deleting projects through the API."
			}
			wantForbidden(t, w.do(t, "DELETE", path, nil), code, msg)
			wantStatus(t, w.do(t, "GET", path, nil), 200)
		}
		// Access first: an unknown project is 404, not the plan.
		wantStatus(t, w.do(t, "DELETE", "/api/v1/project/999999", nil), 404)
		session := w.owner.Actor()
		session.Type = core.ActorUser
		if err := w.n.Service().DeleteProject(context.Background(), session, w.p); err != nil {
			t.Fatalf("dashboard deletion: %v", err)
		}
	})
}

type orgView struct {
	Name string `json:"name"`
	Slug string `json:"slug"`
	Plan *struct {
		Name  string         `json:"name"`
		Rules map[string]any `json:"rules"`
	} `json:"plan"`
	Policy    map[string]any `json:"policy"`
	Effective map[string]any `json:"effective"`
	Usage     map[string]struct {
		Used  int64  `json:"used"`
		Limit *int64 `json:"limit"`
	} `json:"usage"`
}

// TestOrganizationAndPolicyAPI: GET /api/v1/organization and PUT
// /api/v1/organization/policy; a policy stricter than the plan holds, one
// trying to exceed it is refused with nothing written.
func TestOrganizationAndPolicyAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		w := newPlanWorld(t, b)
		admin := w.n.CreateUser(t, "Acme", "admin@acme.test", core.RoleAdmin)
		_, adminKey := w.n.CreateKey(t, admin, service.KeyInput{Name: "admin"})
		_, noKeys := w.n.CreateKey(t, w.owner, service.KeyInput{Name: "narrow", Scopes: []string{"projects:read"}})
		_, bound := w.n.CreateKey(t, w.owner, service.KeyInput{Name: "bound", ProjectID: w.p})
		_, testKey := w.n.CreateKey(t, w.owner, service.KeyInput{Name: "test", Env: core.EnvTest})
		other := w.n.CreateUser(t, "Globex", "owner@globex.test", core.RoleOwner)
		op, err := w.n.Service().CreateProject(context.Background(), other.Actor(), service.ProjectInput{Name: service.Some("Theirs")})
		if err != nil {
			t.Fatal(err)
		}

		var o orgView
		r := w.do(t, "GET", "/api/v1/organization", nil, noKeys)
		wantStatus(t, r, 200)
		r.Decode(t, &o)
		if o.Name != "Acme" || o.Plan != nil || o.Effective["global_keys"] != true || o.Usage["projects"].Used != 1 || o.Usage["projects"].Limit != nil {
			t.Fatalf("without a plan: %s", r.Env.Data)
		}
		if _, ok := o.Usage["licenses_per_project"]; ok {
			t.Fatalf("per-project usage without a project: %s", r.Env.Data)
		}
		f := false
		w.setPlan(t, &core.Rules{MaxProjects: ptr(int64(3)), MaxLicensesPerProject: ptr(int64(100)),
			Switches: core.Switches{GlobalKeys: &f, MaxKeyLifetime: ptr(int64(90 * 86400))}})
		r = w.do(t, "GET", "/api/v1/organization?project="+id(w.p), nil)
		wantStatus(t, r, 200)
		r.Decode(t, &o)
		if o.Plan == nil || o.Plan.Name != "free" || o.Plan.Rules["max_projects"] != float64(3) || o.Plan.Rules["global_keys"] != false ||
			o.Plan.Rules["max_members"] != nil || o.Usage["licenses_per_project"].Limit == nil || *o.Usage["licenses_per_project"].Limit != 100 ||
			o.Effective["global_keys"] != false || o.Effective["max_key_lifetime"] != float64(90*86400) {
			t.Fatalf("with a plan: %s", r.Env.Data)
		}
		// A project-bound key sees its project's usage; another
		// organization's project is refused as on every project route.
		r = w.do(t, "GET", "/api/v1/organization", nil, bound)
		wantStatus(t, r, 200, `"licenses_per_project"`)
		wantStatus(t, w.do(t, "GET", "/api/v1/organization?project="+id(op.ID), nil), 403, "PROJECT_MISMATCH")
		wantStatus(t, w.do(t, "GET", "/api/v1/organization?project=abc", nil), 422, "project")

		// Who may set the policy.
		pol := map[string]any{"api_project_deletion": false, "max_key_lifetime": 30 * 86400, "developer_scopes": []string{"licenses:read"},
			"default_key_lifetime": 7 * 86400}
		wantForbidden(t, w.do(t, "PUT", "/api/v1/organization/policy", pol, adminKey), core.ReasonOwnerRequired,
			"Only an owner of the organization can set its policy.")
		if r := w.do(t, "PUT", "/api/v1/organization/policy", pol, noKeys); r.Status != 403 || r.Env.Code == core.ReasonPlanLimit {
			t.Fatalf("key without api_keys:write: %d %s", r.Status, r.Body)
		}
		wantStatus(t, w.do(t, "PUT", "/api/v1/organization/policy", pol, bound), 403, "project-bound")
		wantStatus(t, w.do(t, "PUT", "/api/v1/organization/policy", pol, testKey), 403, "Test API keys")

		// Bad bodies: the field named, nothing written.
		for name, tc := range map[string]struct {
			body  any
			field string
		}{
			"unknown field":      {map[string]any{"global_key": false}, "global_key"},
			"not a boolean":      {map[string]any{"global_keys": "maybe"}, "global_keys"},
			"not an integer":     {map[string]any{"max_key_lifetime": "long"}, "max_key_lifetime"},
			"too short":          {map[string]any{"max_key_lifetime": 60}, "max_key_lifetime"},
			"default too long":   {map[string]any{"default_key_lifetime": 200 * 365 * 86400}, "default_key_lifetime"},
			"unknown scope":      {map[string]any{"developer_scopes": []string{"licenses:read", "root"}}, "developer_scopes"},
			"scopes not a list":  {map[string]any{"developer_scopes": 3}, "developer_scopes"},
			"NUL in a scope":     {`{"developer_scopes":["licenses:read\u0000"]}`, "developer_scopes"},
			"invalid UTF-8":      {[]byte("{\"developer_scopes\":[\"\xff\"]}"), "developer_scopes"},
			"default beyond max": {map[string]any{"max_key_lifetime": 86400, "default_key_lifetime": 2 * 86400}, "default_key_lifetime"},
		} {
			r := w.do(t, "PUT", "/api/v1/organization/policy", tc.body)
			if r.Status != 422 || len(r.Env.Errors[tc.field]) == 0 {
				t.Fatalf("%s: %d %s", name, r.Status, r.Body)
			}
		}

		// A policy trying to exceed the plan: refused, nothing written.
		wantForbidden(t, w.do(t, "PUT", "/api/v1/organization/policy", map[string]any{"global_keys": true}), core.ReasonPlanLimit,
			"Your plan (free) does not allow global API keys: the policy cannot allow them.")
		wantForbidden(t, w.do(t, "PUT", "/api/v1/organization/policy", map[string]any{"max_key_lifetime": 365 * 86400}), core.ReasonPlanLimit,
			"Your plan (free) allows API keys to live at most 90 days: the policy cannot allow longer.")
		r = w.do(t, "GET", "/api/v1/organization", nil)
		r.Decode(t, &o)
		if o.Policy["global_keys"] != nil || o.Policy["max_key_lifetime"] != nil {
			t.Fatalf("a refused policy was written: %s", r.Env.Data)
		}

		// A policy stricter than the plan holds.
		r = w.do(t, "PUT", "/api/v1/organization/policy", pol)
		wantStatus(t, r, 200, "Policy updated.")
		r.Decode(t, &o)
		if o.Policy["api_project_deletion"] != false || o.Effective["api_project_deletion"] != false ||
			o.Effective["max_key_lifetime"] != float64(30*86400) || fmt.Sprint(o.Policy["developer_scopes"]) != "[licenses:read]" ||
			o.Policy["default_key_lifetime"] != float64(7*86400) {
			t.Fatalf("policy set: %s", r.Env.Data)
		}
		wantForbidden(t, w.do(t, "DELETE", "/api/v1/project/"+id(w.p), nil), service.ReasonPolicyLimit,
			"Your organization's policy does not allow deleting projects through the API.")
		wantForbidden(t, w.do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "x", "project_id": w.p,
			"expires_at": w.n.Clock.Now().Add(40 * 24 * time.Hour).UTC().Format(time.RFC3339)}), service.ReasonPolicyLimit,
			"Your organization's policy allows API keys to live at most 30 days.")
		// The plan still holds under the policy.
		wantForbidden(t, w.do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "x"}), core.ReasonPlanLimit,
			"Your plan (free) does not allow global API keys.")
		wantStatus(t, w.do(t, "GET", "/api/v1/audit", nil), 200, "organization.policy")

		// An empty policy clears it.
		r = w.do(t, "PUT", "/api/v1/organization/policy", map[string]any{})
		wantStatus(t, r, 200)
		r.Decode(t, &o)
		if o.Policy["api_project_deletion"] != nil || o.Policy["developer_scopes"] != nil || o.Effective["api_project_deletion"] != true {
			t.Fatalf("policy cleared: %s", r.Env.Data)
		}
	})
}

// TestPlanMembersRenewal: renewing a pending invitation is not a creation,
// and the cap counts pending invitations.
func TestPlanMembersRenewal(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		w := newPlanWorld(t, b)
		ctx := context.Background()
		invite := func(email string, role core.Role) error {
			_, err := w.n.Service().Invite(ctx, w.owner.Actor(), service.InviteInput{Email: email, Role: role})
			return err
		}
		if err := invite("new@acme.test", core.RoleViewer); err != nil {
			t.Fatal(err)
		}
		w.setPlan(t, &core.Rules{MaxMembers: ptr(int64(2))}) // the owner and the pending invitation
		if err := invite("new@acme.test", core.RoleDeveloper); err != nil {
			t.Fatalf("renewing a pending invitation at the cap: %v", err)
		}
		if r := serviceResult(invite("other@acme.test", core.RoleViewer)); r.status != 403 || r.code != core.ReasonPlanLimit ||
			r.message != "Your plan (free) allows 2 members." {
			t.Fatalf("a new invitation over the cap: %+v", r)
		}
		invs, err := w.n.Service().ListInvitations(ctx, w.owner.Actor())
		if err != nil || len(invs) != 1 || invs[0].Role != core.RoleDeveloper {
			t.Fatalf("invitations %+v %v", invs, err)
		}
	})
}

// TestPlanCapUnderConcurrency: concurrent key creations under a cap admit
// exactly the cap, on one node and, on PostgreSQL, across two nodes; a
// policy set through one node holds on the other at once.
func TestPlanCapUnderConcurrency(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		w := newPlanWorld(t, b)
		nodes := []*apptest.Node{w.n}
		if b.Name == "postgres" {
			nodes = append(nodes, w.n.Peer(t))
		}
		base := w.usage(t)[core.CapAPIKeys]
		w.setPlan(t, &core.Rules{MaxAPIKeys: ptr(base + 5)})
		const tries = 16
		statuses := make(chan int, tries)
		var wg sync.WaitGroup
		for i := range tries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := nodes[i%len(nodes)]
				req, _ := http.NewRequest("POST", n.URL+"/api/v1/api-keys", strings.NewReader(fmt.Sprintf(`{"name":"k%d"}`, i)))
				req.Header.Set("X-API-KEY", w.key)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					statuses <- 0
					return
				}
				_ = resp.Body.Close()
				statuses <- resp.StatusCode
			}()
		}
		wg.Wait()
		close(statuses)
		count := map[int]int{}
		for s := range statuses {
			count[s]++
		}
		if count[201] != 5 || count[403] != tries-5 {
			t.Fatalf("statuses %v, want 5 × 201 and %d × 403", count, tries-5)
		}
		if got := w.usage(t)[core.CapAPIKeys]; got != base+5 {
			t.Fatalf("%d keys, want %d", got, base+5)
		}
		// The policy is read at each request: set on one node, it holds on
		// every other from the next one.
		f := false
		w.setPlan(t, nil)
		w.setPolicy(t, core.Policy{Switches: core.Switches{GlobalKeys: &f}})
		for _, n := range nodes {
			r := n.Do(t, "POST", "/api/v1/api-keys", map[string]any{"name": "g"}, apptest.Key(w.key)...)
			wantForbidden(t, r, service.ReasonPolicyLimit, "Your organization's policy does not allow global API keys.")
		}
	})
}

// TestPolicyCannotExceedPlan: for every switch the plan forbids, a policy
// allowing it is refused (403 PLAN_LIMIT, nothing written), and a policy
// forbidding it too, or leaving it to the plan, is accepted.
func TestPolicyCannotExceedPlan(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		w := newPlanWorld(t, b)
		f := false
		day := int64(86400)
		rows := []struct {
			field  string
			plan   core.Switches
			looser any
			strict any
			what   string
		}{
			{"global_keys", core.Switches{GlobalKeys: &f}, true, false, "does not allow global API keys: the policy cannot allow them."},
			{"api_project_deletion", core.Switches{APIProjectDeletion: &f}, true, false, "does not allow deleting projects through the API: the policy cannot allow them."},
			{"keys_without_expiry", core.Switches{KeysWithoutExpiry: &f}, true, false, "does not allow API keys without an expiry: the policy cannot allow them."},
			{"live_keys_without_ip_allowlist", core.Switches{LiveKeysWithoutIPAllowlist: &f}, true, false,
				"does not allow live API keys without an IP allow-list: the policy cannot allow them."},
			{"max_key_lifetime", core.Switches{MaxKeyLifetime: ptr(30 * day)}, 31 * day, 29 * day,
				"allows API keys to live at most 30 days: the policy cannot allow longer."},
		}
		for _, row := range rows {
			t.Run(row.field, func(t *testing.T) {
				w.setPlan(t, &core.Rules{Switches: row.plan})
				w.setPolicy(t, core.Policy{})
				wantForbidden(t, w.do(t, "PUT", "/api/v1/organization/policy", map[string]any{row.field: row.looser, "developer_scopes": []string{"licenses:read"}}),
					core.ReasonPlanLimit, "Your plan (free) "+row.what)
				var o orgView
				w.do(t, "GET", "/api/v1/organization", nil).Decode(t, &o)
				if o.Policy[row.field] != nil || o.Policy["developer_scopes"] != nil {
					t.Fatalf("a refused policy was written: %+v", o.Policy)
				}
				for _, ok := range []any{row.strict, nil} {
					r := w.do(t, "PUT", "/api/v1/organization/policy", map[string]any{row.field: ok})
					wantStatus(t, r, 200)
					r.Decode(t, &o)
					want := ok
					if n, isInt := ok.(int64); isInt {
						want = float64(n) // as JSON decodes it
					}
					if o.Policy[row.field] != want {
						t.Fatalf("policy %s = %v, want %v", row.field, o.Policy[row.field], ok)
					}
				}
			})
		}
		w.setPlan(t, nil)
	})
}
