package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// licenseFileDownload is the license page's "Download license file": a
// checkout as the API's (recorded license.checked_out), answered as an
// attachment. A refusal goes back to the license page with the reason.
func (d *dashboard) licenseFileDownload(w http.ResponseWriter, r *http.Request) error {
	p, l, err := d.license(r)
	if err != nil {
		return err
	}
	if d.licenseFiles == nil {
		return core.NotFound("Page")
	}
	f := formOf(r)
	in := service.LicenseFileInput{Identifier: strings.TrimSpace(f.str("identifier")), Problems: core.Problems{}}
	in.Problems.Merge(f.problems)
	// The form asks for days, the service for seconds.
	if s := strings.TrimSpace(f.str("ttl_days")); s != "" {
		days, err := strconv.ParseInt(s, 10, 64)
		switch {
		case err != nil:
			in.Problems.Add("ttl", "The ttl field must be a whole number of days.")
		case days < 1 || days > 365:
			in.Problems.Add("ttl", "The ttl field must be between 1 and 365 days.")
		default:
			in.TTL = days * int64(24*time.Hour/time.Second)
		}
	}
	issue, err := d.licenseFiles(r.Context())
	if err != nil {
		return err
	}
	file, err := d.svc.CheckoutLicenseFile(r.Context(), actorOf(r), p.ID, l.ID, in, issue)
	if err != nil {
		e, ok := publicError(err, r)
		if !ok {
			return err
		}
		msg := e.Message
		for _, field := range []string{"identifier", "ttl"} { // the field's own message says more
			if m := e.Fields[field]; len(m) > 0 {
				msg = m[0]
			}
		}
		d.setFlash(w, r, "error", msg)
		return redirect(w, r, licensePath(l))
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-pem-file")
	h.Set("Content-Disposition", `attachment; filename="license-`+strconv.FormatInt(l.ID, 10)+`.lic"`)
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(file.File))
	return nil
}
