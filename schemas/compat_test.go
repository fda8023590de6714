package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// TestReleasedSchemasStillHold guards the released event schemas. They are contracts with
// every consumer, and consumers keep old events (replays, backfills, archives):
// testdata/released/ holds a byte-exact copy of each schema as it shipped, and the test
// fails when events/ drifts from it in a way a consumer would notice.
//
// To change an event incompatibly, release a new version beside the old one:
//   - add events/<type>.v2.json (and, if the data changes shape, a new shared definition
//     such as payment.v2.json), register it in EventTypes with its Go type, and add its
//     golden example to testdata/examples/;
//   - keep <type>.v1.json, and keep publishing v1 until its consumers have moved;
//   - when v2 ships, copy the new files into testdata/released/ as they are.
//
// Never edit a released file, least of all to make this test pass: that would re-release a
// shipped version under the same name. Compatible changes (descriptions, titles, new
// optional properties, new enum values, relaxed limits) may go into events/<type>.v1.json;
// when one ships, copy that file over its released copy, so that the next change is
// checked against what consumers have now.
func TestReleasedSchemasStillHold(t *testing.T) {
	current, err := fs.Sub(EventSchemas, "events")
	if err != nil {
		t.Fatal(err)
	}
	breaks, err := checkCompat(os.DirFS(releasedDir), current)
	if err != nil {
		t.Fatal(err)
	}
	users, err := schemaUsers(os.DirFS(releasedDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range breaks {
		msg := b.String()
		if u := users[b.File]; len(u) > 0 {
			msg += " (breaks " + strings.Join(u, ", ") + ")"
		}
		t.Error(msg)
	}
	if len(breaks) > 0 {
		t.Log("A released schema version is frozen: release the change as a new version (see the top of compat_test.go).")
	}
}

// TestCompatCheckerCatchesBreaks mutates released schemas and expects the checker to report
// each breaking change, and nothing for the compatible ones.
func TestCompatCheckerCatchesBreaks(t *testing.T) {
	released := os.DirFS(releasedDir)
	tests := []struct {
		name string
		file string
		// base, when set, changes the released and the current file alike.
		base   func(doc map[string]any)
		change func(doc map[string]any)
		// want is in the only report; empty means no report.
		want string
	}{
		{
			name: "file removed", file: "refund.failed.v1.json",
			want: "refund.failed.v1.json: file removed",
		},
		{
			name: "property removed", file: "payment.v1.json",
			change: func(doc map[string]any) { delete(props(doc), "description") },
			want:   `payment.v1.json: /properties: property "description" removed`,
		},
		{
			name: "nested property removed", file: "payment.v1.json",
			change: func(doc map[string]any) { delete(props(props(doc)["failure"]), "decline_code") },
			want:   `/properties/failure/properties: property "decline_code" removed`,
		},
		{
			name: "event property removed", file: "payment.failed.v1.json",
			change: func(doc map[string]any) { delete(props(doc), "schema_version") },
			want:   `payment.failed.v1.json: /properties: property "schema_version" removed`,
		},
		{
			name: "type changed", file: "payment.v1.json",
			change: func(doc map[string]any) { mapOf(props(doc)["amount"])["type"] = "number" },
			want:   `/properties/amount: type changed from "integer" to "number"`,
		},
		{
			name: "type widened", file: "refund.v1.json",
			change: func(doc map[string]any) { mapOf(props(doc)["failure_reason"])["type"] = []any{"string", "null"} },
			want:   `/properties/failure_reason: type changed from "string" to ["null","string"]`,
		},
		{
			name: "const changed", file: "payment.succeeded.v1.json",
			change: func(doc map[string]any) {
				mapOf(jsonPath(doc, "properties", "data", "properties", "status"))["const"] = "captured"
			},
			want: `/properties/data/properties/status: const changed from "succeeded" to "captured"`,
		},
		{
			name: "pattern changed", file: "payment.v1.json",
			change: func(doc map[string]any) { mapOf(props(doc)["id"])["pattern"] = "^pay_[a-z0-9]{24}$" },
			want:   `/properties/id: pattern changed from "^pay_[a-z2-7]{24}$" to "^pay_[a-z0-9]{24}$"`,
		},
		{
			name: "pattern added", file: "merchant.v1.json",
			change: func(doc map[string]any) { mapOf(props(doc)["decided_by"])["pattern"] = "^staff:" },
			want:   `/properties/decided_by: pattern changed from none to "^staff:"`,
		},
		{
			name: "format changed", file: "report.ready.v1.json",
			change: func(doc map[string]any) {
				mapOf(jsonPath(doc, "properties", "data", "properties", "day"))["format"] = "date-time"
			},
			want: `/properties/data/properties/day: format changed from "date" to "date-time"`,
		},
		{
			name: "required added", file: "refund.v1.json",
			change: func(doc map[string]any) { doc["required"] = append(doc["required"].([]any), "reason") },
			want:   `refund.v1.json: /required: "reason" is required now`,
		},
		{
			name: "required added to an event's data", file: "payment.succeeded.v1.json",
			change: func(doc map[string]any) {
				data := mapOf(jsonPath(doc, "properties", "data"))
				data["required"] = append(data["required"].([]any), "customer")
			},
			want: `/properties/data/required: "customer" is required now`,
		},
		{
			name: "required dropped", file: "refund.v1.json",
			change: func(doc map[string]any) {
				doc["required"] = slices.DeleteFunc(doc["required"].([]any), func(v any) bool { return v == "payment" })
			},
			want: `refund.v1.json: /required: "payment" is no longer required`,
		},
		{
			name: "enum value removed", file: "refund.v1.json",
			change: func(doc map[string]any) {
				reason := mapOf(props(doc)["reason"])
				reason["enum"] = slices.DeleteFunc(reason["enum"].([]any), func(v any) bool { return v == "fraudulent" })
			},
			want: `/properties/reason: enum value "fraudulent" removed`,
		},
		{
			name: "enum added", file: "refund.v1.json",
			change: func(doc map[string]any) { mapOf(props(doc)["failure_reason"])["enum"] = []any{"lost_or_stolen_card"} },
			want:   `/properties/failure_reason: enum added`,
		},
		{
			name: "minimum raised", file: "payment.v1.json",
			change: func(doc map[string]any) { mapOf(props(doc)["amount"])["minimum"] = 50.0 },
			want:   `/properties/amount: minimum raised from 1 to 50`,
		},
		{
			name: "minimum added", file: "reconciliation.mismatch.v1.json",
			change: func(doc map[string]any) {
				mapOf(jsonPath(doc, "properties", "data", "properties", "stripe_amount"))["minimum"] = 0.0
			},
			want: `/properties/data/properties/stripe_amount: minimum raised from none to 0`,
		},
		{
			name: "maximum lowered", file: "refund.v1.json",
			change: func(doc map[string]any) { mapOf(props(doc)["amount"])["maximum"] = 1000000.0 },
			want:   `/properties/amount: maximum lowered from 99999999 to 1000000`,
		},
		{
			name: "maxLength lowered", file: "payment.v1.json",
			change: func(doc map[string]any) { mapOf(props(doc)["description"])["maxLength"] = 500.0 },
			want:   `/properties/description: maxLength lowered from 1000 to 500`,
		},
		{
			name: "minLength raised", file: "report.ready.v1.json",
			change: func(doc map[string]any) {
				mapOf(jsonPath(doc, "properties", "data", "properties", "key"))["minLength"] = 10.0
			},
			want: `/properties/data/properties/key: minLength raised from 1 to 10`,
		},
		{
			name: "additionalProperties closed", file: "payment.v1.json",
			change: func(doc map[string]any) { mapOf(props(doc)["next_action"])["additionalProperties"] = false },
			want:   `/properties/next_action/additionalProperties: false now (was true)`,
		},
		{
			name: "additionalProperties schema closed", file: "refund.v1.json",
			change: func(doc map[string]any) { mapOf(props(doc)["metadata"])["additionalProperties"] = false },
			want:   `/properties/metadata/additionalProperties: false now (was {"type":"string"})`,
		},
		{
			name: "additionalProperties' schema changed", file: "payment.v1.json",
			change: func(doc map[string]any) {
				mapOf(jsonPath(doc, "properties", "metadata", "additionalProperties"))["type"] = "integer"
			},
			want: `/properties/metadata/additionalProperties: type changed from "string" to "integer"`,
		},
		{
			name: "items changed", file: "merchant.v1.json",
			change: func(doc map[string]any) {
				mapOf(jsonPath(doc, "properties", "currently_due", "items"))["type"] = "object"
			},
			want: `/properties/currently_due/items: type changed from "string" to "object"`,
		},
		{
			name: "shared definition swapped", file: "payment.succeeded.v1.json",
			change: func(doc map[string]any) {
				mapOf(jsonPath(doc, "properties", "data", "allOf").([]any)[0])["$ref"] = "payment.v2.json"
			},
			want: `/properties/data/allOf/0: $ref changed from "payment.v1.json" to "payment.v2.json"`,
		},
		{
			name: "allOf gains a constraint", file: "refund.created.v1.json",
			change: func(doc map[string]any) {
				data := mapOf(jsonPath(doc, "properties", "data"))
				data["allOf"] = append(data["allOf"].([]any), map[string]any{"required": []any{"reason"}})
			},
			want: `/properties/data/allOf: 2 entries, was 1`,
		},
		{
			name: "$defs entry removed", file: "report.ready.v1.json",
			base: func(doc map[string]any) {
				doc["$defs"] = map[string]any{"day": map[string]any{"type": "string"}, "digest": map[string]any{"type": "string"}}
			},
			change: func(doc map[string]any) { delete(doc["$defs"].(map[string]any), "digest") },
			want:   `report.ready.v1.json: /$defs: "digest" removed`,
		},
		{
			name: "$defs entry changed", file: "report.ready.v1.json",
			base: func(doc map[string]any) {
				doc["$defs"] = map[string]any{"day": map[string]any{"type": "string", "maxLength": 10.0}}
			},
			change: func(doc map[string]any) { jsonPath(doc, "$defs", "day").(map[string]any)["maxLength"] = 8.0 },
			want:   `/$defs/day: maxLength lowered from 10 to 8`,
		},
		{
			name: "unknown keyword changed", file: "refund.v1.json",
			change: func(doc map[string]any) { mapOf(props(doc)["amount"])["multipleOf"] = 100.0 },
			want:   `/properties/amount: multipleOf changed from none to 100; the checker cannot tell whether that is compatible`,
		},

		// Compatible changes.
		{
			name: "descriptions and titles", file: "payment.v1.json",
			change: func(doc map[string]any) {
				doc["title"] = "Payment, version 1 (as clients see it)"
				mapOf(props(doc)["amount"])["description"] = "Minor units: cents for usd."
				mapOf(props(doc)["currency"])["description"] = "ISO 4217, lowercase."
				mapOf(props(doc)["failure"])["$comment"] = "Stripe's error object, trimmed."
			},
		},
		{
			name: "new optional property", file: "payment.v1.json",
			change: func(doc map[string]any) { props(doc)["receipt_email_sent"] = map[string]any{"type": "boolean"} },
		},
		{
			name: "new enum value", file: "payment.v1.json",
			change: func(doc map[string]any) {
				status := mapOf(props(doc)["status"])
				status["enum"] = append(status["enum"].([]any), "disputed")
			},
		},
		{
			name: "limits relaxed", file: "payment.v1.json",
			change: func(doc map[string]any) {
				mapOf(props(doc)["amount"])["maximum"] = 999999999.0
				mapOf(props(doc)["amount"])["minimum"] = 0.0
				delete(mapOf(props(doc)["description"]), "maxLength")
				delete(mapOf(props(doc)["amount_refunded"]), "minimum")
			},
		},
		{
			name: "minLength relaxed", file: "report.ready.v1.json",
			change: func(doc map[string]any) {
				delete(mapOf(jsonPath(doc, "properties", "data", "properties", "key")), "minLength")
			},
		},
		{
			name: "enum dropped for any value", file: "refund.v1.json",
			change: func(doc map[string]any) { delete(mapOf(props(doc)["reason"]), "enum") },
		},
		{
			name: "additionalProperties opened", file: "merchant.v1.json",
			change: func(doc map[string]any) { doc["additionalProperties"] = true },
		},
		{
			name: "new $defs entry", file: "report.ready.v1.json",
			change: func(doc map[string]any) { doc["$defs"] = map[string]any{"day": map[string]any{"type": "string"}} },
		},
		{
			name: "new file", file: "payment.disputed.v1.json",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			old, cur := copyFS(t, released), copyFS(t, released)
			switch {
			case tt.change == nil && tt.want != "":
				delete(cur, tt.file)
			case tt.change == nil:
				cur[tt.file] = &fstest.MapFile{Data: []byte(`{"$id": "https://schemas.durapay.dev/events/` + tt.file + `"}`)}
			default:
				if tt.base != nil {
					mutateFile(t, old, tt.file, tt.base)
					mutateFile(t, cur, tt.file, tt.base)
				}
				mutateFile(t, cur, tt.file, tt.change)
			}
			breaks, err := checkCompat(old, cur)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, b := range breaks {
				got = append(got, b.String())
			}
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("compatible change reported:\n%s", strings.Join(got, "\n"))
			case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
				t.Errorf("got reports\n%s\nwant one containing\n%s", strings.Join(got, "\n"), tt.want)
			}
		})
	}
}

// schemaBreak is one breaking change of a released schema.
type schemaBreak struct {
	File string
	// Path is a JSON Pointer into the released file.
	Path string
	What string
}

func (b schemaBreak) String() string {
	if b.Path == "" {
		return b.File + ": " + b.What
	}
	return b.File + ": " + b.Path + ": " + b.What
}

// checkCompat compares every released schema with the current file of the same name and
// lists the changes that an existing producer's events or an existing consumer would trip
// on. Shared definitions ($ref'd files) are files too, so a change in payment.v1.json is
// reported once, against that file.
func checkCompat(released, current fs.FS) ([]schemaBreak, error) {
	files, err := fs.Glob(released, "*.json")
	if err != nil {
		return nil, err
	}
	var breaks []schemaBreak
	for _, f := range files {
		old, err := readJSON(released, f)
		if err != nil {
			return nil, err
		}
		cur, err := readJSON(current, f)
		if errors.Is(err, fs.ErrNotExist) {
			breaks = append(breaks, schemaBreak{File: f, What: "file removed"})
			continue
		}
		if err != nil {
			return nil, err
		}
		c := compatChecker{file: f}
		c.schema("", old, cur)
		breaks = append(breaks, c.breaks...)
	}
	return breaks, nil
}

type compatChecker struct {
	file   string
	breaks []schemaBreak
}

func (c *compatChecker) report(path, format string, args ...any) {
	c.breaks = append(c.breaks, schemaBreak{File: c.file, Path: path, What: fmt.Sprintf(format, args...)})
}

// Keywords that say nothing about which instances are valid.
var annotationKeywords = []string{"title", "description", "$comment", "examples", "default", "deprecated", "readOnly", "writeOnly"}

// schema compares one subschema. A keyword missing from the released side means no
// constraint, so adding one is a change too.
func (c *compatChecker) schema(path string, old, cur any) {
	if reflect.DeepEqual(old, cur) {
		return
	}
	om, oldIsMap := old.(map[string]any)
	cm, curIsMap := cur.(map[string]any)
	switch {
	case cur == true:
		return // accepts anything now
	case cur == false:
		c.report(path, "false now (was %s)", jsonText(old))
		return
	case old == false:
		return // accepted nothing before
	case !oldIsMap || !curIsMap:
		c.report(path, "now restricted by %s (was %s)", jsonText(cur), jsonText(old))
		return
	}
	keys := slices.Sorted(maps.Keys(om))
	for _, k := range slices.Sorted(maps.Keys(cm)) {
		if _, ok := om[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		ov, inOld := om[k]
		cv, inCur := cm[k]
		switch {
		case slices.Contains(annotationKeywords, k):
		case k == "properties":
			c.properties(path+"/properties", mapOf(ov), mapOf(cv))
		case k == "additionalProperties" || k == "items":
			if !inOld {
				ov = true
			}
			if !inCur {
				cv = true
			}
			c.schema(path+"/"+k, ov, cv)
		case k == "$defs" || k == "definitions":
			c.defs(path+"/"+k, mapOf(ov), mapOf(cv))
		case k == "allOf" || k == "anyOf" || k == "oneOf":
			c.subschemas(path+"/"+k, k, ov, cv)
		case k == "required":
			c.required(path+"/required", ov, cv)
		case k == "enum":
			c.enum(path, ov, cv, inOld, inCur)
		case k == "type":
			if ot, ct := typeSet(ov), typeSet(cv); !slices.Equal(ot, ct) {
				c.report(path, "type changed from %s to %s", typeText(ot, inOld), typeText(ct, inCur))
			}
		case k == "const" || k == "pattern" || k == "format" || k == "$ref":
			if !reflect.DeepEqual(ov, cv) {
				c.report(path, "%s changed from %s to %s", k, valueText(ov, inOld), valueText(cv, inCur))
			}
		case k == "minimum" || k == "exclusiveMinimum" || k == "minLength" || k == "minItems" || k == "minProperties":
			c.limit(path, k, ov, cv, inOld, inCur, "raised", func(o, n float64) bool { return n > o })
		case k == "maximum" || k == "exclusiveMaximum" || k == "maxLength" || k == "maxItems" || k == "maxProperties":
			c.limit(path, k, ov, cv, inOld, inCur, "lowered", func(o, n float64) bool { return n < o })
		default:
			if !reflect.DeepEqual(ov, cv) {
				c.report(path, "%s changed from %s to %s; the checker cannot tell whether that is compatible",
					k, valueText(ov, inOld), valueText(cv, inCur))
			}
		}
	}
}

func (c *compatChecker) properties(path string, old, cur map[string]any) {
	for _, name := range slices.Sorted(maps.Keys(old)) {
		cv, ok := cur[name]
		if !ok {
			c.report(path, "property %q removed", name)
			continue
		}
		c.schema(path+"/"+pointerToken(name), old[name], cv)
	}
}

func (c *compatChecker) defs(path string, old, cur map[string]any) {
	for _, name := range slices.Sorted(maps.Keys(old)) {
		cv, ok := cur[name]
		if !ok {
			c.report(path, "%q removed", name)
			continue
		}
		c.schema(path+"/"+pointerToken(name), old[name], cv)
	}
}

// subschemas compares allOf, anyOf or oneOf entry by entry. More allOf entries constrain
// more; fewer anyOf/oneOf entries allow less.
func (c *compatChecker) subschemas(path, keyword string, ov, cv any) {
	old, _ := ov.([]any)
	cur, _ := cv.([]any)
	if (keyword == "allOf" && len(cur) > len(old)) || (keyword != "allOf" && len(cur) < len(old)) {
		c.report(path, "%d entries, was %d", len(cur), len(old))
	}
	for i := range min(len(old), len(cur)) {
		c.schema(fmt.Sprintf("%s/%d", path, i), old[i], cur[i])
	}
}

// required reports a new entry (old events lack it) and a dropped one (consumers relied on
// it being there, as on a property).
func (c *compatChecker) required(path string, ov, cv any) {
	old, _ := ov.([]any)
	cur, _ := cv.([]any)
	for _, name := range cur {
		if !slices.Contains(old, name) {
			c.report(path, "%s is required now", jsonText(name))
		}
	}
	for _, name := range old {
		if !slices.Contains(cur, name) {
			c.report(path, "%s is no longer required", jsonText(name))
		}
	}
}

// enum reports removed values. New values are compatible: consumers must tolerate values
// they do not know, and dropping the enum is the limit of that.
func (c *compatChecker) enum(path string, ov, cv any, inOld, inCur bool) {
	switch {
	case !inCur:
		return
	case !inOld:
		c.report(path, "enum added")
		return
	}
	cur, _ := cv.([]any)
	old, _ := ov.([]any)
	for _, v := range old {
		if !slices.ContainsFunc(cur, func(w any) bool { return reflect.DeepEqual(v, w) }) {
			c.report(path, "enum value %s removed", jsonText(v))
		}
	}
}

func (c *compatChecker) limit(path, k string, ov, cv any, inOld, inCur bool, verb string, tighter func(old, cur float64) bool) {
	if !inCur {
		return // no limit any more
	}
	cur, curOK := cv.(float64)
	old, oldOK := ov.(float64)
	switch {
	case !curOK || inOld && !oldOK:
		c.report(path, "%s changed from %s to %s; the checker cannot tell whether that is compatible", k, valueText(ov, inOld), jsonText(cv))
	case !inOld || tighter(old, cur):
		c.report(path, "%s %s from %s to %s", k, verb, valueText(ov, inOld), jsonText(cv))
	}
}

// typeSet is a type keyword as a sorted set: "integer" and ["integer"] are the same.
func typeSet(v any) []string {
	var out []string
	switch t := v.(type) {
	case string:
		out = []string{t}
	case []any:
		for _, e := range t {
			s, _ := e.(string)
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

func typeText(types []string, present bool) string {
	if !present {
		return "none"
	}
	if len(types) == 1 {
		return jsonText(types[0])
	}
	return jsonText(types)
}

func valueText(v any, present bool) string {
	if !present {
		return "none"
	}
	return jsonText(v)
}

func jsonText(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

func pointerToken(s string) string { return pointerEscaper.Replace(s) }

func readJSON(fsys fs.FS, name string) (any, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}

// schemaUsers maps each schema file to the event type files that refer to it, directly or
// through another shared file, so that a report on payment.v1.json names the events it
// breaks.
func schemaUsers(fsys fs.FS) (map[string][]string, error) {
	files, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, err
	}
	refs := map[string][]string{}
	for _, f := range files {
		doc, err := readJSON(fsys, f)
		if err != nil {
			return nil, err
		}
		collectRefs(doc, func(ref string) {
			if target, _, _ := strings.Cut(ref, "#"); target != "" && !slices.Contains(refs[f], target) {
				refs[f] = append(refs[f], target)
			}
		})
	}
	users := map[string][]string{}
	for _, f := range files {
		if !isEventTypeFile(f) {
			continue
		}
		seen := map[string]bool{}
		var walk func(string)
		walk = func(file string) {
			for _, target := range refs[file] {
				if !seen[target] {
					seen[target] = true
					users[target] = append(users[target], f)
					walk(target)
				}
			}
		}
		walk(f)
	}
	return users, nil
}

func collectRefs(v any, found func(string)) {
	switch n := v.(type) {
	case map[string]any:
		if ref, ok := n["$ref"].(string); ok {
			found(ref)
		}
		for _, child := range n {
			collectRefs(child, found)
		}
	case []any:
		for _, child := range n {
			collectRefs(child, found)
		}
	}
}

func props(schema any) map[string]any { return mapOf(mapOf(schema)["properties"]) }

func copyFS(t *testing.T, fsys fs.FS) fstest.MapFS {
	t.Helper()
	files, err := fs.Glob(fsys, "*.json")
	if err != nil {
		t.Fatal(err)
	}
	out := fstest.MapFS{}
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = &fstest.MapFile{Data: b}
	}
	return out
}

func mutateFile(t *testing.T, fsys fstest.MapFS, file string, mutate func(map[string]any)) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(fsys[file].Data, &doc); err != nil {
		t.Fatal(err)
	}
	mutate(doc)
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	fsys[file] = &fstest.MapFile{Data: b}
}
