package licensing

import (
	"net/netip"
	"strings"
)

// ParseIPList parses a comma-separated list of IP addresses and, beyond
// DevPayr, CIDR blocks. It returns the entries and the first invalid one.
func ParseIPList(s string) (out []netip.Prefix, bad string) {
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, f
			}
			out = append(out, UnmapPrefix(p.Masked()))
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil || a.Zone() != "" {
			return nil, f
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, ""
}

// UnmapPrefix turns an IPv4-mapped IPv6 block (::ffff:10.0.0.0/104) into
// the IPv4 block it means (10.0.0.0/8), as ParseIPList does for a single
// mapped address: client addresses are compared unmapped, so the mapped
// form would never match. Other blocks are returned as they are.
func UnmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}

// FormatIPList renders parsed entries the way they are stored: single
// addresses without a prefix length, joined by ", ".
func FormatIPList(ps []netip.Prefix) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		if p.IsSingleIP() {
			parts[i] = p.Addr().String()
		} else {
			parts[i] = p.String()
		}
	}
	return strings.Join(parts, ", ")
}

// ParseCountries parses a comma-separated list of ISO 3166-1 alpha-2 codes
// (any case). It returns the upper-cased codes and the first invalid entry.
func ParseCountries(s string) (out []string, bad string) {
	for f := range strings.SplitSeq(s, ",") {
		f = strings.ToUpper(strings.TrimSpace(f))
		if f == "" {
			continue
		}
		if !ValidCountry(f) {
			return nil, f
		}
		out = append(out, f)
	}
	return out, ""
}

// ValidCountry reports whether code is an ISO 3166-1 alpha-2 code in upper
// case, or XK (Kosovo: user-assigned, but what GeoIP databases return).
func ValidCountry(code string) bool {
	if len(code) != 2 {
		return false
	}
	_, ok := countries[code]
	return ok
}

// countries holds the 249 officially assigned ISO 3166-1 alpha-2 codes,
// plus XK.
var countries = func() map[string]struct{} {
	const list = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ " +
		"BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
		"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ " +
		"DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
		"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY " +
		"HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP " +
		"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY " +
		"MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
		"NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA " +
		"RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ " +
		"TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ " +
		"VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK"
	m := make(map[string]struct{}, 250)
	for c := range strings.FieldsSeq(list) {
		m[c] = struct{}{}
	}
	return m
}()

// CountryHint explains a common mistake in a country code.
func CountryHint(code string) string {
	switch strings.ToUpper(code) {
	case "UK":
		return " (the ISO code of the United Kingdom is GB)"
	case "EU":
		return " (list the member states' codes)"
	}
	return ""
}
