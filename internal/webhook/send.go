package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// Delivery limits (issue 13): connecting may take 5 s and the whole
// exchange 10 s; the log keeps the first 4 KB of an answer.
const (
	ConnectTimeout = 5 * time.Second
	TotalTimeout   = 10 * time.Second
	MaxLogged      = 4 << 10
	MaxURL         = 2048
)

// Delivery headers besides the signature.
const (
	EventIDHeader   = "Latchkey-Event-Id"
	EventTypeHeader = "Latchkey-Event-Type"
)

// metadata is the cloud instance-metadata address; it is link-local, and
// named here because it is the target SSRF attacks aim at first.
var metadata = netip.MustParseAddr("169.254.169.254")

// cgnat is the shared address space of carrier-grade NAT (RFC 6598): not
// the public internet either.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// Refused returns why a delivery may not reach ip ("" when it may): the
// loopback, private, link-local, multicast and unspecified ranges of both
// families, and the metadata address.
func Refused(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return "an invalid address"
	case ip == metadata:
		return "the cloud metadata address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsPrivate(), cgnat.Contains(ip):
		return "a private address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address"
	case ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return "a multicast address"
	case ip.IsUnspecified():
		return "an unspecified address"
	}
	return ""
}

// CheckURL returns the problem with an endpoint URL ("" when there is
// none): it must be absolute https (http only when insecure targets are
// allowed), name a host, carry no user info, and, when its host is an IP
// address, not be one Refused names unless insecure targets are allowed.
// Hostnames are checked when they are resolved, at each delivery.
func CheckURL(raw string, allowInsecure bool) string {
	if len(raw) > MaxURL {
		return fmt.Sprintf("must not be longer than %d characters", MaxURL)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "must be an absolute URL"
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowInsecure {
			return "must use https (http needs the server's --allow-insecure-webhooks)"
		}
	default:
		return "must use https"
	}
	if u.User != nil {
		return "must not contain a user name or password"
	}
	if u.Fragment != "" {
		return "must not contain a fragment"
	}
	host := u.Hostname()
	if host == "" {
		return "must name a host"
	}
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil && !allowInsecure {
		if why := Refused(ip); why != "" {
			return "must not point to " + why + " (needs the server's --allow-insecure-webhooks)"
		}
	}
	return ""
}

// ErrRefusedAddress is returned (wrapped) when a delivery's host resolves
// to an address Refused names.
var ErrRefusedAddress = errors.New("refused address")

// Sender posts deliveries. Its dialer checks the address each connection
// is actually made to, after resolution, so a hostname that resolves (or
// is re-pointed, DNS rebinding) to a refused address is refused on every
// attempt. It follows no redirects and uses no proxy from the environment.
type Sender struct {
	client    *http.Client
	userAgent string
}

// NewSender returns a Sender; allowInsecure lifts the address checks (for
// receivers on loopback or a private network).
func NewSender(allowInsecure bool, userAgent string) *Sender {
	d := &net.Dialer{Timeout: ConnectTimeout}
	if !allowInsecure {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrRefusedAddress, address)
			}
			if why := Refused(ap.Addr()); why != "" {
				return fmt.Errorf("%w: the host resolves to %s (%s)", ErrRefusedAddress, why, ap.Addr())
			}
			return nil
		}
	}
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   ConnectTimeout,
		ResponseHeaderTimeout: TotalTimeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &Sender{
		client: &http.Client{
			Transport: t,
			Timeout:   TotalTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse // a 3xx is an answer, and not a 2xx
			},
		},
		userAgent: userAgent,
	}
}

// Request is one delivery attempt.
type Request struct {
	URL       string
	Body      []byte
	EventID   string
	EventType string
	Secrets   []string // newest first
	At        time.Time
}

// Result is how an attempt went.
type Result struct {
	StatusCode int // 0 when there was no answer
	Duration   time.Duration
	Response   string // the first MaxLogged bytes, as valid UTF-8 text
	Err        string // why there was no answer, or ""
}

// OK reports a 2xx answer.
func (r Result) OK() bool { return r.StatusCode >= 200 && r.StatusCode < 300 }

// Send makes one attempt.
func (s *Sender) Send(ctx context.Context, req Request) Result {
	start := time.Now()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return Result{Err: "invalid URL"}
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("User-Agent", s.userAgent)
	hr.Header.Set(EventIDHeader, req.EventID)
	hr.Header.Set(EventTypeHeader, req.EventType)
	hr.Header.Set(SignatureHeader, Sign(req.Body, req.At, req.Secrets...))
	resp, err := s.client.Do(hr)
	if err != nil {
		return Result{Duration: time.Since(start), Err: describe(err)}
	}
	defer func() { _ = resp.Body.Close() }() // read to where we stop; nothing to report
	b, _ := io.ReadAll(io.LimitReader(resp.Body, MaxLogged))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so the connection can be reused
	return Result{StatusCode: resp.StatusCode, Duration: time.Since(start), Response: Text(b)}
}

// describe turns a transport error into a short reason for the log; it
// never includes the URL (which may carry a token in its query).
func describe(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, ErrRefusedAddress):
		msg := err.Error()
		if i := strings.Index(msg, ErrRefusedAddress.Error()); i >= 0 {
			return "refused: " + strings.TrimPrefix(msg[i+len(ErrRefusedAddress.Error()):], ": ") +
				"; the server's --allow-insecure-webhooks allows it"
		}
		return "refused address"
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("timeout after %s", TotalTimeout)
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return "DNS: " + de.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Op + ": " + oe.Err.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// Text makes b storable text: valid UTF-8 without NUL bytes.
func Text(b []byte) string {
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// Backoff returns the wait after the n-th failed attempt (n ≥ 1): 30 s
// doubling to a ceiling of 6 h, times a jitter factor in [0.8, 1.2) from
// r in [0, 1), so that the receivers of many failing deliveries are not
// retried in lockstep. Over the 3 days a delivery is retried that is
// about 20 attempts.
func Backoff(n int, r float64) time.Duration {
	d := 30 * time.Second
	for i := 1; i < n && d < 6*time.Hour; i++ {
		d *= 2
	}
	d = min(d, 6*time.Hour)
	return time.Duration(float64(d) * (0.8 + 0.4*r))
}
