package sdktest_test

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/client"
)

// TestBulk runs bulk actions through the SDK against a real `latchkey
// serve`: a dry run counts what the real run changes, the changed
// licenses are refused on validation, and API keys are revoked by name.
func TestBulk(t *testing.T) {
	onEachBackend(t, func(t *testing.T, srv *server) {
		ctx := context.Background()
		c := must(client.New(srv.URL, srv.Key))(t)
		p := must(c.Projects.Create(ctx, client.ProjectCreate{Name: "Plugin", HasPaid: client.Ptr(true)}))(t)
		var keys []string
		for _, title := range []string{"trial one", "trial two", "paid"} {
			l := must(c.Licenses.Create(ctx, p.ID, client.LicenseCreate{Title: title}))(t)
			keys = append(keys, l.UUID)
		}
		in := client.BulkLicenses{Filter: client.BulkLicenseFilter{Search: "trial"}, Action: client.BulkSuspend, DryRun: true}
		dry := must(c.Licenses.Bulk(ctx, p.ID, in))(t)
		if dry.Count != 2 || !dry.DryRun || len(dry.Sample) != 2 || dry.Sample[0].Status != client.LicenseActive {
			t.Fatalf("dry run %+v", dry)
		}
		in.DryRun = false
		real := must(c.Licenses.Bulk(ctx, p.ID, in))(t)
		if real.Count != dry.Count || real.Sample[0].Status != client.LicenseSuspended {
			t.Fatalf("real run %+v", real)
		}
		app := must(client.New(srv.URL, ""))(t)
		for i, want := range []string{client.CodeSuspended, client.CodeSuspended, client.CodeValid} {
			v := must(app.Validate.License(ctx, client.ValidateRequest{License: keys[i], Domain: "shop.example.com"}))(t)
			if v.Code != want {
				t.Fatalf("license %d: %s, want %s", i, v.Code, want)
			}
		}
		ext := must(c.Licenses.Bulk(ctx, p.ID, client.BulkLicenses{Action: client.BulkExtend, Duration: "30d", From: "now"}))(t)
		if ext.Count != 3 || ext.Sample[0].ExpiresAt == nil {
			t.Fatalf("extend %+v", ext)
		}
		_, err := c.Licenses.Bulk(ctx, p.ID, client.BulkLicenses{Action: "explode"})
		wantAPIError(t, err, client.ErrValidation, "VALIDATION_ERROR")

		_ = must(c.APIKeys.Create(ctx, client.APIKeyCreate{Name: "ci one"}))(t)
		_ = must(c.APIKeys.Create(ctx, client.APIKeyCreate{Name: "CI two"}))(t)
		kin := client.BulkAPIKeys{Filter: client.BulkAPIKeyFilter{NamePrefix: "ci"}, DryRun: true}
		if r := must(c.APIKeys.Bulk(ctx, kin))(t); r.Count != 2 || !r.DryRun {
			t.Fatalf("keys dry run %+v", r)
		}
		kin.DryRun = false
		if r := must(c.APIKeys.Bulk(ctx, kin))(t); r.Count != 2 || r.Sample[0].Status != "revoked" {
			t.Fatalf("keys real run %+v", r)
		}
	})
}
