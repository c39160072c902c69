package web

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// activationDelete removes one activation of the license and goes back to
// it: the slot is free from the next validation on.
func (d *dashboard) activationDelete(w http.ResponseWriter, r *http.Request) error {
	p, l, err := d.license(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, "a")
	if err != nil {
		return err
	}
	a, err := d.svc.DeleteActivation(r.Context(), actorOf(r), p.ID, l.ID, id)
	if err != nil {
		e, ok := publicError(err, r)
		if !ok {
			return err
		}
		d.setFlash(w, r, "error", e.Message)
	} else {
		d.setFlash(w, r, "ok", "Activation "+a.Identifier+" removed: its slot is free from the next validation on.")
	}
	return redirect(w, r, licensePath(l))
}

// licenseTest is the "Test this license" form and, once sent, the
// explanation of a validation from that identifier, address and country:
// every rule's verdict, nothing counted or recorded.
type licenseTest struct {
	Identifier, IP, Country string
	Errors                  map[string]string
	Ran                     bool
	Valid                   bool
	Code                    string
	Checks                  []testCheck
}

type testCheck struct {
	Rule, Code, Detail string
	Passed             bool
}

// licenseTestOf reads the test form from the page's query (a GET: it
// changes nothing) and runs it when sent (test=1).
func (d *dashboard) licenseTestOf(r *http.Request, l *core.License) (*licenseTest, error) {
	q := r.URL.Query()
	t := &licenseTest{Identifier: strings.TrimSpace(q.Get("identifier")), IP: strings.TrimSpace(q.Get("ip")),
		Country: strings.ToUpper(strings.TrimSpace(q.Get("country"))), Errors: map[string]string{}}
	if q.Get("test") == "" || d.validator == nil {
		return t, nil
	}
	if err := checkQuery(r); err != nil {
		return nil, err
	}
	in := service.ValidateInput{Key: l.UUID, Identifier: t.Identifier, Country: t.Country, ProjectID: l.ProjectID, Count: true}
	if len(t.Identifier) > 255 {
		t.Errors["identifier"] = "The identifier must not be greater than 255 characters."
	}
	if t.IP != "" {
		ip, err := netip.ParseAddr(t.IP)
		if err != nil {
			t.Errors["ip"] = "The IP field must be a valid IP address."
		}
		in.IP = ip.Unmap()
	}
	if t.Country != "" && !isCountryCode(t.Country) {
		t.Errors["country"] = "The country field must be an ISO 3166-1 alpha-2 code, such as NG or DE."
	}
	if len(t.Errors) > 0 {
		return t, nil
	}
	res, checks, err := d.validator.Explain(r.Context(), in, nil)
	if err != nil {
		return nil, err
	}
	t.Ran, t.Valid, t.Code = true, res.Valid(), res.Code
	for _, c := range checks {
		t.Checks = append(t.Checks, testCheck{Rule: c.Rule, Code: c.Code, Detail: c.Detail, Passed: c.Passed})
	}
	return t, nil
}

func isCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}
