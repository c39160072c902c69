package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/core"
)

// hostile are the inputs of the outside review (issue 12) that seed every
// parser below: NUL bytes, invalid UTF-8, 200 × "é", malformed
// percent-encoding, an integer past what a duration in seconds holds, and
// a very long string.
var hostile = []string{
	"", "\x00", "a\x00b", "\xff\xfe", "\xc3", strings.Repeat("é", 200), "%%%%", "9223372037", "-9223372037",
	strings.Repeat("a", 70000),
}

// wantClientError fails unless err is a *core.Error that maps to a 4xx
// (bad request or too large): never an internal error.
func wantClientError(t *testing.T, err error, codes ...string) {
	t.Helper()
	var ce *core.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *core.Error: it would be a 500", err, err)
	}
	for _, c := range codes {
		if ce.Code == c {
			return
		}
	}
	t.Fatalf("error code %q, want one of %v", ce.Code, codes)
}

// FuzzCursorDecode: any ?cursor= value a client sends. Decoding never
// panics, refuses with the cursor's 422 or returns a positive position,
// and a position it accepts is one the server signed (re-encoding it
// decodes to the same position).
func FuzzCursorDecode(f *testing.F) {
	c := cursors{key: []byte("fuzz-cursor-key")}
	good := c.encode("licenses/1//", 42)
	for _, s := range append(hostile, good, good+"==", good[:len(good)-1], "e30", "bnVsbA",
		base64.RawURLEncoding.EncodeToString([]byte(`{"id":9223372037,"s":""}`)),
		base64.RawURLEncoding.EncodeToString([]byte(`{"id":-1}`))) {
		f.Add("licenses/1//", s)
	}
	f.Fuzz(func(t *testing.T, list, s string) {
		id, err := c.decode(list, s)
		if err != nil {
			if !errors.Is(err, errBadCursor) {
				t.Fatalf("decode(%q) = %v, want the cursor's 422", s, err)
			}
			return
		}
		if s == "" {
			if id != 0 {
				t.Fatalf("empty cursor decoded to %d", id)
			}
			return
		}
		if id <= 0 {
			t.Fatalf("decode(%q) accepted position %d", s, id)
		}
		if again, err := c.decode(list, c.encode(list, id)); err != nil || again != id {
			t.Fatalf("position %d does not survive re-encoding: %d, %v", id, again, err)
		}
	})
}

// FuzzCursorRoundTrip: encode → decode. A cursor the server issued for a
// listing decodes to its position, also when a client re-pads it, and is
// refused by any other listing or key.
func FuzzCursorRoundTrip(f *testing.F) {
	f.Add("licenses/1//", "licenses/2//", int64(1))
	f.Add("audit/1/"+strings.Repeat("é", 200), "audit/1/", int64(9223372037))
	f.Add("a\x00", "a", int64(9223372036854775807))
	f.Fuzz(func(t *testing.T, list, other string, id int64) {
		if id <= 0 {
			return
		}
		c := cursors{key: []byte("fuzz-cursor-key")}
		s := c.encode(list, id)
		if got, err := c.decode(list, s); err != nil || got != id {
			t.Fatalf("encode(%q, %d) decodes to %d, %v", list, id, got, err)
		}
		raw, _ := base64.RawURLEncoding.DecodeString(s)
		if got, err := c.decode(list, base64.URLEncoding.EncodeToString(raw)); err != nil || got != id {
			t.Fatalf("padded cursor decodes to %d, %v", got, err)
		}
		if other != list {
			if _, err := c.decode(other, s); err == nil {
				t.Fatalf("cursor of %q accepted by %q", list, other)
			}
		}
		if _, err := (cursors{key: []byte("another key")}).decode(list, s); err == nil {
			t.Fatal("cursor accepted under another key")
		}
	})
}

// readFields decodes raw as a request body of the given content type.
func readFields(t *testing.T, contentType string, raw []byte, max int64) (*body, error) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/api/v1/x", bytes.NewReader(raw))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return readBody(httptest.NewRecorder(), r, max)
}

// FuzzReadBody: the lenient JSON (or form) body of every write. Reading
// never panics; a body it cannot read is a 400 or 413, never an internal
// error; every typed getter runs on every field without panicking; text
// read back is always valid UTF-8 (fields are held as JSON, which
// replaces invalid bytes); objects are returned as valid JSON.
func FuzzReadBody(f *testing.F) {
	for _, s := range hostile {
		enc, _ := json.Marshal(map[string]string{"name": s})
		f.Add("application/json", enc)
		f.Add("application/x-www-form-urlencoded", []byte("name="+s))
		f.Add("", []byte(s))
	}
	for _, s := range []string{
		`[]`, `{}`, `null`, `[1]`, `{"a":`, `{"proof_ttl":9223372037}`, `{"proof_ttl":"9223372037"}`, `{"n":1e400}`,
		`{"meta":"{\"a\":1}"}`, `{"meta":"\u0000"}`, `{"d":"2025-02-30"}`, `{"l":"a, ,b"}`, `{"b":"on"}`,
		`{"a":1,"a":2}`, "{\"a\":\"\xff\"}", `{"a":"\ud800"}`, "name=%%%%&x=1", "a=1;b=2",
	} {
		f.Add("application/json", []byte(s))
		f.Add("application/x-www-form-urlencoded", []byte(s))
	}
	f.Fuzz(func(t *testing.T, contentType string, raw []byte) {
		const max = 1 << 16
		b, err := readFields(t, contentType, raw, max)
		if err != nil {
			wantClientError(t, err, core.EBadRequest, core.ETooLarge)
			if len(raw) > max {
				return
			}
			var ce *core.Error
			if errors.As(err, &ce) && ce.Code == core.ETooLarge {
				t.Fatalf("%d-byte body refused as too large", len(raw))
			}
			return
		}
		for name := range b.fields {
			if s, ok := b.str(name); ok && !utf8.ValidString(s) {
				t.Fatalf("field %q read as invalid UTF-8 %q", name, s)
			}
			_ = b.optStr(name)
			_, _ = b.boolean(name)
			_, _ = b.integer(name)
			_, _ = b.optInt(name, 0)
			if l, ok := b.strList(name); ok {
				for _, s := range l {
					if !utf8.ValidString(s) {
						t.Fatalf("list field %q holds invalid UTF-8 %q", name, s)
					}
				}
			}
			if o, ok := b.object(name); ok && !json.Valid(o) {
				t.Fatalf("object field %q read as invalid JSON %q", name, o)
			}
			_, _ = b.date(name)
		}
		if err := b.err(); err != nil {
			wantClientError(t, err, core.EInvalid)
		}
	})
}

// FuzzBodyRoundTrip: what a client encodes is what a handler reads. A
// string sent in JSON or as form data reads back unchanged (valid UTF-8
// input), and an integer sent as a JSON number or as a numeric string
// reads back as the same int64.
func FuzzBodyRoundTrip(f *testing.F) {
	for _, s := range hostile {
		f.Add(s, int64(9223372037))
	}
	f.Add("{", int64(-1))
	f.Add(" padded ", int64(9223372036854775807))
	f.Fuzz(func(t *testing.T, s string, n int64) {
		if !utf8.ValidString(s) {
			return // json.Marshal would change it; FuzzReadBody covers invalid bytes
		}
		enc, _ := json.Marshal(map[string]any{"s": s, "n": n, "ns": strconv.FormatInt(n, 10)})
		form := url.Values{"s": {s}, "n": {strconv.FormatInt(n, 10)}, "ns": {strconv.FormatInt(n, 10)}}.Encode()
		for ct, raw := range map[string][]byte{"application/json": enc, "application/x-www-form-urlencoded": []byte(form)} {
			b, err := readFields(t, ct, raw, 1<<20)
			if err != nil {
				t.Fatalf("%s body %q refused: %v", ct, raw, err)
			}
			if got, ok := b.str("s"); !ok || got != s {
				t.Fatalf("%s: str = %q, %v, want %q", ct, got, ok, s)
			}
			for _, name := range []string{"n", "ns"} {
				if got, ok := b.integer(name); !ok || got != n {
					t.Fatalf("%s: integer(%s) = %d, %v, want %d", ct, name, got, ok, n)
				}
			}
			if err := b.err(); err != nil {
				t.Fatalf("%s: problems %v", ct, err)
			}
		}
	})
}

// FuzzCredential: the API-key headers. Extracting never panics; a
// returned secret or public ID carries no surrounding white space, and a
// public ID is only ever a pk_ token from a Bearer header.
func FuzzCredential(f *testing.F) {
	for _, s := range hostile {
		f.Add(s, "Bearer "+s, s)
	}
	f.Add("", "bearer  pk_live_x ", " sk_live_y ")
	f.Add("", "Bearer", "")
	f.Add("", "BEARER sk_test_z", "")
	f.Fuzz(func(t *testing.T, apiKey, authorization, secretKey string) {
		r := httptest.NewRequest(http.MethodGet, "/api/v1/projects", nil)
		for k, v := range map[string]string{"X-Api-Key": apiKey, "Authorization": authorization, "X-Secret-Key": secretKey} {
			r.Header[k] = []string{v} // raw, as a hostile client may send any bytes
		}
		secret, public := credential(r)
		if secret != strings.TrimSpace(secret) || public != strings.TrimSpace(public) {
			t.Fatalf("credential kept white space: %q, %q", secret, public)
		}
		if public != "" && !strings.HasPrefix(public, "pk_") {
			t.Fatalf("public ID %q", public)
		}
	})
}

// multipartRequest builds a multipart injectable upload.
func multipartRequest(t *testing.T, fields map[string]string, fileName string, file []byte) *http.Request {
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
	r := httptest.NewRequest(http.MethodPost, "/api/v1/project/1/injectables", &buf)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	return r
}

// FuzzReadInjectableMultipart: any multipart body sent to the injectable
// routes. Reading never panics and refuses with a 400 or 413, never an
// internal error; the fields it reads are valid UTF-8 and the input built
// from them carries no problem that is not a field's 422.
func FuzzReadInjectableMultipart(f *testing.F) {
	const boundary = "fuzzboundary"
	part := func(headers, content string) string {
		return "--" + boundary + "\r\n" + headers + "\r\n\r\n" + content + "\r\n"
	}
	for _, s := range hostile {
		f.Add([]byte(part(`Content-Disposition: form-data; name="title"`, s) + "--" + boundary + "--\r\n"))
		f.Add([]byte(part(`Content-Disposition: form-data; name="file"; filename="`+s+`"`, s) + "--" + boundary + "--\r\n"))
	}
	f.Add([]byte("--" + boundary + "\r\n"))
	f.Add([]byte(part(`Content-Disposition: form-data; name="meta"`, `{"a":"\u0000"}`) +
		part(`Content-Disposition: form-data; name="is_active"`, "maybe") + "--" + boundary + "--\r\n"))
	f.Add([]byte(part("Content-Disposition: form-data; name=\"title\"\r\nContent-Transfer-Encoding: quoted-printable", "=C3=A9=00") +
		"--" + boundary + "--\r\n"))
	f.Add([]byte(part(`Content-Disposition: form-data; name*=UTF-8''%FF; filename*=UTF-8''%C3`, "x") + "--" + boundary + "--\r\n"))
	h := &api{maxBody: 1 << 20}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/project/1/injectables", bytes.NewReader(raw))
		r.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		b, up, err := h.readInjectable(httptest.NewRecorder(), r)
		if err != nil {
			wantClientError(t, err, core.EBadRequest, core.ETooLarge)
			return
		}
		in := injectableInput(b, up)
		for name, v := range map[string]string{"title": in.Title.V, "slug": in.Slug.V, "type": in.Type.V, "mode": in.Mode.V,
			"target_path": in.TargetPath.V, "secret": in.Secret.V, "content": in.Content.V} {
			if !utf8.ValidString(v) {
				t.Fatalf("field %s read as invalid UTF-8 %q", name, v)
			}
		}
		if in.Meta.Set && in.Meta.V != nil && !json.Valid(in.Meta.V) {
			t.Fatalf("meta read as invalid JSON %q", in.Meta.V)
		}
		if err := in.Problems.Err(); err != nil {
			wantClientError(t, err, core.EInvalid)
		}
	})
}

// FuzzReadInjectableRoundTrip: encode → decode for uploads. Fields and a
// file written by a multipart client read back unchanged (valid UTF-8
// text), the file's bytes exactly, whatever they hold.
func FuzzReadInjectableRoundTrip(f *testing.F) {
	for _, s := range hostile {
		f.Add(s, s, "payload.bin", []byte(s))
	}
	f.Add("Title", `{"k":"v"}`, `we"ird\name.txt`, []byte{0, 0xff, '\r', '\n', '-', '-'})
	f.Add("", "", "", []byte(nil))
	h := &api{maxBody: 1 << 20}
	f.Fuzz(func(t *testing.T, title, content, fileName string, file []byte) {
		if !utf8.ValidString(title) || !utf8.ValidString(content) || !utf8.ValidString(fileName) ||
			strings.ContainsFunc(fileName, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return // not what a multipart writer can carry unchanged
		}
		r := multipartRequest(t, map[string]string{"title": title, "content": content}, fileName, file)
		b, up, err := h.readInjectable(httptest.NewRecorder(), r)
		if err != nil {
			t.Fatalf("well-formed upload refused: %v", err)
		}
		in := injectableInput(b, up)
		if in.Title.V != title || in.Content.V != content {
			t.Fatalf("fields read back as %q, %q; want %q, %q", in.Title.V, in.Content.V, title, content)
		}
		if fileName == "" {
			return
		}
		if up == nil {
			// A file part whose name reduces to nothing (such as "/") is
			// read as a plain field, as net/http does.
			return
		}
		if !bytes.Equal(up.Data, file) {
			t.Fatalf("file read back as %d bytes, want %d", len(up.Data), len(file))
		}
		if !utf8.ValidString(up.Name) {
			t.Fatalf("file name %q read back as invalid UTF-8 %q", fileName, up.Name)
		}
	})
}
