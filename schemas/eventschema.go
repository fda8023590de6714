package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const eventSchemaBaseURL = "https://schemas.durapay.dev/events/"

var (
	eventSchemasOnce sync.Once
	eventSchemas     schemaSet
	eventSchemasErr  error
)

// ValidateEvent checks one serialized event against the JSON Schema of its type and version.
func ValidateEvent(raw []byte) error {
	eventSchemasOnce.Do(func() {
		dir, err := fs.Sub(EventSchemas, "events")
		if err != nil {
			eventSchemasErr = err
			return
		}
		eventSchemas, eventSchemasErr = compileSchemas(dir)
	})
	if eventSchemasErr != nil {
		return eventSchemasErr
	}
	return eventSchemas.validate(raw)
}

// schemaSet holds compiled event schemas by "<type>.v<version>".
type schemaSet map[string]*jsonschema.Schema

// compileSchemas compiles the *.json schemas at the root of fsys: every file is a resource
// (shared definitions included), and each event type's file is compiled.
func compileSchemas(fsys fs.FS) (schemaSet, error) {
	files, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	// "format" (a report's day is a date) is an annotation unless asserted: assert it, so
	// that a contract says what consumers may rely on.
	c.AssertFormat()
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if err := c.AddResource(eventSchemaBaseURL+f, doc); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	set := schemaSet{}
	for _, f := range files {
		if !isEventTypeFile(f) {
			continue // a shared definition (envelope, payment), not an event type
		}
		sch, err := c.Compile(eventSchemaBaseURL + f)
		if err != nil {
			return nil, fmt.Errorf("compile %s: %w", f, err)
		}
		set[strings.TrimSuffix(f, ".json")] = sch
	}
	return set, nil
}

// isEventTypeFile tells a schema of an event type (payment.succeeded.v1.json) from a shared
// definition (payment.v1.json).
func isEventTypeFile(file string) bool {
	name := strings.TrimSuffix(file, ".json")
	i := strings.LastIndex(name, ".v")
	return i > 0 && strings.Contains(name[:i], ".")
}

// validate checks one serialized event against the schema of its type and version.
func (s schemaSet) validate(raw []byte) error {
	var head struct {
		Type          string `json:"type"`
		SchemaVersion int    `json:"schema_version"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return fmt.Errorf("event is not JSON: %w", err)
	}
	name := fmt.Sprintf("%s.v%d", head.Type, head.SchemaVersion)
	sch, ok := s[name]
	if !ok {
		return fmt.Errorf("no schema for event %s", name)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("decode event: %w", err)
	}
	if err := sch.Validate(doc); err != nil {
		return fmt.Errorf("event %s: %#v", name, err) // %#v lists every failed keyword
	}
	return nil
}
