package licensing

import (
	"net/netip"
	"strconv"
	"strings"
)

// ValidHost checks a domain registered on a project and returns it
// normalised (lower case, no trailing dot). Accepted forms, as DevPayr's:
// a fully qualified domain name (example.com, app.example.com),
// localhost[:port], an IPv4 address[:port], and [IPv6]:port. Runtime
// identifiers are NOT held to these rules: any opaque string may call.
func ValidHost(s string) (string, bool) {
	s = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	if s == "" || len(s) > 260 {
		return "", false
	}
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 {
			return "", false
		}
		a, err := netip.ParseAddr(s[1:end])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", false
		}
		rest := s[end+1:]
		if !strings.HasPrefix(rest, ":") || !validPort(rest[1:]) {
			return "", false
		}
		return "[" + a.String() + "]" + rest, true
	}
	host, port, hasPort := strings.Cut(s, ":")
	if hasPort && !validPort(port) {
		return "", false
	}
	if host == "localhost" {
		return s, true
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if !a.Is4() {
			return "", false // IPv6 needs brackets and a port
		}
		return s, true
	}
	if hasPort || !validFQDN(host) {
		return "", false
	}
	return host, true
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535 && p[0] != '0' && p[0] != '+'
}

// validFQDN checks LDH labels of at most 63 characters, at least two
// labels, at most 253 characters, and a top-level label that is not all
// digits.
func validFQDN(h string) bool {
	if len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' && i == 0) {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	for i := 0; i < len(tld); i++ {
		if tld[i] < '0' || tld[i] > '9' {
			return true
		}
	}
	return false
}
