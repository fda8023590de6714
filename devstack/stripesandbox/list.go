package stripesandbox

import "strconv"

// list is Stripe's list (and search_result) object.
type list struct {
	Object   string  `json:"object"`
	Data     []any   `json:"data"`
	HasMore  bool    `json:"has_more"`
	URL      string  `json:"url"`
	NextPage *string `json:"next_page,omitempty"`
}

// listOf pages through ids (oldest first, as stored) newest first, as Stripe lists, keeping
// those match accepts. It honours limit, starting_after, ending_before and, for searches,
// page (a cursor the previous page handed out).
func listOf(req *apiRequest, url string, ids []string, match func(id string) (any, bool)) response {
	p := req.params
	limit := int64(10)
	if n, present, e := p.int("limit"); e != nil {
		return fail(e)
	} else if present {
		if n < 1 || n > 100 {
			return fail(badParam("limit", "This value must be between 1 and 100."))
		}
		limit = n
	}
	after := p.str("starting_after")
	if page := p.str("page"); page != "" {
		after = page
	}
	before := p.str("ending_before")

	out := &list{Object: "list", URL: url, Data: []any{}}
	started := after == ""
	var lastID string
	for i := len(ids) - 1; i >= 0; i-- {
		id := ids[i]
		if !started {
			started = id == after
			continue
		}
		if before != "" && id == before {
			break
		}
		obj, keep := match(id)
		if !keep {
			continue
		}
		if int64(len(out.Data)) == limit {
			out.HasMore = true
			break
		}
		out.Data = append(out.Data, obj)
		lastID = id
	}
	if out.HasMore && p.has("query") {
		out.NextPage = &lastID
	}
	return ok(out)
}

// timeRange is a Stripe range filter such as created[gte]=...&created[lt]=..., or an exact
// created=... value.
type timeRange struct {
	gt, gte, lt, lte *int64
}

func parseRange(p params, key string) (timeRange, *apiError) {
	var r timeRange
	if !p.has(key) {
		return r, nil
	}
	if exact, isScalar := p[key].(string); isScalar {
		n, err := strconv.ParseInt(exact, 10, 64)
		if err != nil {
			return r, invalidParam(key, "Invalid integer: "+exact)
		}
		r.gte, r.lte = &n, &n
		return r, nil
	}
	h := p.hash(key)
	for op, dst := range map[string]**int64{"gt": &r.gt, "gte": &r.gte, "lt": &r.lt, "lte": &r.lte} {
		n, present, e := h.int(op)
		if e != nil {
			return r, invalidParam(key+"["+op+"]", "Invalid integer")
		}
		if present {
			*dst = &n
		}
	}
	return r, nil
}

func (r timeRange) contains(t int64) bool {
	return (r.gt == nil || t > *r.gt) && (r.gte == nil || t >= *r.gte) &&
		(r.lt == nil || t < *r.lt) && (r.lte == nil || t <= *r.lte)
}
