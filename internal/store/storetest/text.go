package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/store"
)

// badTexts are values PostgreSQL refuses in a text column (SQLSTATE 22021)
// and SQLite stores as they are. The store refuses them on both backends,
// so a caller gets the same answer wherever it runs.
var badTexts = map[string]string{
	"NUL":           "shop\x00.example.com",
	"invalid UTF-8": "shop\xff.example.com",
	// What NormalizeIdentifier made of 200 × "é" before it cut on a rune
	// boundary: 255 bytes, the last one half of a character.
	"cut rune": strings.Repeat("é", 200)[:255],
}

// testBadText: text the database cannot store is refused with EInvalid,
// before anything of the call is written, on every path (writes, batched
// writes, reads by a text value), and a JSON document holding a NUL
// escape is refused like a NUL byte.
func testBadText(t *testing.T, st *store.Store, clock *Clock) {
	ctx := context.Background()
	l := newLicense(t, st, "bad-text", nil, nil)
	o, err := st.OrganizationByName(ctx, "Acme")
	must(t, err)
	good := core.Activation{Identifier: "good.example.com", BaseDomain: "example.com", LastSeenAt: clock.Now(), LastIP: "192.0.2.1"}
	for name, bad := range badTexts {
		t.Run(name, func(t *testing.T) {
			// A batch holding one bad sighting is refused as a whole.
			err = st.RecordLicenseUses(ctx, []core.LicenseUse{
				{LicenseID: l.ID, Day: "2026-03-14", Count: 3, Seen: []core.Activation{good}},
				{LicenseID: l.ID, Day: "2026-03-14", Count: 1, Seen: []core.Activation{{Identifier: bad, BaseDomain: bad, LastSeenAt: clock.Now()}}},
			})
			wantCode(t, err, core.EInvalid)
			_, _, err = st.RecordValidation(ctx, core.ValidationWrite{LicenseID: l.ID, Day: "2026-03-14",
				Activation: &core.Activation{Identifier: bad, BaseDomain: bad, LastSeenAt: clock.Now()}})
			wantCode(t, err, core.EInvalid)
			wantCode(t, st.CreateProject(ctx, &core.Project{OrgID: o.ID, Name: bad, Slug: "bad-" + fmt.Sprint(len(name)), IsActive: true}), core.EInvalid)
			_, err = st.ListLicenses(ctx, core.LicenseFilter{ProjectID: l.ProjectID, Status: bad})
			wantCode(t, err, core.EInvalid)
			_, err = st.ProjectBySlug(ctx, o.ID, bad)
			wantCode(t, err, core.EInvalid)
		})
	}
	t.Run("JSON NUL escape", func(t *testing.T) {
		meta, _ := json.Marshal(map[string]string{"k": "a\x00b"})
		wantCode(t, st.CreateProject(ctx, &core.Project{OrgID: o.ID, Name: "J", Slug: "json-nul", Meta: meta, IsActive: true}), core.EInvalid)
		// An escaped backslash followed by "u0000" is text, not a NUL.
		ok := json.RawMessage(`{"k":"a\\u0000b"}`)
		p := &core.Project{OrgID: o.ID, Name: "J", Slug: "json-text", Meta: ok, IsActive: true}
		must(t, st.CreateProject(ctx, p))
	})

	// Nothing of the refused calls was written.
	usage, err := st.LicenseUsage(ctx, l.ID, "2026-03-01", "2026-03-31")
	must(t, err)
	acts, err := st.ListActivations(ctx, l.ID)
	must(t, err)
	if len(usage) != 0 || len(acts) != 0 {
		t.Fatalf("refused writes left usage %v, activations %+v", usage, acts)
	}
	ps, err := st.ListProjects(ctx, core.ProjectFilter{OrgID: o.ID, Limit: 100})
	must(t, err)
	for _, p := range ps {
		if strings.HasPrefix(p.Slug, "bad-") || p.Slug == "json-nul" {
			t.Fatalf("refused project stored: %+v", p)
		}
	}
}
