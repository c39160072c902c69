package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
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

// wantClientError fails unless err is a *core.Error with one of the
// given codes (all 4xx): never an internal error. It returns the error.
func wantClientError(t *testing.T, err error, codes ...string) *core.Error {
	t.Helper()
	var ce *core.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *core.Error: it would be a 500", err, err)
	}
	for _, c := range codes {
		if ce.Code == c {
			return ce
		}
	}
	t.Fatalf("error code %q, want one of %v", ce.Code, codes)
	return nil
}

// wantNamed checks a 422: it names at least one field, every name is
// text that can be shown, and (textOnly: the input's only fault is its
// text) every message is core.InvalidText's for that field.
func wantNamed(t *testing.T, ce *core.Error, textOnly bool) {
	t.Helper()
	if len(ce.Fields) == 0 {
		t.Fatalf("422 names no field: %v", ce)
	}
	for f, msgs := range ce.Fields {
		if !core.ValidText(f) {
			t.Fatalf("422 names the field %q, which is not valid text", f)
		}
		if textOnly && (len(msgs) != 1 || msgs[0] != core.InvalidText(f).Message) {
			t.Fatalf("422 on %q says %q, want core.InvalidText's message", f, msgs)
		}
	}
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

// bodyWant is what readBody must answer to a body, worked out from the
// input with the standard decoders, not with readBody's code.
type bodyWant struct {
	code string // "" (read), core.EBadRequest or core.EInvalid
	// textOnly: a 422 can only be about text, so it carries
	// core.InvalidText's message on every field it names.
	textOnly bool
	// loose: a JSON object repeats a key. encoding/json keeps the last
	// value and discards the earlier ones unread, so bad text in those
	// may be refused or not; only the value read counts.
	loose bool
	// fields are the top-level names of a JSON object: a 422 names one of
	// them, or "body" when the fault is in a name.
	fields map[string]bool
}

// expectBody works out bodyWant for a body sent with contentType. A form
// body (unless it is plainly JSON, as curl -d sends it) is refused with
// 422 if and only if a pair cannot be decoded or a decoded name or value
// is not core.ValidText. A JSON body is a 400 unless it is empty, null,
// an empty array or an object; an object is refused with 422 if and only
// if some text in it (a name or a string, at any depth) is not
// core.ValidText.
func expectBody(contentType string, raw []byte) bodyWant {
	trimmed := bytes.TrimSpace(raw)
	looksJSON := len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[')
	if ct, _, _ := mime.ParseMediaType(contentType); ct == "application/x-www-form-urlencoded" && !looksJSON {
		vals, err := url.ParseQuery(string(raw))
		if err != nil {
			return bodyWant{code: core.EInvalid}
		}
		for k, vs := range vals {
			for _, v := range vs {
				if !core.ValidText(k) || !core.ValidText(v) {
					return bodyWant{code: core.EInvalid, textOnly: true}
				}
			}
		}
		return bodyWant{}
	}
	if len(trimmed) == 0 {
		return bodyWant{}
	}
	d := json.NewDecoder(bytes.NewReader(trimmed))
	d.UseNumber() // 1e400 is a JSON number, not a float64
	var v any
	if err := d.Decode(&v); err != nil {
		return bodyWant{code: core.EBadRequest}
	}
	if _, err := d.Token(); err != io.EOF {
		return bodyWant{code: core.EBadRequest} // more after the value
	}
	switch t := v.(type) {
	case nil:
		return bodyWant{}
	case []any:
		if len(t) == 0 {
			return bodyWant{} // what PHP SDKs send for "no fields"
		}
		return bodyWant{code: core.EBadRequest}
	case map[string]any:
	default:
		return bodyWant{code: core.EBadRequest}
	}
	w := bodyWant{textOnly: true, fields: map[string]bool{}}
	bad := !utf8.Valid(trimmed) // encoding/json reads invalid bytes as U+FFFD
	// Walk every token, not the decoded map: that keeps only the last
	// value of a repeated key.
	type frame struct {
		obj, wantKey bool
		keys         map[string]bool
	}
	var stack []*frame
	d = json.NewDecoder(bytes.NewReader(trimmed))
	d.UseNumber()
	for {
		tok, err := d.Token()
		if err != nil {
			break // io.EOF: the syntax was checked above
		}
		if s, ok := tok.(string); ok && !core.ValidText(s) {
			bad = true
		}
		if tok == json.Delim('}') || tok == json.Delim(']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].wantKey {
			top, key := stack[n-1], tok.(string)
			w.loose = w.loose || top.keys[key]
			top.keys[key], top.wantKey = true, false
			if n == 1 {
				w.fields[key] = true
			}
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].wantKey = true // this value ends the pair
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, wantKey: true, keys: map[string]bool{}})
		case json.Delim('['):
			stack = append(stack, &frame{})
		}
	}
	if bad {
		w.code = core.EInvalid
	}
	return w
}

// FuzzReadBody: the lenient JSON (or form) body of every write. Reading
// never panics and never fails with an internal error. It answers what
// expectBody works out from the input: 413 exactly past the limit; 400
// for JSON that is not an object (or empty, null, []); 422 if and only if
// some text in the input is not core.ValidText (or, in a form, a pair
// cannot be decoded), naming the fields with core.InvalidText's message.
// Of an accepted body every typed getter runs on every field without
// panicking, text reads back as core.ValidText and objects as valid JSON
// of valid text; what the getters refuse is a 422.
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
		`{"a":"\u0000","a":"x"}`, `{"a":"x","a":"\u0000"}`, `{"a":{"b":"\u0000","b":1}}`, `{"\u0000":1}`,
		"{\"\xff\":1}", `{"a":"\\u0000"}`, `{"meta":"{\"\\u0000\":1}"}`, `{"l":["x","\u0000"]}`, `{} {}`, "\u00a0{}",
		"n%00=1", "%FF=1&b=\xff",
	} {
		f.Add("application/json", []byte(s))
		f.Add("application/x-www-form-urlencoded", []byte(s))
	}
	f.Fuzz(func(t *testing.T, contentType string, raw []byte) {
		const max = 1 << 16
		b, err := readFields(t, contentType, raw, max)
		if len(raw) > max {
			_ = wantClientError(t, err, core.ETooLarge) // the code is the whole check
			return
		}
		want := expectBody(contentType, raw)
		if err != nil {
			ce := wantClientError(t, err, core.EBadRequest, core.EInvalid)
			if ce.Code != want.code && !(want.loose && want.code == core.EInvalid) {
				t.Fatalf("refused with %s (%v), want %q", ce.Code, ce, want.code)
			}
			if ce.Code == core.EInvalid {
				wantNamed(t, ce, want.textOnly)
				for name := range ce.Fields {
					if want.fields != nil && name != "body" && !want.fields[name] {
						t.Fatalf("422 names %q, which is not a field of the body", name)
					}
				}
			}
			return
		}
		if want.code != "" && !(want.loose && want.code == core.EInvalid) {
			t.Fatalf("body read, want %s", want.code)
		}
		for name := range b.fields {
			if !core.ValidText(name) {
				t.Fatalf("field name %q read as invalid text", name)
			}
			if s, ok := b.str(name); ok && !core.ValidText(s) {
				t.Fatalf("field %q read as invalid text %q", name, s)
			}
			_ = b.optStr(name)
			_, _ = b.boolean(name)
			_, _ = b.integer(name)
			_, _ = b.optInt(name, 0)
			if l, ok := b.strList(name); ok {
				for _, s := range l {
					if !core.ValidText(s) {
						t.Fatalf("list field %q holds invalid text %q", name, s)
					}
				}
			}
			if o, ok := b.object(name); ok && (!json.Valid(o) || !core.ValidJSONText(o)) {
				t.Fatalf("object field %q read as invalid JSON or text %q", name, o)
			}
			_, _ = b.date(name)
		}
		if err := b.err(); err != nil {
			wantNamed(t, wantClientError(t, err, core.EInvalid), false)
		}
	})
}

// jsonString quotes s as JSON without first coercing it to valid UTF-8,
// as json.Marshal does: what a client that does not check its text sends.
func jsonString(s string) []byte {
	b := []byte{'"'}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < ' ':
			b = fmt.Appendf(b, `\u%04x`, c)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// FuzzBodyRoundTrip: what a client encodes is what a handler reads. A
// string of valid text (core.ValidText) sent in JSON or as form data
// reads back unchanged, and an integer sent as a JSON number or as a
// numeric string reads back as the same int64. A string that is not valid
// text (a NUL, invalid UTF-8) is refused with a 422 on that field alone,
// with core.InvalidText's message.
func FuzzBodyRoundTrip(f *testing.F) {
	for _, s := range hostile {
		f.Add(s, int64(9223372037))
	}
	f.Add("{", int64(-1))
	f.Add(" padded ", int64(9223372036854775807))
	f.Add("<&>\u2028\\\"", int64(0))
	f.Fuzz(func(t *testing.T, s string, n int64) {
		ns := strconv.FormatInt(n, 10)
		enc, _ := json.Marshal(map[string]any{"s": s, "n": n, "ns": ns})
		if !utf8.ValidString(s) {
			// json.Marshal would turn the invalid bytes into U+FFFD: send
			// them as they are.
			enc = fmt.Appendf(nil, `{"s":%s,"n":%d,"ns":"%d"}`, jsonString(s), n, n)
		}
		form := url.Values{"s": {s}, "n": {ns}, "ns": {ns}}.Encode()
		for ct, raw := range map[string][]byte{"application/json": enc, "application/x-www-form-urlencoded": []byte(form)} {
			b, err := readFields(t, ct, raw, 1<<20)
			if !core.ValidText(s) {
				if err == nil {
					t.Fatalf("%s body %q read, want a 422 on s", ct, raw)
				}
				ce := wantClientError(t, err, core.EInvalid)
				if len(ce.Fields) != 1 || len(ce.Fields["s"]) != 1 || ce.Fields["s"][0] != core.InvalidText("s").Message {
					t.Fatalf("%s body %q: 422 %v, want core.InvalidText on s alone", ct, raw, ce.Fields)
				}
				continue
			}
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

// multipartText reads a multipart body with the standard reader, part by
// part, as multipart.Reader.ReadForm does: ok is false if the body cannot
// be read; bad lists the fields whose value or file name is not
// core.ValidText ("body" for a name that is not).
func multipartText(raw []byte, boundary string) (ok bool, bad map[string]bool) {
	bad = map[string]bool{}
	mr := multipart.NewReader(bytes.NewReader(raw), boundary)
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return true, bad
		}
		if err != nil {
			return false, nil
		}
		name, text := p.FormName(), p.FileName()
		data, err := io.ReadAll(p)
		if err != nil {
			return false, nil
		}
		if name == "" {
			continue // ReadForm skips a part without a form name
		}
		if text == "" {
			text = string(data) // a value; a file's content is not text
		}
		switch {
		case !core.ValidText(name):
			bad["body"] = true
		case !core.ValidText(text):
			bad[name] = true
		}
	}
}

// FuzzReadInjectableMultipart: any multipart body sent to the injectable
// routes. Reading never panics and never fails with an internal error: a
// body the standard reader cannot read is a 400 (413 past the limit); one
// it reads is refused with 422 if and only if a value or a file name in
// it is not core.ValidText, naming exactly those fields with
// core.InvalidText's message. An accepted body's fields are valid text,
// its file name too, and the input built from them carries no problem
// that is not a field's 422.
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
	f.Add([]byte(part(`Content-Disposition: form-data; name="title"`, "\x00") + part(`Content-Disposition: form-data; name="title"`, "ok") +
		part(`Content-Disposition: form-data; name="file"; filename="a/\xff"`, "\x00") + "--" + boundary + "--\r\n"))
	f.Add([]byte(part(`Content-Disposition: form-data; name="\xff"`, "x") + part(`Content-Disposition: attachment; name="content"`, "\xff") +
		"--" + boundary + "--\r\n"))
	h := &api{maxBody: 1 << 20}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/project/1/injectables", bytes.NewReader(raw))
		r.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		b, up, err := h.readInjectable(httptest.NewRecorder(), r)
		ok, bad := multipartText(raw, boundary)
		if err != nil {
			ce := wantClientError(t, err, core.EBadRequest, core.ETooLarge, core.EInvalid)
			if ce.Code == core.ETooLarge && len(raw) <= maxMultipart {
				t.Fatalf("%d-byte body refused as too large", len(raw))
			}
			if !ok && ce.Code == core.EInvalid {
				t.Fatalf("unreadable body refused with 422 (%v), want 400", ce)
			}
			if ce.Code == core.EInvalid {
				wantNamed(t, ce, true)
				if len(ce.Fields) != len(bad) {
					t.Fatalf("422 names %v, want the fields with bad text %v", ce.Fields, bad)
				}
				for name := range ce.Fields {
					if !bad[name] {
						t.Fatalf("422 names %q, whose text is valid (bad: %v)", name, bad)
					}
				}
			}
			return
		}
		if !ok {
			t.Fatal("a body the standard reader cannot read was accepted")
		}
		if len(bad) > 0 {
			t.Fatalf("accepted, though the text of %v is not valid", bad)
		}
		in := injectableInput(b, up)
		for name, v := range map[string]string{"title": in.Title.V, "slug": in.Slug.V, "type": in.Type.V, "mode": in.Mode.V,
			"target_path": in.TargetPath.V, "secret": in.Secret.V, "content": in.Content.V} {
			if !core.ValidText(v) {
				t.Fatalf("field %s read as invalid text %q", name, v)
			}
		}
		if up != nil && !core.ValidText(up.Name) {
			t.Fatalf("file name read as invalid text %q", up.Name)
		}
		if in.Meta.Set && in.Meta.V != nil && (!json.Valid(in.Meta.V) || !core.ValidJSONText(in.Meta.V)) {
			t.Fatalf("meta read as invalid JSON or text %q", in.Meta.V)
		}
		if err := in.Problems.Err(); err != nil {
			wantNamed(t, wantClientError(t, err, core.EInvalid), false)
		}
	})
}

// FuzzReadInjectableRoundTrip: encode → decode for uploads. Fields and a
// file written by a multipart client read back unchanged when their text
// is valid (core.ValidText), the file's bytes exactly, whatever they hold.
// A title, content or file name that is not valid text is refused with a
// 422 naming exactly those fields (the file's as "file"), with
// core.InvalidText's message.
func FuzzReadInjectableRoundTrip(f *testing.F) {
	for _, s := range hostile {
		f.Add(s, s, "payload.bin", []byte(s))
		f.Add("Title", "content", s, []byte(s))
	}
	f.Add("Title", `{"k":"v"}`, `we"ird\name.txt`, []byte{0, 0xff, '\r', '\n', '-', '-'})
	f.Add("", "", "", []byte(nil))
	f.Add("ok", "\xff", "dir/\xff", []byte("x"))
	f.Add("ok", "ok", "\xff/name", []byte("x"))
	h := &api{maxBody: 1 << 20}
	f.Fuzz(func(t *testing.T, title, content, fileName string, file []byte) {
		if strings.ContainsFunc(fileName, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			// A MIME header cannot carry a control character (a NUL
			// makes the header line malformed, a CR LF ends it).
			return
		}
		want := map[string]bool{}
		if !core.ValidText(title) {
			want["title"] = true
		}
		if !core.ValidText(content) {
			want["content"] = true
		}
		// The server sees the file name without its directory (RFC 7578,
		// section 4.2, as mime/multipart reads it).
		if fileName != "" && !core.ValidText(filepath.Base(fileName)) {
			want["file"] = true
		}
		r := multipartRequest(t, map[string]string{"title": title, "content": content}, fileName, file)
		b, up, err := h.readInjectable(httptest.NewRecorder(), r)
		if len(want) > 0 {
			if err == nil {
				t.Fatalf("upload with bad text in %v accepted", want)
			}
			ce := wantClientError(t, err, core.EInvalid)
			wantNamed(t, ce, true)
			if len(ce.Fields) != len(want) {
				t.Fatalf("422 names %v, want %v", ce.Fields, want)
			}
			for name := range ce.Fields {
				if !want[name] {
					t.Fatalf("422 names %v, want %v", ce.Fields, want)
				}
			}
			return
		}
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
		if !core.ValidText(up.Name) {
			t.Fatalf("file name %q read back as invalid text %q", fileName, up.Name)
		}
	})
}
