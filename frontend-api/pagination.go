package main

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/durapay/durapay/internal/platform/pg"
)

// Stripe's list parameters: limit 1 to 100, 10 by default.
const (
	defaultListLimit = 10
	maxListLimit     = 100
)

// listPage reads a list request's limit, starting_after and ending_before. cursor finds
// where an object of the list sits, or pg.ErrNotFound; the caller scopes it, so that
// another merchant's object is missing.
func listPage(q url.Values, cursor func(id string) (pg.Cursor, error)) (pg.Page, error) {
	limit, err := intParam(q, "limit", defaultListLimit, 1, maxListLimit)
	if err != nil {
		return pg.Page{}, err
	}
	page := pg.Page{Limit: limit}
	after, before := q.Get("starting_after"), q.Get("ending_before")
	if after != "" && before != "" {
		return pg.Page{}, newError(codeParameterInvalid, "ending_before", "starting_after and ending_before cannot be used together.")
	}
	for _, c := range []struct {
		param, id string
		at        **pg.Cursor
	}{{"starting_after", after, &page.StartingAfter}, {"ending_before", before, &page.EndingBefore}} {
		if c.id == "" {
			continue
		}
		at, err := cursor(c.id)
		if errors.Is(err, pg.ErrNotFound) {
			return pg.Page{}, newError(codeResourceMissing, c.param, "No such object in this list: '"+c.id+"'")
		}
		if err != nil {
			return pg.Page{}, err
		}
		*c.at = &at
	}
	return page, nil
}

// writeList answers a page of a list: {"object":"list","data":[...],"has_more":...}.
func writeList[T any](w http.ResponseWriter, data []T, hasMore bool) {
	if data == nil {
		data = []T{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "has_more": hasMore})
}
