package core

import (
	"reflect"
	"testing"
)

func TestStricter(t *testing.T) {
	yes, no := true, false
	day, week := int64(86400), int64(7*86400)
	for _, tc := range []struct {
		name    string
		a, b    Switches
		want    Switches
		allowed bool // GlobalKeys in the result
	}{
		{"neither sets", Switches{}, Switches{}, Switches{}, true},
		{"a forbids", Switches{GlobalKeys: &no}, Switches{GlobalKeys: &yes}, Switches{GlobalKeys: &no}, false},
		{"b forbids", Switches{GlobalKeys: &yes}, Switches{GlobalKeys: &no}, Switches{GlobalKeys: &no}, false},
		{"both allow", Switches{GlobalKeys: &yes}, Switches{}, Switches{GlobalKeys: &yes}, true},
		{"shorter lifetime wins", Switches{MaxKeyLifetime: &week}, Switches{MaxKeyLifetime: &day}, Switches{MaxKeyLifetime: &day}, true},
		{"one lifetime", Switches{}, Switches{MaxKeyLifetime: &week}, Switches{MaxKeyLifetime: &week}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Stricter(tc.a, tc.b)
			if !reflect.DeepEqual(got, tc.want) || Allowed(got.GlobalKeys) != tc.allowed {
				t.Fatalf("Stricter = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestLicenseDefaultsOr(t *testing.T) {
	two, five := int64(2), int64(5)
	de, yes := "DE", true
	project := LicenseDefaults{MaxDomains: &two}
	org := LicenseDefaults{MaxDomains: &five, MaxUsagePerDay: &five, AllowedCountries: &de, AllowConfigs: &yes}
	got := project.Or(org)
	want := LicenseDefaults{MaxDomains: &two, MaxUsagePerDay: &five, AllowedCountries: &de, AllowConfigs: &yes}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Or = %+v, want %+v", got, want)
	}
	if !reflect.DeepEqual(LicenseDefaults{}.Or(LicenseDefaults{}), LicenseDefaults{}) {
		t.Fatal("empty defaults merged into something")
	}
}

func TestCapsHaveLimitsAndNouns(t *testing.T) {
	var r Rules
	for i, c := range Caps {
		v := int64(i + 1)
		r.SetLimit(c, &v)
		if got := r.Limit(c); got == nil || *got != v || c.Noun() == string(c) && c != CapProjects && c != CapMembers {
			t.Fatalf("cap %s: limit %v noun %q", c, got, c.Noun())
		}
	}
}
