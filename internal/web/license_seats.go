package web

import (
	"context"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/service"
)

// licenseSeatsData is the license page's seats section.
type licenseSeatsData struct {
	List []core.Seat
	TTL  string // the license's heartbeat TTL, for people
}

func (d *dashboard) licenseSeats(ctx context.Context, actor *core.Actor, projectID int64, l *core.License) (licenseSeatsData, error) {
	seats, err := d.svc.ListSeats(ctx, actor, projectID, l.ID)
	if err != nil {
		return licenseSeatsData{}, err
	}
	ttl := service.DefaultHeartbeatTTL
	if l.HeartbeatTTL != nil && *l.HeartbeatTTL > 0 {
		ttl = time.Duration(*l.HeartbeatTTL) * time.Second
	}
	return licenseSeatsData{List: seats, TTL: ttl.String()}, nil
}

// licenseSeatRelease frees one seat and goes back to the license.
func (d *dashboard) licenseSeatRelease(w http.ResponseWriter, r *http.Request) error {
	p, l, err := d.license(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, "s")
	if err != nil {
		return err
	}
	s, err := d.svc.DeleteSeat(r.Context(), actorOf(r), p.ID, l.ID, id)
	if err != nil {
		e, ok := publicError(err, r)
		if !ok {
			return err
		}
		d.setFlash(w, r, "error", e.Message)
	} else {
		d.setFlash(w, r, "ok", "Seat of "+s.Instance+" released.")
	}
	return redirect(w, r, licensePath(l)+"#seats")
}
