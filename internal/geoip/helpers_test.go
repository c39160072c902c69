package geoip

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/latchkey/latchkey/internal/geoip/geoiptest"
)

// writeRaw builds a database with arbitrary records and options, for layouts
// geoiptest deliberately doesn't offer (ASN data, vendor layouts, IPv4-only
// trees, City-sized records). It returns the file's path.
func writeRaw(t testing.TB, opts mmdbwriter.Options, records map[string]mmdbtype.DataType) string {
	t.Helper()
	opts.IncludeReservedNetworks = true
	tree, err := mmdbwriter.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	for cidr, v := range records {
		_, ipnet, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(ipnet, v); err != nil {
			t.Fatalf("insert %s: %v", cidr, err)
		}
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "raw.mmdb")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// openTemp builds a geoiptest database from ranges and opens it, closing it
// when the test ends.
func openTemp(t testing.TB, ranges map[string]string) *Resolver {
	t.Helper()
	return mustOpen(t, geoiptest.TempDB(t, ranges))
}

func mustOpen(t testing.TB, path string) *Resolver {
	t.Helper()
	r, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

// cityRecord is shaped like a GeoIP2-City record, with the localized names
// and location data a real one carries, so that tests and benchmarks see the
// cost of skipping what Country doesn't read.
func cityRecord(country, registered string) mmdbtype.Map {
	names := func(en string) mmdbtype.Map {
		m := mmdbtype.Map{}
		for _, lang := range []string{"de", "en", "es", "fr", "ja", "pt-BR", "ru", "zh-CN"} {
			m[mmdbtype.String(lang)] = mmdbtype.String(en + " (" + lang + ")")
		}
		return m
	}
	return mmdbtype.Map{
		"city":      mmdbtype.Map{"geoname_id": mmdbtype.Uint32(2950159), "names": names("Berlin")},
		"continent": mmdbtype.Map{"code": mmdbtype.String("EU"), "geoname_id": mmdbtype.Uint32(6255148), "names": names("Europe")},
		"country": mmdbtype.Map{
			"geoname_id":           mmdbtype.Uint32(2921044),
			"is_in_european_union": mmdbtype.Bool(true),
			"iso_code":             mmdbtype.String(country),
			"names":                names("Germany"),
		},
		"location": mmdbtype.Map{
			"accuracy_radius": mmdbtype.Uint16(20),
			"latitude":        mmdbtype.Float64(52.5196),
			"longitude":       mmdbtype.Float64(13.4069),
			"time_zone":       mmdbtype.String("Europe/Berlin"),
		},
		"postal": mmdbtype.Map{"code": mmdbtype.String("10115")},
		"registered_country": mmdbtype.Map{
			"geoname_id": mmdbtype.Uint32(2921044),
			"iso_code":   mmdbtype.String(registered),
			"names":      names("Germany"),
		},
		"subdivisions": mmdbtype.Slice{
			mmdbtype.Map{"geoname_id": mmdbtype.Uint32(2950157), "iso_code": mmdbtype.String("BE"), "names": names("Land Berlin")},
		},
	}
}
