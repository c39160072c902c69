package sdktest_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
)

// TestLicenseBusiness runs the customer fields, metadata, filters, the
// cross-project list and renewal through the SDK against a real server.
func TestLicenseBusiness(t *testing.T) {
	onEachBackend(t, func(t *testing.T, srv *server) {
		licenseBusiness(t, srv)
	})
}

func licenseBusiness(t *testing.T, srv *server) {
	ctx := context.Background()
	c := must(client.New(srv.URL, srv.Key))(t)
	p1 := must(c.Projects.Create(ctx, client.ProjectCreate{Name: "Plugin"}))(t)
	p2 := must(c.Projects.Create(ctx, client.ProjectCreate{Name: "Theme"}))(t)
	before := time.Now()
	gold := must(c.Licenses.Create(ctx, p1.ID, client.LicenseCreate{Title: "Gold", CustomerName: "Ada Lovelace",
		CustomerEmail: "ada@example.com", ExternalID: "sub_1", Metadata: map[string]string{"plan": "gold", "region": "eu"},
		MaxConcurrent: client.Ptr[int64](5), HeartbeatTTL: client.Ptr[int64](300), MaxNewActivationsPerDay: client.Ptr[int64](2),
		ExpiresIn: "30d"}))(t)
	if gold.CustomerName == nil || *gold.CustomerName != "Ada Lovelace" || *gold.ExternalID != "sub_1" || gold.Metadata["plan"] != "gold" ||
		*gold.MaxConcurrent != 5 || *gold.HeartbeatTTL != 300 || *gold.MaxNewActivationsPerDay != 2 || gold.ExpiresAt == nil ||
		gold.ExpiresAt.Before(before.Add(30*24*time.Hour-time.Minute)) {
		t.Fatalf("created %+v", gold)
	}
	plain := must(c.Licenses.Create(ctx, p2.ID, client.LicenseCreate{Title: "Plain"}))(t)
	if plain.Metadata == nil || len(plain.Metadata) != 0 {
		t.Fatalf("metadata of a license without any: %#v", plain.Metadata)
	}
	_, err := c.Licenses.Create(ctx, p1.ID, client.LicenseCreate{Title: "Again", ExternalID: "sub_1"})
	wantAPIError(t, err, client.ErrConflict, "EXTERNAL_ID_TAKEN")
	_, err = c.Licenses.Create(ctx, p1.ID, client.LicenseCreate{Title: "Bad", CustomerEmail: "nope"})
	wantAPIError(t, err, client.ErrValidation, "VALIDATION_ERROR")

	// A merge patch, then clearing.
	up := must(c.Licenses.Update(ctx, p1.ID, gold.ID, client.LicenseUpdate{Metadata: map[string]string{"region": "", "tier": "1"},
		ClearHeartbeatTTL: true, CustomerName: client.Ptr("")}))(t)
	if len(up.Metadata) != 2 || up.Metadata["plan"] != "gold" || up.Metadata["tier"] != "1" || up.HeartbeatTTL != nil || up.CustomerName != nil {
		t.Fatalf("updated %+v", up)
	}
	if _, err := c.Licenses.Update(ctx, p1.ID, gold.ID, client.LicenseUpdate{ClearMetadata: true, Metadata: map[string]string{"a": "b"}}); err == nil {
		t.Fatal("ClearMetadata with Metadata was sent")
	}
	cleared := must(c.Licenses.Update(ctx, p2.ID, plain.ID, client.LicenseUpdate{Metadata: map[string]string{"plan": "gold"}}))(t)
	if cleared.Metadata["plan"] != "gold" {
		t.Fatalf("plain %+v", cleared)
	}

	titles := func(seq func(func(client.License, error) bool)) []string {
		t.Helper()
		ls := must(client.Collect(seq))(t)
		var out []string
		for _, l := range ls {
			out = append(out, l.Title)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		got  []string
		want []string
	}{
		{"pasted key", titles(c.Licenses.List(ctx, p1.ID, &client.LicenseFilter{Query: " " + strings.ToUpper(gold.UUID)})), []string{"Gold"}},
		{"pasted key, all projects", titles(c.Licenses.ListAll(ctx, &client.LicenseFilter{Query: gold.UUID})), []string{"Gold"}},
		{"metadata, all projects", titles(c.Licenses.ListAll(ctx, &client.LicenseFilter{Metadata: map[string]string{"plan": "gold"}, PerPage: 1})),
			[]string{"Plain", "Gold"}},
		{"metadata, one project", titles(c.Licenses.ListAll(ctx, &client.LicenseFilter{Metadata: map[string]string{"plan": "gold"}, ProjectID: p2.ID})),
			[]string{"Plain"}},
		{"customer email", titles(c.Licenses.List(ctx, p1.ID, &client.LicenseFilter{CustomerEmail: "ADA@example.com"})), []string{"Gold"}},
		{"external id", titles(c.Licenses.ListAll(ctx, &client.LicenseFilter{ExternalID: "sub_1"})), []string{"Gold"}},
		{"q", titles(c.Licenses.ListAll(ctx, &client.LicenseFilter{Query: "lovelace"})), nil}, // the name was cleared
		{"q email", titles(c.Licenses.ListAll(ctx, &client.LicenseFilter{Query: "ada@"})), []string{"Gold"}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, tc.got, tc.want)
		}
	}

	// Renewal: from the expiry, from now, and a license without one.
	renewed := must(c.Licenses.Renew(ctx, p1.ID, gold.ID, client.LicenseRenew{Duration: "1y"}))(t)
	if want := gold.ExpiresAt.Add(365 * 24 * time.Hour); !renewed.ExpiresAt.Equal(want) {
		t.Fatalf("renewed to %v, want %v", renewed.ExpiresAt, want)
	}
	_, err = c.Licenses.Renew(ctx, p2.ID, plain.ID, client.LicenseRenew{Duration: "30d"})
	wantAPIError(t, err, client.ErrValidation, "VALIDATION_ERROR")
	fromNow := must(c.Licenses.Renew(ctx, p2.ID, plain.ID, client.LicenseRenew{Duration: "86400", From: client.RenewFromNow}))(t)
	if fromNow.ExpiresAt == nil || fromNow.ExpiresAt.Before(before.Add(24*time.Hour-time.Minute)) {
		t.Fatalf("renewed from now: %+v", fromNow)
	}
}
