package client

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The server's JWK Set, fetched and cached (docs/offline.md, "Rotation").
// A verifier that holds the set must pick up a rotation without a restart:
// it caches the set as long as the server's Cache-Control allows (within
// bounds), and fetches it again at once when a token names a kid it does
// not hold, which is what a token signed by a key newer than the cache
// looks like.

// Bounds of the JWK Set's cache lifetime, whatever Cache-Control says: at
// least a minute, so a misconfigured proxy's max-age=0 does not turn every
// verification into a fetch; at most an hour, so a retired key stops
// verifying within the hour even for a verifier that never sees an
// unknown kid.
const (
	MinKeySetAge = time.Minute
	MaxKeySetAge = time.Hour
)

// KeySetCooldown is how long a RemoteKeySet waits after a fetch before an
// unknown kid makes it fetch again: tokens with made-up kids must not
// turn the verifier into a way to flood the server.
const KeySetCooldown = 30 * time.Second

// maxKeySetBytes bounds the JWK Set's body: a few keys are a few hundred
// bytes.
const maxKeySetBytes = 1 << 20

// RemoteKeySet is the server's JWK Set (GET /.well-known/jwks.json),
// fetched on first use and cached. It is safe for concurrent use: one
// fetch runs at a time and callers waiting for it give up with their
// context. Set the fields before the first use.
type RemoteKeySet struct {
	// URL is the JWK Set's address.
	URL string
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// UserAgent, when set, is sent as the User-Agent header.
	UserAgent string
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	sem chan struct{} // one fetch at a time; a channel so waiting honours ctx
	mu  sync.Mutex
	set *KeySet
	// expires is when set must be fetched again.
	expires time.Time
	// fetched is when the last fetch was tried, successful or not; err is
	// its failure.
	fetched time.Time
	err     error
}

// NewRemoteKeySet returns the key set served at jwksURL (such as
// "https://licenses.example.com/.well-known/jwks.json"), fetched with hc
// (nil: http.DefaultClient).
func NewRemoteKeySet(jwksURL string, hc *http.Client) *RemoteKeySet {
	return &RemoteKeySet{URL: jwksURL, HTTPClient: hc}
}

func (r *RemoteKeySet) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Key returns the public key named kid. It fetches the set when it has
// none or its cache expired, and once more when kid is unknown and the
// last fetch is older than KeySetCooldown; a kid still unknown then is
// ErrUnknownKey. A fetch that fails is an error (no stale set is used,
// so a retired key never verifies longer than the cache allowed), and it
// is not tried again before KeySetCooldown has passed.
func (r *RemoteKeySet) Key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	set, err := r.current(ctx)
	if err != nil {
		return nil, err
	}
	if pub, err := set.Key(ctx, kid); err == nil {
		return pub, nil
	}
	// An unknown kid: perhaps a key newer than the cache (a rotation).
	set, err = r.refresh(ctx, func(now time.Time) bool { return now.Sub(r.fetched) >= KeySetCooldown })
	if err != nil {
		return nil, err
	}
	return set.Key(ctx, kid)
}

// Refresh fetches the set now, whatever the cache holds, and returns it.
func (r *RemoteKeySet) Refresh(ctx context.Context) (*KeySet, error) {
	return r.refresh(ctx, func(time.Time) bool { return true })
}

// current returns the cached set while it is fresh, and fetches it when
// not (unless a fetch failed within the cooldown: then that failure).
func (r *RemoteKeySet) current(ctx context.Context) (*KeySet, error) {
	r.mu.Lock()
	set, fresh := r.set, r.set != nil && r.now().Before(r.expires)
	r.mu.Unlock()
	if fresh {
		return set, nil
	}
	return r.refresh(ctx, func(now time.Time) bool {
		stale := r.set == nil || !now.Before(r.expires)
		return stale && (r.err == nil || now.Sub(r.fetched) >= KeySetCooldown)
	})
}

// refresh fetches the set when need, called with r.mu held once this
// caller's turn to fetch has come, still says so: callers that waited
// while another fetched find the set they wanted already there.
func (r *RemoteKeySet) refresh(ctx context.Context, need func(now time.Time) bool) (*KeySet, error) {
	r.mu.Lock()
	if r.sem == nil {
		r.sem = make(chan struct{}, 1)
	}
	sem := r.sem
	r.mu.Unlock()
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-sem }()

	r.mu.Lock()
	now := r.now()
	if !need(now) {
		set, err, stale := r.set, r.err, !now.Before(r.expires)
		r.mu.Unlock()
		if set == nil || (err != nil && stale) {
			if err == nil {
				err = errors.New("latchkey: no JWK Set")
			}
			return nil, err
		}
		return set, nil
	}
	r.mu.Unlock()

	set, maxAge, err := r.fetch(ctx)

	r.mu.Lock()
	defer r.mu.Unlock()
	r.fetched, r.err = now, err
	if err != nil {
		if ctx.Err() != nil {
			// This caller gave up: that says nothing of the server, so the
			// next caller may fetch at once.
			r.fetched = time.Time{}
		}
		return nil, err
	}
	r.set, r.expires = set, now.Add(maxAge)
	return set, nil
}

// fetch GETs the set and reads its cache lifetime.
func (r *RemoteKeySet) fetch(ctx context.Context) (*KeySet, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("latchkey: JWK Set URL: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	if r.UserAgent != "" {
		req.Header.Set("User-Agent", r.UserAgent)
	}
	hc := r.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		return nil, 0, fmt.Errorf("latchkey: fetch the JWK Set: %w", err)
	}
	defer func() { _ = resp.Body.Close() }() // read below; a close error loses nothing
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeySetBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("latchkey: fetch the JWK Set: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("latchkey: fetch the JWK Set: GET %s answered %s", r.URL, resp.Status)
	}
	if len(body) > maxKeySetBytes {
		return nil, 0, fmt.Errorf("latchkey: the JWK Set at %s is over %d bytes", r.URL, maxKeySetBytes)
	}
	set, err := ParseKeySet(body)
	if err != nil {
		return nil, 0, err
	}
	return set, keySetAge(resp.Header.Get("Cache-Control")), nil
}

// keySetAge is the cache lifetime Cache-Control gives (max-age, or 0 for
// no-cache and no-store), clamped to [MinKeySetAge, MaxKeySetAge]; none
// given is MinKeySetAge.
func keySetAge(cc string) time.Duration {
	age := time.Duration(0)
	for _, d := range strings.Split(cc, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "no-cache", "no-store":
			return MinKeySetAge
		case "max-age":
			n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(val), `"`), 10, 64)
			if err == nil && n > 0 {
				age = time.Duration(min(n, int64(MaxKeySetAge/time.Second))) * time.Second
			}
		}
	}
	return min(max(age, MinKeySetAge), MaxKeySetAge)
}

// jwksURL is the JWK Set's address for an API base URL
// ("https://host/prefix/api/v1/" → "https://host/prefix/.well-known/jwks.json").
func jwksURL(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base + ".well-known/jwks.json"
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v1") + "/.well-known/jwks.json"
	u.RawPath = ""
	return u.String()
}

// KeySet returns the server's JWK Set as this client fetches and caches
// it: the Keys of a Verifier that follows rotations. It needs the network;
// a copy that must verify offline ships a KeySet (ParseKeySet) instead.
func (c *Client) KeySet() *RemoteKeySet { return c.keys }
