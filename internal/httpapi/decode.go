package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/internal/core"
)

// body is a request body decoded into raw JSON fields. DevPayr clients send
// "[]" (PHP), "{}" (Node) or nothing for "no fields"; all three decode to
// an empty body. Fields are read with typed getters that record a
// Laravel-style message per field.
type body struct {
	fields map[string]json.RawMessage
	p      core.Problems
}

var bodyBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// query returns the URL's query values, without allocating when there are
// none (the usual case on the runtime routes). The query was checked by
// cleanQuery before the handler ran, so nothing is dropped here.
func query(r *http.Request) url.Values {
	if r.URL.RawQuery == "" {
		return nil
	}
	return r.URL.Query()
}

// plainQuery reports whether a query string has nothing core.ParseQuery
// could refuse: only letters, digits and "&=_-.~" (no percent-encoding,
// no "+", no semicolon, no byte outside printable ASCII). Such a query
// (?action=check_project, a page number) is accepted without parsing it.
func plainQuery(q string) bool {
	for i := 0; i < len(q); i++ {
		c := q[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '&' || c == '=' || c == '_' || c == '-' || c == '.' || c == '~') {
			return false
		}
	}
	return true
}

// queryGetter is the Get of url.Values over a raw query string that
// plainQuery accepted, where no key or value needs unescaping: it reads
// the string in place instead of building the map.
type queryGetter struct {
	raw  string
	vals url.Values // the parsed query, when it is not plain
}

// runtimeQuery returns the query of a runtime request, parsed only when
// it is not plain (see plainQuery).
func runtimeQuery(r *http.Request) queryGetter {
	if raw := r.URL.RawQuery; raw != "" && !plainQuery(raw) {
		return queryGetter{vals: r.URL.Query()}
	}
	return queryGetter{raw: r.URL.RawQuery}
}

// Get returns the first value of key, as url.Values.Get does.
func (q queryGetter) Get(key string) string {
	if q.vals != nil {
		return q.vals.Get(key)
	}
	for s := q.raw; s != ""; {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k == key {
			return v
		}
	}
	return ""
}

// cleanQuery refuses a request whose query string has a parameter that
// (*url.URL).Query would silently drop (malformed percent-encoding, a
// semicolon) or whose text breaks core.ValidText, with a 422 naming the
// parameter. It runs in front of every handler that reads the query, so
// every parameter of every route is covered, unknown ones included.
func cleanQuery(next handlerFunc) handlerFunc {
	if next == nil {
		return nil // a route that only answers CORS preflights
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.URL.RawQuery != "" && !plainQuery(r.URL.RawQuery) {
			if _, err := core.ParseQuery(r.URL.RawQuery); err != nil {
				return err
			}
		}
		return next(w, r)
	}
}

// checkFields refuses a JSON body with a field whose raw text decodes to
// text core.ValidText refuses, naming the field; a bad field name is the
// "body"'s fault. The raw bytes are checked because encoding/json turns
// invalid UTF-8 into U+FFFD silently.
func checkFields(raw []byte, fields map[string]json.RawMessage) error {
	var p core.Problems
	for k, v := range fields {
		field := k
		if !core.ValidText(k) {
			field = "body"
		} else if core.ValidJSONText(v) {
			continue
		}
		if p == nil {
			p = core.Problems{}
		}
		if !p.Has(field) {
			p.Add(field, core.InvalidText(field).Message)
		}
	}
	if p == nil && !utf8.Valid(raw) {
		// The invalid bytes are in a field name, which decoding replaced.
		p = core.Problems{}
		p.Add("body", core.InvalidText("body").Message)
	}
	return p.Err()
}

// bodyError is the answer to a request body that could not be read within
// max bytes: 413 when it is larger, else 400.
func bodyError(err error, max int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &core.Error{Code: core.ETooLarge, Message: fmt.Sprintf("The request body is larger than %d bytes.", max)}
	}
	return core.Errorf(core.EBadRequest, "The request body could not be read.")
}

// readBody reads a JSON (or form) body of at most max bytes.
func readBody(w http.ResponseWriter, r *http.Request, max int64) (*body, error) {
	b := &body{}
	if r.Body == nil || r.Body == http.NoBody {
		return b, nil
	}
	// The buffer goes back to a pool: every decoded field is a copy of its
	// bytes, so nothing below keeps a reference to it.
	buf := bodyBufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 64<<10 {
			bodyBufs.Put(buf)
		}
	}()
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, max))
	raw := buf.Bytes()
	if err != nil {
		return nil, bodyError(err, max)
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	trimmed := bytes.TrimSpace(raw)
	// curl -d sends JSON as form data by default: a body that is plainly
	// JSON is read as JSON whatever the header says.
	looksJSON := len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[')
	if ct == "application/x-www-form-urlencoded" && !looksJSON {
		vals, err := core.ParseQuery(string(raw))
		if err != nil {
			return nil, err
		}
		b.fields, b.p = map[string]json.RawMessage{}, core.Problems{}
		for k, v := range vals {
			enc, _ := json.Marshal(v[len(v)-1])
			b.fields[k] = enc
		}
		return b, nil
	}
	if len(trimmed) == 0 || string(trimmed) == "{}" || string(trimmed) == "[]" {
		return b, nil // what SDKs send for "no fields"
	}
	if trimmed[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(trimmed, &arr); err != nil {
			return nil, core.Errorf(core.EBadRequest, "The request body is not valid JSON.")
		}
		if len(arr) == 0 {
			return b, nil
		}
		return nil, core.Errorf(core.EBadRequest, "The request body must be a JSON object.")
	}
	b.fields, b.p = map[string]json.RawMessage{}, core.Problems{}
	if err := json.Unmarshal(trimmed, &b.fields); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, core.Errorf(core.EBadRequest, "The request body is not valid JSON (at byte %d).", syn.Offset)
		}
		return nil, core.Errorf(core.EBadRequest, "The request body must be a JSON object.")
	}
	if b.fields == nil { // the body was "null"
		b.fields = map[string]json.RawMessage{}
	}
	if err := checkFields(trimmed, b.fields); err != nil {
		return nil, err
	}
	return b, nil
}

// problems returns the body's problem list, creating it on first use (an
// empty body allocates nothing).
func (b *body) problems() core.Problems {
	if b.p == nil {
		b.p = core.Problems{}
	}
	return b.p
}

// has reports whether the field was sent (even as null).
func (b *body) has(name string) bool {
	_, ok := b.fields[name]
	return ok
}

// isNull reports whether the field was sent as JSON null.
func (b *body) isNull(name string) bool {
	v, ok := b.fields[name]
	return ok && string(v) == "null"
}

// label turns a field name into the words Laravel uses in messages.
func label(name string) string { return strings.ReplaceAll(name, "_", " ") }

// str reads a string field. Numbers are accepted and kept as their text.
// It returns "" and false when the field is absent or null.
func (b *body) str(name string) (string, bool) {
	v, ok := b.fields[name]
	if !ok || string(v) == "null" {
		return "", false
	}
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return s, true
	}
	var n json.Number
	if err := json.Unmarshal(v, &n); err == nil {
		return n.String(), true
	}
	b.problems().Add(name, "The "+label(name)+" field must be a string.")
	return "", false
}

// optStr reads a nullable string field: nil when null or empty.
func (b *body) optStr(name string) *string {
	s, ok := b.str(name)
	if !ok || strings.TrimSpace(s) == "" {
		return nil
	}
	return &s
}

// boolean reads a boolean field, coercing the forms Laravel accepts:
// true/false, 1/0, "1"/"0", "true"/"false", "on"/"off", "yes"/"no".
func (b *body) boolean(name string) (bool, bool) {
	v, ok := b.fields[name]
	if !ok || string(v) == "null" {
		return false, false
	}
	var x any
	_ = json.Unmarshal(v, &x)
	switch t := x.(type) {
	case bool:
		return t, true
	case float64:
		if t == 0 || t == 1 {
			return t == 1, true
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "1", "true", "on", "yes":
			return true, true
		case "0", "false", "off", "no", "":
			return false, true
		}
	}
	b.problems().Add(name, "The "+label(name)+" field must be true or false.")
	return false, false
}

// integer reads an integer field; numeric strings are accepted. It returns
// false when absent or null, and records a problem when not an integer.
func (b *body) integer(name string) (int64, bool) {
	v, ok := b.fields[name]
	if !ok || string(v) == "null" {
		return 0, false
	}
	var x any
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	_ = d.Decode(&x)
	var s string
	switch t := x.(type) {
	case json.Number:
		s = t.String()
	case string:
		s = strings.TrimSpace(t)
		if s == "" {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		b.problems().Add(name, "The "+label(name)+" field must be an integer.")
		return 0, false
	}
	return n, true
}

// optInt reads a nullable integer field that must be at least min.
func (b *body) optInt(name string, min int64) (*int64, bool) {
	if !b.has(name) {
		return nil, false
	}
	n, ok := b.integer(name)
	if !ok {
		return nil, true
	}
	if n < min {
		b.problems().Add(name, fmt.Sprintf("The %s field must be at least %d.", label(name), min))
		return nil, true
	}
	return &n, true
}

// strList reads an array of strings, or a comma-separated string.
func (b *body) strList(name string) ([]string, bool) {
	v, ok := b.fields[name]
	if !ok || string(v) == "null" {
		return nil, false
	}
	var arr []string
	if err := json.Unmarshal(v, &arr); err == nil {
		return arr, true
	}
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		var out []string
		for f := range strings.SplitSeq(s, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
		if out == nil {
			out = []string{}
		}
		return out, true
	}
	b.problems().Add(name, "The "+label(name)+" field must be an array of strings.")
	return nil, false
}

// object reads a JSON object field; a string holding a JSON object is
// decoded first (DevPayr's meta rule).
func (b *body) object(name string) (json.RawMessage, bool) {
	v, ok := b.fields[name]
	if !ok || string(v) == "null" {
		return nil, false
	}
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		v = json.RawMessage(s)
	}
	var obj map[string]any
	if err := json.Unmarshal(v, &obj); err != nil || obj == nil {
		b.problems().Add(name, "The "+label(name)+" field must be a JSON object.")
		return nil, false
	}
	// A string holding an object was decoded twice: its inner text was
	// not seen by readBody's check.
	if !validTree(obj) {
		b.problems().Add(name, core.InvalidText(name).Message)
		return nil, false
	}
	out, _ := json.Marshal(obj)
	return out, true
}

// validTree reports whether every string and key of a decoded JSON value
// passes core.ValidText.
func validTree(v any) bool {
	switch t := v.(type) {
	case string:
		return core.ValidText(t)
	case []any:
		for _, e := range t {
			if !validTree(e) {
				return false
			}
		}
	case map[string]any:
		for k, e := range t {
			if !core.ValidText(k) || !validTree(e) {
				return false
			}
		}
	}
	return true
}

// date reads a date-time field: RFC 3339, or the date-only and
// "YYYY-MM-DD HH:MM:SS" forms (taken as UTC).
func (b *body) date(name string) (*time.Time, bool) {
	s, ok := b.str(name)
	if !ok {
		return nil, b.has(name)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, true
	}
	t, err := parseTime(s)
	if err != nil {
		b.problems().Add(name, "The "+label(name)+" field must be a valid date.")
		return nil, true
	}
	return &t, true
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("not a date")
}

// err returns the recorded problems as one error.
func (b *body) err() error { return b.p.Err() }
