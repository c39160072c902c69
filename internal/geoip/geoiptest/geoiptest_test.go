package geoiptest

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/oschwald/maxminddb-golang/v2"
)

// read returns the country and registered country stored for ip.
func read(t *testing.T, db *maxminddb.Reader, ip string) Record {
	t.Helper()
	var rec struct {
		Country struct {
			ISOCode string `maxminddb:"iso_code"`
		} `maxminddb:"country"`
		RegisteredCountry struct {
			ISOCode string `maxminddb:"iso_code"`
		} `maxminddb:"registered_country"`
	}
	if err := db.Lookup(netip.MustParseAddr(ip)).Decode(&rec); err != nil {
		t.Fatalf("Lookup(%s): %v", ip, err)
	}
	return Record{Country: rec.Country.ISOCode, RegisteredCountry: rec.RegisteredCountry.ISOCode}
}

func TestWriteDB(t *testing.T) {
	// Many overlapping networks, so that a lucky map order can't hide a
	// wrong insertion order.
	path := TempDB(t, map[string]string{
		"10.0.0.0/8":           "DE",
		"10.1.0.0/16":          "FR",
		"10.1.2.0/24":          "IT",
		"10.1.2.3":             "ES",
		"10.9.9.9/8":           "DE", // host bits are masked off
		"127.0.0.1":            "CH",
		"::ffff:192.0.2.0/120": "SE",
		"2001:db8::/32":        "JP",
		"2001:db8::1":          "KR",
		"::1":                  "NO",
		"198.51.100.0/24":      "",
	})
	db, err := maxminddb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }() // a read-only database file

	if db.Metadata.DatabaseType != DatabaseType || db.Metadata.IPVersion != 6 {
		t.Errorf("metadata = %q, IPv%d; want %q, IPv6", db.Metadata.DatabaseType, db.Metadata.IPVersion, DatabaseType)
	}
	for ip, want := range map[string]string{
		"10.200.0.1":      "DE",
		"10.1.200.1":      "FR",
		"10.1.2.200":      "IT",
		"10.1.2.3":        "ES",
		"127.0.0.1":       "CH",
		"127.0.0.2":       "",
		"192.0.2.9":       "SE",
		"::ffff:10.1.2.3": "ES",
		"2001:db8::2":     "JP",
		"2001:db8::1":     "KR",
		"::1":             "NO",
		"198.51.100.1":    "",
		"8.8.8.8":         "",
	} {
		if got := read(t, db, ip); got != (Record{want, want}) {
			t.Errorf("%s: got %+v, want country and registered country %q", ip, got, want)
		}
	}
}

func TestWriteRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "records.mmdb")
	WriteRecords(t, path, map[string]Record{
		"192.0.2.0/25":   {Country: "US", RegisteredCountry: "CA"},
		"192.0.2.128/25": {RegisteredCountry: "CA"},
	})
	db, err := maxminddb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }() // a read-only database file
	if got := read(t, db, "192.0.2.1"); got != (Record{"US", "CA"}) {
		t.Errorf("192.0.2.1: got %+v", got)
	}
	if got := read(t, db, "192.0.2.129"); got != (Record{"", "CA"}) {
		t.Errorf("192.0.2.129: got %+v", got)
	}
}
