package httpapi_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

func postgresOnly(t *testing.T) storetest.Backend {
	t.Helper()
	for _, b := range storetest.Backends(t) {
		if b.Name == "postgres" {
			return b
		}
	}
	t.Skipf("%s is not set; .ci/run sets it", storetest.PostgresURLEnv)
	return storetest.Backend{}
}

// The guarantee across nodes: a revocation answered by one node is refused
// by the very next request at a peer, without waiting for anything: the
// revoking node answers only once every peer has acknowledged a barrier
// sent after the write. The peer's listener is slowed down, as on a busy
// machine, so that without the barrier its next request would come before
// the notification is applied. Every round warms the peer's caches first.
func TestRevocationOnPeerNextRequest(t *testing.T) {
	b := postgresOnly(t)
	rt := newRuntime(t, b)
	a := rt.n
	peer := a.Peer(t)
	peer.SlowListener(30 * time.Millisecond)
	ctx := context.Background()
	for round := range 20 {
		k, secret := a.CreateKey(t, rt.owner, service.KeyInput{Name: fmt.Sprintf("round %d", round)})
		l, err := a.Service().CreateLicense(ctx, rt.owner.Actor(), rt.paid, service.LicenseInput{Title: service.Some(fmt.Sprintf("round %d", round))})
		if err != nil {
			t.Fatal(err)
		}
		check := func(n *apptest.Node) (int, int) {
			rk := n.Do(t, "GET", "/api/v1/projects", nil, apptest.Key(secret)...)
			rl := n.Do(t, "POST", "/api/v1/project/has-paid", "[]", "X-LICENSE-KEY", l.UUID, "X-Devpayr-Domain", "shop.example.com")
			return rk.Status, rl.Status
		}
		peer.Sync(t, a) // the peer knows the key and the license
		for range 2 {
			if k, l := check(peer); k != 200 || l != 200 {
				t.Fatalf("round %d before: key %d, license %d", round, k, l)
			}
		}
		wantStatus(t, a.Do(t, "POST", "/api/v1/api-keys/"+strconv.FormatInt(k.ID, 10)+"/revoke", nil, apptest.Key(rt.key)...), 200)
		if _, err := a.Service().RevokeLicense(ctx, rt.owner.Actor(), rt.paid, l.ID); err != nil {
			t.Fatal(err)
		}
		if k, l := check(peer); k != 403 || l != 403 {
			t.Fatalf("round %d: the peer's next requests after the revocations: key %d, license %d", round, k, l)
		}
	}
}

// A node whose change listener is down may be missing other nodes'
// changes: until it listens again it serves nothing from its caches, and
// when it does, it starts from empty ones.
func TestPeerWithoutListenerServesNothingCached(t *testing.T) {
	b := postgresOnly(t)
	rt := newRuntime(t, b)
	a := rt.n
	peer := a.Peer(t)
	ctx := context.Background()
	k, secret := a.CreateKey(t, rt.owner, service.KeyInput{Name: "cut"})
	peer.Sync(t, a)
	for range 2 {
		wantStatus(t, peer.Do(t, "GET", "/api/v1/projects", nil, apptest.Key(secret)...), 200)
		wantStatus(t, peer.Do(t, "POST", "/api/v1/project/has-paid", "[]", "X-LICENSE-KEY", rt.keys["basic"], "X-Devpayr-Domain", "shop.example.com"), 200)
	}
	wantReady(t, peer, `"listener":"up"`)
	reconnect := peer.CutListener(t)
	if !peer.Service().Caches().Suspended() {
		t.Fatal("caches serve while the listener is down")
	}
	// Still ready: with nothing served from memory, answers stay correct.
	wantReady(t, peer, `"listener":"down"`)
	// Written while the peer cannot hear of it.
	wantStatus(t, a.Do(t, "POST", "/api/v1/api-keys/"+strconv.FormatInt(k.ID, 10)+"/revoke", nil, apptest.Key(rt.key)...), 200)
	basic := licenseID(t, rt, "basic")
	if _, err := a.Service().SuspendLicense(ctx, rt.owner.Actor(), rt.paid, basic); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		wantStatus(t, peer.Do(t, "GET", "/api/v1/projects", nil, apptest.Key(secret)...), 403)
		wantStatus(t, peer.Do(t, "POST", "/api/v1/project/has-paid", "[]", "X-LICENSE-KEY", rt.keys["basic"], "X-Devpayr-Domain", "shop.example.com"), 403)
	}
	// Nothing read while cut off is kept: after the reconnection the
	// caches fill again from what the database says then.
	if _, err := a.Service().ReactivateLicense(ctx, rt.owner.Actor(), rt.paid, basic); err != nil {
		t.Fatal(err)
	}
	reconnect()
	if peer.Service().Caches().Suspended() {
		t.Fatal("still suspended after reconnecting")
	}
	// Listening is recorded just after the caches resume: poll, bounded.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		r := peer.Do(t, "GET", "/readyz", nil)
		if strings.Contains(string(r.Body), `"listener":"up"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz after reconnecting: %d %s", r.Status, r.Body)
		}
	}
	for range 2 {
		wantStatus(t, peer.Do(t, "POST", "/api/v1/project/has-paid", "[]", "X-LICENSE-KEY", rt.keys["basic"], "X-Devpayr-Domain", "shop.example.com"), 200)
	}
	before := snapshotHits(peer)
	wantStatus(t, peer.Do(t, "POST", "/api/v1/project/has-paid", "[]", "X-LICENSE-KEY", rt.keys["basic"], "X-Devpayr-Domain", "shop.example.com"), 200)
	if snapshotHits(peer) != before+1 {
		t.Fatal("the caches are not used again after reconnecting")
	}
}

func snapshotHits(n *apptest.Node) uint64 {
	for _, s := range n.Service().Caches().Stats() {
		if s.Name == "license_snapshot" {
			return s.Hits
		}
	}
	return 0
}

// wantReady checks that n's /readyz is 200 with want in its body.
func wantReady(t *testing.T, n *apptest.Node, want string) {
	t.Helper()
	if r := n.Do(t, "GET", "/readyz", nil); r.Status != 200 || !strings.Contains(string(r.Body), want) {
		t.Fatalf("readyz: %d %s, want 200 with %s", r.Status, r.Body, want)
	}
}
