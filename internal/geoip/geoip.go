// Package geoip decides which country a caller is in, for licenses that
// restrict allowed_countries.
//
// Two sources are consulted, in order:
//
//  1. A country header (such as Cloudflare's CF-IPCountry) set by a trusted
//     reverse proxy. It is believed only when the request really came
//     through such a proxy: anyone else can send the header too.
//  2. A MaxMind DB (.mmdb) country database: GeoLite2-Country,
//     GeoIP2-Country, DB-IP's country lite database, or any City database of
//     the same layout.
//
// A caller whose country cannot be decided is reported as unknown rather than
// guessed; the license engine decides what unknown means for a restriction.
package geoip

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
)

// ErrNotMMDB is returned (wrapped) by Open when the file is not a readable
// MaxMind DB file: empty, truncated, or some other format altogether.
var ErrNotMMDB = errors.New("not a MaxMind DB (.mmdb) file")

// ErrNoCountryData is returned (wrapped) by Open when the file is a valid
// MaxMind DB but its records carry no country.iso_code or
// registered_country.iso_code, as with an ASN, ISP or anonymous-IP database,
// or a vendor layout that stores the country differently.
var ErrNoCountryData = errors.New("database has no country data")

// sampleLimit bounds how many records Open inspects when checking that a
// database carries country data. Country databases have a country on nearly
// every record, so the first hit comes almost at once; the bound only keeps
// Open quick on a large database that has none.
const sampleLimit = 4096

// Resolver maps a caller to an ISO 3166-1 alpha-2 country code.
//
// A Resolver is safe for concurrent use by many goroutines, except that Close
// must not run concurrently with Country. A nil *Resolver, like one opened
// with an empty path, has no database and believes only the trusted header.
type Resolver struct {
	db       *maxminddb.Reader // nil: header only
	ipv4Only bool              // the database cannot answer for IPv6
	cache    *recordCache      // non-nil exactly when db is

	closeOnce sync.Once
	closeErr  error
}

// cacheBits sets the record cache to 4096 entries (32 KiB). A country
// database has a few thousand distinct records at most, so nearly every
// lookup hits; with a City database the cache still catches the networks
// that call often.
const cacheBits = 12

// recordCache remembers the country of each database record by the record's
// offset. Every network of a country shares one deduplicated record, and
// decoding it costs several times the tree walk that finds it, so caching by
// offset turns most lookups into a walk and one atomic load.
//
// Each slot is a single atomic word holding (offset+1)<<16 | value, where
// value is an index into codes or noCountry. A word is read and written
// whole, so concurrent lookups can race on a slot without locks and at worst
// decode a record twice. A zero word is an empty slot, hence the +1.
type recordCache [1 << cacheBits]atomic.Uint64

// noCountry marks a cached record that has no usable country code.
const noCountry = 0xFFFF

// maxCachedOffset keeps offset+1 within the 48 bits left above the value.
// Real databases are far smaller; larger offsets simply skip the cache.
const maxCachedOffset = 1<<47 - 1

// recordPool recycles decode targets. Decode takes an interface, so a local
// record would escape to the heap on every cache miss.
var recordPool = sync.Pool{New: func() any { return new(countryRecord) }}

// countryRecord holds just the fields Country needs. Decoding into it lets
// the reader skip everything else in a record (names in a dozen languages,
// city, location) without materialising it, and with the reader's string
// cache the decode itself does not allocate.
type countryRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	// RegisteredCountry is where the network's owner is registered. Country
	// databases leave country out for some networks (satellite providers,
	// anycast) but still know the registration, which beats unknown.
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
}

// code returns the index in codes of the record's country, falling back to
// the registered country.
func (rec *countryRecord) code() (int, bool) {
	if i, ok := codeIndex(rec.Country.ISOCode); ok {
		return i, true
	}
	return codeIndex(rec.RegisteredCountry.ISOCode)
}

// Open returns a Resolver backed by the MaxMind DB file at path. An empty path
// means no database is configured: the Resolver then believes only the
// trusted header, so callers can pass the --geoip-db setting straight in.
//
// Errors name the path and wrap fs.ErrNotExist when the file is missing,
// ErrNotMMDB when it is not a MaxMind DB, and ErrNoCountryData when the
// database has no country data (for example a GeoLite2-ASN database).
func Open(path string) (*Resolver, error) {
	if path == "" {
		return &Resolver{}, nil
	}
	// Stat first: the reader's own errors for a directory or an empty file
	// are bare strings that don't say what is wrong with the setting.
	st, err := os.Stat(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is already in our message
		}
		return nil, fmt.Errorf("geoip: opening database %s: %w", path, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("geoip: opening database %s: is a directory, want a .mmdb file", path)
	}
	if st.Size() == 0 {
		return nil, fmt.Errorf("geoip: opening database %s: file is empty: %w", path, ErrNotMMDB)
	}

	db, err := maxminddb.Open(path)
	if err != nil {
		var invalid maxminddb.InvalidDatabaseError
		if errors.As(err, &invalid) {
			return nil, fmt.Errorf("geoip: opening database %s: %w (%w)", path, ErrNotMMDB, err)
		}
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("geoip: opening database %s: %w", path, err)
		}
		// Anything else (a failed mmap, say) still means the file could
		// not be used as a database.
		return nil, fmt.Errorf("geoip: opening database %s: %w (%w)", path, ErrNotMMDB, err)
	}

	if err := checkCountryData(db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("geoip: opening database %s: %w", path, err)
	}
	return &Resolver{
		db:       db,
		ipv4Only: db.Metadata.IPVersion == 4,
		cache:    new(recordCache),
	}, nil
}

// checkCountryData fails unless some early record of db has a country code.
// It inspects the records rather than trusting Metadata.DatabaseType: type
// names differ between vendors (GeoLite2-Country, DBIP-Country-Lite, custom
// builds), while the layout is what lookups actually depend on.
func checkCountryData(db *maxminddb.Reader) error {
	n := 0
	var lastErr error
	for res := range db.Networks() {
		var rec countryRecord
		if err := res.Decode(&rec); err != nil {
			var invalid maxminddb.InvalidDatabaseError
			if errors.As(err, &invalid) {
				return fmt.Errorf("%w (corrupt record: %w)", ErrNotMMDB, err)
			}
			// A type mismatch, e.g. "country" stored as a plain string:
			// a layout this package does not read.
			lastErr = err
		} else if _, ok := rec.code(); ok {
			return nil
		}
		n++
		if n >= sampleLimit {
			break
		}
	}
	if lastErr != nil {
		return fmt.Errorf("database type %q: %w: records store the country in a layout other than country.iso_code (%w)",
			db.Metadata.DatabaseType, ErrNoCountryData, lastErr)
	}
	if n == 0 {
		return fmt.Errorf("database type %q has no networks: %w", db.Metadata.DatabaseType, ErrNoCountryData)
	}
	return fmt.Errorf("database type %q: %w (no country.iso_code or registered_country.iso_code in the %d record(s) checked)",
		db.Metadata.DatabaseType, ErrNoCountryData, n)
}

// Country returns the caller's ISO 3166-1 alpha-2 country code, upper-case,
// and whether it is known.
//
// header is the value of the configured country header (for example
// CF-IPCountry) and is believed only when viaTrustedProxy is true, since any
// client can send it. It must then be exactly two ASCII letters; Cloudflare's
// "XX" (unknown) and "T1" (Tor), like any malformed value, count as absent,
// so the database still gets its say.
//
// Otherwise ip is looked up in the database, if there is one. IPv4-mapped
// IPv6 addresses are treated as the IPv4 address they carry. Addresses the
// database does not cover, which usually includes private, loopback and
// unspecified ones, are unknown.
//
// Country does not allocate in the steady state (a cache miss may, right
// after a garbage collection empties the decode pool).
func (r *Resolver) Country(ip netip.Addr, header string, viaTrustedProxy bool) (code string, ok bool) {
	if viaTrustedProxy && header != "" {
		if code, ok := normalize(header); ok {
			return code, true
		}
	}
	if r == nil || r.db == nil || !ip.IsValid() {
		return "", false
	}
	// Unmap so that ::ffff:192.0.2.1 finds 192.0.2.1 even in an IPv4-only
	// database or one built without the IPv4-mapped alias.
	ip = ip.Unmap()
	if r.ipv4Only && ip.Is6() {
		// The reader would build an error (and allocate) to say the same.
		return "", false
	}
	res := r.db.Lookup(ip)
	if !res.Found() {
		return "", false
	}

	off := uint64(res.Offset())
	if off > maxCachedOffset {
		i, ok := decode(res)
		return codeAt(i, ok)
	}
	key := off + 1
	// Fibonacci hashing spreads offsets, which are clustered and share low
	// bits, evenly over the slots.
	slot := &r.cache[(off*0x9E3779B97F4A7C15)>>(64-cacheBits)]
	if e := slot.Load(); e>>16 == key {
		v := int(e & 0xFFFF)
		return codeAt(v, v != noCountry)
	}
	i, ok := decode(res)
	v := uint64(noCountry)
	if ok {
		v = uint64(i)
	}
	slot.Store(key<<16 | v)
	return codeAt(i, ok)
}

// decode reads the country code index of the record res found.
func decode(res maxminddb.Result) (int, bool) {
	rec := recordPool.Get().(*countryRecord)
	*rec = countryRecord{}
	err := res.Decode(rec)
	i, ok := rec.code()
	*rec = countryRecord{} // hold no strings while pooled
	recordPool.Put(rec)
	if err != nil {
		// The database was checked at Open, so this is a damaged or odd
		// record. Unknown is the honest answer (and is cached as such):
		// the license engine treats it as failing any country restriction.
		return 0, false
	}
	return i, ok
}

// codeAt returns codes[i] if ok.
func codeAt(i int, ok bool) (string, bool) {
	if !ok {
		return "", false
	}
	return codes[i], true
}

// HasDatabase reports whether r looks addresses up in a database, as opposed
// to believing only the trusted header.
func (r *Resolver) HasDatabase() bool { return r != nil && r.db != nil }

// DatabaseType returns the database's self-declared type, such as
// "GeoLite2-Country", or "" without a database. It is meant for start-up logs.
func (r *Resolver) DatabaseType() string {
	if !r.HasDatabase() {
		return ""
	}
	return r.db.Metadata.DatabaseType
}

// BuildTime returns when the database was built, or the zero time without a
// database, so operators can spot a stale file.
func (r *Resolver) BuildTime() time.Time {
	if !r.HasDatabase() {
		return time.Time{}
	}
	return r.db.Metadata.BuildTime()
}

// Close releases the database. It must not be called while Country calls
// are in flight: the database is memory-mapped, and unmapping it under a
// lookup would crash the process. Calling Close more than once is harmless.
func (r *Resolver) Close() error {
	if r == nil || r.db == nil {
		return nil
	}
	r.closeOnce.Do(func() { r.closeErr = r.db.Close() })
	return r.closeErr
}

// codes holds every two-letter upper-case code, so that normalize can return
// a code without allocating, whatever case or backing memory it came from.
var codes = func() (t [26 * 26]string) {
	for i := range t {
		t[i] = string([]byte{byte('A' + i/26), byte('A' + i%26)})
	}
	return t
}()

// normalize returns s upper-cased when it is two ASCII letters and not
// "XX", which Cloudflare and others send for "unknown". Everything else
// (including Cloudflare's "T1" for Tor) is rejected.
func normalize(s string) (string, bool) {
	i, ok := codeIndex(s)
	return codeAt(i, ok)
}

// codeIndex is normalize returning the code's index in codes.
func codeIndex(s string) (int, bool) {
	if len(s) != 2 {
		return 0, false
	}
	a, ok1 := letter(s[0])
	b, ok2 := letter(s[1])
	if !ok1 || !ok2 || (a == 'X'-'A' && b == 'X'-'A') {
		return 0, false
	}
	return int(a)*26 + int(b), true
}

// letter returns c's position in the alphabet if c is an ASCII letter.
func letter(c byte) (byte, bool) {
	switch {
	case 'A' <= c && c <= 'Z':
		return c - 'A', true
	case 'a' <= c && c <= 'z':
		return c - 'a', true
	}
	return 0, false
}
