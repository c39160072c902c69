package service

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
)

// Metadata limits, as Stripe's: a vendor's own entries, not a document
// store.
const (
	MaxMetadataKeys     = 50
	MaxMetadataKeyLen   = 40
	MaxMetadataValueLen = 500
)

// MetadataPatch is a metadata object as sent: each key set to a value, or
// removed (nil: JSON null or ""). On create it is the whole metadata.
type MetadataPatch map[string]*string

// checkMetadataKey reports what is wrong with a metadata key, or "".
// Square brackets are refused because ?metadata[key]=value could not name
// the key.
func checkMetadataKey(k string) string {
	switch {
	case k == "":
		return "The metadata keys must not be empty."
	case utf8.RuneCountInString(k) > MaxMetadataKeyLen:
		return "The metadata key " + quoteShort(k) + " must not be greater than " + strconv.Itoa(MaxMetadataKeyLen) + " characters."
	case strings.ContainsAny(k, "[]"):
		return "The metadata key " + quoteShort(k) + " must not contain square brackets."
	case !core.ValidText(k) || strings.ContainsFunc(k, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "The metadata key " + quoteShort(k) + " must be printable text."
	}
	return ""
}

// checkMetadata adds a problem, under field, for each bad entry of m.
func checkMetadata(p core.Problems, field string, m MetadataPatch) {
	for _, k := range sortedKeys(m) {
		if msg := checkMetadataKey(k); msg != "" {
			p.Add(field, msg)
			continue
		}
		if v := m[k]; v != nil {
			if !core.ValidText(*v) {
				p.Add(field+"."+k, core.InvalidText(field+"."+k).Message)
			} else if utf8.RuneCountInString(*v) > MaxMetadataValueLen {
				p.Add(field+"."+k, "The "+field+"."+k+" field must not be greater than "+strconv.Itoa(MaxMetadataValueLen)+" characters.")
			}
		}
	}
}

// applyMetadata returns cur with patch applied (a nil value removes its
// key), or an error naming field when the result would hold more than
// MaxMetadataKeys entries. cur is not changed.
func applyMetadata(field string, cur map[string]string, patch MetadataPatch) (map[string]string, error) {
	out := maps.Clone(cur)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range patch {
		if v == nil || *v == "" {
			delete(out, k)
		} else {
			out[k] = *v
		}
	}
	if len(out) > MaxMetadataKeys {
		return nil, core.Invalid(field, "The "+field+" field must not have more than "+strconv.Itoa(MaxMetadataKeys)+
			" keys (it would have "+strconv.Itoa(len(out))+").")
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// checkLicenseFilter validates a license search, as sent in a query string
// or a bulk action's filter object, and completes it: a q that is a
// license key becomes a lookup by the key's digest, so a pasted key finds
// its license (and only its license: never by substring). Field names are
// the API's; prefix is "" for a query string and "filter." for a body.
func checkLicenseFilter(f *core.LicenseFilter, prefix string) core.Problems {
	p := core.Problems{}
	switch f.Status {
	case "", core.LicenseActive, core.LicenseRevoked, core.LicenseSuspended:
	default:
		p.Add(prefix+"status", "The selected "+prefix+"status is invalid: use active, revoked or suspended.")
	}
	checkMode(p, prefix+"mode", f.Mode)
	f.ExternalID = strings.TrimSpace(f.ExternalID)
	f.CustomerEmail = strings.TrimSpace(f.CustomerEmail)
	f.Query = strings.TrimSpace(f.Query)
	for name, v := range map[string]string{"external_id": f.ExternalID, "customer_email": f.CustomerEmail, "q": f.Query, "search": f.Search} {
		if !core.ValidText(v) {
			p.Add(prefix+name, core.InvalidText(prefix+name).Message)
		}
		maxLen(p, prefix+name, v, 255)
	}
	for _, k := range sortedKeys(f.Metadata) {
		if msg := checkMetadataKey(k); msg != "" {
			p.Add(prefix+"metadata", msg)
		} else if v := f.Metadata[k]; !core.ValidText(v) || utf8.RuneCountInString(v) > MaxMetadataValueLen {
			p.Add(prefix+"metadata."+k, "The "+prefix+"metadata."+k+" filter must be text of at most "+strconv.Itoa(MaxMetadataValueLen)+" characters.")
		}
	}
	if len(f.Metadata) > MaxMetadataKeys {
		p.Add(prefix+"metadata", "A search may name at most "+strconv.Itoa(MaxMetadataKeys)+" metadata keys.")
	}
	if key := licensing.NormalizeKey(f.Query); licensing.WellFormedKey(key) {
		f.QueryDigest = licensing.KeyDigest(key)
	}
	return p
}
