package sdktest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/latchkey/latchkey/client"
)

// baseURL and apiKey are the server the examples run against: a real
// `latchkey serve` that TestMain starts on a free loopback port, and its
// owner's API key.
var baseURL, apiKey string

func TestMain(m *testing.M) {
	srv, err := startServer(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	baseURL, apiKey = srv.URL, srv.Key
	code := m.Run()
	if err := srv.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop:", err)
		code = max(code, 1)
	}
	os.Exit(code)
}

// A vendor's backend creates a project and a license; the customer's copy
// validates the license with its key alone.
func Example_createAndValidate() {
	ctx := context.Background()
	c, err := client.New(baseURL, apiKey)
	if err != nil {
		log.Fatal(err)
	}
	p, err := c.Projects.Create(ctx, client.ProjectCreate{Name: "Pro Plugin", HasPaid: client.Ptr(true)})
	if err != nil {
		log.Fatal(err)
	}
	l, err := c.Licenses.Create(ctx, p.ID, client.LicenseCreate{Title: "Customer A", MaxDomains: client.Ptr[int64](3)})
	if err != nil {
		log.Fatal(err)
	}

	copyOfApp, _ := client.New(baseURL, "") // no API key: runtime routes take the license key
	v, err := copyOfApp.Validate.License(ctx, client.ValidateRequest{License: l.UUID, Domain: "shop.example.com", CheckProject: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v.Valid, v.Code, v.License.Title)
	// Output: true VALID Customer A
}

func Example_options() {
	c, err := client.New(baseURL, apiKey,
		client.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}),
		client.WithUserAgent("billing-sync/1.4"),
		client.WithRetries(5),
		client.WithBackoff(100*time.Millisecond, 2*time.Second),
		client.WithMaxRetryAfter(30*time.Second),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Ping(context.Background()))
	// Output: <nil>
}

// Lists are iterators: the loop fetches the next page when it gets there,
// following the server's next_cursor.
func Example_pagination() {
	ctx := context.Background()
	c, _ := client.New(baseURL, apiKey)
	p, err := c.Projects.Create(ctx, client.ProjectCreate{Name: "Pagination demo"})
	if err != nil {
		log.Fatal(err)
	}
	for _, title := range []string{"First", "Second", "Third"} {
		if _, err := c.Licenses.Create(ctx, p.ID, client.LicenseCreate{Title: title}); err != nil {
			log.Fatal(err)
		}
	}
	// Two per page: the third license comes from a second request.
	for l, err := range c.Licenses.List(ctx, p.ID, &client.LicenseFilter{PerPage: 2}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(l.Title)
	}
	// Output:
	// Third
	// Second
	// First
}

// Server failures are *client.Error values that match the sentinel errors.
func Example_errors() {
	ctx := context.Background()
	c, _ := client.New(baseURL, apiKey)

	_, err := c.Projects.Get(ctx, 987654321)
	fmt.Println(errors.Is(err, client.ErrNotFound))

	_, err = c.Projects.Create(ctx, client.ProjectCreate{})
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code, errors.Is(err, client.ErrValidation))
		fmt.Println(apiErr.Fields["name"][0])
	}
	// Output:
	// true
	// 422 VALIDATION_ERROR true
	// The name field is required.
}

func Example_suspend() {
	ctx := context.Background()
	c, _ := client.New(baseURL, apiKey)
	p, _ := c.Projects.Create(ctx, client.ProjectCreate{Name: "Suspension demo", HasPaid: client.Ptr(true)})
	l, _ := c.Licenses.Create(ctx, p.ID, client.LicenseCreate{Title: "Late payer"})

	if _, err := c.Licenses.Suspend(ctx, p.ID, l.ID); err != nil {
		log.Fatal(err)
	}
	v, _ := c.Validate.License(ctx, client.ValidateRequest{License: l.UUID, CheckProject: true})
	fmt.Println(v.Valid, v.Code)

	if _, err := c.Licenses.Reactivate(ctx, p.ID, l.ID); err != nil {
		log.Fatal(err)
	}
	v, _ = c.Validate.License(ctx, client.ValidateRequest{License: l.UUID, CheckProject: true})
	fmt.Println(v.Valid, v.Code)

	for e, err := range c.Audit.List(ctx, &client.AuditFilter{ProjectID: p.ID, Action: "license."}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(e.Action)
	}
	// Output:
	// false SUSPENDED
	// true VALID
	// license.reactivate
	// license.suspend
	// license.create
}

// A copy that validated once keeps a signed proof and checks it later
// without the network, with the server's public key shipped inside it.
func Example_offlineProof() {
	ctx := context.Background()
	c, _ := client.New(baseURL, apiKey)
	p, _ := c.Projects.Create(ctx, client.ProjectCreate{Name: "Offline demo", HasPaid: client.Ptr(true)})
	l, _ := c.Licenses.Create(ctx, p.ID, client.LicenseCreate{Title: "Laptop"})
	v, err := c.Validate.License(ctx, client.ValidateRequest{License: l.UUID, Domain: "shop.example.com", CheckProject: true,
		Proof: true, ProofTTL: 7 * 24 * time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	key, err := c.Validate.SigningKey(ctx) // fetched once, shipped with the application
	if err != nil {
		log.Fatal(err)
	}

	// Later, offline:
	proof, err := client.VerifyProof(key.PublicKey, v.Proof.Token, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(proof.ProjectID == p.ID, proof.Domain, proof.ExpiresAt.Sub(proof.IssuedAt))

	_, err = client.VerifyProof(key.PublicKey, v.Proof.Token, time.Now().Add(8*24*time.Hour))
	fmt.Println(errors.Is(err, client.ErrProofExpired))
	// Output:
	// true shop.example.com 168h0m0s
	// true
}

// A validated copy receives the project's injectables and decrypts them
// with the secret they were created with.
func Example_injectables() {
	ctx := context.Background()
	c, _ := client.New(baseURL, apiKey)
	p, _ := c.Projects.Create(ctx, client.ProjectCreate{Name: "Injectables demo", HasPaid: client.Ptr(true)})
	_, err := c.Injectables.Create(ctx, p.ID, client.InjectableCreate{
		Slug: "banner", Type: "snippet", Mode: "inject", TargetPath: "js/banner.js",
		Secret: "s3cret-for-copies", Content: `console.log("licensed")`, OnlyIfPaid: true, IsActive: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	l, _ := c.Licenses.Create(ctx, p.ID, client.LicenseCreate{Title: "Customer B"})

	for d, err := range c.Injectables.Stream(ctx, client.RuntimeRequest{License: l.UUID, Domain: "shop.example.com", CheckProject: true}) {
		if err != nil {
			log.Fatal(err)
		}
		plain, err := d.Decrypt("s3cret-for-copies")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s → %s: %s\n", d.Slug, d.TargetPath, plain)
	}
	// Output: banner → js/banner.js: console.log("licensed")
}

func Example_rotateKey() {
	ctx := context.Background()
	c, _ := client.New(baseURL, apiKey)
	k, err := c.APIKeys.Create(ctx, client.APIKeyCreate{Name: "deploy pipeline", Scopes: []string{"licenses:read"}})
	if err != nil {
		log.Fatal(err)
	}
	r, err := c.APIKeys.Rotate(ctx, k.ID, time.Hour) // the old secret works for one more hour
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Previous.ID == k.ID, *r.Previous.RotatedToID == r.Key.ID, r.Key.Secret != "", r.Key.Scopes)
	// Output: true true true [licenses:read]
}
