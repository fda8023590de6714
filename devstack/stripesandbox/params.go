package stripesandbox

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// params is a Stripe form body decoded into nested values: "metadata[order]=7" becomes
// params{"metadata": params{"order": "7"}}; "expand[0]=x" or "expand[]=x" becomes a list.
type params map[string]any

// parseParams decodes Stripe's bracketed form encoding (what stripe-go's form package writes).
func parseParams(values url.Values) (params, error) {
	root := params{}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		path, err := splitKey(k)
		if err != nil {
			return nil, err
		}
		for _, v := range values[k] {
			if err := root.set(path, v); err != nil {
				return nil, fmt.Errorf("parameter %s: %w", k, err)
			}
		}
	}
	return root, nil
}

// splitKey turns "a[b][0]" into ["a", "b", "0"].
func splitKey(k string) ([]string, error) {
	name, rest, found := strings.Cut(k, "[")
	path := []string{name}
	if !found {
		return path, nil
	}
	rest = "[" + rest
	for rest != "" {
		if rest[0] != '[' {
			return nil, fmt.Errorf("malformed parameter name %q", k)
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return nil, fmt.Errorf("malformed parameter name %q", k)
		}
		path = append(path, rest[1:end])
		rest = rest[end+1:]
	}
	return path, nil
}

func (p params) set(path []string, v string) error {
	if len(path) == 1 {
		p[path[0]] = v
		return nil
	}
	child, ok := p[path[0]].(params)
	if !ok {
		if _, scalar := p[path[0]]; scalar {
			return fmt.Errorf("both a value and a hash")
		}
		child = params{}
		p[path[0]] = child
	}
	sub := path[1:]
	if sub[0] == "" { // "list[]=v": append
		sub = append([]string{strconv.Itoa(len(child))}, sub[1:]...)
	}
	return child.set(sub, v)
}

func (p params) has(key string) bool {
	_, ok := p[key]
	return ok
}

func (p params) str(key string) string {
	s, _ := p[key].(string)
	return s
}

func (p params) hash(key string) params {
	h, _ := p[key].(params)
	return h
}

// list returns the values of "key[0]", "key[1]", ... in index order.
func (p params) list(key string) []string {
	h := p.hash(key)
	out := make([]string, 0, len(h))
	for i := 0; ; i++ {
		v, ok := h[strconv.Itoa(i)].(string)
		if !ok {
			return out
		}
		out = append(out, v)
	}
}

// strMap returns a hash of strings, such as metadata.
func (p params) strMap(key string) map[string]string {
	out := map[string]string{}
	for k, v := range p.hash(key) {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

func (p params) int(key string) (int64, bool, *apiError) {
	s, ok := p[key].(string)
	if !ok {
		if p.has(key) {
			return 0, false, invalidParam(key, "Invalid integer: "+key)
		}
		return 0, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, invalidParam(key, "Invalid integer: "+s)
	}
	return n, true, nil
}

func (p params) bool(key string) (bool, *apiError) {
	switch p.str(key) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, invalidParam(key, "Invalid boolean: "+p.str(key))
	}
}

// unknown returns the first top-level parameter not in allowed, as Stripe rejects them.
func (p params) unknown(allowed ...string) *apiError {
	for k := range p {
		found := false
		for _, a := range allowed {
			if k == a {
				found = true
				break
			}
		}
		if !found {
			return &apiError{status: 400, Type: "invalid_request_error", Code: "parameter_unknown", Param: k,
				Message: "Received unknown parameter: " + k}
		}
	}
	return nil
}

// canonical is a stable encoding of the parameters, used to compare idempotent requests.
func canonical(values url.Values) string {
	return values.Encode() // Encode sorts by key
}
