package geoip

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/latchkey/latchkey/internal/geoip/geoiptest"
)

// testRanges is the database most tests use. The nested networks check that
// the most specific one wins.
var testRanges = map[string]string{
	"81.2.69.0/24":       "GB",
	"81.2.69.128/25":     "IE", // nested in the GB /24
	"203.0.113.0/24":     "AU",
	"198.51.100.7":       "NZ", // a single address
	"2001:db8::/32":      "JP",
	"2001:db8:1234::/48": "KR", // nested in the JP /32
	"2a02:ff00::/29":     "DE",
}

// lookup is Country for the database alone.
func lookup(r *Resolver, s string) (string, bool) {
	return r.Country(netip.MustParseAddr(s), "", false)
}

func TestCountryFromDatabase(t *testing.T) {
	r := openTemp(t, testRanges)

	tests := []struct {
		ip   string
		want string // "" means unknown
	}{
		// IPv4, including both ends of a range and just outside it.
		{"81.2.69.0", "GB"},
		{"81.2.69.1", "GB"},
		{"81.2.69.127", "GB"},
		{"81.2.69.128", "IE"},
		{"81.2.69.255", "IE"},
		{"81.2.68.255", ""},
		{"81.2.70.0", ""},
		{"203.0.113.42", "AU"},
		{"198.51.100.7", "NZ"},
		{"198.51.100.8", ""},
		{"8.8.8.8", ""},

		// IPv6.
		{"2001:db8::1", "JP"},
		{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "JP"},
		{"2001:db8:1234::1", "KR"},
		{"2001:db8:1235::1", "JP"},
		{"2001:db9::1", ""},
		{"2a02:ff00::1", "DE"},
		{"2a02:ff07:ffff::1", "DE"},
		{"2a02:ff08::1", ""},
		{"fe80::1%eth0", ""}, // zones are ignored, and link-local is not covered

		// IPv4-mapped IPv6 finds the IPv4 network.
		{"::ffff:81.2.69.1", "GB"},
		{"::ffff:81.2.69.200", "IE"},
		{"::ffff:203.0.113.1", "AU"},
		{"::ffff:8.8.8.8", ""},

		// Addresses no database covers unless told to.
		{"127.0.0.1", ""},
		{"::1", ""},
		{"10.1.2.3", ""},
		{"192.168.0.1", ""},
		{"172.16.0.1", ""},
		{"fd00::1", ""},
		{"0.0.0.0", ""},
		{"::", ""},
		{"::ffff:127.0.0.1", ""},
	}
	for _, tt := range tests {
		got, ok := lookup(r, tt.ip)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("Country(%s) = %q, %v; want %q, %v", tt.ip, got, ok, tt.want, tt.want != "")
		}
	}

	if got, ok := r.Country(netip.Addr{}, "", false); ok || got != "" {
		t.Errorf("Country(invalid Addr) = %q, %v; want unknown", got, ok)
	}
}

// TestPrivateAddressesWhenMapped checks that private, loopback and
// unspecified addresses are answered when the database does cover them, as
// a test database (or an operator's custom one for an internal network) may.
func TestPrivateAddressesWhenMapped(t *testing.T) {
	r := openTemp(t, map[string]string{
		"127.0.0.0/8":    "DE",
		"::1/128":        "DE",
		"10.0.0.0/8":     "FR",
		"fd00::/8":       "FR",
		"0.0.0.0/32":     "US",
		"192.168.1.0/24": "CA",
	})
	for ip, want := range map[string]string{
		"127.0.0.1":        "DE",
		"::1":              "DE",
		"::ffff:127.0.0.1": "DE",
		"10.20.30.40":      "FR",
		"fd12:3456::1":     "FR",
		"0.0.0.0":          "US",
		"192.168.1.77":     "CA",
		"192.168.2.1":      "",
	} {
		got, ok := lookup(r, ip)
		if got != want || ok != (want != "") {
			t.Errorf("Country(%s) = %q, %v; want %q", ip, got, ok, want)
		}
	}
}

func TestRegisteredCountryFallback(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.mmdb")
	geoiptest.WriteRecords(t, path, map[string]geoiptest.Record{
		"192.0.2.0/26":   {Country: "US", RegisteredCountry: "CA"},
		"192.0.2.64/26":  {RegisteredCountry: "CA"}, // e.g. a satellite provider
		"192.0.2.128/26": {Country: "us"},           // lower case is tolerated
		"192.0.2.192/26": {},                        // a record with no country at all
		"2001:db8::/32":  {Country: "??", RegisteredCountry: "SE"},
	})
	r := mustOpen(t, path)

	for ip, want := range map[string]string{
		"192.0.2.1":   "US", // country beats registered country
		"192.0.2.65":  "CA",
		"192.0.2.129": "US",
		"192.0.2.193": "",
		"2001:db8::1": "SE", // a malformed country falls back too
	} {
		got, ok := lookup(r, ip)
		if got != want || ok != (want != "") {
			t.Errorf("Country(%s) = %q, %v; want %q", ip, got, ok, want)
		}
	}
}

func TestHeader(t *testing.T) {
	r := openTemp(t, testRanges)
	gb := netip.MustParseAddr("81.2.69.1") // the database says GB
	none := netip.MustParseAddr("8.8.8.8") // the database doesn't know

	tests := []struct {
		name    string
		ip      netip.Addr
		header  string
		trusted bool
		want    string
	}{
		{"trusted header wins over database", gb, "FR", true, "FR"},
		{"trusted header alone", none, "FR", true, "FR"},
		{"trusted header is upper-cased", none, "fr", true, "FR"},
		{"trusted mixed case", none, "fR", true, "FR"},
		{"untrusted header is ignored", gb, "FR", false, "GB"},
		{"untrusted header without database answer", none, "FR", false, ""},
		{"no header falls to database", gb, "", true, "GB"},
		{"XX falls to database", gb, "XX", true, "GB"},
		{"xx falls to database", gb, "xx", true, "GB"},
		{"XX alone is unknown", none, "XX", true, ""},
		{"T1 (Tor) falls to database", gb, "T1", true, "GB"},
		{"T1 alone is unknown", none, "T1", true, ""},
		{"one letter", gb, "F", true, "GB"},
		{"three letters", gb, "FRA", true, "GB"},
		{"digits", none, "12", true, ""},
		{"letter and digit", none, "A1", true, ""},
		{"leading space", none, " F", true, ""},
		{"padded", none, " FR ", true, ""},
		{"non-ASCII", none, "ÜS", true, ""},
		{"punctuation", none, "F-", true, ""},
		{"NUL", none, "F\x00", true, ""},
		{"XK (Kosovo) is a real answer", none, "XK", true, "XK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := r.Country(tt.ip, tt.header, tt.trusted)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("Country(%s, %q, %v) = %q, %v; want %q", tt.ip, tt.header, tt.trusted, got, ok, tt.want)
			}
		})
	}
}

func TestNoDatabase(t *testing.T) {
	r, err := Open("")
	if err != nil {
		t.Fatalf("Open(\"\"): %v", err)
	}
	var nilResolver *Resolver
	for name, r := range map[string]*Resolver{"Open(\"\")": r, "nil": nilResolver} {
		t.Run(name, func(t *testing.T) {
			ip := netip.MustParseAddr("81.2.69.1")
			if got, ok := r.Country(ip, "de", true); got != "DE" || !ok {
				t.Errorf("trusted header: got %q, %v; want DE", got, ok)
			}
			if got, ok := r.Country(ip, "DE", false); got != "" || ok {
				t.Errorf("untrusted header: got %q, %v; want unknown", got, ok)
			}
			if got, ok := r.Country(ip, "XX", true); got != "" || ok {
				t.Errorf("XX: got %q, %v; want unknown", got, ok)
			}
			if r.HasDatabase() || r.DatabaseType() != "" || !r.BuildTime().IsZero() {
				t.Errorf("HasDatabase, DatabaseType, BuildTime = %v, %q, %v; want false, \"\", zero",
					r.HasDatabase(), r.DatabaseType(), r.BuildTime())
			}
			if err := r.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

func TestMetadataAndClose(t *testing.T) {
	path := geoiptest.TempDB(t, testRanges)
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if !r.HasDatabase() {
		t.Error("HasDatabase() = false")
	}
	if got := r.DatabaseType(); got != geoiptest.DatabaseType {
		t.Errorf("DatabaseType() = %q, want %q", got, geoiptest.DatabaseType)
	}
	if bt := r.BuildTime(); time.Since(bt) > time.Hour || time.Until(bt) > time.Minute {
		t.Errorf("BuildTime() = %v, want about now", bt)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Not a supported use, but it must not crash: the reader refuses.
	if got, ok := lookup(r, "81.2.69.1"); ok {
		t.Errorf("Country after Close = %q, %v; want unknown", got, ok)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	valid, err := os.ReadFile(geoiptest.TempDB(t, testRanges))
	if err != nil {
		t.Fatal(err)
	}

	asn := writeRaw(t, mmdbwriter.Options{DatabaseType: "GeoLite2-ASN"}, map[string]mmdbtype.DataType{
		"81.2.69.0/24": mmdbtype.Map{
			"autonomous_system_number":       mmdbtype.Uint32(20712),
			"autonomous_system_organization": mmdbtype.String("Andrews & Arnold Ltd"),
		},
	})
	// Some vendors store the country as a bare string; this package does not
	// read that layout and must say so rather than answer unknown forever.
	flat := writeRaw(t, mmdbwriter.Options{DatabaseType: "ipinfo country.mmdb"}, map[string]mmdbtype.DataType{
		"81.2.69.0/24": mmdbtype.Map{"country": mmdbtype.String("GB"), "continent": mmdbtype.String("EU")},
	})
	empty := writeRaw(t, mmdbwriter.Options{DatabaseType: "GeoLite2-Country"}, nil)

	tests := []struct {
		name    string
		path    string
		wantIs  error  // nil: only check that it fails
		wantMsg string // a fragment the message must contain
	}{
		{"missing file", filepath.Join(dir, "nope.mmdb"), fs.ErrNotExist, "nope.mmdb"},
		{"directory", dir, nil, "is a directory"},
		{"empty file", write("empty.mmdb", nil), ErrNotMMDB, "empty"},
		{"text file", write("text.mmdb", []byte("this is not a database\n")), ErrNotMMDB, "text.mmdb"},
		{"CSV", write("db.csv", []byte("network,country\n81.2.69.0/24,GB\n")), ErrNotMMDB, "db.csv"},
		{"truncated database", write("cut.mmdb", valid[:len(valid)/3]), ErrNotMMDB, "cut.mmdb"},
		{"ASN database", asn, ErrNoCountryData, "GeoLite2-ASN"},
		{"flat country layout", flat, ErrNoCountryData, "ipinfo"},
		{"database without networks", empty, ErrNoCountryData, "no networks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Open(tt.path)
			if err == nil {
				_ = r.Close() // the test fails on the line below anyway
				t.Fatalf("Open(%s) succeeded, want an error", tt.path)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Open error %q does not wrap %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Open error %q does not mention %q", err, tt.wantMsg)
			}
			if !strings.HasPrefix(err.Error(), "geoip: ") {
				t.Errorf("Open error %q lacks the package prefix", err)
			}
			t.Log(err)
		})
	}
}

func TestUnreadableFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	path := geoiptest.TempDB(t, testRanges)
	if err := os.Chmod(path, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("Open(unreadable) = %v, want fs.ErrPermission", err)
	}
}

// TestIPv4OnlyDatabase checks a database whose tree has only IPv4: IPv6
// callers are unknown rather than an error, and IPv4-mapped ones still work.
func TestIPv4OnlyDatabase(t *testing.T) {
	path := writeRaw(t, mmdbwriter.Options{DatabaseType: "GeoLite2-Country", IPVersion: 4}, map[string]mmdbtype.DataType{
		"81.2.69.0/24": mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("GB")}},
	})
	r := mustOpen(t, path)
	for ip, want := range map[string]string{
		"81.2.69.1":        "GB",
		"::ffff:81.2.69.1": "GB",
		"2001:db8::1":      "",
		"8.8.8.8":          "",
	} {
		got, ok := lookup(r, ip)
		if got != want || ok != (want != "") {
			t.Errorf("Country(%s) = %q, %v; want %q", ip, got, ok, want)
		}
	}
	// The header still wins for IPv6 callers.
	if got, ok := r.Country(netip.MustParseAddr("2001:db8::1"), "SE", true); got != "SE" || !ok {
		t.Errorf("header for IPv6 caller = %q, %v; want SE", got, ok)
	}
}

// TestCityLayout checks a record shaped like GeoIP2-City's, where the country
// sits among names, location and subdivisions that Country must skip.
func TestCityLayout(t *testing.T) {
	path := writeRaw(t, mmdbwriter.Options{DatabaseType: "GeoIP2-City"}, map[string]mmdbtype.DataType{
		"81.2.69.0/24":  cityRecord("DE", "DE"),
		"2001:db8::/32": cityRecord("", "AT"),
	})
	r := mustOpen(t, path)
	for ip, want := range map[string]string{"81.2.69.1": "DE", "2001:db8::1": "AT"} {
		if got, ok := lookup(r, ip); got != want || !ok {
			t.Errorf("Country(%s) = %q, %v; want %q", ip, got, ok, want)
		}
	}
}

// TestMalformedRecord checks that a record Country cannot decode is unknown,
// every time, rather than an error or a panic, while its neighbours work.
func TestMalformedRecord(t *testing.T) {
	path := writeRaw(t, mmdbwriter.Options{DatabaseType: "GeoLite2-Country"}, map[string]mmdbtype.DataType{
		"81.2.69.0/24":   mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("GB")}},
		"203.0.113.0/24": mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.Uint32(826)}},
	})
	r := mustOpen(t, path)
	for range 2 { // the second round answers from the cache
		if got, ok := lookup(r, "203.0.113.1"); ok {
			t.Errorf("Country(malformed record) = %q, want unknown", got)
		}
		if got, ok := lookup(r, "81.2.69.1"); got != "GB" || !ok {
			t.Errorf("Country(81.2.69.1) = %q, %v; want GB", got, ok)
		}
	}
}

// TestDatabaseWithSomeEmptyRecords checks that Open looks past leading
// records without a country instead of judging the whole file by the first.
func TestDatabaseWithSomeEmptyRecords(t *testing.T) {
	ranges := map[string]string{"223.255.255.0/24": "AU"}
	for i := range 200 {
		ranges[fmt.Sprintf("1.0.%d.0/24", i)] = ""
	}
	r := openTemp(t, ranges)
	if got, ok := lookup(r, "223.255.255.1"); got != "AU" || !ok {
		t.Errorf("Country = %q, %v; want AU", got, ok)
	}
	if got, ok := lookup(r, "1.0.5.1"); ok {
		t.Errorf("Country(record without country) = %q, want unknown", got)
	}
}

// TestRecordCache checks answers stay right when there are more distinct
// records than cache slots, so that slots are shared and overwritten, and
// that records without a country are cached as unknown, not as a code.
func TestRecordCache(t *testing.T) {
	const networks = 3 * (1 << cacheBits) / 2
	records := make(map[string]geoiptest.Record, networks)
	want := make(map[string]string, networks)
	for i := range networks {
		ip := fmt.Sprintf("10.%d.%d.1", i/256, i%256)
		// Distinct pairs make distinct records, which the writer would
		// otherwise deduplicate into one.
		rec := geoiptest.Record{Country: codes[i%len(codes)], RegisteredCountry: codes[(i/len(codes)+1)%len(codes)]}
		if i%7 == 0 {
			rec.Country = "" // falls back to the registered country
		}
		if i%11 == 0 {
			rec = geoiptest.Record{RegisteredCountry: "XX" + codes[i%len(codes)]} // no usable code
		}
		records[fmt.Sprintf("10.%d.%d.0/24", i/256, i%256)] = rec
		want[ip] = ""
		for _, c := range []string{rec.Country, rec.RegisteredCountry} {
			if len(c) == 2 && c != "XX" { // every code here is upper-case letters
				want[ip] = c
				break
			}
		}
	}
	path := filepath.Join(t.TempDir(), "many.mmdb")
	geoiptest.WriteRecords(t, path, records)
	r := mustOpen(t, path)

	for pass := range 3 {
		for ip, w := range want {
			got, ok := lookup(r, ip)
			if got != w || ok != (w != "") {
				t.Fatalf("pass %d: Country(%s) = %q, %v; want %q", pass, ip, got, ok, w)
			}
		}
	}
}

// TestConcurrent hammers one Resolver from many goroutines; run with -race.
func TestConcurrent(t *testing.T) {
	r := openTemp(t, testRanges)
	cases := []struct {
		ip      netip.Addr
		header  string
		trusted bool
		want    string
	}{
		{netip.MustParseAddr("81.2.69.1"), "", false, "GB"},
		{netip.MustParseAddr("81.2.69.200"), "", false, "IE"},
		{netip.MustParseAddr("2001:db8:1234::9"), "", false, "KR"},
		{netip.MustParseAddr("::ffff:203.0.113.9"), "", false, "AU"},
		{netip.MustParseAddr("8.8.8.8"), "", false, ""},
		{netip.MustParseAddr("8.8.8.8"), "nl", true, "NL"},
		{netip.MustParseAddr("81.2.69.1"), "NL", false, "GB"},
		{netip.MustParseAddr("81.2.69.1"), "XX", true, "GB"},
	}

	const goroutines, iterations = 64, 2000
	var wg sync.WaitGroup
	errs := make(chan string, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range iterations {
				c := cases[(g+i)%len(cases)]
				got, ok := r.Country(c.ip, c.header, c.trusted)
				if got != c.want || ok != (c.want != "") {
					errs <- fmt.Sprintf("Country(%s, %q, %v) = %q, %v; want %q", c.ip, c.header, c.trusted, got, ok, c.want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestCountryDoesNotAllocate guards the hot path's promise.
func TestCountryDoesNotAllocate(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation changes allocation")
	}
	city := mustOpen(t, writeRaw(t, mmdbwriter.Options{DatabaseType: "GeoIP2-City"}, map[string]mmdbtype.DataType{
		"81.2.69.0/24": cityRecord("DE", "DE"),
	}))
	r := openTemp(t, testRanges)
	for name, f := range map[string]func(){
		"IPv4 hit":          func() { lookup4(r, "81.2.69.1") },
		"IPv6 hit":          func() { lookup4(r, "2001:db8::1") },
		"IPv4-mapped hit":   func() { lookup4(r, "::ffff:81.2.69.1") },
		"miss":              func() { lookup4(r, "8.8.8.8") },
		"City record":       func() { lookup4(city, "81.2.69.1") },
		"lower-case header": func() { r.Country(addrs["8.8.8.8"], "gb", true) },
		"XX header":         func() { r.Country(addrs["81.2.69.1"], "XX", true) },
	} {
		f() // warm the reader's string cache
		if n := testing.AllocsPerRun(200, f); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", name, n)
		}
	}
}

// addrs holds pre-parsed addresses so allocation checks measure only Country.
var addrs = map[string]netip.Addr{}

func init() {
	for _, s := range []string{"81.2.69.1", "2001:db8::1", "::ffff:81.2.69.1", "8.8.8.8"} {
		addrs[s] = netip.MustParseAddr(s)
	}
}

func lookup4(r *Resolver, s string) { r.Country(addrs[s], "", false) }

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"US": "US", "us": "US", "uS": "US", "Zz": "ZZ", "AA": "AA", "XK": "XK",
		"XX": "", "xx": "", "T1": "", "": "", "U": "", "USA": "", "1A": "",
		"@A": "", "A[": "", "`a": "", "a{": "", "é": "",
	} {
		got, ok := normalize(in)
		if got != want || ok != (want != "") {
			t.Errorf("normalize(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func BenchmarkCountry(b *testing.B) {
	r := openTemp(b, testRanges)
	city := mustOpen(b, writeRaw(b, mmdbwriter.Options{DatabaseType: "GeoIP2-City"}, map[string]mmdbtype.DataType{
		"81.2.69.0/24": cityRecord("DE", "DE"),
	}))
	v4 := netip.MustParseAddr("81.2.69.1")
	v6 := netip.MustParseAddr("2001:db8:1234::1")
	mapped := netip.MustParseAddr("::ffff:81.2.69.1")
	miss := netip.MustParseAddr("8.8.8.8")

	bench := func(name string, r *Resolver, ip netip.Addr, header string, trusted bool) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := r.Country(ip, header, trusted); !ok && header != "" {
					b.Fatal("unknown")
				}
			}
		})
	}
	bench("IPv4", r, v4, "", false)
	bench("IPv6", r, v6, "", false)
	bench("IPv4-mapped", r, mapped, "", false)
	bench("miss", r, miss, "", false)
	bench("City-record", city, v4, "", false)
	bench("header", r, v4, "de", true)

	b.Run("IPv4-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r.Country(v4, "", false)
			}
		})
	})
}
