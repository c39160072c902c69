package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/client"
)

// The JWK Set of an instance (GET /.well-known/jwks.json), shipped inside
// an application, and a license file that instance issued: both are all a
// copy needs to check its license with no network at all.
const (
	exampleJWKS        = `{"keys":[{"alg":"EdDSA","crv":"Ed25519","kid":"1168b295b80d02d1","kty":"OKP","use":"sig","x":"VuZf-4vqrKPaWByANj_0nw5Tv2Zhav4ifPdmx5lqn0g"}]}`
	exampleLicenseFile = `-----BEGIN LATCHKEY LICENSE FILE-----
eyJhbGciOiJFZERTQSIsImtpZCI6IjExNjhiMjk1YjgwZDAyZDEiLCJ0eXAiOiJs
aWNlbnNlLWZpbGUrand0In0.eyJhdWQiOiI3IiwiZXhwIjoxODI3ODc4NDAwLCJp
YXQiOjE3OTYzNDI0MDAsImlkZW50aWZpZXIiOiJzaG9wLmV4YW1wbGUuY29tIiwi
aXNzIjoiaHR0cHM6Ly9saWNlbnNlcy5leGFtcGxlLmNvbSIsImp0aSI6ImxmX2V4
YW1wbGUiLCJsaWNlbnNlIjp7ImNyZWF0ZWRfYXQiOiIyMDI2LTEyLTAxVDAwOjAw
OjAwWiIsImN1c3RvbWVyX2VtYWlsIjpudWxsLCJjdXN0b21lcl9uYW1lIjoiQWRh
IExvdmVsYWNlIiwiZXhwaXJlc19hdCI6bnVsbCwiZXh0ZXJuYWxfaWQiOm51bGws
ImlkIjo0MiwiaXNfdGVzdF9saWNlbnNlIjpmYWxzZSwicHJvamVjdF9pZCI6Nywi
cHJvamVjdF9uYW1lIjoiUHJvIFBsdWdpbiIsInN0YXR1cyI6ImFjdGl2ZSIsInRp
dGxlIjoiQ3VzdG9tZXIgQSJ9LCJuYmYiOjE3OTYzNDI0MDAsInJlc3VsdCI6IlZB
TElEIiwic3ViIjoiNDIifQ.0JGw5JA0kEQ_gslq3BiYBsagBzIltgd05vc8JufJQ
gQ0miIuU2VoSPZeKDSzK6pOWsIJkQygVtisRwRxZjOjAw
-----END LATCHKEY LICENSE FILE-----
`
)

// A copy verifies its license file offline, against the JWK Set it ships
// with, and refuses one that was altered, that is for another domain, or
// that has expired.
func ExampleVerifier_LicenseFile() {
	ctx := context.Background()
	keys, err := client.ParseKeySet([]byte(exampleJWKS))
	if err != nil {
		log.Fatal(err)
	}
	today := func() time.Time { return time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC) }
	v := &client.Verifier{Keys: keys, Now: today, ProjectID: 7, Identifier: "shop.example.com"}

	f, err := v.LicenseFile(ctx, []byte(exampleLicenseFile), "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.Result, f.License.Title, f.License.ProjectName, f.ExpiresAt.Format(time.DateOnly))

	altered := strings.Replace(exampleLicenseFile, "0JGw5JA0", "0JGw5JA1", 1)
	_, err = v.LicenseFile(ctx, []byte(altered), "")
	fmt.Println(errors.Is(err, client.ErrProofSignature))

	elsewhere := &client.Verifier{Keys: keys, Now: today, Identifier: "pirate.example.net"}
	_, err = elsewhere.LicenseFile(ctx, []byte(exampleLicenseFile), "")
	fmt.Println(errors.Is(err, client.ErrClaims))

	later := &client.Verifier{Keys: keys, Now: func() time.Time { return time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC) }}
	_, err = later.LicenseFile(ctx, []byte(exampleLicenseFile), "")
	fmt.Println(errors.Is(err, client.ErrProofExpired))
	// Output:
	// VALID Customer A Pro Plugin 2027-12-04
	// true
	// true
	// true
}

// exampleServer stands in for a Latchkey server in the examples that make
// calls: it answers POST /api/v1/project as the server does, storing the
// first answer for each Idempotency-Key and replaying it, and refuses a
// key without the projects:write scope.
func exampleServer() *httptest.Server {
	var mu sync.Mutex
	replies := map[string]string{}
	nextID := 7
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-ID", "req-"+r.Method)
		w.Header().Set("X-RateLimit-Limit", "120")
		w.Header().Set("X-RateLimit-Remaining", "119")
		w.Header().Set("X-RateLimit-Reset", "1796410800")
		if r.Header.Get("X-API-KEY") != "sk_live_write" {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"status":"error","message":"This API key lacks the projects:write scope.","data":null,"errors":null,`+
				`"code":"MISSING_SCOPE","request_id":"req-1","doc_url":"https://licenses.example.com/docs/errors#missing_scope"}`)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		key := r.Header.Get("Idempotency-Key")
		if body, ok := replies[key]; ok {
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, body)
			return
		}
		body := fmt.Sprintf(`{"status":"success","message":"Project created.","data":{"id":%d,"name":"Pro Plugin","slug":"pro-plugin",`+
			`"created_at":"2026-12-04T18:00:00Z","updated_at":"2026-12-04T18:00:00Z"},"errors":null}`, nextID)
		nextID++
		replies[key] = body
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, body)
	}))
}

// A job that may run twice (a queue's redelivery, a crash after the call)
// derives the Idempotency-Key from its own work: the second create is
// answered with the first one's project, marked as replayed. Without
// WithIdempotencyKey the client still sends a random key, the same on each
// of its retries.
func ExampleWithIdempotencyKey() {
	srv := exampleServer()
	defer srv.Close()
	c, _ := client.New(srv.URL, "sk_live_write")
	ctx := context.Background()

	for range 2 {
		var meta client.Response
		p, err := c.Projects.Create(ctx, client.ProjectCreate{Name: "Pro Plugin"},
			client.WithIdempotencyKey("order-1234"), client.WithResponse(&meta))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(p.ID, meta.StatusCode, meta.Replayed)
	}
	// Output:
	// 7 201 false
	// 7 201 true
}

// WithResponse exposes the metadata of an answer: the request ID to quote
// to an operator, and the rate-limit budget left.
func ExampleWithResponse() {
	srv := exampleServer()
	defer srv.Close()
	c, _ := client.New(srv.URL, "sk_live_write")

	var meta client.Response
	_, err := c.Projects.Create(context.Background(), client.ProjectCreate{Name: "Pro Plugin"},
		client.WithHeader("X-Correlation-ID", "billing-sync-77"), client.WithResponse(&meta))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(meta.RequestID, meta.RateLimit.Remaining, "of", meta.RateLimit.Limit, "until", meta.RateLimit.Reset.UTC().Format(time.TimeOnly))
	fmt.Println(len(meta.IdempotencyKey), "characters of Idempotency-Key")
	// Output:
	// req-POST 119 of 120 until 19:00:00
	// 36 characters of Idempotency-Key
}

// A failure the server reports is an *Error: its Code is one of the
// catalogue's (the Error* constants), it matches the sentinel error of its
// status with errors.Is, and it carries the answer's metadata.
func ExampleError_code() {
	srv := exampleServer()
	defer srv.Close()
	c, _ := client.New(srv.URL, "sk_live_readonly")

	_, err := c.Projects.Create(context.Background(), client.ProjectCreate{Name: "Pro Plugin"})
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		switch apiErr.Code {
		case client.ErrorMissingScope, client.ErrorInvalidAPIKey:
			fmt.Println("check the key's scopes:", apiErr.Message)
		case client.ErrorRateLimited:
			fmt.Println("wait", apiErr.RetryAfter)
		default:
			fmt.Println(apiErr)
		}
		fmt.Println(errors.Is(err, client.ErrForbidden), apiErr.RequestID, apiErr.Response.RateLimit.Remaining)
		fmt.Println(apiErr.DocURL)
	}
	// Output:
	// check the key's scopes: This API key lacks the projects:write scope.
	// true req-1 119
	// https://licenses.example.com/docs/errors#missing_scope
}
