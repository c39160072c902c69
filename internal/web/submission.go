package web

import (
	"context"
	"encoding/hex"
	"net/http"
	"sync"
	"time"

	"github.com/latchkey/latchkey/internal/cache"
	"github.com/latchkey/latchkey/internal/keys"
)

// A form that mints a secret (a new API key, a new webhook endpoint) is
// safe against a repeated submit (a double click, a form sent again from
// the browser's history): the form carries a one-time token, the first
// post with it creates the resource, and every other post with it, in the
// same session, while the first runs or up to submissionTTL after, gets the
// first one's answer instead of a second resource. Reloading the page that
// shows the secret is already safe (it is a GET, reveal.go).
//
// Tokens are remembered by the node that served the first post; a repeat
// sent to another node behind a load balancer is not recognised.
const (
	submissionField = "submission"
	submissionTTL   = 10 * time.Minute
	maxSubmissions  = 10_000
)

// submissions remembers what the posts carrying a token produced.
type submissions struct {
	mu       sync.Mutex
	inflight map[string]chan struct{}
	done     *cache.Cache[string, submitted]
}

// submitted is the first post's answer: the secret page it redirected to,
// and the sealed secret for that page (sealed with the instance secret;
// held in memory only, for as long as the page itself would accept it).
type submitted struct {
	page   string
	sealed string
}

func newSubmissions(now func() time.Time) *submissions {
	return &submissions{inflight: map[string]chan struct{}{},
		done: cache.New(cache.Config[string, submitted]{Name: "form_submissions", MaxEntries: maxSubmissions, TTL: submissionTTL, Now: now})}
}

// submissionKey names a form's token within its session.
func submissionKey(r *http.Request, token string) string {
	return hex.EncodeToString(sessionOf(r).Session.Digest) + ":" + token
}

// begin returns the first post's answer for k, waiting for it while it
// runs; or first = true when this post is the first (or the first one
// failed), and then end must follow.
func (s *submissions) begin(ctx context.Context, k string) (prev submitted, first bool, err error) {
	for {
		s.mu.Lock()
		if p, ok := s.done.Get(k); ok {
			s.mu.Unlock()
			return p, false, nil
		}
		ch, busy := s.inflight[k]
		if !busy {
			s.inflight[k] = make(chan struct{})
			s.mu.Unlock()
			return submitted{}, true, nil
		}
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return submitted{}, false, ctx.Err()
		}
	}
}

// end records the first post's answer (nothing when it created nothing,
// so that the form can be corrected and sent again).
func (s *submissions) end(k string, res submitted) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if res.page != "" {
		s.done.Put(s.done.Begin(), k, res)
	}
	close(s.inflight[k])
	delete(s.inflight, k)
}

func newSubmissionToken() string { return keys.RandomToken(16) }

// createOnce answers a form that mints a secret, running create at most
// once for the form's token (blank: no protection, every post creates).
// create either mints the resource and returns its sealed secret page
// (sealReveal), which this sends the browser to, or answers the request
// itself (a refused form) and returns a zero submitted. Repeats of the
// form get the first post's redirect.
func (d *dashboard) createOnce(w http.ResponseWriter, r *http.Request, token string, create func() (submitted, error)) error {
	var res submitted
	if token != "" {
		sk := submissionKey(r, token)
		prev, first, err := d.once.begin(r.Context(), sk)
		if err != nil {
			return err
		}
		if !first {
			// The same form again: the answer the first post got.
			return d.sendReveal(w, r, prev)
		}
		defer func() { d.once.end(sk, res) }()
	}
	var err error
	if res, err = create(); err != nil || res.page == "" {
		return err
	}
	return d.sendReveal(w, r, res)
}
