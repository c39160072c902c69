package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/store"
)

func strp(s string) *string { return &s }

func testProjects(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	o, u := Fixture(t, st, "Acme", "alice@example.com", core.RoleOwner)
	other, _ := Fixture(t, st, "Other", "bob@example.com", core.RoleOwner)
	p := &core.Project{OrgID: o.ID, Name: "Pro Plugin", Slug: "pro-plugin", Description: strp("The plugin"),
		WebhookURL: strp("https://hooks.example.com/x"), WebhookSecretEnc: []byte{1, 2, 3},
		Meta: json.RawMessage(`{"tier": "gold"}`), IsActive: true, CreatedBy: u.ID}
	must(t, st.CreateProject(ctx, p))
	got, err := st.Project(ctx, p.ID)
	must(t, err)
	var meta map[string]string
	must(t, json.Unmarshal(got.Meta, &meta))
	if got.Name != "Pro Plugin" || got.Slug != "pro-plugin" || *got.Description != "The plugin" || got.DefaultRedirectURL != nil ||
		*got.WebhookURL != "https://hooks.example.com/x" || string(got.WebhookSecretEnc) != "\x01\x02\x03" ||
		meta["tier"] != "gold" || !got.IsActive || got.HasPaid || got.CreatedBy != u.ID || got.DeletedAt != nil {
		t.Fatalf("got %+v", got)
	}
	// Slugs are unique per organization, not across organizations.
	wantCode(t, st.CreateProject(ctx, &core.Project{OrgID: o.ID, Name: "Dup", Slug: "pro-plugin"}), core.EConflict)
	must(t, st.CreateProject(ctx, &core.Project{OrgID: other.ID, Name: "Same slug", Slug: "pro-plugin"}))
	bySlug, err := st.ProjectBySlug(ctx, o.ID, "pro-plugin")
	must(t, err)
	if bySlug.ID != p.ID {
		t.Fatalf("by slug = %d", bySlug.ID)
	}
	var ids []int64
	for i := range 4 {
		q := &core.Project{OrgID: o.ID, Name: "P", Slug: "p-" + string(rune('a'+i))}
		must(t, st.CreateProject(ctx, q))
		ids = append(ids, q.ID)
	}
	page, err := st.ListProjects(ctx, core.ProjectFilter{OrgID: o.ID, Limit: 2})
	must(t, err)
	if len(page) != 2 || page[0].ID != p.ID || page[1].ID != ids[0] {
		t.Fatalf("first page = %v", page)
	}
	page, err = st.ListProjects(ctx, core.ProjectFilter{OrgID: o.ID, AfterID: page[1].ID, Limit: 10})
	must(t, err)
	if len(page) != 3 || page[0].ID != ids[1] {
		t.Fatalf("second page = %v", page)
	}
	only, err := st.ListProjects(ctx, core.ProjectFilter{OrgID: o.ID, OnlyID: ids[2]})
	must(t, err)
	if len(only) != 1 || only[0].ID != ids[2] {
		t.Fatalf("only = %v", only)
	}

	clock.Advance(time.Minute)
	paid, name := true, "Renamed"
	var noDesc *string
	meta2 := json.RawMessage(`{"a":1}`)
	upd, err := st.UpdateProject(ctx, p.ID, core.ProjectUpdate{Name: &name, HasPaid: &paid, Description: &noDesc, Meta: &meta2})
	must(t, err)
	if upd.Name != name || !upd.HasPaid || upd.Description != nil || upd.Slug != "pro-plugin" || !upd.UpdatedAt.After(upd.CreatedAt) {
		t.Fatalf("updated %+v", upd)
	}
	_, err = st.UpdateProject(ctx, p.ID, core.ProjectUpdate{Slug: strp("p-a")})
	wantCode(t, err, core.EConflict)

	// Soft delete hides the project, frees its slug and revokes its keys.
	k := newKey(o, u, 9)
	k.ProjectID = p.ID
	must(t, st.CreateAPIKey(ctx, k))
	must(t, st.DeleteProject(ctx, p.ID, clock.Now()))
	_, err = st.Project(ctx, p.ID)
	wantCode(t, err, core.ENotFound)
	wantCode(t, st.DeleteProject(ctx, p.ID, clock.Now()), core.ENotFound)
	_, err = st.UpdateProject(ctx, p.ID, core.ProjectUpdate{Name: &name})
	wantCode(t, err, core.ENotFound)
	key, err := st.APIKey(ctx, k.ID)
	must(t, err)
	if key.RevokedAt == nil {
		t.Fatal("deleting a project left its key usable")
	}
	must(t, st.CreateProject(ctx, &core.Project{OrgID: o.ID, Name: "Reborn", Slug: "pro-plugin"}))
}
