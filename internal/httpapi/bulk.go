package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
	"github.com/latchkey/latchkey/internal/view"
)

// bulkJSON is a bulk action's answer.
type bulkJSON[T any] struct {
	Action string `json:"action"`
	DryRun bool   `json:"dry_run"`
	Count  int64  `json:"count"`
	Sample []T    `json:"sample"`
}

// strict refuses, naming each, the fields of a body (or of its filter, with
// prefix "filter.") that the route does not know: a misspelt filter key
// would otherwise widen a bulk action to licenses it was meant to spare.
func strict(p core.Problems, fields map[string]json.RawMessage, prefix string, known ...string) {
	for k := range fields {
		if !slices.Contains(known, k) {
			p.Add(prefix+k, "The "+prefix+k+" field is not known: use "+strings.Join(known, ", ")+".")
		}
	}
}

// filterBody reads the filter object of a bulk body as a body of its own,
// so that its fields go through the typed getters; it returns nil (with a
// problem) when the filter is absent or not an object.
func filterBody(b *body, what string) *body {
	v, ok := b.fields["filter"]
	if !ok {
		b.problems().Add("filter", "The filter field is required ({} selects every "+what+").")
		return nil
	}
	fb := &body{}
	if err := json.Unmarshal(v, &fb.fields); err != nil || fb.fields == nil {
		b.problems().Add("filter", "The filter field must be a JSON object.")
		return nil
	}
	return fb
}

// mergeFilter moves the problems the filter's getters recorded into the
// body's, under "filter.<key>".
func mergeFilter(b, fb *body) {
	for k, msgs := range fb.p {
		for _, m := range msgs {
			b.problems().Add("filter."+k, strings.Replace(m, "The "+label(k)+" field", "The filter."+k+" field", 1))
		}
	}
}

// stringMap reads an object of string values, as metadata is: a value of
// another type (a number too) is a problem naming name.<key>. A nil value
// in the result stands for JSON null, allowed only when nullable.
func stringMap(b *body, name string, nullable bool) (map[string]*string, bool) {
	v, ok := b.fields[name]
	if !ok {
		return nil, false
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(v, &raw); err != nil || raw == nil {
		b.problems().Add(name, "The "+label(name)+" field must be an object of string values.")
		return nil, true
	}
	out := make(map[string]*string, len(raw))
	for k, rv := range raw {
		if string(rv) == "null" {
			if nullable {
				out[k] = nil
			} else {
				b.problems().Add(name+"."+k, "The "+label(name)+"."+k+" field must be a string.")
			}
			continue
		}
		var s string
		if err := json.Unmarshal(rv, &s); err != nil {
			what := "a string"
			if nullable {
				what = "a string or null"
			}
			b.problems().Add(name+"."+k, "The "+label(name)+"."+k+" field must be "+what+".")
			continue
		}
		out[k] = &s
	}
	return out, true
}

// idList reads an array of integers.
func idList(b *body, name string) []int64 {
	v := b.fields[name]
	var raw []json.RawMessage
	if err := json.Unmarshal(v, &raw); err != nil || raw == nil {
		b.problems().Add(name, "The "+label(name)+" field must be an array of license IDs.")
		return nil
	}
	out := make([]int64, 0, len(raw))
	for _, e := range raw {
		d := json.NewDecoder(bytes.NewReader(e))
		d.UseNumber()
		var n json.Number
		id, err := int64(0), d.Decode(&n)
		if err == nil {
			id, err = strconv.ParseInt(n.String(), 10, 64)
		}
		if err != nil {
			b.problems().Add(name, "The "+label(name)+" field must be an array of license IDs.")
			return nil
		}
		out = append(out, id)
	}
	return out
}

// bulkLicenseInput reads a bulk license action: the filter the license
// listing takes, as an object (plus ids), the action and its arguments.
func bulkLicenseInput(b *body) service.BulkLicenseInput {
	var in service.BulkLicenseInput
	strict(b.problems(), b.fields, "", "filter", "action", "dry_run", "duration", "from", "metadata")
	if fb := filterBody(b, "license of the project"); fb != nil {
		strict(fb.problems(), fb.fields, "", "status", "search", "q", "external_id", "customer_email", "metadata", "ids", "mode")
		f := &in.Filter
		for name, dst := range map[string]*string{"status": &f.Status, "search": &f.Search, "q": &f.Query,
			"external_id": &f.ExternalID, "customer_email": &f.CustomerEmail, "mode": &f.Mode} {
			*dst, _ = fb.str(name)
		}
		if m, sent := stringMap(fb, "metadata", false); sent && m != nil {
			f.Metadata = make(map[string]string, len(m))
			for k, v := range m {
				if v != nil {
					f.Metadata[k] = *v
				}
			}
		}
		if fb.has("ids") {
			f.IDs = idList(fb, "ids")
		}
		mergeFilter(b, fb)
	}
	in.Action, _ = b.str("action")
	in.DryRun, _ = b.boolean("dry_run")
	if s, ok := b.str("duration"); ok {
		in.Duration = service.Some(s)
	}
	if s, ok := b.str("from"); ok {
		in.From = service.Some(s)
	}
	switch {
	case b.isNull("metadata"):
		in.Metadata = service.Some[service.MetadataPatch](nil)
	case b.has("metadata"):
		m, _ := stringMap(b, "metadata", true)
		if m == nil {
			m = map[string]*string{} // refused as the wrong type already
		}
		in.Metadata = service.Some(service.MetadataPatch(m))
	}
	in.Problems = b.p
	return in
}

// bulkPast is the message's word for what an action did.
var bulkPast = map[string]string{service.BulkSuspend: "suspended", service.BulkReactivate: "reactivated",
	service.BulkRevoke: "revoked", service.BulkExtend: "extended", service.BulkSetMetadata: "updated"}

func bulkMessage(dry bool, n int64, noun, action string) string {
	if n != 1 {
		noun += "s"
	}
	if dry {
		return "Dry run: " + strconv.FormatInt(n, 10) + " " + noun + " would be " + bulkPast[action] + "."
	}
	return strconv.FormatInt(n, 10) + " " + noun + " " + bulkPast[action] + "."
}

func (h *api) bulkLicenses(w http.ResponseWriter, r *http.Request) error {
	pid, err := pathID(r, "project", "Project")
	if err != nil {
		return err
	}
	b, err := readBody(w, r, h.maxBody)
	if err != nil {
		return err
	}
	res, err := h.svc.BulkLicenses(r.Context(), actorFrom(r), pid, bulkLicenseInput(b))
	if err != nil {
		return err
	}
	now := h.now()
	out := bulkJSON[licenseJSON]{Action: res.Action, DryRun: res.DryRun, Count: res.Count, Sample: make([]licenseJSON, len(res.Sample))}
	for i := range res.Sample {
		out.Sample[i] = licenseView(&res.Sample[i], now)
	}
	return ok(w, http.StatusOK, bulkMessage(res.DryRun, res.Count, "license", res.Action), out)
}

// bulkKeyInput reads a bulk API key revocation.
func bulkKeyInput(b *body) service.BulkKeyInput {
	var in service.BulkKeyInput
	strict(b.problems(), b.fields, "", "filter", "action", "dry_run")
	if fb := filterBody(b, "API key you can see"); fb != nil {
		strict(fb.problems(), fb.fields, "", "owner_id", "owner_email", "project_id", "name_prefix", "last_used_before", "env")
		in.OwnerID, _ = fb.integer("owner_id")
		in.ProjectID, _ = fb.integer("project_id")
		in.OwnerEmail, _ = fb.str("owner_email")
		in.NamePrefix, _ = fb.str("name_prefix")
		in.Env, _ = fb.str("env")
		in.LastUsedBefore, _ = fb.date("last_used_before")
		mergeFilter(b, fb)
	}
	in.Action, _ = b.str("action")
	in.DryRun, _ = b.boolean("dry_run")
	in.Problems = b.p
	return in
}

func (h *api) bulkKeys(w http.ResponseWriter, r *http.Request) error {
	b, err := readBody(w, r, h.maxBody)
	if err != nil {
		return err
	}
	in := bulkKeyInput(b)
	if in.LastUsedBefore != nil && h.auth.usage != nil {
		// This node's uses not yet written would make keys used a moment
		// ago look idle. (Other nodes write theirs every flush interval.)
		if err := h.auth.usage.Flush(r.Context(), h.svc.Store()); err != nil {
			return err
		}
	}
	res, err := h.svc.BulkAPIKeys(r.Context(), actorFrom(r), in)
	if err != nil {
		return err
	}
	out := bulkJSON[view.APIKey]{Action: res.Action, DryRun: res.DryRun, Count: res.Count, Sample: make([]view.APIKey, len(res.Sample))}
	for i := range res.Sample {
		out.Sample[i] = h.keyView(&res.Sample[i])
	}
	return ok(w, http.StatusOK, bulkMessage(res.DryRun, res.Count, "API key", service.BulkRevoke), out)
}
