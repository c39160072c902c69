package licensing

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"
)

// NewKey returns a new license key: a UUIDv7 (RFC 9562) string such as
// 019ae9f4-18b2-706b-b728-3f77c6bd9217, as DevPayr issues. The first 48 bits
// are the millisecond timestamp, which keeps keys of one project close
// together in the digest index's neighbour, the primary key; the other 74
// bits are random.
func NewKey(now time.Time) string {
	var u [16]byte
	_, _ = rand.Read(u[6:])
	binary.BigEndian.PutUint64(u[0:8], uint64(now.UnixMilli())<<16|uint64(binary.BigEndian.Uint16(u[6:8])))
	u[6] = 0x70 | u[6]&0x0f // version 7
	u[8] = 0x80 | u[8]&0x3f // RFC 9562 variant
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// NormalizeKey trims and lower-cases a presented key, so that a key typed
// in upper case still matches.
func NormalizeKey(key string) string { return strings.ToLower(strings.TrimSpace(key)) }

// KeyDigest returns the SHA-256 under which a license key is looked up
// (DevPayr's uuid_hash).
func KeyDigest(key string) []byte {
	d := sha256.Sum256([]byte(NormalizeKey(key)))
	return d[:]
}

// WellFormedKey reports whether a normalized key has the form of the keys
// this server issues: a UUID in its canonical 8-4-4-4-12 lower-case
// hexadecimal form. Anything else cannot be a license and is refused
// without a lookup.
func WellFormedKey(key string) bool {
	if len(key) != 36 {
		return false
	}
	for i := range len(key) {
		c := key[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}
