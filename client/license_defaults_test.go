package client

import (
	"encoding/json"
	"testing"
)

// TestLicenseDefaultsWire: a patch sends removed fields as null and a
// clear as null; a license create sends NoDefault fields as null.
func TestLicenseDefaultsWire(t *testing.T) {
	two := int64(2)
	cases := []struct {
		name string
		v    any
		want string
	}{
		{"set", LicenseDefaultsPatch{Set: LicenseDefaults{MaxDomains: &two}}, `{"max_domains":2}`},
		{"remove", LicenseDefaultsPatch{Remove: []string{"allowed_ips"}}, `{"allowed_ips":null}`},
		{"clear", LicenseDefaultsPatch{Clear: true}, `null`},
		{"clear but set", LicenseDefaultsPatch{Clear: true, Set: LicenseDefaults{MaxDomains: &two}},
			`{"allow_configs":null,"allowed_countries":null,"allowed_ips":null,"expires_in":null,"heartbeat_ttl":null,"is_test_license":null,"max_concurrent":null,"max_domains":2,"max_subdomains_per_domain":null,"max_usage_per_day":null}`},
		{"create", LicenseCreate{Title: "A"}, `{"title":"A"}`},
		{"create, no default", LicenseCreate{Title: "A", NoDefault: []string{"max_domains", "expires_in"}},
			`{"expires_in":null,"max_domains":null,"title":"A"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.v)
			if err != nil || string(b) != tc.want {
				t.Fatalf("got %s (%v), want %s", b, err, tc.want)
			}
		})
	}
}
