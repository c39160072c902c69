package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/internal/apptest"
	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/licensing"
	"github.com/latchkey/latchkey/internal/store/storetest"
)

const injSecret = "s3cret-for-injectables"

type injectableView struct {
	ID          int64   `json:"id"`
	Slug        string  `json:"slug"`
	Type        string  `json:"type"`
	Content     string  `json:"content"`
	FilePath    *string `json:"file_path"`
	ContentHash string  `json:"content_hash"`
	Signature   string  `json:"signature"`
	OnlyIfPaid  bool    `json:"only_if_paid"`
}

// multipartBody builds a multipart form with fields and an optional file.
func multipartBody(t *testing.T, fields map[string]string, fileName string, file []byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if fileName != "" {
		fw, err := mw.CreateFormFile("file", fileName)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(file); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), buf.Bytes()
}

func postMultipart(t *testing.T, n *apptest.Node, method, path, key, contentType string, body []byte) *apptest.Response {
	t.Helper()
	req, err := http.NewRequest(method, n.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-API-KEY", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below
	raw, _ := io.ReadAll(resp.Body)
	r := &apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	_ = jsonUnmarshal(raw, &r.Env)
	return r
}

func TestInjectables(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		rt := newRuntime(t, b)
		n := rt.n
		base := fmt.Sprintf("/api/v1/project/%d/injectables", rt.paid)
		script := "console.log('héllo — licensed');"
		tests := []struct {
			name   string
			body   any
			status int
			want   []string
		}{
			{"snippet", map[string]any{"title": "Checkout", "slug": "checkout-js", "type": "snippet", "mode": "inject", "target_path": "js/checkout.js",
				"secret": injSecret, "content": script, "only_if_paid": true, "is_active": true, "meta": map[string]any{"v": 1}}, 201,
				[]string{`"slug":"checkout-js"`, `"content_hash":"` + licensing.ContentHash([]byte(script)) + `"`, `"only_if_paid":true`}},
			{"free config", map[string]any{"type": "config", "mode": "write", "target_path": "config/app.json", "secret": injSecret,
				"content": `{"a":1}`, "only_if_paid": "0", "is_active": "1"}, 201, []string{`"type":"config"`, `"slug":"config-`}},
			{"inactive", map[string]any{"type": "css", "mode": "append", "target_path": "a.css", "secret": injSecret,
				"content": "body{}", "only_if_paid": false, "is_active": false}, 201, nil},
			{"missing everything", "{}", 422, []string{"type field is required", "mode field is required", "target path field is required",
				"secret field is required", "only if paid field is required", "is active field is required"}},
			{"bad enums", map[string]any{"type": "binary", "mode": "paste", "target_path": "x", "secret": injSecret, "content": "x",
				"only_if_paid": true, "is_active": true}, 422, []string{"selected type is invalid", "selected mode is invalid"}},
			{"short secret", map[string]any{"type": "snippet", "mode": "inject", "target_path": "x", "secret": "short", "content": "x",
				"only_if_paid": true, "is_active": true}, 422, []string{"at least 8 characters"}},
			{"file without a file", map[string]any{"type": "file", "mode": "write", "target_path": "x", "secret": injSecret,
				"only_if_paid": true, "is_active": true}, 422, []string{"file field is required"}},
			{"slug taken", map[string]any{"slug": "checkout-js", "type": "snippet", "mode": "inject", "target_path": "x", "secret": injSecret,
				"content": "x", "only_if_paid": true, "is_active": true}, 422, []string{"slug has already been taken"}},
			{"bad endpoint", map[string]any{"type": "snippet", "mode": "inject", "target_path": "x", "secret": injSecret, "content": "x",
				"only_if_paid": true, "is_active": true, "validate_endpoint": "nope"}, 422, []string{"validate endpoint field must be a valid URL"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				wantStatus(t, n.Do(t, "POST", base, tc.body, apptest.Key(rt.key)...), tc.status, tc.want...)
			})
		}
		// Multipart with a file, as DevPayr documents.
		logo := bytes.Repeat([]byte{0x89, 'P', 'N', 'G', 0, 1, 2}, 100)
		ct, body := multipartBody(t, map[string]string{"type": "file", "mode": "write", "target_path": "public/logo.png",
			"secret": injSecret, "only_if_paid": "true", "is_active": "1", "title": "Logo"}, "../../logo.png", logo)
		r := postMultipart(t, n, "POST", base, rt.key, ct, body)
		wantStatus(t, r, 201, `"file_path":"logo.png"`, `"type":"file"`)
		var file injectableView
		r.Decode(t, &file)
		if plain, err := client.DecryptInjectable(injSecret, file.Content); err != nil || !bytes.Equal(plain, logo) {
			t.Fatalf("the stored file does not decrypt to the upload: %v", err)
		}
		big := bytes.Repeat([]byte("x"), 5<<20+1)
		ct, body = multipartBody(t, map[string]string{"type": "file", "mode": "write", "target_path": "big.bin", "secret": injSecret,
			"only_if_paid": "1", "is_active": "1"}, "big.bin", big)
		wantStatus(t, postMultipart(t, n, "POST", base, rt.key, ct, body), 422, "5120 kilobytes")

		// Show returns the encrypted content; it decrypts with the secret
		// and its signature verifies, byte-compatible with the PHP SDK.
		list := n.Do(t, "GET", base+"?per_page=2", nil, apptest.Key(rt.key)...)
		wantStatus(t, list, 200, `"next_cursor":"`)
		if strings.Contains(string(list.Body), `"content"`) {
			t.Fatal("the list shows content")
		}
		var pg struct {
			Data []injectableView `json:"data"`
		}
		list.Decode(t, &pg)
		show := n.Do(t, "GET", fmt.Sprintf("%s/%d", base, pg.Data[0].ID), nil, apptest.Key(rt.key)...)
		var snip injectableView
		show.Decode(t, &snip)
		if !client.VerifyInjectableSignature(injSecret, snip.Content, snip.Signature) {
			t.Fatal("signature does not verify")
		}
		if plain, err := client.DecryptInjectable(injSecret, snip.Content); err != nil || string(plain) != script {
			t.Fatalf("decrypt: %q %v", plain, err)
		}

		// Update: the secret is needed to change content, and re-encrypts.
		one := fmt.Sprintf("%s/%d", base, snip.ID)
		wantStatus(t, n.Do(t, "PUT", one, map[string]any{"content": "new"}, apptest.Key(rt.key)...), 422, "secret field is required")
		wantStatus(t, n.Do(t, "PATCH", one, map[string]any{"title": "Renamed"}, apptest.Key(rt.key)...), 200, `"title":"Renamed"`)
		r = n.Do(t, "PUT", one, map[string]any{"content": "console.log(2)", "secret": injSecret}, apptest.Key(rt.key)...)
		wantStatus(t, r, 200, `"content_hash":"`+licensing.ContentHash([]byte("console.log(2)"))+`"`)
		ct, body = multipartBody(t, map[string]string{"_method": "PUT", "mode": "replace"}, "", nil)
		wantStatus(t, postMultipart(t, n, "POST", one, rt.key, ct, body), 200, `"mode":"replace"`)
		wantStatus(t, n.Do(t, "PUT", one, map[string]any{"type": "file", "secret": injSecret}, apptest.Key(rt.key)...), 422, "file field is required")

		// Neither the secret nor any plaintext is stored anywhere.
		ctx := context.Background()
		all, err := n.Store.ListInjectables(ctx, injectableFilter(rt.paid))
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range all {
			for _, leak := range []string{injSecret, "console.log", "licensed"} {
				if strings.Contains(fmt.Sprintf("%+v", i), leak) {
					t.Fatalf("stored injectable %d holds %q", i.ID, leak)
				}
			}
		}
		events := n.Do(t, "GET", "/api/v1/audit?action=injectable.", nil, apptest.Key(rt.key)...)
		if strings.Contains(string(events.Body), injSecret) || !strings.Contains(string(events.Body), "injectable.update") {
			t.Fatalf("audit: %s", events.Body)
		}

		// Delivery: has-paid with include=injectables on a paid domain
		// carries the active ones, with both field spellings.
		r = rt.devpayr(t, check{license: "basic", domain: "shop.example.com", query: "?include=injectables"})
		var paid struct {
			HasPaid     bool             `json:"has_paid"`
			Injectables []map[string]any `json:"injectables"`
		}
		r.Decode(t, &paid)
		if !paid.HasPaid || len(paid.Injectables) != 3 {
			t.Fatalf("delivered %d injectables: %s", len(paid.Injectables), r.Body)
		}
		for _, it := range paid.Injectables {
			for _, f := range []string{"slug", "name", "type", "mode", "encrypted_content", "content", "file_path", "target_path", "path", "signature", "meta"} {
				if _, ok := it[f]; !ok {
					t.Fatalf("item lacks %s: %v", f, it)
				}
			}
			if it["slug"] != it["name"] || it["content"] != it["encrypted_content"] || it["path"] != it["target_path"] {
				t.Fatalf("aliases differ: %v", it)
			}
		}
		// Unpaid: no injectables at all in has-paid.
		r = rt.devpayr(t, check{license: "basic", domain: "unpaid.example.com", query: "?include=injectables"})
		if strings.Contains(string(r.Body), "injectables") {
			t.Fatalf("an unpaid answer carries injectables: %s", r.Body)
		}
		// The stream: GET and POST (the browser SDK), only_if_paid honoured,
		// paginated.
		stream := func(method string, domain string, query string) (int, []map[string]any, *string) {
			t.Helper()
			var r *apptest.Response
			if method == "GET" {
				r = n.Do(t, "GET", "/api/v1/injectable/stream"+query, nil, "X-LICENSE-KEY", rt.keys["basic"], "X-Devpayr-Domain", domain)
			} else {
				r = n.Do(t, "POST", "/api/v1/injectable/stream"+query, map[string]any{"license": rt.keys["basic"], "projectId": nil}, "X-Devpayr-Domain", domain)
			}
			var d struct {
				Injectables []map[string]any `json:"injectables"`
				NextCursor  *string          `json:"next_cursor"`
				HasMore     bool             `json:"has_more"`
			}
			if r.Status == 200 {
				r.Decode(t, &d)
				if d.HasMore != (d.NextCursor != nil) {
					t.Fatalf("has_more disagrees with next_cursor: %s", r.Body)
				}
			}
			return r.Status, d.Injectables, d.NextCursor
		}
		if st, items, _ := stream("GET", "shop.example.com", ""); st != 200 || len(items) != 3 {
			t.Fatalf("GET stream: %d, %d items", st, len(items))
		}
		if st, items, _ := stream("POST", "unpaid.example.com", ""); st != 200 || len(items) != 1 || items[0]["type"] != "config" {
			t.Fatalf("POST stream unpaid: %d %v", st, items)
		}
		st, first, next := stream("GET", "shop.example.com", "?per_page=2")
		if st != 200 || len(first) != 2 || next == nil {
			t.Fatalf("page 1: %d %d %v", st, len(first), next)
		}
		if _, rest, more := stream("GET", "shop.example.com", "?per_page=2&cursor="+*next); len(rest) != 1 || more != nil || rest[0]["slug"] == first[1]["slug"] {
			t.Fatalf("page 2: %v", rest)
		}
		r = n.Do(t, "GET", "/api/v1/injectable/stream", nil, "X-LICENSE-KEY", rt.keys["revoked"], "X-Devpayr-Domain", "shop.example.com")
		wantStatus(t, r, 403, "REVOKED")

		// Delete.
		wantStatus(t, n.Do(t, "DELETE", one, nil, apptest.Key(rt.key)...), 200, `"deleted":true`)
		wantStatus(t, n.Do(t, "GET", one, nil, apptest.Key(rt.key)...), 404)
		if _, items, _ := stream("GET", "shop.example.com", ""); len(items) != 2 {
			t.Fatalf("a deleted injectable is still delivered: %d", len(items))
		}
		// Another project's injectable is 404 through this project.
		wantStatus(t, n.Do(t, "GET", fmt.Sprintf("/api/v1/project/%d/injectables/%d", rt.unpaid, file.ID), nil, apptest.Key(rt.key)...), 404)
	})
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func injectableFilter(project int64) core.InjectableFilter {
	return core.InjectableFilter{ProjectID: project, Limit: 100}
}
