package ratelimit

import "sync/atomic"

// rejectionKinds are the kinds of key the server limits, by the name the
// metric gives them (latchkey_ratelimit_rejections_total{kind}); any other
// kind counts as "other".
var rejectionKinds = [...]struct{ kind, name string }{
	{"k", "api_key"},
	{"l", "license"},
	{"ip", "ip"},
	{"login-ip", "login_ip"},
	{"login-email", "login_email"},
	{"", "other"},
}

// rejections counts refused decisions (every one answered 429 or, for the
// dashboard's login, "too many attempts") in one atomic per kind: a
// refusal costs a comparison of short strings and an add, and the
// counters are read at scrape time.
type rejections [len(rejectionKinds)]atomic.Int64

func (c *rejections) count(kind string, r Result) Result {
	if r.Allowed {
		return r
	}
	i := len(rejectionKinds) - 1
	for j := range len(rejectionKinds) - 1 {
		if rejectionKinds[j].kind == kind {
			i = j
			break
		}
	}
	c[i].Add(1)
	return r
}

// Rejections returns how many decisions were refused, by kind (api_key,
// license, ip, login_ip, login_email, other), since the limiter started.
func (l *Limiter) Rejections() map[string]int64 {
	out := make(map[string]int64, len(rejectionKinds))
	for i, k := range rejectionKinds {
		out[k.name] = l.refused[i].Load()
	}
	return out
}
