package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		ip   string
		want string // a word of the reason; "" when allowed
	}{
		{"127.0.0.1", "loopback"},
		{"127.9.9.9", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
		{"10.1.2.3", "private"},
		{"172.16.0.1", "private"},
		{"192.168.0.10", "private"},
		{"100.64.0.1", "private"},
		{"fd00::1", "private"},
		{"169.254.169.254", "metadata"},
		{"169.254.1.1", "link-local"},
		{"fe80::1", "link-local"},
		{"224.0.0.251", "multicast"},
		{"ff02::1", "multicast"},
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"93.184.215.14", ""},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", ""},
		{"100.128.0.1", ""},
	} {
		got := Refused(netip.MustParseAddr(tc.ip))
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("Refused(%s) = %q, want %q", tc.ip, got, tc.want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url      string
		insecure bool
		ok       bool
	}{
		{"https://hooks.example.com/latchkey", false, true},
		{"https://hooks.example.com:8443/x?token=1", false, true},
		{"https://localhost/x", false, true}, // a hostname: checked where it resolves
		{"http://hooks.example.com/x", false, false},
		{"http://hooks.example.com/x", true, true},
		{"https://127.0.0.1/x", false, false},
		{"https://127.0.0.1/x", true, true},
		{"https://[::1]:8080/x", false, false},
		{"https://10.0.0.1/x", false, false},
		{"https://169.254.169.254/", false, false},
		{"https://user:pass@example.com/", false, false},
		{"https://example.com/#frag", false, false},
		{"ftp://example.com/", true, false},
		{"example.com/x", true, false},
		{"https:///nohost", true, false},
		{"https://example.com/" + strings.Repeat("a", MaxURL), false, false},
		{"::not a url", true, false},
	} {
		why := CheckURL(tc.url, tc.insecure)
		if (why == "") != tc.ok {
			t.Errorf("CheckURL(%q, %v) = %q, want ok=%v", tc.url, tc.insecure, why, tc.ok)
		}
	}
}

func TestBackoffGrowsToItsCeiling(t *testing.T) {
	// While the base doubles (30 s · 2^(n-1) below 6 h: n ≤ 10), even the
	// shortest jittered wait is longer than the previous longest.
	for n := 2; n <= 10; n++ {
		if lo, prevHi := Backoff(n, 0), Backoff(n-1, 0.999999); lo <= prevHi {
			t.Fatalf("attempt %d's shortest wait %v is not past attempt %d's longest %v", n, lo, n-1, prevHi)
		}
	}
	for n := 1; n <= 100; n++ {
		if hi := Backoff(n, 0.999999); hi > 6*time.Hour*12/10 {
			t.Fatalf("attempt %d waits up to %v, past the 6 h ceiling", n, hi)
		}
	}
	if Backoff(1, 0.5) != 30*time.Second {
		t.Fatalf("first wait %v", Backoff(1, 0.5))
	}
	// About 20 attempts fit in the 3 days a delivery is retried.
	var total time.Duration
	n := 0
	for total < 72*time.Hour {
		n++
		total += Backoff(n, 0.5)
	}
	if n < 15 || n > 25 {
		t.Fatalf("%d attempts in 3 days", n)
	}
}

func TestSendHeadersRedirectsAndLog(t *testing.T) {
	var got *http.Request
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/big":
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(strings.Repeat("x", MaxLogged-1) + "é\x00" + strings.Repeat("y", 10000)))
		default:
			got = r
			b := make([]byte, r.ContentLength)
			_, _ = r.Body.Read(b)
			body = string(b)
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	at := time.Unix(1764590400, 0)
	s := NewSender(true, "Latchkey-Webhooks/test")
	res := s.Send(context.Background(), Request{URL: srv.URL + "/ok", Body: []byte(`{"id":"evt_1"}`), EventID: "evt_1", EventType: "ping",
		Secrets: []string{"whsec_new", "whsec_old"}, At: at})
	if !res.OK() || res.StatusCode != 204 || res.Err != "" {
		t.Fatalf("result %+v", res)
	}
	if got.Header.Get("User-Agent") != "Latchkey-Webhooks/test" || got.Header.Get(EventIDHeader) != "evt_1" ||
		got.Header.Get(EventTypeHeader) != "ping" || got.Header.Get("Content-Type") != "application/json" ||
		got.Header.Get(SignatureHeader) != Sign([]byte(body), at, "whsec_new", "whsec_old") || body != `{"id":"evt_1"}` {
		t.Fatalf("request %v %q", got.Header, body)
	}
	if res := s.Send(context.Background(), Request{URL: srv.URL + "/redirect", At: at}); res.OK() || res.StatusCode != http.StatusFound {
		t.Fatalf("a redirect was followed: %+v", res)
	}
	res = s.Send(context.Background(), Request{URL: srv.URL + "/big", At: at})
	if res.StatusCode != 500 || len(res.Response) > MaxLogged+8 || !utf8.ValidString(res.Response) || strings.Contains(res.Response, "\x00") {
		t.Fatalf("logged %d bytes: %q…", len(res.Response), res.Response[len(res.Response)-8:])
	}
}

func TestSendRefusesWhatResolvesToARefusedAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("a refused address was reached")
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	s := NewSender(false, "t")
	for _, u := range []string{srv.URL, "http://localhost" + port + "/"} {
		res := s.Send(context.Background(), Request{URL: u, At: time.Now()})
		if res.StatusCode != 0 || !strings.Contains(res.Err, "refused") || strings.Contains(res.Err, "localhost") {
			t.Fatalf("%s: %+v", u, res)
		}
	}
}
