package httpapi

import (
	"bytes"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// The hot replies (has-paid, the native validation) are encoded by hand:
// encoding/json reaches their few fields through reflection and boxes the
// data in an interface, which was a fifth of a validation's allocations.
// The bytes are exactly encoding/json's (SetEscapeHTML(false), a trailing
// newline): DevPayr's SDKs parse them, and TestHandEncodersMatchJSON holds
// every shape, and strings of every kind, to it. A reply with a part the
// hand encoders do not write (injectables, a proof, a seat, checks) goes
// through encoding/json as before.

// okHasPaid writes the success envelope of a has-paid answer.
func okHasPaid(w http.ResponseWriter, data hasPaidData) error {
	if data.Injectables != nil {
		return ok(w, http.StatusOK, "", data)
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	b := buf.AvailableBuffer()
	b = append(b, `{"status":"success","message":"Success","data":{"has_paid":`...)
	b = strconv.AppendBool(b, data.HasPaid)
	if data.Code != "" {
		b = append(b, `,"code":`...)
		b = appendJSONString(b, data.Code)
	}
	b = append(b, "},\"errors\":null}\n"...)
	buf.Write(b)
	writeBody(w, http.StatusOK, buf.Bytes())
	return nil
}

// okValidation writes the success envelope of a native validation.
func okValidation(w http.ResponseWriter, message string, v *validationJSON) error {
	if v.Injectables != nil || v.Proof != nil || !v.Seat.IsZero() || v.Checks != nil {
		return ok(w, http.StatusOK, message, *v)
	}
	if message == "" {
		message = "Success"
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	b := buf.AvailableBuffer()
	b = append(b, `{"status":"success","message":`...)
	b = appendJSONString(b, message)
	b = append(b, `,"data":{"valid":`...)
	b = strconv.AppendBool(b, v.Valid)
	b = append(b, `,"code":`...)
	b = appendJSONString(b, v.Code)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, v.Message)
	b = append(b, `,"has_paid":`...)
	b = strconv.AppendBool(b, v.HasPaid)
	if v.Domain != "" {
		b = append(b, `,"domain":`...)
		b = appendJSONString(b, v.Domain)
	}
	b = append(b, `,"license":`...)
	if l := v.License; l == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"id":`...)
		b = strconv.AppendInt(b, l.ID, 10)
		b = append(b, `,"project_id":`...)
		b = strconv.AppendInt(b, l.ProjectID, 10)
		b = append(b, `,"title":`...)
		b = appendJSONString(b, l.Title)
		b = append(b, `,"status":`...)
		b = appendJSONString(b, l.Status)
		b = append(b, `,"expires_at":`...)
		if l.ExpiresAt == nil {
			b = append(b, "null"...)
		} else {
			b = appendJSONString(b, *l.ExpiresAt)
		}
		b = append(b, `,"is_test_license":`...)
		b = strconv.AppendBool(b, l.IsTestLicense)
		b = append(b, `,"domain_id":`...)
		b = appendOptInt(b, l.DomainID)
		b = append(b, `,"max_domains":`...)
		b = appendOptInt(b, l.MaxDomains)
		b = append(b, `,"max_subdomains_per_domain":`...)
		b = appendOptInt(b, l.MaxSubdomainsPerDomain)
		b = append(b, `,"max_usage_per_day":`...)
		b = appendOptInt(b, l.MaxUsagePerDay)
		b = append(b, '}')
	}
	if u := v.Usage; u != nil {
		b = append(b, `,"usage":{"today":`...)
		b = strconv.AppendInt(b, u.Today, 10)
		b = append(b, `,"limit":`...)
		b = strconv.AppendInt(b, u.Limit, 10)
		b = append(b, '}')
	}
	b = append(b, "},\"errors\":null}\n"...)
	buf.Write(b)
	writeBody(w, http.StatusOK, buf.Bytes())
	return nil
}

func appendOptInt(b []byte, n *int64) []byte {
	if n == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, *n, 10)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as encoding/json writes a string with HTML
// escaping off: quotes and backslashes escaped, \b \f \n \r \t short,
// other control characters as \u00XX, invalid UTF-8 as \ufffd, and U+2028
// and U+2029 escaped (JSONP safety, which encoding/json keeps even then).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Header values written on every answer, shared instead of allocated per
// request. Each slice has a capacity of one, so Header.Add (an append)
// copies rather than writes into it, and nothing writes into a header
// value in place; Header.Set replaces the slice.
var (
	hdrJSON        = []string{"application/json"}
	hdrNoStore     = []string{"no-store"}
	hdrAnyOrigin   = []string{"*"}
	hdrExposeLimit = []string{"X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, X-Request-ID"}
)

// contentLengths holds the Content-Length value of every body shorter
// than 2 KiB (every hot reply), so that answering does not format one.
var contentLengths = func() (t [2048][]string) {
	for i := range t {
		t[i] = []string{strconv.Itoa(i)}
	}
	return
}()

// setJSONHeaders sets Content-Type and Content-Length of a JSON body of n
// bytes; the names are written in canonical form, so nothing is
// re-canonicalised.
func setJSONHeaders(h http.Header, n int) {
	h["Content-Type"] = hdrJSON
	if n < len(contentLengths) {
		h["Content-Length"] = contentLengths[n]
	} else {
		h["Content-Length"] = []string{strconv.Itoa(n)}
	}
}
