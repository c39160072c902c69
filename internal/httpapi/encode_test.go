package httpapi

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// jsonStrings are strings of every kind encoding/json treats apart.
var jsonStrings = []string{
	"", "VALID", "Success", "shop.example.com", `quote " and backslash \`, "slash / stays", "<html> & 'amp'",
	"\x00\x01\x07\x1f", "\b\f\n\r\t", "\x7f", "é ü ß 日本 🎉", "\u2028 line \u2029 para", "bad \xff utf-8 \xc3", "\xed\xa0\x80 surrogate",
	"trail \xe2\x82", strings.Repeat("long ", 300),
}

// TestHandEncodersMatchJSON: the hand-written replies are, byte for byte,
// what encoding/json writes for the same values (headers included), for
// every shape and string kind, and for random strings.
func TestHandEncodersMatchJSON(t *testing.T) {
	strs := append([]string(nil), jsonStrings...)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		strs = append(strs, string(b))
	}
	for range 200 {
		var sb strings.Builder
		for range rng.IntN(20) {
			sb.WriteRune(rune(rng.IntN(0x2100)))
		}
		strs = append(strs, sb.String())
	}
	compare := func(t *testing.T, name string, hand, ref func(w http.ResponseWriter) error) {
		t.Helper()
		hw, rw := httptest.NewRecorder(), httptest.NewRecorder()
		if err := hand(hw); err != nil {
			t.Fatal(err)
		}
		if err := ref(rw); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(hw.Body.Bytes(), rw.Body.Bytes()) {
			t.Fatalf("%s:\nhand:          %q\nencoding/json: %q", name, hw.Body.Bytes(), rw.Body.Bytes())
		}
		if hw.Code != rw.Code || !equalHeaders(hw.Header(), rw.Header()) {
			t.Fatalf("%s: status %d %v, encoding/json %d %v", name, hw.Code, hw.Header(), rw.Code, rw.Header())
		}
	}
	t.Run("has-paid", func(t *testing.T) {
		for _, s := range strs {
			for _, paid := range []bool{true, false} {
				d := hasPaidData{HasPaid: paid, Code: s}
				compare(t, "has-paid "+s, func(w http.ResponseWriter) error { return okHasPaid(w, d) },
					func(w http.ResponseWriter) error { return ok(w, http.StatusOK, "", d) })
			}
		}
	})
	t.Run("validation", func(t *testing.T) {
		i64 := func(n int64) *int64 { return &n }
		for i, s := range strs {
			other := strs[(i*7+3)%len(strs)]
			lic := &licenseSummary{ID: int64(i), ProjectID: math.MaxInt64, Title: s, Status: other, IsTestLicense: i%2 == 0}
			if i%3 == 0 {
				lic.ExpiresAt, lic.DomainID, lic.MaxDomains = &other, i64(-5), i64(0)
				lic.MaxSubdomainsPerDomain, lic.MaxUsagePerDay = i64(math.MinInt64), i64(3)
			}
			shapes := []validationJSON{
				{Valid: true, Code: "VALID", Message: s, HasPaid: true, Domain: other, License: lic},
				{Valid: false, Code: s, Message: other, License: nil},
				{Valid: true, Code: "VALID", Message: "License is valid.", HasPaid: true, License: lic, Usage: &usageJSON{Today: int64(i), Limit: -1}},
			}
			for j, v := range shapes {
				for _, msg := range []string{"", s} {
					compare(t, "validation "+s, func(w http.ResponseWriter) error { return okValidation(w, msg, &shapes[j]) },
						func(w http.ResponseWriter) error { return ok(w, http.StatusOK, msg, v) })
				}
			}
		}
	})
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\x00") != strings.Join(b[k], "\x00") {
			return false
		}
	}
	return true
}

// TestAppendJSONString compares the string encoder with json.Marshal on
// its own, including every single byte and every rune below U+3000.
func TestAppendJSONString(t *testing.T) {
	check := func(s string) {
		t.Helper()
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		if got := string(appendJSONString(nil, s)) + "\n"; got != want.String() {
			t.Fatalf("%q: got %s, want %s", s, got, want.String())
		}
	}
	for _, s := range jsonStrings {
		check(s)
	}
	for c := range 256 {
		check(string([]byte{byte(c)}))
		check("a" + string([]byte{byte(c)}) + "z")
	}
	for r := rune(0); r < 0x3000; r++ {
		check(string(r))
	}
	check(string(utf8.RuneError))
}

// TestRuntimeQueryMatchesURLValues: the in-place query reader answers as
// url.Values does, for plain and other query strings.
func TestRuntimeQueryMatchesURLValues(t *testing.T) {
	for _, raw := range []string{"", "action=check_project", "action=check_project&include=injectables", "a=1&a=2", "&&action=&action=x",
		"action", "license=ABC-123.x~y", "action=check%5Fproject", "action=check+project", "domain=a%2Fb&action=check_project", "x=1;y=2"} {
		r := httptest.NewRequest("GET", "/?"+raw, nil)
		want, _ := url.ParseQuery(raw)
		q := runtimeQuery(r)
		for _, k := range []string{"action", "include", "license", "domain", "a", "x", "missing"} {
			if got := q.Get(k); got != want.Get(k) {
				t.Fatalf("%q: Get(%q) = %q, url.Values says %q", raw, k, got, want.Get(k))
			}
		}
	}
}
