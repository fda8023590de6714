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
	eventSchemas     map[string]*jsonschema.Schema // by "<type>.v<version>"
	eventSchemasErr  error
)

// ValidateEvent checks one serialized event against the JSON Schema of its type and version.
func ValidateEvent(raw []byte) error {
	eventSchemasOnce.Do(compileEventSchemas)
	if eventSchemasErr != nil {
		return eventSchemasErr
	}
	var head struct {
		Type          string `json:"type"`
		SchemaVersion int    `json:"schema_version"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return fmt.Errorf("event is not JSON: %w", err)
	}
	name := fmt.Sprintf("%s.v%d", head.Type, head.SchemaVersion)
	sch, ok := eventSchemas[name]
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

func compileEventSchemas() {
	c := jsonschema.NewCompiler()
	files, err := fs.Glob(EventSchemas, "events/*.json")
	if err != nil {
		eventSchemasErr = err
		return
	}
	for _, f := range files {
		b, err := EventSchemas.ReadFile(f)
		if err != nil {
			eventSchemasErr = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			eventSchemasErr = fmt.Errorf("%s: %w", f, err)
			return
		}
		if err := c.AddResource(eventSchemaBaseURL+strings.TrimPrefix(f, "events/"), doc); err != nil {
			eventSchemasErr = fmt.Errorf("%s: %w", f, err)
			return
		}
	}
	eventSchemas = map[string]*jsonschema.Schema{}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "events/"), ".json")
		if typ := name[:strings.LastIndex(name, ".v")]; !strings.Contains(typ, ".") {
			continue // a shared definition (envelope, payment), not an event type
		}
		sch, err := c.Compile(eventSchemaBaseURL + name + ".json")
		if err != nil {
			eventSchemasErr = fmt.Errorf("compile %s: %w", f, err)
			return
		}
		eventSchemas[name] = sch
	}
}
