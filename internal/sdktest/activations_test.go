package sdktest_test

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/client"
)

// TestActivationsAndExplain runs against a real server: an activation is
// listed with its sighting, an explanation shows every rule and records
// nothing, and a deleted activation frees its slot.
func TestActivationsAndExplain(t *testing.T) {
	onEachBackend(t, func(t *testing.T, srv *server) {
		ctx := context.Background()
		owner := must(client.New(srv.URL, srv.Key))(t)
		p := must(owner.Projects.Create(ctx, client.ProjectCreate{Name: "Pro Plugin", HasPaid: client.Ptr(true)}))(t)
		l := must(owner.Licenses.Create(ctx, p.ID, client.LicenseCreate{Title: "One site", MaxDomains: client.Ptr[int64](1)}))(t)
		app := must(client.New(srv.URL, "", client.WithUserAgent("shop-plugin/2.1")))(t)
		if v := must(app.Validate.License(ctx, client.ValidateRequest{License: l.UUID, Domain: "shop.example.org"}))(t); !v.Valid {
			t.Fatalf("first validation %+v", v)
		}

		// Explain on a second domain: refused by max_domains, every rule
		// listed, nothing recorded.
		x := must(app.Validate.License(ctx, client.ValidateRequest{License: l.UUID, Domain: "other.example.net", Explain: true}))(t)
		if x.Valid || x.Code != client.CodeTooManyDomains || len(x.Checks) != 14 {
			t.Fatalf("explained %+v", x)
		}
		for _, c := range x.Checks {
			if (c.Rule == "max_domains") == c.Passed {
				t.Fatalf("check %+v", c)
			}
		}
		acts := must(client.Collect(owner.Activations.List(ctx, p.ID, l.ID, &client.ListOptions{PerPage: 1})))(t)
		if len(acts) != 1 {
			t.Fatalf("activations %+v", acts)
		}
		a := acts[0]
		if a.Identifier != "shop.example.org" || a.BaseDomain != "example.org" || a.LicenseID != l.ID || a.UserAgent == nil ||
			*a.UserAgent != "shop-plugin/2.1" || a.LastIP == nil || a.FirstSeenAt.IsZero() {
			t.Fatalf("activation %+v", a)
		}

		gone := must(owner.Activations.Delete(ctx, p.ID, l.ID, a.ID))(t)
		if gone.ID != a.ID || gone.Identifier != a.Identifier {
			t.Fatalf("deleted %+v", gone)
		}
		_, err := owner.Activations.Delete(ctx, p.ID, l.ID, a.ID)
		wantAPIError(t, err, client.ErrNotFound, "NOT_FOUND")
		if v := must(app.Validate.License(ctx, client.ValidateRequest{License: l.UUID, Domain: "other.example.net"}))(t); !v.Valid || v.Checks != nil {
			t.Fatalf("after the deletion %+v", v)
		}
	})
}
