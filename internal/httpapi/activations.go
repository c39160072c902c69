package httpapi

import (
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/internal/core"
	"github.com/latchkey/latchkey/internal/view"
)

// listActivations is GET /project/{p}/licenses/{l}/activations: the
// license's activations, oldest first, a page at a time. Not cached: the
// runtime adds activations without a catalog change.
func (h *api) listActivations(w http.ResponseWriter, r *http.Request) error {
	pid, lid, err := itemIDs(r, "license", "License")
	if err != nil {
		return err
	}
	list := "activations/" + strconv.FormatInt(pid, 10) + "/" + strconv.FormatInt(lid, 10)
	after, err := h.cursors.decode(list, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	n := perPage(r, 50, 100)
	acts, err := h.svc.ListActivations(r.Context(), actorFrom(r), pid, lid, after, n+1)
	if err != nil {
		return err
	}
	return respondPage(h, w, r, list, acts, n, func(a *core.Activation) int64 { return a.ID }, view.ActivationOf)
}

// deleteActivation is DELETE /project/{p}/licenses/{l}/activations/{a}:
// the seat is free from the next validation on, on every node.
func (h *api) deleteActivation(w http.ResponseWriter, r *http.Request) error {
	pid, lid, err := itemIDs(r, "license", "License")
	if err != nil {
		return err
	}
	id, err := pathID(r, "activation", "Activation")
	if err != nil {
		return err
	}
	a, err := h.svc.DeleteActivation(r.Context(), actorFrom(r), pid, lid, id)
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, "Activation deleted successfully.", view.ActivationOf(a))
}
