// Package geoiptest builds small MaxMind DB country databases for tests, so
// that tests of country restrictions never need a downloaded database.
//
// A typical end-to-end test maps the loopback address the test client comes
// from to a country and starts the server with the file:
//
//	path := geoiptest.TempDB(t, map[string]string{
//		"127.0.0.0/8": "DE",
//		"::1/128":     "DE",
//	})
//	// ... start the server with --geoip-db=path
//
// The files use the GeoLite2-Country layout (country.iso_code and
// registered_country.iso_code), which is what package geoip reads.
package geoiptest

import (
	"bytes"
	"cmp"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// DatabaseType is the database_type written into every database built here.
const DatabaseType = "GeoLite2-Country"

// Record is the country data stored for one network. An empty field leaves
// that key out of the record, the way real databases leave out what they
// don't know.
type Record struct {
	Country           string // country.iso_code
	RegisteredCountry string // registered_country.iso_code
}

// WriteDB writes a country database to path. ranges maps a network to a
// country code, like {"203.0.113.0/24": "FR", "2001:db8::/32": "JP"}; a bare
// address such as "192.0.2.1" means just that address. Every network gets the
// code as both its country and its registered country, as in GeoLite2.
//
// Where networks overlap, the more specific one wins, whatever the map order.
// Private, loopback and other reserved networks are allowed, so a test can
// give 127.0.0.1 a country. The database is IPv6 and also answers for the
// IPv4-mapped (::ffff:a.b.c.d) form of every IPv4 network; an IPv4-mapped
// network in ranges is stored as the IPv4 network it stands for. An empty
// code stores a network with no country data.
//
// WriteDB fails the test on any error.
func WriteDB(tb testing.TB, path string, ranges map[string]string) {
	tb.Helper()
	records := make(map[string]Record, len(ranges))
	for network, code := range ranges {
		records[network] = Record{Country: code, RegisteredCountry: code}
	}
	WriteRecords(tb, path, records)
}

// TempDB is WriteDB into a fresh file under tb.TempDir(), whose path it
// returns. The file is removed when the test ends.
func TempDB(tb testing.TB, ranges map[string]string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "country.mmdb")
	WriteDB(tb, path, ranges)
	return path
}

// WriteRecords is WriteDB with control over both fields of each record, for
// tests of networks that have only a registered country, or none.
func WriteRecords(tb testing.TB, path string, records map[string]Record) {
	tb.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            DatabaseType,
		Description:             map[string]string{"en": "latchkey test database"},
		Languages:               []string{"en"},
		IncludeReservedNetworks: true,
		RecordSize:              24,
	})
	if err != nil {
		tb.Fatalf("geoiptest: %v", err)
	}

	type entry struct {
		prefix netip.Prefix
		rec    Record
	}
	entries := make([]entry, 0, len(records))
	for network, rec := range records {
		prefix, err := parseNetwork(network)
		if err != nil {
			tb.Fatalf("geoiptest: network %q: %v", network, err)
		}
		entries = append(entries, entry{prefix, rec})
	}
	// Insert wider networks first: each insert replaces what it covers, so
	// this order is what makes the more specific network win.
	slices.SortFunc(entries, func(a, b entry) int {
		return cmp.Or(
			cmp.Compare(a.prefix.Bits(), b.prefix.Bits()),
			a.prefix.Addr().Compare(b.prefix.Addr()),
		)
	})

	for _, e := range entries {
		ipnet := &net.IPNet{
			IP:   e.prefix.Addr().AsSlice(),
			Mask: net.CIDRMask(e.prefix.Bits(), e.prefix.Addr().BitLen()),
		}
		if err := tree.Insert(ipnet, e.rec.value()); err != nil {
			tb.Fatalf("geoiptest: inserting %s: %v", e.prefix, err)
		}
	}

	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		tb.Fatalf("geoiptest: writing database: %v", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatalf("geoiptest: %v", err)
	}
}

// value returns rec in the GeoLite2-Country layout.
func (rec Record) value() mmdbtype.Map {
	m := mmdbtype.Map{}
	if rec.Country != "" {
		m["country"] = mmdbtype.Map{"iso_code": mmdbtype.String(rec.Country)}
	}
	if rec.RegisteredCountry != "" {
		m["registered_country"] = mmdbtype.Map{"iso_code": mmdbtype.String(rec.RegisteredCountry)}
	}
	return m
}

// parseNetwork accepts a CIDR or a bare address.
func parseNetwork(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		addr, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		addr = addr.Unmap().WithZone("")
		return netip.PrefixFrom(addr, addr.BitLen()), nil
	}
	prefix, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if prefix.Addr().Is4In6() && prefix.Bits() >= 96 {
		// The writer aliases ::ffff:0:0/96 to the IPv4 tree and refuses
		// inserts there; the IPv4 network means the same thing.
		prefix = netip.PrefixFrom(prefix.Addr().Unmap(), prefix.Bits()-96)
	}
	// Masked, so "10.1.2.3/8" means 10.0.0.0/8 as net.ParseCIDR would have it.
	return prefix.Masked(), nil
}
