package service

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
)

func sp(s string) *string { return &s }

func TestCheckMetadata(t *testing.T) {
	tests := []struct {
		name  string
		patch MetadataPatch
		field string // "" when valid
		msg   string
	}{
		{"valid", MetadataPatch{"plan": sp("gold"), "seats": sp("5")}, "", ""},
		{"removal", MetadataPatch{"plan": nil}, "", ""},
		{"empty key", MetadataPatch{"": sp("x")}, "metadata", "must not be empty"},
		{"long key", MetadataPatch{strings.Repeat("k", 41): sp("x")}, "metadata", "not be greater than 40"},
		{"40-character key", MetadataPatch{strings.Repeat("k", 40): sp("x")}, "", ""},
		{"bracket", MetadataPatch{"a[b]": sp("x")}, "metadata", "square brackets"},
		{"control character", MetadataPatch{"a\tb": sp("x")}, "metadata", "printable"},
		{"NUL in key", MetadataPatch{"a\x00b": sp("x")}, "metadata", "printable"},
		{"NUL in value", MetadataPatch{"plan": sp("a\x00b")}, "metadata.plan", "valid UTF-8"},
		{"invalid UTF-8 value", MetadataPatch{"plan": sp("a\xffb")}, "metadata.plan", "valid UTF-8"},
		{"long value", MetadataPatch{"plan": sp(strings.Repeat("é", 501))}, "metadata.plan", "500 characters"},
		{"500-character value", MetadataPatch{"plan": sp(strings.Repeat("é", 500))}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := core.Problems{}
			checkMetadata(p, "metadata", tc.patch)
			if tc.field == "" {
				if len(p) != 0 {
					t.Fatalf("problems %v, want none", p)
				}
				return
			}
			if !strings.Contains(strings.Join(p[tc.field], " "), tc.msg) {
				t.Fatalf("problems %v, want %q under %q", p, tc.msg, tc.field)
			}
		})
	}
}

func TestApplyMetadata(t *testing.T) {
	cur := map[string]string{"plan": "gold", "region": "eu"}
	got, err := applyMetadata("metadata", cur, MetadataPatch{"plan": sp("silver"), "region": nil, "seats": sp("5"), "x": sp("")})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["plan"] != "silver" || got["seats"] != "5" {
		t.Fatalf("merged = %v", got)
	}
	if cur["plan"] != "gold" || len(cur) != 2 {
		t.Fatalf("the current entries were changed: %v", cur)
	}
	big := MetadataPatch{}
	for i := range MaxMetadataKeys + 1 {
		big["k"+strconv.Itoa(i)] = sp("v")
	}
	if _, err := applyMetadata("metadata", nil, big); !core.IsCode(err, core.EInvalid) ||
		!strings.Contains(err.Error(), "more than 50 keys") {
		t.Fatalf("51 keys: %v, want a 422 naming the limit", err)
	}
	// 50 present and one removed stays within the limit.
	delete(big, "k0")
	big["gone"] = nil
	if m, err := applyMetadata("metadata", nil, big); err != nil || len(m) != MaxMetadataKeys {
		t.Fatalf("50 keys: %d, %v", len(m), err)
	}
}

func TestCheckLicenseFilter(t *testing.T) {
	key := licensing.NewKey(time.Now())
	tests := []struct {
		name   string
		f      core.LicenseFilter
		prefix string
		field  string // "" when valid
		check  func(t *testing.T, f core.LicenseFilter)
	}{
		{name: "empty", f: core.LicenseFilter{}},
		{name: "status", f: core.LicenseFilter{Status: "expired"}, field: "status"},
		{name: "status in a body", f: core.LicenseFilter{Status: "x"}, prefix: "filter.", field: "filter.status"},
		{name: "pasted key", f: core.LicenseFilter{Query: "  " + strings.ToUpper(key) + " "}, check: func(t *testing.T, f core.LicenseFilter) {
			if !bytes.Equal(f.QueryDigest, licensing.KeyDigest(key)) {
				t.Fatal("a pasted key is not looked up by its digest")
			}
		}},
		{name: "substring", f: core.LicenseFilter{Query: " acme "}, check: func(t *testing.T, f core.LicenseFilter) {
			if f.QueryDigest != nil || f.Query != "acme" {
				t.Fatalf("q = %q, digest %x", f.Query, f.QueryDigest)
			}
		}},
		{name: "trimmed", f: core.LicenseFilter{ExternalID: " sub_1 ", CustomerEmail: " a@b.co "}, check: func(t *testing.T, f core.LicenseFilter) {
			if f.ExternalID != "sub_1" || f.CustomerEmail != "a@b.co" {
				t.Fatalf("not trimmed: %q %q", f.ExternalID, f.CustomerEmail)
			}
		}},
		{name: "NUL in q", f: core.LicenseFilter{Query: "a\x00b"}, field: "q"},
		{name: "invalid UTF-8 in external_id", f: core.LicenseFilter{ExternalID: "a\xffb"}, field: "external_id"},
		{name: "long customer_email", f: core.LicenseFilter{CustomerEmail: strings.Repeat("a", 256)}, field: "customer_email"},
		{name: "long search", f: core.LicenseFilter{Search: strings.Repeat("a", 256)}, field: "search"},
		{name: "metadata", f: core.LicenseFilter{Metadata: map[string]string{"plan": "gold"}}},
		{name: "metadata bad key", f: core.LicenseFilter{Metadata: map[string]string{"a]": "x"}}, field: "metadata"},
		{name: "metadata long value", f: core.LicenseFilter{Metadata: map[string]string{"plan": strings.Repeat("x", 501)}}, field: "metadata.plan"},
		{name: "metadata bad value in a body", f: core.LicenseFilter{Metadata: map[string]string{"plan": "\xff"}}, prefix: "filter.",
			field: "filter.metadata.plan"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			p := checkLicenseFilter(&f, tc.prefix)
			if tc.field == "" {
				if len(p) != 0 {
					t.Fatalf("problems %v, want none", p)
				}
			} else if !p.Has(tc.field) {
				t.Fatalf("problems %v, want one under %q", p, tc.field)
			}
			if tc.check != nil {
				tc.check(t, f)
			}
		})
	}
	many := core.LicenseFilter{Metadata: map[string]string{}}
	for i := range MaxMetadataKeys + 1 {
		many.Metadata["k"+strconv.Itoa(i)] = "v"
	}
	if p := checkLicenseFilter(&many, ""); !p.Has("metadata") {
		t.Fatalf("51 metadata filters: %v", p)
	}
}

func TestRenewedExpiry(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	future, past := now.Add(10*day), now.Add(-3*day)
	tests := []struct {
		name    string
		expires *time.Time
		from    string
		want    time.Time
		field   string // the refused field, "" when accepted
	}{
		{"from a future expiry", &future, "expiry", future.Add(30 * day), ""},
		{"from expiry by default", &future, "", future.Add(30 * day), ""},
		{"from a past expiry counts from now", &past, "expiry", now.Add(30 * day), ""},
		{"from now", &future, "now", now.Add(30 * day), ""},
		{"no expiry from now", nil, "now", now.Add(30 * day), ""},
		{"no expiry from expiry", nil, "expiry", time.Time{}, "from"},
		{"unknown from", &future, "tomorrow", time.Time{}, "from"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := renewedExpiry(&core.License{ExpiresAt: tc.expires}, 30*day, tc.from, now)
			if tc.field != "" {
				ce, ok := errors.AsType[*core.Error](err)
				if !ok || ce.Code != core.EInvalid || len(ce.Fields[tc.field]) == 0 {
					t.Fatalf("err = %v, want a 422 on %s", err, tc.field)
				}
				return
			}
			if err != nil || !got.Equal(tc.want) {
				t.Fatalf("renewedExpiry = %v, %v, want %v", got, err, tc.want)
			}
		})
	}
}

func TestCheckRenew(t *testing.T) {
	tests := []struct {
		in    RenewInput
		want  time.Duration
		field string
	}{
		{RenewInput{Duration: "30d"}, 30 * 24 * time.Hour, ""},
		{RenewInput{Duration: "86400", From: "now"}, 24 * time.Hour, ""},
		{RenewInput{}, 0, "duration"},
		{RenewInput{Duration: "1mo"}, 0, "duration"},
		{RenewInput{Duration: "101y"}, 0, "duration"},
		{RenewInput{Duration: "1d", From: "later"}, 0, "from"},
	}
	for _, tc := range tests {
		d, p := checkRenew(&tc.in)
		if tc.field != "" {
			if !p.Has(tc.field) {
				t.Errorf("checkRenew(%+v) = %v, want a problem on %s", tc.in, p, tc.field)
			}
			continue
		}
		if len(p) != 0 || d != tc.want {
			t.Errorf("checkRenew(%+v) = %v, %v, want %v", tc.in, d, p, tc.want)
		}
	}
}
