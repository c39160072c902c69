package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

// ListOptions tunes a listing.
type ListOptions struct {
	// PerPage is the page size asked of the server (each listing has its
	// own default and maximum; larger values are clamped). The iterator
	// fetches pages until the listing ends or the loop stops.
	PerPage int
}

func (o *ListOptions) query() url.Values {
	q := url.Values{}
	if o != nil && o.PerPage > 0 {
		q.Set("per_page", strconv.Itoa(o.PerPage))
	}
	return q
}

// page is the API's paginator object.
type page[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

// list returns an iterator over a cursor-paginated listing: it fetches a
// page, yields its items, and follows next_cursor until it is null. An error
// is yielded once, as the last value.
func list[T any](ctx context.Context, c *Client, path string, q url.Values, opts ...CallOption) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		q := cloneValues(q)
		for {
			var p page[T]
			if _, err := c.do(ctx, &request{opts: opts, method: http.MethodGet, path: path, query: q}, &p); err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range p.Data {
				if !yield(item, nil) {
					return
				}
			}
			if p.NextCursor == nil || *p.NextCursor == "" || len(p.Data) == 0 {
				return
			}
			q.Set("cursor", *p.NextCursor)
		}
	}
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// Collect runs a listing to its end and returns its items, or the first
// error with the items read before it.
func Collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}
