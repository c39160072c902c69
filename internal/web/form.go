package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
)

// form is a form's values as sent (or as loaded for editing) and the
// messages to show next to its fields.
type form struct {
	Values url.Values
	Errors map[string][]string
	// Error is a message that belongs to no field (a refused action), or
	// the summary of the field errors.
	Error string
	// problems collects what the form itself could not read (a word where
	// a number belongs); the service reports them with its own rules.
	problems core.Problems
}

func newForm() *form { return &form{Values: url.Values{}, problems: core.Problems{}} }

// formOf returns the posted form.
func formOf(r *http.Request) *form {
	f := newForm()
	f.Values = r.PostForm
	if f.Values == nil {
		f.Values = url.Values{}
	}
	return f
}

// checkForm refuses a posted form holding a value, or an uploaded file's
// name, that breaks core.ValidText, with the same 422 naming the field as
// the API: PostgreSQL would refuse such text deep in a write (a 500) where
// SQLite stores it. It runs once for every form, after its token was
// checked, so no handler needs a rule of its own.
func checkForm(r *http.Request) error {
	var files map[string][]string
	if r.MultipartForm != nil {
		files = map[string][]string{}
		for k, fhs := range r.MultipartForm.File {
			for _, fh := range fhs {
				files[k] = append(files[k], fh.Filename)
			}
		}
	}
	return core.CheckFormText(r.PostForm, files, "form")
}

// checkQuery refuses a page address whose query has a parameter that
// cannot be read (malformed percent-encoding, a semicolon) or breaks
// core.ValidText, naming it, for the filters and searches of every page.
func checkQuery(r *http.Request) error {
	if r.URL.RawQuery == "" {
		return nil
	}
	_, err := core.ParseQuery(r.URL.RawQuery)
	return err
}

// Get returns a field's value.
func (f *form) Get(name string) string { return f.Values.Get(name) }

// Err returns the messages for a field, joined.
func (f *form) Err(name string) string { return strings.Join(f.Errors[name], " ") }

// Checked reports whether a checkbox is on.
func (f *form) Checked(name string) bool { return f.bool(name) }

// Is reports whether a field holds value (select options, radios).
func (f *form) Is(name, value string) bool { return f.Get(name) == value }

// Has reports whether a multi-valued field holds value (checkbox groups).
func (f *form) Has(name, value string) bool { return slices.Contains(f.Values[name], value) }

func (f *form) set(name, value string) { f.Values.Set(name, value) }

func (f *form) setBool(name string, v bool) {
	if v {
		f.Values.Set(name, "1")
	} else {
		f.Values.Del(name)
	}
}

// str returns a field trimmed.
func (f *form) str(name string) string { return strings.TrimSpace(f.Get(name)) }

// optStr returns nil for a blank field.
func (f *form) optStr(name string) *string {
	s := f.str(name)
	if s == "" {
		return nil
	}
	return &s
}

// bool reads a checkbox: a browser sends it only when it is checked.
func (f *form) bool(name string) bool {
	switch strings.ToLower(f.Get(name)) {
	case "1", "on", "true", "yes":
		return true
	}
	return false
}

// optInt reads an optional whole number: blank is nil.
func (f *form) optInt(name string) *int64 {
	s := f.str(name)
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f.problems.Add(name, "The "+label(name)+" field must be an integer.")
		return nil
	}
	return &n
}

// id reads an optional ID from a select: blank is 0.
func (f *form) id(name string) int64 {
	s := f.str(name)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		f.problems.Add(name, "The selected "+label(name)+" is invalid.")
		return 0
	}
	return n
}

// Date layouts a date field accepts: the browser's date and datetime-local
// inputs, and what people type.
var dateLayouts = []string{"2006-01-02", "2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339, "2006-01-02 15:04", "2006-01-02 15:04:05"}

// date reads an optional date, taken as UTC: blank is nil.
func (f *form) date(name string) *time.Time {
	s := f.str(name)
	if s == "" {
		return nil
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			return &t
		}
	}
	f.problems.Add(name, "The "+label(name)+" field must be a valid date.")
	return nil
}

// list splits a field on commas and line breaks.
func (f *form) list(name string) []string {
	var out []string
	for _, part := range strings.FieldsFunc(f.Get(name), func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
