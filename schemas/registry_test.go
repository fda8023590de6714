package schemas

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEventTypesMatchSchemaFiles holds the registry and events/ together: every event type
// has its schema, and every schema of an event type is registered.
func TestEventTypesMatchSchemaFiles(t *testing.T) {
	var files []string
	for _, f := range eventSchemaFiles(t) {
		if isEventTypeFile(f) {
			files = append(files, f)
		}
	}
	var registered []string
	for _, et := range EventTypes() {
		if slices.Contains(registered, et.SchemaFile()) {
			t.Errorf("%s is registered twice", et.SchemaFile())
		}
		registered = append(registered, et.SchemaFile())
		if et.NewData == nil || et.Topic == "" || et.Description == "" {
			t.Errorf("%s: registered without its data type, topic or description", et.SchemaFile())
		}
	}
	slices.Sort(registered)
	if diff := cmp.Diff(files, registered); diff != "" {
		t.Errorf("schema files of event types (-) and registered event types (+) differ:\n%s", diff)
	}
}

// TestEveryEventConstantIsRegistered reads the package's source, so that a new Event...
// constant cannot be published without a registry entry (and so a schema and a golden
// example).
func TestEveryEventConstantIsRegistered(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		syntax, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range syntax.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Event") || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					value, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					found++
					if !slices.ContainsFunc(eventTypes, func(et EventType) bool { return et.Name == value }) {
						t.Errorf("%s: %s = %q has no entry in EventTypes", f, name.Name, value)
					}
				}
			}
		}
	}
	if found < len(eventTypes) {
		t.Errorf("found %d Event constants in the source, fewer than the %d registered event types", found, len(eventTypes))
	}
}

func TestEventTopicsArePublishTopics(t *testing.T) {
	for _, topic := range EventTopics() {
		if !slices.Contains(Topics(), topic) {
			t.Errorf("event topic %s is not in Topics(), so it is never created", topic)
		}
	}
}

func TestLookupEventType(t *testing.T) {
	et, ok := LookupEventType(EventRefundSucceeded, RefundEventSchemaVersion)
	if !ok || et.Topic != TopicPayments {
		t.Errorf("LookupEventType(refund.succeeded, 1) = %+v, %v", et, ok)
	}
	if _, isRefund := et.NewData().(*Refund); !isRefund {
		t.Errorf("refund.succeeded's data is %T, want *Refund", et.NewData())
	}
	for _, miss := range []struct {
		name    string
		version int
	}{{EventRefundSucceeded, 2}, {"refund.disputed", 1}, {"", 0}} {
		if et, ok := LookupEventType(miss.name, miss.version); ok {
			t.Errorf("LookupEventType(%q, %d) = %+v, want none", miss.name, miss.version, et)
		}
	}
}

// TestGoldenExamples holds each event type's schema and Go type together through one
// realistic event, testdata/examples/<type>.v<version>.json: the example matches the
// current and the released schema, its data decodes into the registered Go type without an
// unknown field, and the Go value encodes back to the same data.
func TestGoldenExamples(t *testing.T) {
	released, err := compileSchemas(os.DirFS(releasedDir))
	if err != nil {
		t.Fatal(err)
	}
	examples, err := filepath.Glob(filepath.Join(examplesDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range examples {
		if _, ok := eventTypeOfFile(filepath.Base(f)); !ok {
			t.Errorf("%s is not the example of a registered event type", f)
		}
	}
	for _, et := range EventTypes() {
		t.Run(et.SchemaFile(), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(filepath.Join(examplesDir, et.SchemaFile()))
			if err != nil {
				t.Fatalf("every event type needs a golden example: %v", err)
			}
			if err := ValidateEvent(raw); err != nil {
				t.Errorf("current schema: %v", err)
			}
			if err := released.validate(raw); err != nil {
				t.Errorf("released schema: %v", err)
			}

			var ev Event
			if err := decodeStrict(raw, &ev); err != nil {
				t.Fatalf("envelope: %v", err)
			}
			if ev.Type != et.Name || ev.SchemaVersion != et.Version {
				t.Fatalf("example is a %s v%d", ev.Type, ev.SchemaVersion)
			}
			data := et.NewData()
			if err := decodeStrict(ev.Data, data); err != nil {
				t.Fatalf("data does not decode into %T: %v", data, err)
			}
			again, err := json.Marshal(data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(jsonValue(t, ev.Data), jsonValue(t, again)); diff != "" {
				t.Errorf("%T loses or changes data on a round trip (-example +re-encoded):\n%s", data, diff)
			}
			ev.Data = again
			reencoded, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			if err := ValidateEvent(reencoded); err != nil {
				t.Errorf("re-encoded event: %v", err)
			}

			// The schema closes data: a field it does not know is refused, so that the Go
			// type cannot grow a field the schema does not describe.
			var stray map[string]any
			if err := json.Unmarshal(raw, &stray); err != nil {
				t.Fatal(err)
			}
			stray["data"].(map[string]any)["undocumented"] = "x"
			strayRaw, err := json.Marshal(stray)
			if err != nil {
				t.Fatal(err)
			}
			if err := ValidateEvent(strayRaw); err == nil {
				t.Error("the schema accepts a field of data it does not describe")
			}
		})
	}
}

// TestEventDataFieldsMatchSchema compares each Go data type's JSON fields with the
// properties its schema describes (the data's own and those of the shared definition it
// refers to), so that a field added on one side only fails even if no example shows it.
// A field the shared definition requires must not be omitempty: Go would leave it out.
func TestEventDataFieldsMatchSchema(t *testing.T) {
	for _, et := range EventTypes() {
		t.Run(et.SchemaFile(), func(t *testing.T) {
			doc := readSchema(t, EventSchemas, "events/"+et.SchemaFile())
			data, _ := jsonPath(doc, "properties", "data").(map[string]any)
			if data == nil {
				t.Fatal("the schema describes no data")
			}
			props := map[string]bool{}
			for name := range mapOf(data["properties"]) {
				props[name] = true
			}
			base := data
			if allOf, _ := data["allOf"].([]any); len(allOf) > 0 {
				for _, sub := range allOf {
					ref, _ := mapOf(sub)["$ref"].(string)
					if ref == "" {
						continue
					}
					base = readSchema(t, EventSchemas, "events/"+ref)
					for name := range mapOf(base["properties"]) {
						props[name] = true
					}
				}
			}
			required, _ := base["required"].([]any)

			typ := reflect.TypeOf(et.NewData()).Elem()
			fields := map[string]bool{}
			for f := range typ.Fields() {
				name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
				if name == "" || name == "-" {
					t.Errorf("%s.%s has no JSON name", typ.Name(), f.Name)
					continue
				}
				fields[name] = true
				if !props[name] {
					t.Errorf("%s.%s (%q) is not in the schema", typ.Name(), f.Name, name)
				}
				if slices.Contains(required, any(name)) && slices.Contains(strings.Split(opts, ","), "omitempty") {
					t.Errorf("%s.%s (%q) is required by the schema but omitempty in Go", typ.Name(), f.Name, name)
				}
			}
			for name := range props {
				if !fields[name] {
					t.Errorf("the schema's %q is no field of %s", name, typ.Name())
				}
			}
		})
	}
}

const (
	examplesDir = "testdata/examples"
	releasedDir = "testdata/released"
)

// eventSchemaFiles lists events/*.json by file name.
func eventSchemaFiles(t *testing.T) []string {
	t.Helper()
	paths, err := fs.Glob(EventSchemas, "events/*.json")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, p := range paths {
		files = append(files, strings.TrimPrefix(p, "events/"))
	}
	return files
}

func eventTypeOfFile(file string) (EventType, bool) {
	i := slices.IndexFunc(eventTypes, func(et EventType) bool { return et.SchemaFile() == file })
	if i < 0 {
		return EventType{}, false
	}
	return eventTypes[i], true
}

func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func jsonValue(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func readSchema(t *testing.T, fsys fs.FS, name string) map[string]any {
	t.Helper()
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return doc
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// jsonPath walks down objects by key; nil when a step is missing.
func jsonPath(v any, keys ...string) any {
	for _, k := range keys {
		v = mapOf(v)[k]
	}
	return v
}

// Formats are asserted: a report's day must be a real date, not only look like one.
func TestFormatsAreAsserted(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(examplesDir, "report.ready.v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateEvent(raw); err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(raw, []byte(`"day": "2026-01-05"`), []byte(`"day": "2026-02-30"`), 1)
	if bytes.Equal(bad, raw) {
		t.Fatal("the example's day is not where the test expects it")
	}
	if err := ValidateEvent(bad); err == nil {
		t.Error(`a report.ready on February 30th passed its schema`)
	}
}
